// The lifetime engine: events in, findings and statistics out. Pure: no I/O and no clock;
// time is the largest event timestamp seen so far (live mode feeds `tick`s), so a replay of
// the same trace always gives the same records, and tests need no timers.
//
// State per holder (see lifetime.ts for why identity is (obj, start)):
//   open    — lifetimes still running, looked up by obj;
//   watch   — the open ones not yet reported as leaks, in start order, so the leak clock only
//             ever looks at the oldest entry (a queue: finished ones are skipped when they reach
//             its front, and swept out when they outnumber the watched ones);
//   closed  — recently finished lifetimes (bounded), so a late put or free can still be judged
//             (use_after_free, underflow) against the lifetime it belongs to. Two generations:
//             finished lifetimes go into the young one; when it holds half the cache's size it
//             becomes the old one and the previous old one is dropped whole. Between half and all
//             of closedCacheSize are remembered, and nothing is deleted one by one (an eviction
//             per finished lifetime was a Map lookup and delete into a cold 16k-entry table:
//             a third of the engine's time at full speed, profiled).
import { Lifetime } from './lifetime.js';
import { countDerived, kindBit, lossSensitive, makeFinding } from './findings.js';
import { procKey, sharedComm, Stats } from './stats.js';
import type { EngineRecord, FindingKind, LifetimeView, ZcEvent } from './types.js';

/** How many of the last records the engine keeps for snapshots (the dashboard's findings log). */
export const RECENT_RECORDS = 200;

export interface EngineOptions {
  /** Age (ns) at which an open lifetime is a leak. */
  leakAfterNs: number;
  /** Receives findings and leak_resolved records, in order. */
  onRecord: (r: EngineRecord) => void;
  /** Trace-time step of the in-flight series (ns); default 1 s. */
  sampleEveryNs?: number;
  /** How many finished lifetimes to remember for late events, at most (at least half); default 16384. */
  closedCacheSize?: number;
}

export class Engine {
  readonly stats: Stats;
  readonly leakAfterNs: number;
  /** Trace time: the largest event time seen. */
  now = -Infinity;
  first = Infinity;
  openBytes = 0;
  lostEpoch = 0;
  ended = false;
  readonly open = new Map<string, Lifetime>();
  private watch: Lifetime[] = [];
  private watchHead = 0;
  /** Lifetimes in `watch` still open and not reported as leaks. */
  private watching = 0;
  private closed = new Map<string, Lifetime>();
  private closedOld = new Map<string, Lifetime>();
  private readonly stalled = new Set<string>();
  private readonly copySocks = new Set<string>();
  private nextLeakCheck = Infinity;
  /** Size of one generation of the closed cache (half of closedCacheSize). */
  private readonly closedGen: number;
  private readonly emit: (r: EngineRecord) => void;
  // The last RECENT_RECORDS records, a ring (recentNext is the oldest once it is full).
  private readonly recentRing: EngineRecord[] = [];
  private recentNext = 0;

  constructor(opts: EngineOptions) {
    this.leakAfterNs = opts.leakAfterNs;
    this.emit = (r) => {
      this.remember(r);
      opts.onRecord(r);
    };
    this.closedGen = Math.max(1, Math.ceil((opts.closedCacheSize ?? 16384) / 2));
    this.stats = new Stats(opts.sampleEveryNs ?? 1e9);
  }

  /** Feeds one event. Events must come in time order, give or take the reader's tolerance. */
  push(e: ZcEvent): void {
    this.stats.countEvent(e.ev);
    if (e.t > this.now) this.now = e.t;
    if (e.t < this.first && e.ev !== 'tick') this.first = e.t; // ticks are the clock, not activity
    if (this.now >= this.nextLeakCheck) this.checkLeaks();
    switch (e.ev) {
      case 'submit': this.onSubmit(e); break;
      case 'get': this.onGet(e); break;
      case 'put': this.onPut(e); break;
      case 'done': this.onDone(e); break;
      case 'free': this.onFree(e); break;
      case 'close': this.onClose(e); break;
      case 'lost':
        this.lostEpoch++;
        this.stats.lost += e.n ?? 0;
        break;
      case 'send_error': this.onSendError(e); break;
      case 'count': this.stats.addCount(e); break;
      case 'tick': break;
    }
    this.stats.sample(this.now, this.open.size, this.openBytes);
  }

