// The timeline export (`zctrace export --format perfetto`): Chrome trace-event JSON, which
// ui.perfetto.dev and chrome://tracing open. One process track per socket (process_name
// "sock LOCAL>REMOTE"); each holder lifetime an async slice on it (b/e pairs: lifetimes on a
// socket overlap, which thread slices may not), named by how it ended (completed, early freed,
// abandoned, open at end) so the UI colours them apart; findings as instant events on their
// socket's track; holders and bytes in flight as counter tracks of a "zctrace" process.
// Times are µs since the trace's origin. Lifetimes come from watching the engine's open table
// around each event (the engine judges; this only draws), so the export and the report agree.
import type { Engine } from '../engine/engine.js';
import type { Lifetime } from '../engine/lifetime.js';
import type { EngineRecord, ZcEvent } from '../engine/types.js';

/** One trace event of the JSON format (the fields this export uses). */
export interface TraceEvent {
  ph: 'b' | 'e' | 'i' | 'C' | 'M';
  name: string;
  pid: number;
  tid: number;
  ts?: number;
  cat?: string;
  id?: string;
  s?: 'p' | 'g' | 't';
  args?: Record<string, unknown>;
}

/** Counter samples at most this often (trace time, ns): bounded output for long traces. */
const COUNTER_STEP_NS = 1e6;
const ZCTRACE_PID = 0;

export class PerfettoExport {
  private readonly socks = new Map<string, number>();
  /** The lifetime drawn so far of each holder (one open per holder at a time). */
  private readonly begun = new Map<string, Lifetime>();
  private lastCounter = -Infinity;
  private lastLevel = { holders: -1, bytes: -1 };
  lifetimes = 0;
  findings = 0;

  /** `out` receives the events in order of discovery (the format does not need them sorted). */
  constructor(private readonly engine: Engine, private readonly out: (e: TraceEvent) => void) {
    out({ ph: 'M', name: 'process_name', pid: ZCTRACE_PID, tid: 0, args: { name: 'zctrace' } });
  }

  /** Feeds one event to the engine and draws what it changed. */
  push(e: ZcEvent): void {
    const engine = this.engine;
    engine.push(e);
    if (e.ev === 'close') {
      // a socket's close ends every lifetime on it (rare: a scan is fine)
      for (const lt of [...this.begun.values()]) if (!lt.open) this.end(lt, e.t);
    }
    if (e.obj !== undefined) {
      const prev = this.begun.get(e.obj);
      // its lifetime ended (completed, freed), possibly replaced by a new one (a new submit)
      if (prev !== undefined && !prev.open) this.end(prev, e.t);
      const now = engine.open.get(e.obj);
      if (now !== undefined && now !== prev) this.begun.set(e.obj, now);
    }
    if (e.t - this.lastCounter >= COUNTER_STEP_NS) this.counter(e.t);
  }

  /** A finding or leak_resolved record of the engine (pass the engine's onRecord here). */
  record(r: EngineRecord): void {
    if (r.type !== 'finding') return;
    this.findings++;
    this.out({
      ph: 'i', s: 'p', name: r.uncertain ? `${r.kind} (uncertain)` : r.kind, cat: 'finding',
      pid: this.sockPid(r.sock ?? (r.kind === 'enobufs' ? r.obj : undefined)), tid: 0, ts: r.t / 1000,
      args: { obj: r.obj, seq: r.seq, detail: r.detail, age_ns: r.age, refs: r.refs, bytes: r.bytes, pid: r.pid, comm: r.comm },
    });
  }

  /** The trace ended: lifetimes still open end at its last time, named so; a last counter sample. */
  finish(): void {
    const t = Number.isFinite(this.engine.now) ? this.engine.now : 0;
    for (const lt of [...this.begun.values()]) this.end(lt, t);
    this.counter(t, true);
  }

  private end(lt: Lifetime, t: number): void {
    if (this.begun.get(lt.obj) !== lt) return;
    this.begun.delete(lt.obj);
    this.lifetimes++;
    const name = lt.open ? (lt.leaked ? 'leaked (open at end)' : 'in flight (open at end)')
      : lt.abandoned ? 'abandoned (socket closed)' : lt.done ? (lt.leaked ? 'completed late (stall)' : 'completed') : 'early freed';
    const pid = this.sockPid(lt.sock);
    const id = `${lt.obj}#${lt.seq}`;
    this.out({
      ph: 'b', cat: 'lifetime', name, id, pid, tid: 0, ts: lt.start / 1000,
      args: { obj: lt.obj, seq: lt.seq, bytes: lt.bytes, pid: lt.pid, comm: lt.comm, copied: lt.copied || undefined },
    });
    this.out({ ph: 'e', cat: 'lifetime', name, id, pid, tid: 0, ts: Math.max(lt.start, t) / 1000 });
  }

  private counter(t: number, force = false): void {
    const holders = this.engine.open.size, bytes = this.engine.openBytes;
    if (!force && holders === this.lastLevel.holders && bytes === this.lastLevel.bytes) return;
    this.lastCounter = t;
    this.lastLevel = { holders, bytes };
    this.out({ ph: 'C', name: 'in flight', pid: ZCTRACE_PID, tid: 0, ts: t / 1000, args: { holders, bytes } });
  }

  // The track of a socket: a pid of its own, named once.
  private sockPid(sock: string | undefined): number {
    const key = sock ?? '(unknown socket)';
    let pid = this.socks.get(key);
    if (pid === undefined) {
      pid = this.socks.size + 1;
      this.socks.set(key, pid);
      this.out({ ph: 'M', name: 'process_name', pid, tid: 0, args: { name: sock === undefined ? key : `sock ${sock}` } });
    }
    return pid;
  }
}
