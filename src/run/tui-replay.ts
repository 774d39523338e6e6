// `zctrace replay FILE --tui`: a trace through the engine at a chosen pace, under the dashboard.
// Pacing maps trace time to wall time (speed Nx), or feeds as fast as it can (max); it can
// pause, step one event, and run to the next finding. The dashboard only samples the engine at
// its own rate, so "max" measures the engine, not the screen. At a finite speed, idle gaps in
// the trace advance the engine with `tick`s, as live mode does, so ages and leaks move on screen.
import { basename } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldNow } from 'node:timers/promises';
import { FINDING_KINDS, type FindingKind, type ZcEvent } from '../engine/types.js';
import { totals } from '../engine/snapshot.js';
import { Dashboard } from '../sinks/dashboard/dashboard.js';
import type { Layout } from '../sinks/dashboard/layout.js';
import type { DashboardSource, ReplayControls, SourceFacts } from '../sinks/dashboard/source.js';
import type { TerminalIO } from '../sinks/dashboard/terminal.js';
import { TraceReader, type BadLineMode } from '../trace/reader.js';
import { fmtCount, fmtNs } from '../util/format.js';
import { Analysis } from './analysis.js';

/** Replay speed: a factor of real time, or as fast as possible. */
export type Speed = number | 'max';

/** Speeds `+` and `-` step through (then max). */
const LADDER = [0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000];
/** Longest stretch of work at full speed before keys and the scheduler get a turn (ms). */
const SLICE_MS = 20;

/** Options of a dashboard replay. */
export interface TuiReplayOptions {
  file: string;
  leakAfterNs: number;
  failOn?: Set<FindingKind>;
  onBadLine: BadLineMode;
  timeToleranceNs: number;
  layout: Layout;
  speed: Speed;
  io?: TerminalIO;
  /** Quit by itself at the end of the trace (the benchmark), instead of waiting for `q`. */
  exitAtEnd?: boolean;
  /** Called with the dashboard once it is open (tests and the benchmark read its screen and renders). */
  onOpen?: (dash: Dashboard) => void;
}

/** The pacing state the keys change, and the source the dashboard reads. */
class Player implements ReplayControls, DashboardSource {
  readonly mode = 'replay';
  paused = false;
  finished = false;
  quit = false;
  speed: Speed;
  steps = 0;
  toFinding = false;
  findings = 0;
  private anchor = { trace: NaN, wall: 0 };
  private wake: (() => void) | undefined;

  constructor(readonly analysis: Analysis, private readonly reader: TraceReader, private readonly file: string, speed: Speed) {
    this.speed = speed;
  }

  get engine() {
    return this.analysis.engine;
  }

  /** The player is its own pacing control. */
  get replay(): ReplayControls {
    return this;
  }

  facts(): SourceFacts {
    const h = this.reader.header;
    const state = this.finished ? 'end of trace (q quits)' : this.toFinding ? 'running to the next finding'
      : this.paused ? 'paused' : `playing ${this.speed === 'max' ? 'max' : `${this.speed}x`}`;
    const at = this.engine.now === -Infinity ? 'start' : fmtNs(this.engine.now);
    return { source: `replay ${basename(this.file)}`, pack: h?.pack ?? '?', kernel: h?.kernel ?? '?', clock: `at ${at}`, state };
  }

  togglePause(): void {
    this.paused = !this.paused;
    this.toFinding = false;
    this.rebase();
  }

  faster(): void {
    if (this.speed === 'max') return;
    const s = this.speed;
    this.speed = LADDER.find((x) => x > s) ?? 'max';
    this.rebase();
  }

  slower(): void {
    const s = this.speed;
    this.speed = s === 'max' ? LADDER[LADDER.length - 1] : [...LADDER].reverse().find((x) => x < s) ?? LADDER[0];
    this.rebase();
  }

  step(): void {
    this.paused = true;
    this.toFinding = false;
    this.steps++;
    this.rebase();
  }

  nextFinding(): void {
    this.toFinding = true;
    this.rebase();
  }

  stop(): void {
    this.quit = true;
    this.rebase();
  }

  /** After any change, trace time restarts from here, and a waiting loop re-checks at once. */
  rebase(): void {
    this.anchor = { trace: NaN, wall: performance.now() };
    this.wake?.();
  }