  /** The trace ended: open lifetimes older than the threshold are leaks; the rest are in flight. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.now === -Infinity) return;
    this.checkLeaks();
  }

  /** Open lifetimes younger than the leak threshold (not reported). */
  inFlight(): number {
    return this.watching;
  }

  /** Oldest open lifetimes first (the open table is in start order). */
  oldest(n: number): Lifetime[] {
    const out: Lifetime[] = [];
    for (const lt of this.open.values()) {
      if (out.length >= n) break;
      out.push(lt);
    }
    return out;
  }

  /** The last `n` records emitted (at most RECENT_RECORDS), newest first. */
  recent(n = RECENT_RECORDS): EngineRecord[] {
    const ring = this.recentRing;
    const out: EngineRecord[] = [];
    for (let i = 1; i <= ring.length && out.length < n; i++) {
      out.push(ring[(this.recentNext - i + ring.length) % ring.length]);
    }
    return out;
  }

  /** A copy of the open, or else the most recently closed, lifetime of `obj` (the story view). */
  lifetimeOf(obj: string): (LifetimeView & { open: boolean; leaked: boolean }) | undefined {
    const lt = this.open.get(obj) ?? this.closedOne(obj);
    if (lt === undefined) return undefined;
    return { ...lt.view(lt.open && this.isUncertain(lt)), open: lt.open, leaked: lt.leaked };
  }

  private remember(r: EngineRecord): void {
    if (this.recentRing.length < RECENT_RECORDS) {
      this.recentRing.push(r);
      this.recentNext = this.recentRing.length % RECENT_RECORDS;
      return;
    }
    this.recentRing[this.recentNext] = r;
    this.recentNext = (this.recentNext + 1) % RECENT_RECORDS;
  }

  private isUncertain(lt: Lifetime): boolean {
    return lt.lostEpoch < this.lostEpoch;
  }

  private report(kind: FindingKind, lt: Lifetime, trigger?: ZcEvent): void {
    const bit = kindBit(kind);
    if (lt.reported & bit) return;
    lt.reported |= bit;
    // lost events, or a probe that says its own evidence is not certain: the trigger's unsure,
    // or the holder's (its submit: a leak cannot be certain; its first get: nothing judged
    // from its reference counts can be)
    const why = trigger?.unsure ?? (kind === 'leak' ? lt.leakUnsure : undefined) ?? (countDerived(kind) ? lt.countUnsure : undefined);
    const uncertain = (lossSensitive(kind) && this.isUncertain(lt)) || why !== undefined;
    this.stats.countFinding(kind, uncertain);
    this.stats.addTo(this.stats.bySock, lt.sock, 0, true);
    this.stats.addTo(this.stats.byProc, procKey(lt.pid, lt.comm), 0, true);
    this.emit(makeFinding(kind, lt, this.now, uncertain, trigger, why));
  }

  private begin(e: ZcEvent, obj: string): Lifetime {
    // (the finished one stays cached: a newer lifetime of its obj is found first, open or closed)
    const prev = this.closedOne(obj);
    // A holder the kernel kept (matching mode) arrives late: its lifetime began at e.start.
    const start = e.start !== undefined && e.start < e.t ? e.start : e.t;
    const lt = new Lifetime(obj, (prev?.seq ?? 0) + 1, start, this.lostEpoch);
    this.open.set(obj, lt);
    this.watch.push(lt);
    if (++this.watching === 1) this.nextLeakCheck = start + this.leakAfterNs;
    // finished lifetimes wait in the queue until its front passes them: sweep when they dominate
    if (this.watch.length - this.watchHead > 2 * this.watching + 4096) {
      this.watch = this.watch.filter((w, i) => i >= this.watchHead && w.open && !w.leaked);
      this.watchHead = 0;
    }
    this.stats.started++;
    return lt;
  }

