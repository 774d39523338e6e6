// Records the msgzc-kernel captures under test/fixtures/msgzc-kernel/ in the kernel lab:
// one guest session (test/lab/guest/msgzc-kernel.sh with 8 sends per run, a fault every 4),
// then each mode's raw lines and recorded trace cut into one file per fault, by time: a
// fault's window runs from its workload's first submit to the next workload's first submit.
// Usage (root, after npm run build):
//   node --import tsx test/lab/make-fixtures.ts [--mode stream|aggregate] [lab/run options]
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { LAB_OPTS, labUnavailable, root, runInLab } from './lab.js';

const FAULTS = ['none', 'leak', 'early-free', 'reuse', 'rewrite-quiet', 'read-into', 'resend'];
const OUT = join(root, 'test/fixtures/msgzc-kernel');

const argv = process.argv.slice(2);
const mi = argv.indexOf('--mode');
const modes = mi >= 0 ? [argv.splice(mi, 2)[1]] : ['stream', 'aggregate'];
const why = labUnavailable();
if (why !== null) throw new Error(`the lab cannot run here: ${why}`);
const dir = mkdtempSync(join(tmpdir(), 'zctrace-fixtures-'));
execFileSync('gcc', ['-O2', '-Wall', '-o', join(dir, 'msgzc'), join(root, 'workloads/msgzc.c')]);
process.env.ZCTRACE_LAB_COUNT = '8';
process.env.ZCTRACE_LAB_EVERY = '4';
const run = await runInLab([...LAB_OPTS, ...argv, '--timeout', '1500', '--rw', dir],
  [join(root, 'test/lab/guest/msgzc-kernel.sh'), dir, join(dir, 'msgzc'), ...modes], 1_600_000);
if (run.code !== 0) throw new Error(`lab session failed (exit ${run.code}): ${run.stderr}`);
mkdirSync(OUT, { recursive: true });
const kernel = readFileSync(join(dir, 'uname'), 'utf8').trim();

for (const mode of modes) {
  const raw = readFileSync(join(dir, `${mode}.raw`), 'utf8').split('\n');
  const trace = readFileSync(join(dir, `${mode}.trace`), 'utf8').split('\n').filter(Boolean);
  const t0 = BigInt((JSON.parse(trace[0]) as { t0: string }).t0);
  const accts = FAULTS.map((f) => JSON.parse(readFileSync(join(dir, `${mode}-${f}.json`), 'utf8')) as { pid: number });
  const starts = accts.map((a) => {
    const l = raw.find((s) => s.startsWith('submit\t') && s.includes(`\tpid=${a.pid}\t`));
    if (l === undefined) throw new Error(`${mode}: no submit of pid ${a.pid}`);
    return BigInt(l.split('\t')[1]);
  });
  const ready = raw.find((s) => s.startsWith('ready\t'))!;
  FAULTS.forEach((fault, k) => {
    const lo = starts[k];
    const hi = k + 1 < starts.length ? starts[k + 1] : 1n << 62n;
    const inWindow = (T: bigint): boolean => T >= lo && T < hi;
    const lines = raw.filter((s) => {
      const p = s.split('\t');
      return p.length >= 2 && /^[0-9]+$/.test(p[1]) && p[0] !== 'ready' && inWindow(BigInt(p[1]));
    });
    const events = trace.slice(1).filter((s) => inWindow(BigInt((JSON.parse(s) as { t: number }).t) + t0));
    const name = `${mode}-${fault}`;
    writeFileSync(join(OUT, `${name}.txt`), [ready, ...lines].join('\n') + '\n');
    writeFileSync(join(OUT, `${name}.trace.gz`), gzipSync([trace[0], ...events].join('\n') + '\n'));
    copyFileSync(join(dir, `${mode}-${fault}.json`), join(OUT, `${name}.json`));
  });
}
copyFileSync(join(dir, 'doctor.txt'), join(OUT, 'doctor.txt'));
process.stdout.write(`fixtures written to ${OUT} (guest kernel ${kernel}; session ${run.seconds.toFixed(0)} s)\n`);
