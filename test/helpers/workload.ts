// A copy of a bundled workload under another name: its process name (comm) is then its own, so
// a test filtering on it with --comm sees only its own sends, whatever else runs on the machine
// (the live tests of test/live/live.test.ts run `msgzc` itself).
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './cli.js';

/** Copies workloads/NAME (built) to a temp dir as AS (at most 15 characters); returns its path. */
export function workloadAs(name: string, as: string): string {
  const p = join(mkdtempSync(join(tmpdir(), 'zctrace-wl-')), as);
  copyFileSync(join(ROOT, 'workloads', name), p);
  return p;
}