  /**
   * The finished lifetime a late put, done or free of `obj` belongs to (judged against it), or
   * undefined, counted as untracked, when there is none: its lifetime began before we attached
   * (or was forgotten by the closed cache).
   */
  private late(obj: string): Lifetime | undefined {
    const old = this.closedOne(obj);
    if (old === undefined) this.stats.untracked++;
    return old;
  }

  /** The most recently finished lifetime of `obj` still cached. */
  private closedOne(obj: string): Lifetime | undefined {
    return this.closed.get(obj) ?? this.closedOld.get(obj);
  }

  private onSubmit(e: ZcEvent): void {
    const obj = e.obj as string;
    // A submit on a running lifetime extends it (a ubuf grown by the next send); after its
    // done or free the holder id has been reused, so the old lifetime ends and a new one starts.
    let lt = this.open.get(obj);
    if (lt !== undefined && (lt.done || lt.freed)) {
      this.finish(lt, e.t);
      lt = undefined;
    }
    if (lt === undefined) lt = this.begin(e, obj);
    if (e.resend === true) this.stats.countResend(e.sock);
    const before = lt.bytes;
    lt.absorb(e);
    this.openBytes += lt.bytes - before;
    lt.record(e);
    // handed over already past the threshold (the watch queue is in start order: do not wait)
    if (!lt.leaked && lt.start + this.leakAfterNs <= this.now) {
      lt.leaked = true;
      this.watching--;
      this.report('leak', lt);
    }
  }

  private onGet(e: ZcEvent): void {
    const obj = e.obj as string;
    const lt = this.open.get(obj) ?? this.begin(e, obj);
    lt.absorb(e);
    lt.gets++;
    // Trust the kernel's count when the probe read it: references taken where no probe fires
    // (inline helpers, a guard reference) are reconstructed from it rather than guessed.
    lt.refs = e.ref !== undefined ? e.ref : lt.refs + 1;
    if (e.page !== undefined) lt.touchPage(e.page, true);
    lt.record(e);
  }

  private onPut(e: ZcEvent): void {
    const obj = e.obj as string;
    const lt = this.open.get(obj);
    if (lt === undefined) {
      const old = this.late(obj);
      if (old !== undefined) {
        old.puts++;
        old.record(e);
        this.report(old.freed ? 'use_after_free' : 'underflow', old, e);
      }
      return;
    }
    lt.absorb(e);
    lt.puts++;
    if (e.page !== undefined) lt.touchPage(e.page, false);
    lt.record(e);
    if (lt.freed) this.report('use_after_free', lt, e);
    if (e.ref !== undefined ? e.ref < 0 : lt.refs <= 0) {
      lt.refs = 0;
      if (!lt.freed) this.report('underflow', lt, e);
    } else {
      lt.refs = e.ref !== undefined ? e.ref : lt.refs - 1;
    }
    if (lt.refs === 0 && (lt.done || lt.freed)) this.finish(lt, e.t);
  }

  private onDone(e: ZcEvent): void {
    const obj = e.obj as string;
    const lt = this.open.get(obj);
    if (lt === undefined) {
      this.late(obj)?.record(e); // a completion for a buffer already freed: part of its story
      return;
    }
    lt.absorb(e);
    lt.record(e);
    lt.done = true;
    this.stats.doneLifetimes++;
    if (lt.sock !== undefined) this.stalled.delete(lt.sock);
    this.stats.recordDuration(e.t - lt.start);
    if (e.copied === true) {
      lt.copied = true;
      this.stats.copiedLifetimes++;
      // Copying is a property of the path (loopback, a NIC without scatter-gather), so it is
      // reported on the first lifetime of each socket; the summary counts every copied one.
      const key = lt.sock ?? `obj:${obj}`;
      if (!this.copySocks.has(key)) {
        if (this.copySocks.size < 4096) this.copySocks.add(key);
        this.report('copy_fallback', lt, e);
      }
    }
    if (lt.refs <= 0) this.finish(lt, e.t);
  }

