// Drives test/fixtures/fake-bpftrace/bpftrace: a stand-in that replays a captured bpftrace run
// (times made relative, so they land after zctrace's t0) and fails on demand.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const FAKE = join(__dirname, '..', 'fixtures', 'fake-bpftrace', 'bpftrace');
const dir = mkdtempSync(join(tmpdir(), 'zctrace-fake-'));
let n = 0;

/** Writes a capture as replay lines: "ready" first, each time field turned into "+offset". */
export function replayLines(capture: string, extra: string[] = []): string {
  const lines = readFileSync(capture, 'utf8').split('\n').filter((l) => l.includes('\t'));
  const t0 = BigInt(lines[0].split('\t')[1]);
  const out = ['ready\t+0', ...lines.map((l) => {
    const f = l.split('\t');
    f[1] = `+${BigInt(f[1]) - t0 + 1000n}`;
    return f.join('\t');
  }), ...extra];
  const p = join(dir, `lines-${n++}.txt`);
  writeFileSync(p, out.join('\n') + '\n');
  return p;
}

/** Writes a file of lines as given. */
export function linesFile(lines: string[]): string {
  const p = join(dir, `lines-${n++}.txt`);
  writeFileSync(p, lines.join('\n') + '\n');
  return p;
}

/** Environment for a zctrace (or runner) using the fake. */
export function fakeEnv(mode: 'replay' | 'die' | 'compile' | 'hang', lines?: string, tail?: string): NodeJS.ProcessEnv {
  return { ...process.env, ZCTRACE_BPFTRACE: FAKE, FAKE_BPFTRACE_MODE: mode, FAKE_BPFTRACE_LINES: lines ?? '/dev/null', FAKE_BPFTRACE_TAIL: tail ?? '/dev/null' };
}
