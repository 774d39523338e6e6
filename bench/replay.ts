// bench/replay: `zctrace replay --json` against a baseline that only reads and JSON-parses the
// same lines, both as child processes in this run, alternated; then peak memory of replay on a
// 1 M and a 5 M event trace (it should stay flat: the reader streams and the engine is bounded).
// Usage: npm run bench:replay [-- --events 5000000]
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { newHeader } from '../src/trace/header.js';
import { synthesize } from '../src/trace/synthetic.js';
import { TraceWriter } from '../src/trace/writer.js';
import { envLine, measure, type ChildRun } from './lib.js';

const big = Number(process.argv[process.argv.indexOf('--events') + 1]) || 5_000_000;
const small = Math.round(big / 5);
const out = join(import.meta.dirname, 'out');
mkdirSync(out, { recursive: true });

function trace(events: number): string {
  const p = join(out, `replay-${events}.trace`);
  if (existsSync(p)) return p;
  const w = TraceWriter.create(p, newHeader({ pack: 'synthetic', generated: `bench/replay ${events} events` }));
  synthesize({ events, seed: 42, concurrency: 64, rate: 100_000, faults: ['leak', 'early_free', 'underflow'], lostAt: 0.5 }, (e) => w.write(e));
  w.close();
  return p;
}

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'zctrace.js');
const files = { small: trace(small), big: trace(big) };
console.log(`trace: ${big} events, ${(statSync(files.big).size / 1048576).toFixed(0)} MiB (synthetic, 64 holders in flight)`);

// Alternate the two, several times, and keep each one's best: the machine is shared, and the
// best run is the one least disturbed. CPU time is reported too (less sensitive to contention).
const ROUNDS = 3;
const base: ChildRun[] = [];
const replay: ChildRun[] = [];
for (let i = 0; i < ROUNDS; i++) {
  base.push(await measure(process.execPath, [join(import.meta.dirname, 'baseline-read.mjs'), files.big]));
  const r = await measure(process.execPath, [bin, 'replay', '--json', files.big]);
  if (r.code !== 0) throw new Error(`replay exited ${r.code}`);
  replay.push(r);
}
const best = (runs: ChildRun[], k: 'seconds' | 'cpuSeconds'): number => Math.min(...runs.map((r) => r[k]));
const bRate = big / best(base, 'seconds');
const rRate = big / best(replay, 'seconds');
console.log(`baseline (read + JSON.parse): ${(bRate / 1e6).toFixed(2)} M events/s; replay --json: ${(rRate / 1e6).toFixed(2)} M events/s`);
console.log(`RESULT replay/baseline throughput ratio: ${(rRate / bRate).toFixed(2)} wall, ${(best(base, 'cpuSeconds') / best(replay, 'cpuSeconds')).toFixed(2)} CPU (best of ${ROUNDS} alternated runs each)`);

const m1 = await measure(process.execPath, [bin, 'replay', '--json', files.small]);
const m5 = await measure(process.execPath, [bin, 'replay', '--json', files.big]);
console.log(`RESULT replay peak RSS: ${m1.peakMiB.toFixed(0)} MiB at ${small} events, ${m5.peakMiB.toFixed(0)} MiB at ${big} events (ratio ${(m5.peakMiB / m1.peakMiB).toFixed(2)})`);
console.log(envLine());
