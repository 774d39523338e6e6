// Live tracing: bpftrace → parser → pack decoder → engine (+ trace file), with ticks so ages
// advance between events, periodic stats, and a stop that is orderly whatever ends the run
// (duration, Ctrl-C/SIGTERM, the demo's workload finishing, bpftrace dying, a full disk):
// bpftrace is stopped and drained, the trace is flushed and closed, the summary is written.
import { basename } from 'node:path';
import { release } from 'node:os';
import type { ZcEvent } from '../engine/types.js';
import { totals } from '../engine/snapshot.js';
import type { PackDescriptor, ProbeFilters } from '../probes/pack.js';
import { ProbeParser } from '../probes/parse.js';
import { REORDER_WINDOW_NS } from '../probes/reorder.js';
import { BpftraceRunner } from '../probes/runner.js';
import { newHeader } from '../trace/header.js';
import { TraceWriter } from '../trace/writer.js';
import { BpftraceError, type TraceOutputError, type ZctraceError } from '../util/errors.js';
import { log, warn } from '../util/log.js';
import { sdNotify } from '../util/sd-notify.js';
import type { Rotation } from '../util/segmented-file.js';
import { packageVersion, probePath } from '../util/paths.js';
import type { JsonSink, StartRecord } from '../sinks/json.js';
import { Analysis, type AnalysisOptions } from './analysis.js';
import { StatusLine } from '../sinks/status.js';
import type { Layout } from '../sinks/dashboard/layout.js';
import type { Metrics } from '../sinks/metrics.js';
import type { MetricsServer } from '../sinks/metrics-server.js';
import { RecordsFile } from '../sinks/records-file.js';
import type { Engine } from '../engine/engine.js';

export interface LiveOptions extends Omit<AnalysisOptions, 'json'> {
  pack: PackDescriptor;
  /** The program to run (the pack's file, the variant chosen for this kernel, or its aggregate program). */
  file?: string;
  filters: ProbeFilters;
  /** Output: NDJSON records, a status line (then a report), only a status line (record), or the dashboard (then a report). */
  output: 'json' | 'status' | 'quiet' | 'dashboard';
  /** The dashboard layout, with output 'dashboard'. */
  dashboard?: Layout;
  durationNs?: number;
  /** Stats record period in headless mode (ns). */
  intervalNs: number;
  record?: { path: string; force: boolean; command: string; rotate?: Rotation };
  /** `--output FILE`: the NDJSON records go to this (rotating) file instead of stdout. */
  recordsFile?: { path: string; force: boolean; rotate?: Rotation };
  /** `--metrics HOST:PORT`: serve Prometheus metrics read from the engine. */
  metrics?: { host: string; port: number; per: { socket?: boolean; process?: boolean } };
  attachTimeoutMs?: number;
  /** match: the pack's program matches in the kernel (packs with `matching`); stream: a line per event. */
  mode?: 'match' | 'stream';
  /** Called once the probes are attached; its promise resolving ends the run (the demo's workload). */
  whileAttached?: () => Promise<unknown>;
  /** Grace period after whileAttached resolves, for the last completions to arrive (ms). */
  settleMs?: number;
}

export interface LiveResult {
  failHit: boolean;
  ended: string;
  events: number;
  /** submit and done events seen (the demo compares them with the workload's accounting). */
  submits: number;
  completions: number;
  recorded?: number;
}

const TICK_MS = 250;

/**
 * The probes are attached: headless runs write a `start` record and say so on stderr (a script
 * or a service manager can start its work, or count itself ready, at this moment); under
 * systemd (NOTIFY_SOCKET) readiness is signalled with systemd-notify.
 */
