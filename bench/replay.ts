// bench/replay: `zctrace replay --json` against a baseline that only reads and JSON-parses the
// same lines, both as child processes in this run, alternated; then peak memory of replay on a
// 1 M and a 5 M event trace (it should stay flat: the reader streams and the engine is bounded).
// Usage: npm run bench:replay [-- --events 5000000] [--rounds 5]
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { newHeader } from '../src/trace/header.js';
import { synthesize } from '../src/trace/synthetic.js';
import { TraceWriter } from '../src/trace/writer.js';
import { envLine, measure } from './lib.js';

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

// Alternate the two, several times, each replay right after its baseline, and report the median
// of the per-round ratios: the machine is shared, and a pair run back to back sees about the
// same load. CPU time is reported too (less sensitive to contention).
const ROUNDS = Math.max(3, Number(process.argv[process.argv.indexOf('--rounds') + 1]) || 5);
const wall: number[] = [];
const cpu: number[] = [];
const rates: { base: number; replay: number }[] = [];
for (let i = 0; i < ROUNDS; i++) {
  const b = await measure(process.execPath, [join(import.meta.dirname, 'baseline-read.mjs'), files.big]);
  const r = await measure(process.execPath, [bin, 'replay', '--json', files.big]);
  if (r.code !== 0) throw new Error(`replay exited ${r.code}`);
  wall.push(b.seconds / r.seconds);
  cpu.push(b.cpuSeconds / r.cpuSeconds);
  rates.push({ base: big / b.seconds, replay: big / r.seconds });
  console.log(`round ${i + 1}: baseline ${b.seconds.toFixed(2)} s (${b.cpuSeconds.toFixed(2)} s CPU), replay ${r.seconds.toFixed(2)} s (${r.cpuSeconds.toFixed(2)} s CPU): ${(b.seconds / r.seconds).toFixed(2)} wall, ${(b.cpuSeconds / r.cpuSeconds).toFixed(2)} CPU`);
}
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
console.log(`baseline (read + JSON.parse): ${(median(rates.map((x) => x.base)) / 1e6).toFixed(2)} M events/s; replay --json: ${(median(rates.map((x) => x.replay)) / 1e6).toFixed(2)} M events/s (medians)`);
console.log(`RESULT replay/baseline throughput ratio: ${median(wall).toFixed(2)} wall, ${median(cpu).toFixed(2)} CPU (median of ${ROUNDS} alternated rounds; wall ${Math.min(...wall).toFixed(2)}-${Math.max(...wall).toFixed(2)})`);

const m1 = await measure(process.execPath, [bin, 'replay', '--json', files.small]);
const m5 = await measure(process.execPath, [bin, 'replay', '--json', files.big]);
console.log(`RESULT replay peak RSS: ${m1.peakMiB.toFixed(0)} MiB at ${small} events, ${m5.peakMiB.toFixed(0)} MiB at ${big} events (ratio ${(m5.peakMiB / m1.peakMiB).toFixed(2)})`);
console.log(envLine());