  private onFree(e: ZcEvent): void {
    const obj = e.obj as string;
    const lt = this.open.get(obj);
    if (lt === undefined) {
      const old = this.late(obj);
      if (old !== undefined) {
        old.freed = true;
        old.record(e);
      }
      return;
    }
    lt.absorb(e);
    lt.record(e);
    if (!lt.done || lt.refs > 0) this.report('early_free', lt, e);
    lt.freed = true;
    // With references still held the lifetime stays open, so the puts that follow are seen as
    // use after free; without, it is over (a completion arriving later joins its story).
    if (lt.refs <= 0) this.finish(lt, e.t);
  }

  /** The socket went away: its open lifetimes end without a completion (abandoned, no finding). */
  private onClose(e: ZcEvent): void {
    const ended: Lifetime[] = [];
    if (e.obj !== undefined) {
      const lt = this.open.get(e.obj);
      if (lt !== undefined) ended.push(lt);
    } else if (e.sock !== undefined) {
      for (const lt of this.open.values()) if (lt.sock === e.sock) ended.push(lt);
    }
    for (const lt of ended) {
      lt.record(e);
      lt.abandoned = true;
      this.stats.abandoned++;
      this.finish(lt, e.t);
    }
  }

  private onSendError(e: ZcEvent): void {
    this.stats.sendErrors++;
    const key = e.sock ?? e.obj ?? '(unknown)';
    if (e.errno !== 'ENOBUFS' || this.stalled.has(key)) return;
    if (this.stalled.size < 4096) this.stalled.add(key);
    const lt = (e.obj !== undefined && this.open.get(e.obj)) || new Lifetime(key, 0, e.t, this.lostEpoch);
    lt.absorb(e);
    this.report('enobufs', lt, e);
  }

  private checkLeaks(): void {
    this.nextLeakCheck = Infinity;
    const q = this.watch;
    while (this.watchHead < q.length) {
      const lt = q[this.watchHead];
      if (!lt.open || lt.leaked) {
        this.watchHead++;
        continue;
      }
      const due = lt.start + this.leakAfterNs;
      if (due > this.now) {
        this.nextLeakCheck = due;
        break;
      }
      this.watchHead++;
      lt.leaked = true;
      this.watching--;
      this.report('leak', lt);
    }
    if (this.watchHead > 4096 && this.watchHead * 2 > q.length) {
      this.watch = q.slice(this.watchHead);
      this.watchHead = 0;
    }
  }

  private finish(lt: Lifetime, t: number): void {
    lt.open = false;
    this.open.delete(lt.obj);
    if (!lt.leaked) this.watching--;
    this.openBytes -= lt.bytes;
    const s = this.stats;
    if (!lt.abandoned && !lt.done) s.earlyFreed++;
    if (!lt.abandoned && lt.done) {
      s.completed++;
      if (lt.pages !== null) {
        for (const c of lt.pages.values()) s.recordPageRefs(Math.max(c.g, c.p));
      }
    }
    if (lt.leaked && lt.done && !lt.abandoned) {
      this.emit({
        type: 'leak_resolved', obj: lt.obj, t, start: lt.start, seq: lt.seq, duration: t - lt.start,
        sock: lt.sock, pid: lt.pid, comm: lt.comm,
      });
    }
    const sockRow = s.addTo(s.bySock, lt.sock, lt.bytes, false);
    s.addTo(s.byProc, procKey(lt.pid, lt.comm), lt.bytes, false);
    // the socket's row key and the last process name are equal strings that stay: the cached
    // lifetime drops its own (slices of a probe line, which they would keep alive)
    lt.share(sockRow.key, sharedComm(lt.comm));
    lt.shrink();
    if (this.closed.size >= this.closedGen) {
      this.closedOld = this.closed;
      this.closed = new Map();
    }
    this.closed.set(lt.obj, lt);
  }
}