function announce(o: LiveOptions, t: number, json: JsonSink | undefined, metrics: Metrics | undefined): void {
  metrics?.setAttached(true);
  const program = basename(o.file ?? o.pack.file);
  const mode = runMode(o);
  if (json !== undefined) {
    const filters: StartRecord['filters'] = {};
    if (o.filters.pid !== undefined) filters.pid = o.filters.pid;
    if (o.filters.port !== undefined) filters.port = o.filters.port;
    if (o.filters.comm !== undefined) filters.comm = o.filters.comm;
    json.start({
      type: 'start', pack: o.pack.name, program, mode, kernel: release(), version: packageVersion(),
      filters, leakAfterNs: o.leakAfterNs, t,
    });
    process.stderr.write(`zctrace: probes attached (pack ${o.pack.name}, ${program}, ${mode}); tracing\n`);
  }
  sdNotify('READY=1', `STATUS=tracing with ${o.pack.name} (${mode})`);
}

/** What the run's program does: a line per event, counts in BPF maps, or matching in the kernel. */
export function runMode(o: Pick<LiveOptions, 'file' | 'pack' | 'mode'>): 'streaming' | 'aggregate' | 'matching' {
  if (/-agg\.bt$/.test(basename(o.file ?? o.pack.file))) return 'aggregate';
  return o.mode === 'match' && o.pack.matching === true ? 'matching' : 'streaming';
}

/**
 * The times of live ticks, which age open lifetimes into leaks. A tick must not run ahead of
 * the kernel's time as bpftrace delivers it: a holder whose completion is still in the pipe
 * would be aged into a leak, a claim that the sender is broken. bpftrace can lag by over a
 * second (seen in the lab: a one-vCPU TCG guest under netem), and a clock-driven tick cannot
 * tell a lagging bpftrace from a quiet host. So:
 * - when timestamped lines arrived since the last tick, the tick trails the newest of them by
 *   the reorder window (never later than the clock minus the window);
 * - when none did, it moves on by the time that passed since the last tick, from where that
 *   tick was: on a quiet host ticks trail the clock as they did the last line (a leak is judged
 *   that much later, never sooner), and a lag seen last stays counted until lines come again.
 * Ticks never go back.
 */
export class TickClock {
  private last = 0;
  private lastClock = 0;
  private lastLineSeen = 0;

  /** The next tick's time, given the clock and the newest line time (both ns since t0). */
  next(clock: number, newestLineT: number): number {
    const byClock = clock - REORDER_WINDOW_NS;
    const arrived = newestLineT > this.lastLineSeen;
    const t = arrived ? Math.min(byClock, newestLineT - REORDER_WINDOW_NS) : Math.min(byClock, this.last + (clock - this.lastClock));
    this.last = Math.max(this.last, t, 0);
    this.lastClock = clock;
    this.lastLineSeen = newestLineT;
    return this.last;
  }
}

/** The bpftrace positional parameters every pack takes: $1 pid, $2 port, $3 comm. */
export function filterParams(f: ProbeFilters): string[] {
  return [String(f.pid ?? 0), String(f.port ?? 0), f.comm ?? ''];
}

/** The metrics endpoint (`--metrics`), bound before bpftrace starts; prom-client is loaded only here. */
async function startMetrics(o: LiveOptions, engine: Engine): Promise<{ m: Metrics; server: MetricsServer }> {
  const [{ Metrics }, { serveMetrics }] = await Promise.all([import('../sinks/metrics.js'), import('../sinks/metrics-server.js')]);
  const m = new Metrics({
    engine, pack: o.pack.name, program: basename(o.file ?? o.pack.file), mode: runMode(o), version: packageVersion(), per: o.metrics!.per,
  });
  const server = await serveMetrics(m, o.metrics!.host, o.metrics!.port);
  process.stderr.write(`zctrace: Prometheus metrics on http://${server.address}/metrics\n`);
  return { m, server };
}

