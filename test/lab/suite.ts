// describe() for the kernel-lab suites (npm run test:lab): where the lab cannot run, a developer's
// run skips the suite and says why; where the lab is required (ZCTRACE_LAB_REQUIRED=1, set by
// .ci/run), the suite becomes one failing test that gives the reason: CI is never green with a
// lab suite that did not run.
import { describe, it } from 'vitest';

export const LAB_REQUIRED = process.env.ZCTRACE_LAB_REQUIRED === '1';

/** describe(TITLE, BODY) when WHY is null; otherwise a skip saying WHY, or a failure where required. */
export function labDescribe(title: string, why: string | null, body: () => void): void {
  if (why === null) {
    describe(title, body);
  } else if (LAB_REQUIRED) {
    describe(title, () => {
      it('runs: the lab is required here (ZCTRACE_LAB_REQUIRED=1)', () => {
        throw new Error(`the lab suite cannot run: ${why}`);
      });
    });
  } else {
    describe.skip(`${title} (skipped: ${why}; ZCTRACE_LAB_REQUIRED=1 makes this a failure)`, body);
  }
}
