// Immutable views of the engine's state: the snapshot the dashboard draws from and the
// summary/stats records the JSON output ends with. Built on demand (1 Hz, or once at the end),
// never per event.
import type { Engine } from './engine.js';
import type { Lifetime } from './lifetime.js';
import { distribution, procKey, type Breakdown, type Distribution, type InflightPoint } from './stats.js';
import { FINDING_KINDS, type EngineRecord, type FindingKind, type LifetimeView } from './types.js';

/** Counts that both the summary and the periodic stats records carry. */
export interface Totals {
  events: number;
  eventsByKind: Record<string, number>;
  lifetimes: number;
  completed: number;
  /** Lifetimes open now (leaked ones included). */
  open: number;
  /** Open and younger than the leak threshold. */
  inFlight: number;
  /** Ended because their socket closed before completion. */
  abandoned: number;
  /** Ended by a free before completion (so lifetimes = completed + open + abandoned + earlyFreed). */
  earlyFreed: number;
  bytesInFlight: number;
  findings: Record<FindingKind, number>;
  /** Findings on lifetimes open across lost events: reported, but not counted as findings. */
  uncertain: Record<FindingKind, number>;
  /** Lifetimes completed with the kernel copying, and their share of completions. */
  copied: number;
  copiedRatio: number;
  lost: number;
  untracked: number;
  sendErrors: number;
  /** Sends that repeated a buffer still in flight, unchanged (no finding). */
  resends: number;
  /** ns; durations in ns, submit/first get → done. */
  duration: Distribution;
  refsPerPage: Distribution;
  /** Trace time covered: first and last event (ns). */
  first: number;
  last: number;
}

/** What the dashboard draws. */
export interface Snapshot extends Totals {
  leakAfterNs: number;
  series: InflightPoint[];
  refsBuckets: number[];
  durationBuckets: number[];
  /** Open holders matching the query, in its order (oldest first by default), at most `top`. */
  oldest: (LifetimeView & { age: number; leaked: boolean })[];
  /** How many open holders match the query (oldest may show fewer). */
  matching: number;
  bySock: Breakdown[];
  byProc: Breakdown[];
  /** The last findings and leak_resolved records, newest first. */
  recent: EngineRecord[];
}

/** Which open holders a snapshot lists, and in what order (the dashboard's filter and sort). */
export interface HolderQuery {
  /** Keeps a holder when true; sees only what identifies it. */
  match?: (h: Pick<Lifetime, 'obj' | 'sock' | 'pid' | 'comm'>) => boolean;
  /** age: oldest first; refs/bytes: largest first (a bounded top-k over all open holders). */
  sort?: 'age' | 'refs' | 'bytes';
}

function perKind(src: Partial<Record<FindingKind, number>>): Record<FindingKind, number> {
  const out = {} as Record<FindingKind, number>;
  for (const k of FINDING_KINDS) out[k] = src[k] ?? 0;
  return out;
}

/** The counters, cheap enough for a stats record every interval. */
export function totals(engine: Engine): Totals {
  const s = engine.stats;
  // Ticks are the clock, not something that happened to a holder.
  let events = 0;
  for (const [k, n] of Object.entries(s.events)) if (k !== 'tick') events += n;
  const empty = engine.now === -Infinity;
  return {
    events,
    eventsByKind: { ...s.events },
    lifetimes: s.started,
    completed: s.completed,
    open: engine.open.size,
    inFlight: engine.inFlight(),
    abandoned: s.abandoned,
    earlyFreed: s.earlyFreed,
    bytesInFlight: engine.openBytes,
    findings: perKind(s.findings),
    uncertain: perKind(s.uncertain),
    copied: s.copiedLifetimes,
    copiedRatio: s.doneLifetimes === 0 ? 0 : s.copiedLifetimes / s.doneLifetimes,
    lost: s.lost,
    untracked: s.untracked,
    sendErrors: s.sendErrors,
    resends: s.resends,
    duration: distribution(s.durations, s.durationSum),
    refsPerPage: distribution(s.refsPerPage, s.refsSum),
    // Before any activity (only ticks so far) the span is empty: first = last.
    first: Number.isFinite(engine.first) ? engine.first : empty ? 0 : engine.now,
    last: empty ? 0 : engine.now,
  };
}

function withOpen(rows: Map<string, Breakdown>, open: Map<string, number>, top: number): Breakdown[] {
  const out = [...rows.values()].map((r) => ({ ...r, open: 0 }));
  const byKey = new Map(out.map((r) => [r.key, r]));
  for (const [key, n] of open) {
    const row = byKey.get(key);
    if (row) row.open = n;
    else out.push({ key, lifetimes: 0, bytes: 0, open: n, findings: 0, resends: 0 });
  }
  out.sort((a, b) => b.open - a.open || b.findings - a.findings || b.lifetimes - a.lifetimes);
  return out.slice(0, top);
}

// One pass over the open holders: the first `top` matches in start order, or the `top` largest
// by refs/bytes kept sorted by insertion (top is small, so this beats sorting all of them).
function pick(engine: Engine, top: number, q: HolderQuery): { rows: Lifetime[]; matching: number } {
  const rows: Lifetime[] = [];
  let matching = 0;
  const key = q.sort === 'refs' ? (lt: Lifetime) => lt.refs : q.sort === 'bytes' ? (lt: Lifetime) => lt.bytes : undefined;
  for (const lt of engine.open.values()) {
    if (q.match !== undefined && !q.match(lt)) continue;
    matching++;
    if (key === undefined) {
      if (rows.length < top) rows.push(lt);
      continue;
    }
    const v = key(lt);
    if (rows.length === top && v <= key(rows[top - 1])) continue;
    let i = rows.length;
    while (i > 0 && key(rows[i - 1]) < v) i--;
    rows.splice(i, 0, lt);
    if (rows.length > top) rows.pop();
  }
  return { rows, matching };
}

/** Everything the dashboard shows; `top` bounds the tables, `query` picks the holders listed. */
export function snapshot(engine: Engine, top = 50, query: HolderQuery = {}): Snapshot {
  const openBySock = new Map<string, number>();
  const openByProc = new Map<string, number>();
  for (const lt of engine.open.values()) {
    const sk = lt.sock ?? '(unknown)';
    openBySock.set(sk, (openBySock.get(sk) ?? 0) + 1);
    const pk = procKey(lt.pid, lt.comm) ?? '(unknown)';
    openByProc.set(pk, (openByProc.get(pk) ?? 0) + 1);
  }
  const s = engine.stats;
  const { rows, matching } = query.match === undefined && (query.sort ?? 'age') === 'age'
    ? { rows: engine.oldest(top), matching: engine.open.size }
    : pick(engine, top, query);
  return {
    ...totals(engine),
    leakAfterNs: engine.leakAfterNs,
    series: s.series.slice(),
    refsBuckets: s.refsBuckets.slice(),
    durationBuckets: s.durationBuckets.slice(),
    oldest: rows.map((lt) => ({
      ...lt.view(lt.lostEpoch < engine.lostEpoch), age: engine.now - lt.start, leaked: lt.leaked,
    })),
    matching,
    bySock: withOpen(s.bySock, openBySock, top),
    byProc: withOpen(s.byProc, openByProc, top),
    recent: engine.recent(),
  };
}