export async function runLive(o: LiveOptions): Promise<LiveResult> {
  const t0 = process.hrtime.bigint();
  const now = (): number => Number(process.hrtime.bigint() - t0);
  let stopReason: string | undefined;
  let fatal: ZctraceError | undefined;
  let wake: () => void = () => {};
  const stopped = new Promise<void>((r) => { wake = r; });
  const stop = (why: string, err?: ZctraceError): void => {
    if (stopReason !== undefined) return;
    stopReason = why;
    fatal = err;
    wake();
  };

  const writer = o.record
    ? TraceWriter.create(o.record.path, newHeader({ pack: o.pack.name, t0: String(t0), command: o.record.command }), {
      force: o.record.force, rotate: o.record.rotate, onError: (e: TraceOutputError) => stop('disk full', e),
    })
    : undefined;
  const recordsFile = o.recordsFile
    ? new RecordsFile(o.recordsFile.path, { force: o.recordsFile.force, rotate: o.recordsFile.rotate, onError: (e: TraceOutputError) => stop('disk full', e) })
    : undefined;
  const analysis = new Analysis({
    leakAfterNs: o.leakAfterNs, json: o.output === 'json', jsonOut: recordsFile, report: o.output === 'status' || o.output === 'dashboard', failOn: o.failOn,
    onRecord: (r) => status?.record(r),
  });
  const engine = analysis.engine;
  let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
  try {
    metrics = o.metrics ? await startMetrics(o, engine) : undefined;
  } catch (err) {
    writer?.close();
    recordsFile?.close();
    throw err;
  }
  const status = o.output === 'json' || o.output === 'dashboard' ? undefined : new StatusLine(o.pack.name, o.output === 'status');
  // The dashboard: drawn from snapshots at its own rate; q stops the run. Loaded only
  // here (blessed-contrib takes most of a second to import).
  const dash = o.output === 'dashboard'
    ? new (await import('../sinks/dashboard/live.js')).LiveDashboard({
      layout: o.dashboard as Layout, engine, pack: `${o.pack.name}, ${runMode(o)}`,
      onQuit: () => stop('quit'), onError: (err) => stop('dashboard failed', err as ZctraceError),
    })
    : undefined;
  const emit = (e: ZcEvent): void => {
    writer?.write(e);
    engine.push(e);
  };
  let badLines = 0;
  let drained: boolean | undefined;
  const parser = new ProbeParser(o.pack.createDecoder(), t0, {
    emit,
    ready: () => runner.ready(),
    message: (line) => log.info({ bpftrace: line }, 'bpftrace output'),
    bad: (n, why, line) => {
      if (++badLines <= 5) warn(`probe output line ${n}: ${why}: ${JSON.stringify(line.slice(0, 200))}`);
    },
  });
  const runner = new BpftraceRunner({
    program: probePath(o.file ?? o.pack.file),
    // matching mode: $4 = the leak threshold in ms (the kernel hands over sends older than it)
    params: runMode(o) === 'matching' ? [...filterParams(o.filters), String(Math.max(1, Math.round(o.leakAfterNs / 1e6)))] : filterParams(o.filters),
    onLine: (l) => parser.line(l),
    onStderr: (l) => log.info({ bpftraceStderr: l }), attachTimeoutMs: o.attachTimeoutMs,
    onDrainWait: () => { if (o.output !== 'dashboard') process.stderr.write('zctrace: stopping: waiting for bpftrace to deliver what it traced before the stop (Ctrl-C again to stop now)\n'); },
  });
  runner.onUnexpectedExit = (err) => stop('bpftrace died', new BpftraceError(`bpftrace died while tracing: ${err.message}`, err.hint));

  // First Ctrl-C/SIGTERM: orderly stop. A second one: stop waiting for bpftrace.
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals): void => {
    signals++;
    if (signals === 1) stop(`interrupted (${sig})`);
    else {
      warn('second signal: killing bpftrace without waiting for it to drain');
      if (runner.pid !== undefined) process.kill(-runner.pid, 'SIGKILL');
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const timers: NodeJS.Timeout[] = [];
  // Everything that runs once the probes are attached: ticks, flushes, stats, the end.
  const startTimers = (): void => {
    const out = timers;
    let lastStats = { t: now(), events: 0 };
    // Ticks trail the lines by the reorder window (TickClock): every line before the tick is
    // decoded first, so a late completion is never judged after its holder was aged past the
    // threshold.
    const ticks = new TickClock();
    out.push(setInterval(() => {
      const t = ticks.next(now(), parser.lastT);
      parser.flush(t);
      emit({ t, ev: 'tick' });
    }, TICK_MS));
    out.push(setInterval(() => {
      writer?.flush();
      status?.update(engine, now());
    }, 1000));
    if (o.output === 'json') {
      out.push(setInterval(() => {
        const t = now();
        const tot = totals(engine);
        analysis.json?.stats({ type: 'stats', ...tot, rate: ((tot.events - lastStats.events) * 1e9) / Math.max(1, t - lastStats.t) });
        lastStats = { t, events: tot.events };
      }, Math.max(100, o.intervalNs / 1e6)));
    }
    if (o.durationNs !== undefined) out.push(setTimeout(() => stop('duration reached'), o.durationNs / 1e6));
    if (o.whileAttached) {
      o.whileAttached().then(
        () => out.push(setTimeout(() => stop('workload finished'), o.settleMs ?? 1000)),
        (err: ZctraceError) => stop('workload failed', err),
      );
    }
  };
  try {
    log.debug({ pack: o.pack.name, params: filterParams(o.filters) }, 'starting bpftrace');
    // A signal while bpftrace is still attaching must stop the run too.
    const started = runner.start();
    started.catch(() => {});
    await Promise.race([started, stopped]);
    if (stopReason === undefined) {
      status?.attached();
      dash?.attached();
      announce(o, now(), analysis.json, metrics?.m);
      startTimers();
      await stopped;
    }
  } catch (err) {
    stop('could not start', err as ZctraceError);
  } finally {
    for (const t of timers) clearInterval(t);
    metrics?.m.setAttached(false);
    sdNotify('STOPPING=1');
    const how = await runner.stop();
    drained = how.drained;
    if (drained === false) {
      warn(`bpftrace had not delivered everything it traced before the stop (no answer from CPU ${how.missing.join(', ')}): stopped anyway; what its buffers held is lost and not counted (bpftrace drops it at exit)`);
    }
    parser.finish();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await dash?.finish(stopReason); // a run that ended by itself stays on screen until q
  if (stopReason === 'could not start') {
    writer?.close();
    recordsFile?.close();
    await metrics?.server.close();
    throw fatal;
  }
  emit({ t: now(), ev: 'tick' });
  writer?.close();
  status?.done();
  await analysis.finish({
    title: `zctrace live, pack ${o.pack.name}, ${runMode(o)} (leak threshold ${o.leakAfterNs / 1e9} s): ${stopReason}`,
    notes: [
      ...(writer ? [`recorded ${writer.eventsWritten} events to ${writer.path}${writer.files > 1 ? ` (rotated: ${writer.files} files in this run)` : ''}`] : []),
      ...(drained === false ? ['stopped while bpftrace was behind: the events still in its buffers are missing from this report'] : []),
    ],
    badLines, truncated: false, source: `pack ${o.pack.name}`, ended: stopReason ?? 'stopped', drained,
  });
  recordsFile?.close();
  await metrics?.server.close();
  if (o.output === 'quiet' && writer) {
    process.stdout.write(`recorded ${writer.eventsWritten} events to ${writer.path} (pack ${o.pack.name}; ${stopReason})\n`);
  }
  if (fatal) throw fatal;
  const tot = totals(engine);
  // matching mode: most sends are counted in the kernel, not seen as events
  const matched = runMode(o) === 'matching';
  return {
    failHit: analysis.failHit, ended: stopReason ?? 'stopped', events: tot.events, recorded: writer?.eventsWritten,
    submits: matched ? engine.stats.started : tot.eventsByKind.submit ?? 0,
    completions: matched ? engine.stats.doneLifetimes : tot.eventsByKind.done ?? 0,
  };
}
