// Correct zero-copy senders nobody here wrote, at full speed, through the whole of `zctrace
// live`: the kernel's own msg_zerocopy and io_uring_zerocopy_tx selftests (built from Debian's
// linux-source-6.1 by scripts/outside-senders.sh). They resend one unchanged buffer while
// earlier sends of it are in flight, again and again: that is not an early free. Each run must
// give no certain finding that claims the program is broken (copy_fallback is the kernel
// saying loopback copies, not a bug), count its resends, and account for every send: one
// lifetime per send, or lost events reported.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { liveAttached, ROOT, stopLive } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';

const CACHE = process.env.ZCTRACE_OUTSIDE_CACHE ?? '/var/tmp/zctrace-outside';

/** Why these cannot run here, or null (set-up builds the senders; a missing one is a failure). */
function skipReason(): string | null {
  const live = liveSkipReason();
  if (live !== null) return live;
  return null;
}
const skip = skipReason();

const CASES = [
  { program: 'msg_zerocopy', pack: 'msgzc-syscalls', family: 4, mode: 'match' },
  { program: 'msg_zerocopy', pack: 'msgzc-syscalls', family: 6, mode: 'match' },
  { program: 'msg_zerocopy', pack: 'msgzc-syscalls', family: 4, mode: 'stream' },
  { program: 'msg_zerocopy', pack: 'msgzc-syscalls', family: 6, mode: 'stream' },
  { program: 'io_uring_zerocopy_tx', pack: 'iouring-sendzc', family: 4, mode: 'match' },
  { program: 'io_uring_zerocopy_tx', pack: 'iouring-sendzc', family: 6, mode: 'match' },
  { program: 'io_uring_zerocopy_tx', pack: 'iouring-sendzc', family: 4, mode: 'stream' },
  { program: 'io_uring_zerocopy_tx', pack: 'iouring-sendzc', family: 6, mode: 'stream' },
] as const;

describe.skipIf(skip !== null)(`outside senders at full speed${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('were built by the set-up (scripts/outside-senders.sh)', () => {
    for (const p of ['msg_zerocopy', 'io_uring_zerocopy_tx']) expect(existsSync(join(CACHE, 'bin', p)), `${CACHE}/bin/${p}`).toBe(true);
  });

  for (const c of CASES) {
    it(`${c.program} -${c.family} under ${c.pack} (${c.mode}): no certain finding, every send accounted for`, async () => {
      // --comm: only the sender (the receiver is the same binary, but sends nothing zero-copy)
      const comm = c.program.slice(0, 15);
      const { z } = await liveAttached(['--pack', c.pack, '--mode', c.mode, '--comm', comm, '--leak-after', '10s', '--interval', '1s', '--attach-timeout', '60s']);
      const w = await execa('bash', [join(ROOT, 'scripts/outside-run.sh'), c.program, String(c.family), '2'], { reject: false, timeout: 120_000 });
      expect(w.exitCode, String(w.stderr)).toBe(0);
      const sent = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!) as { sends: number; sender_pid: number };
      const recs = await stopLive(z, 2000);
      const bugs = recs.filter((x) => x.type === 'finding' && x.kind !== 'copy_fallback' && x.uncertain !== true);
      expect(bugs.map((x) => `${x.kind} ${x.obj}: ${x.detail}`)).toEqual([]);
      const summary = recs.at(-1)!;
      expect(summary.type).toBe('summary');
      const mine = (summary.byProc as { key: string; lifetimes: number; open: number }[])
        .filter((p) => p.key.startsWith(`${sent.sender_pid}/`));
      const lifetimes = mine.reduce((n, p) => n + p.lifetimes + p.open, 0);
      expect(sent.sends).toBeGreaterThan(1000);
      // one lifetime per send, or the gap is reported as lost events
      if (summary.lost === 0) expect(lifetimes).toBe(sent.sends);
      else expect(lifetimes).toBeLessThan(sent.sends);
      // the selftests send one buffer again while in flight: counted, not a finding
      expect(summary.resends).toBeGreaterThan(0);
    }, 180_000);
  }
});