  /** Milliseconds to wait before event time `t` is due (0: now). */
  due(t: number): number {
    if (this.speed === 'max' || this.toFinding || this.steps > 0) return 0;
    if (Number.isNaN(this.anchor.trace)) this.anchor = { trace: t, wall: performance.now() };
    return this.anchor.wall + (t - this.anchor.trace) / 1e6 / this.speed - performance.now();
  }

  /** Trace time now, by the wall clock (for ticks while waiting). */
  traceNow(): number {
    return this.anchor.trace + (performance.now() - this.anchor.wall) * 1e6 * (this.speed as number);
  }

  /** Sleeps up to `ms`, or until a key changes the pacing. */
  sleep(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        res();
      }
      this.wake = done;
    });
  }
}

/** Feeds the trace to the engine at the player's pace; returns when it ends or on quit. */
async function play(p: Player, first: IteratorResult<ZcEvent[]>, rest: AsyncGenerator<ZcEvent[]>): Promise<void> {
  const engine = p.engine;
  let slice = performance.now();
  for (let r = first; !r.done; r = await rest.next()) {
    const batch = r.value;
    for (let i = 0; i < batch.length;) {
      if (p.quit) return;
      // Full speed, nothing to watch for: a tight loop, with a check of the clock per run.
      if (p.speed === 'max' && !p.paused && p.steps === 0 && !p.toFinding) {
        const end = Math.min(batch.length, i + 1024);
        while (i < end) engine.push(batch[i++]);
        if (performance.now() - slice > SLICE_MS) {
          await yieldNow();
          slice = performance.now();
        }
        continue;
      }
      if (p.paused && p.steps === 0 && !p.toFinding) {
        await p.sleep(1000);
        continue;
      }
      const e = batch[i];
      const wait = p.due(e.t);
      if (wait > 1) {
        const t = p.traceNow();
        if (t > engine.now + 1e8) engine.push({ t: Math.min(t, e.t), ev: 'tick' });
        await p.sleep(Math.min(wait, 100));
        slice = performance.now();
        continue;
      }
      engine.push(e);
      i++;
      if (p.steps > 0) p.steps--;
      if (p.toFinding && p.findings > 0) {
        p.toFinding = false;
        p.paused = true;
      }
      p.findings = 0;
      // Keys and the scheduler need the event loop: give it back every SLICE_MS of work.
      if ((i & 255) === 0 && performance.now() - slice > SLICE_MS) {
        await yieldNow();
        slice = performance.now();
      }
    }
  }
}

/** Runs the dashboard replay; resolves when the user quits. */
export async function replayTui(o: TuiReplayOptions): Promise<{ failHit: boolean; summary: string }> {
  let player: Player | undefined;
  const analysis = new Analysis({
    leakAfterNs: o.leakAfterNs, json: false, report: false, failOn: o.failOn,
    onRecord: (r) => { if (r.type === 'finding' && player) player.findings++; },
  });
  const reader = new TraceReader(o.file, { onBadLine: o.onBadLine, timeToleranceNs: o.timeToleranceNs });
  const batches = reader.batches();
  // The first chunk (and the header) is read before the terminal is taken: a missing or
  // unreadable file is a plain error message, not a flash of the dashboard.
  const first = await batches.next();
  player = new Player(analysis, reader, o.file, o.speed);
  const dash = new Dashboard({ layout: o.layout, source: player, instead: { headless: 'drop --tui for a report, or use --json for NDJSON records' }, io: o.io });
  try {
    dash.open();
    o.onOpen?.(dash);
    const p = player;
    const feeding = play(p, first, batches).then(() => {
      if (p.quit) return;
      analysis.engine.end();
      p.finished = true;
      dash.refresh();
      if (o.exitAtEnd) setTimeout(() => dash.close(), o.layout.refreshMs + 50);
    });
    // Quit while feeding: stop the feed; a read error while the dashboard is up: close it.
    dash.closed.then(() => p.stop(), () => p.stop());
    await Promise.race([feeding.then(() => dash.closed), dash.closed]);
    await feeding;
  } finally {
    dash.close();
    await batches.return(undefined);
  }
  const t = totals(analysis.engine);
  const counts = FINDING_KINDS.filter((k) => t.findings[k] > 0).map((k) => `${k} ${t.findings[k]}`).join(', ') || 'none';
  const where = player.finished ? 'to the end' : `to ${fmtNs(analysis.engine.now)} (quit before the end)`;
  const summary = `zctrace: replayed ${o.file} ${where}: ${fmtCount(t.events)} events, ${fmtCount(t.lifetimes)} lifetimes, findings: ${counts}`;
  return { failHit: analysis.failHit, summary };
}
