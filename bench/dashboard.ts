// bench/dashboard: what the dashboard costs. The same trace is replayed at full speed, as child
// processes alternated in one run: under the dashboard (`replay --tui --speed max`, the default
// layout redrawn at 1 Hz on a 120x40 terminal whose output is discarded) and headless
// (`replay --json`). The result is their CPU-time ratio (wall time is reported too, but on a
// shared machine CPU time is the figure that means something), and the CPU time each frame
// took to draw, as the dashboard's scheduler counts it.
// Usage: npm run bench:dashboard [-- --events 1000000]
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { envLine, measure, type ChildRun } from './lib.js';

const arg = (name: string): string | undefined => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1] : undefined);
const out = join(import.meta.dirname, 'out');

type Mode = 'headless' | 'tui';

/** In a child: one replay in one mode; writes what it saw to `report`. */
async function child(mode: Mode, file: string, report: string): Promise<void> {
  // CPU of the replay itself, after the modules are loaded (blessed-contrib alone takes most
  // of a second to import: a fixed start-up cost, reported apart from the steady cost).
  const cpu = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;
  if (mode === 'headless') {
    const { replayFile } = await import('../src/run/replay.js');
    const c0 = process.cpuUsage();
    await replayFile(file, { leakAfterNs: 10e9, json: true, onBadLine: 'error', timeToleranceNs: 1e9, progress: false });
    writeFileSync(report, JSON.stringify({ renders: 0, frameCpuMs: 0, firstCpuMs: 0, bytes: 0, replayCpu: cpu(process.cpuUsage(c0)) }));
    return;
  }
  const { replayTui } = await import('../src/run/tui-replay.js');
  const { loadLayout } = await import('../src/sinks/dashboard/layout.js');
  const c0 = process.cpuUsage();
  // A 120x40 terminal that takes everything blessed writes and counts it.
  let bytes = 0;
  const output = Object.assign(new PassThrough(), { isTTY: true, columns: 120, rows: 40 });
  output.on('data', (d: Buffer) => { bytes += d.length; });
  const input = Object.assign(new PassThrough(), { isTTY: true, setRawMode: () => input });
  let dash: { scheduler?: { renders: number; cpuMs: number } } | undefined;
  let first = 0; // the first frame (drawn as the dashboard opens) pays for warming up: apart
  await replayTui({
    file, leakAfterNs: 10e9, onBadLine: 'error', timeToleranceNs: 1e9, layout: loadLayout('default'), speed: 'max',
    io: { input, output }, exitAtEnd: true, onOpen: (d) => { dash = d; first = d.scheduler?.cpuMs ?? 0; },
  });
  const sch = dash?.scheduler;
  writeFileSync(report, JSON.stringify({ renders: sch?.renders ?? 0, frameCpuMs: (sch?.cpuMs ?? 0) - first, firstCpuMs: first, bytes, replayCpu: cpu(process.cpuUsage(c0)) }));
}

/** The trace: the replay benchmark's if it is there, else one made the same way. */
async function trace(events: number): Promise<string> {
  for (const name of [`replay-${events}.trace`, `dashboard-${events}.trace`]) if (existsSync(join(out, name))) return join(out, name);
  const { newHeader } = await import('../src/trace/header.js');
  const { synthesize } = await import('../src/trace/synthetic.js');
  const { TraceWriter } = await import('../src/trace/writer.js');
  const p = join(out, `dashboard-${events}.trace`);
  const w = TraceWriter.create(p, newHeader({ pack: 'synthetic', generated: `bench/dashboard ${events} events` }));
  synthesize({ events, seed: 42, concurrency: 64, rate: 100_000, faults: ['leak', 'early_free', 'underflow'], lostAt: 0.5 }, (e) => w.write(e));
  w.close();
  return p;
}

if (arg('--child') !== undefined) {
  await child(String(arg('--child')) as Mode, String(arg('--file')), String(arg('--report')));
} else {
  mkdirSync(out, { recursive: true });
  const events = Number(arg('--events')) || 1_000_000;
  const file = await trace(events);
  const ROUNDS = Number(arg('--rounds')) || 5;
  const reports = mkdtempSync(join(tmpdir(), 'zctrace-bench-dashboard-'));
  const runs: Record<Mode, (ChildRun & { renders: number; frameCpuMs: number; firstCpuMs: number; bytes: number; replayCpu: number })[]> = { tui: [], headless: [] };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of ['headless', 'tui'] as const) {
      const report = join(reports, `${mode}.json`);
      const r = await measure(process.execPath, ['--import', 'tsx', import.meta.filename, '--child', mode, '--file', file, '--report', report]);
      if (r.code !== 0) throw new Error(`${mode} child exited ${r.code}`);
      runs[mode].push({ ...r, ...JSON.parse(readFileSync(report, 'utf8')) });
    }
  }
  // Each mode's least disturbed run (the machine is shared): its lowest CPU time.
  const best = (m: Mode) => runs[m].reduce((a, b) => (b.cpuSeconds < a.cpuSeconds ? b : a));
  const t = best('tui');
  const h = best('headless');
  console.log(`trace: ${file} (${events} events); ${ROUNDS} alternated runs of each mode`);
  console.log(`headless (replay --json): ${h.cpuSeconds.toFixed(2)} s CPU (${h.replayCpu.toFixed(2)} s replaying), ${h.seconds.toFixed(2)} s wall`);
  console.log(`dashboard (replay --tui --speed max, 1 Hz, 120x40): ${t.cpuSeconds.toFixed(2)} s CPU (${t.replayCpu.toFixed(2)} s replaying), ${t.seconds.toFixed(2)} s wall ` +
    `(1 s of it waiting for the last frame), ${t.renders} frames, ${(t.bytes / 1024).toFixed(0)} KiB to the terminal`);
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const frame = median(runs.tui.map((r) => r.frameCpuMs / Math.max(1, r.renders - 1)));
  console.log(`RESULT dashboard frame: ${frame.toFixed(1)} ms CPU per frame after the first (first: ${median(runs.tui.map((r) => r.firstCpuMs)).toFixed(0)} ms); ` +
    `at 1 Hz, ${(frame / 10).toFixed(1)}% of a core (medians over ${ROUNDS} runs)`);
  console.log(`RESULT dashboard/headless CPU ratio: ${(t.cpuSeconds / h.cpuSeconds).toFixed(2)} whole process, ${(t.replayCpu / h.replayCpu).toFixed(2)} replay only ` +
    `(module loading excluded); wall ${(t.seconds / h.seconds).toFixed(2)}; best of ${ROUNDS} alternated runs each`);
  console.log(envLine());
  rmSync(reports, { recursive: true, force: true });
}
