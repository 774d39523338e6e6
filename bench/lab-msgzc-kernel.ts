// bench/lab-msgzc-kernel: inside the kernel lab (one guest boot, test/lab/guest/bench.sh),
// the msgzc workload untraced, under `zctrace live --pack msgzc-kernel` (full streaming), and
// under --aggregate. Prints, from that one run: probe lines and engine events per second of
// workload time for both modes and their ratio, and the workload's slowdown against the
// untraced median in both modes. Absolute numbers are TCG's (an emulated CPU); compare ratios.
// Usage: npm run bench:lab [-- --count 2000]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LAB_OPTS, labUnavailable, root, runInLab } from '../test/lab/lab.js';
import { arg, envLine } from './lib.js';

const count = Number(arg('count', '2000'));

const why = labUnavailable();
if (why !== null) {
  process.stdout.write(`lab-msgzc-kernel: skipped: ${why}\n`);
  process.exit(0);
}
const dir = mkdtempSync(join(tmpdir(), 'zctrace-bench-lab-'));
execFileSync('gcc', ['-O2', '-Wall', '-o', join(dir, 'msgzc'), join(root, 'workloads/msgzc.c')]);
const run = await runInLab([...LAB_OPTS, '--timeout', '2400', '--rw', dir],
  [join(root, 'test/lab/guest/bench.sh'), dir, join(dir, 'msgzc'), String(count)], 2_500_000);
if (run.code !== 0) {
  process.stderr.write(run.stderr);
  throw new Error(`lab run failed (exit ${run.code})`);
}

const rows = readFileSync(join(dir, 'bench.tsv'), 'utf8').trim().split('\n').map((l) => l.split('\t'));
const bases = rows.filter((r) => r[0] === 'base').map((r) => Number(r[1])).sort((a, b) => a - b);
const baseline = bases[Math.floor(bases.length / 2)];
interface Mode { seconds: number; lines: number; events: number; lost: number; sends: number; slowdown: number }
const modes: Record<string, Mode> = {};
for (const mode of ['stream', 'aggregate']) {
  const row = rows.find((r) => r[0] === mode)!;
  const summary = readFileSync(join(dir, `${mode}.ndjson`), 'utf8').split('\n').filter((l) => l.includes('"type":"summary"'))
    .map((l) => JSON.parse(l) as { events: number; lost: number })[0];
  const wl = JSON.parse(readFileSync(join(dir, `${mode}-wl.json`), 'utf8')) as { sends: number };
  const seconds = Number(row[1]);
  modes[mode] = { seconds, lines: Number(row[2]), events: summary.events, lost: summary.lost, sends: wl.sends, slowdown: seconds / baseline };
}
const s = modes.stream;
const a = modes.aggregate;
const f = (x: number, d = 0): string => x.toFixed(d);
for (const [name, m] of Object.entries(modes)) {
  process.stdout.write(`lab-msgzc-kernel ${name}: ${m.sends} sends in ${f(m.seconds, 2)} s (untraced median ${f(baseline, 2)} s): ` +
    `${f(m.lines / m.seconds)} lines/s, ${f(m.events / m.seconds)} events/s, ${f(m.lines / m.sends, 1)} lines and ${f(m.events / m.sends, 1)} events per send, lost ${m.lost}, slowdown ${f(m.slowdown, 2)}x\n`);
}
process.stdout.write(`lab-msgzc-kernel result: events/s stream/aggregate ${f((s.events / s.seconds) / (a.events / a.seconds), 2)}, ` +
  `lines/s stream/aggregate ${f((s.lines / s.seconds) / (a.lines / a.seconds), 2)}, ` +
  `slowdown stream ${f(s.slowdown, 2)}x aggregate ${f(a.slowdown, 2)}x (stream/aggregate ${f(s.slowdown / a.slowdown, 2)})\n`);
process.stdout.write(`${envLine()}; guest kernel ${readFileSync(join(dir, 'uname'), 'utf8').trim()} under TCG, 1 vCPU; untraced runs ${bases.map((b) => f(b, 2)).join(', ')} s\n`);
