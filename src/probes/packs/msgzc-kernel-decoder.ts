// Lines of the msgzc-kernel programs → events. Holder = one struct ubuf_info (its kernel
// address); the engine tells apart the lifetimes of a reused address (identity = obj + start).
//
// How a ubuf's life maps onto events (docs/msgzc-kernel.md says it for people):
//   submit (new=1)      → submit: a lifetime starts at the kernel's allocation
//   submit (new=0)      → submit: the same ubuf grew by one send (bytes add up)
//   put                 → put with the kernel's count (ok=0: reason "copy")
//   frags / copy        → one put per frag page (page, the ubuf's count unchanged, pageRef)
//   done fate=queue     → get(ref 1, reason "notification") + done: the ubuf's skb now waits
//                         in the error queue until the owner reads it, so the lifetime stays
//                         open, held by that notification
//   done fate=merge|drop→ done: the kernel frees the ubuf now (its ids ride on the tail
//                         notification, or nobody is told), so the lifetime ends here
//   read                → put(ref 0, reason "read"): the owner was told; the skb is freed
//   skfree              → close for each unread notification of that socket
//   unmap / exit        → free of every in-flight ubuf whose user buffer the range meets
//   rewrite (at=send)   → free(rewrite) of that ubuf if still in flight (its bytes changed)
//   write               → free(<the call>) of every in-flight ubuf the written range meets
//   a new send of exactly the range of an in-flight send (same process): fingerprints equal →
//                         a resend (counted on the submit, no finding); different → free(rewrite)
//                         of the older ubuf first. Partial overlaps cannot be compared: counted.
// A ubuf is "in flight" from its submit to its done: after done the kernel holds no page, so
// unmapping or rewriting the buffer then is safe and is not reported by this pack (the syscall
// pack reports a buffer changed before the owner read its completion).
//
// A done line can be missing (lost lines) or arrive after later lines of other CPUs (bpftrace
// drains one CPU's buffer at a time; in the TCG lab with 2 vCPUs, seconds late). The kernel's
// own facts then stand in for it, so a correct sender is never judged on a missing line:
//   read [lo, hi]       → every ubuf of that socket whose ids have all been read is done: an id
//                         is notified only from its ubuf's __msg_zerocopy_callback, after the
//                         last reference (the read notification itself, and those merged in)
//   skfree              → every ubuf of that socket is done: each holds the socket (sock_hold in
//                         msg_zerocopy_alloc, put in __msg_zerocopy_callback), so the socket is
//                         destroyed only after the last one
// Such a derived end says so (put reason "derived"). Lines of a ubuf that come after its
// lifetime was ended that way, or after the next allocation at its address, but carry an earlier
// time, are the old lifetime's stragglers: dropped (stats.stale), never judged as a put on a
// freed or completed holder.
import type { ZcEvent } from '../../engine/types.js';
import type { Decoder, Emit, ProbeLine } from '../pack.js';
import { InflightRanges, pageSpan } from './inflight-ranges.js';
import { spans } from './msgzc-ids.js';
import { big, callName, int, sentRanges, writtenRanges } from '../fields.js';
import { KINDS, parsePages, wellFormed } from './msgzc-kernel-lines.js';
import { raceWhy, ZERO_WHY } from './user-buffers.js';
import { Reorder } from '../reorder.js';

/** How long a line waits for earlier lines from other CPUs (trace time). 0: not at all, since
 * the parser has already put the lines in time order (src/probes/reorder.ts); a second hold here
 * made the engine see a `lost` event (which the parser emits directly) before the lines that
 * came before it, so lifetimes open across the loss were judged certain. */
export const REORDER_NS = 0;
/** Read id ranges remembered per socket (coalesced; TCP's are almost always one). */
const MAX_READ_SPANS = 64;
/** Ubufs whose end was derived, remembered to recognise their straggling lines. */
const MAX_ENDED = 65536;
/** Holders (in flight or with an unread notification) remembered at once. */
const MAX_HOLDERS = 65536;

/** An event with the page's own count after the put (frags/copy lines): an extra field that
 * trace files keep and the engine ignores (docs/trace-format.md: unknown fields are ignored). */
export type PageEvent = ZcEvent & { pageRef?: number };

interface Holder {
  sk: string;
  /** Time of its allocation (submit new=1, or the first line seen of it). */
  start: number;
  /** The ids its submits took, first and last (u32, in send order; may wrap). */
  first?: number;
  last?: number;
  pid?: number;
  /** The count read by the last put line (undefined: none seen, e.g. --aggregate). */
  putRef?: number;
  /** Its skb waits in the error queue: the lifetime is held open by the notification. */
  notified: boolean;
  lo?: number;
  hi?: number;
  /** A put said the kernel copied its data (ok=0). */
  copied?: boolean;
  /** Time of its done line (queued: the lifetime goes on, held by the notification). */
  doneAt?: number;
}

/** What the decoder saw, for tests, benchmarks and the closing summary. */
export interface MsgzcKernelStats {
  submits: number;
  holders: number;
  pagePuts: number;
  /** Frag pages whose count reached 0 with TCP's drop: the owner had let go of the page first. */
  pagesLastRef: number;
  copies: number;
  dones: { queue: number; merge: number; drop: number };
  /** Ids the kernel completed (sum over done lines) and ids the owner read. */
  doneIds: number;
  readIds: number;
  frees: number;
  evicted: number;
  /** Lines that arrived later than the reorder window allowed. */
  late: number;
  /** Ends derived from a read covering all of a ubuf's ids, or from the socket's destruction
   * (its done line was lost or late). */
  derived: number;
  /** Lines of a lifetime already ended (derived) or of an earlier one at the same address. */
  stale: number;
  /** Lines (other than heartbeats) older than one already decoded: out of order beyond the
   * reorder window (each run of them is a `lost` event with n 0). */
  disorder: number;
}

/** Ids of a socket its owner read (lo <= hi, no wrap), and when. */
interface ReadSpan {
  lo: number;
  hi: number;
  t: number;
}

/** Are all of the ids [first, last] (may wrap) in the read spans `have` (sorted by lo)? */
function allRead(have: ReadSpan[], first: number, last: number): boolean {
  return spans(first, last).every(([a, b]) => {
    let next = a; // the first id of [a, b] not yet covered
    for (const r of have) {
      if (r.lo > next) break;
      if (r.hi >= next) next = r.hi + 1;
      if (next > b) return true;
    }
    return false;
  });
}

/** Decodes msgzc-kernel lines (streaming and --aggregate programs alike). */
export class MsgzcKernelDecoder implements Decoder {
  readonly ranges = new InflightRanges(MAX_HOLDERS);
  /** Per in-flight ubuf: its latest send's first range and that range's fingerprint. */
  private readonly fps = new Map<string, { start: bigint; len: bigint; fp?: string; fz: boolean; t: number }>();
  /** Histogram lines of --aggregate programs, summed per name: bucket counts. */
  readonly histograms = new Map<string, number[]>();
  readonly stats: MsgzcKernelStats = {
    submits: 0, holders: 0, pagePuts: 0, pagesLastRef: 0, copies: 0,
    dones: { queue: 0, merge: 0, drop: 0 }, doneIds: 0, readIds: 0, frees: 0, evicted: 0, late: 0,
    derived: 0, stale: 0, disorder: 0,
  };
  /** The newest line time decoded, and that of the last disorder said. */
  private acted = -Infinity;
  private disorderAt = -Infinity;
  private readonly holders = new Map<string, Holder>();
  /** Per socket: every holder (in flight or notified), and the id ranges its owner has read. */
  private readonly bySk = new Map<string, Set<string>>();
  private readonly readSpans = new Map<string, ReadSpan[]>();
  /** Ubufs whose end was derived: obj → the time it was derived (their later lines are older). */
  private readonly ended = new Map<string, number>();
  private readonly reorder: Reorder<ProbeLine>;

  constructor(windowNs = REORDER_NS) {
    this.reorder = new Reorder(windowNs);
  }

  decode(line: ProbeLine, emit: Emit): boolean {
    if (!KINDS.has(line.kind) || !wellFormed(line)) return false;
    this.reorder.push(line, (l) => this.act(l, emit));
    this.stats.late = this.reorder.late;
    return true;
  }

  finish(emit: Emit): void {
    this.reorder.drain((l) => this.act(l, emit));
    this.stats.late = this.reorder.late;
  }

  private act(l: ProbeLine, emit: Emit): void {
    if (l.t < this.acted && l.kind !== 'hb' && l.kind !== 'hist') {
      // Later than the reorder window: what was decoded since its time was decoded without it.
      // Said once per run of lines as a loss of none (n 0), so the engine holds the lifetimes
      // open across it uncertain, as for lost lines.
      this.stats.disorder++;
      if (this.acted > this.disorderAt) {
        this.disorderAt = this.acted;
        emit({ t: this.acted, ev: 'lost', n: 0 });
      }
    } else if (l.t > this.acted) {
      this.acted = l.t;
    }
    if (this.isStale(l)) {
      this.stats.stale++;
      return;
    }
    switch (l.kind) {
      case 'submit': return this.submit(l, emit);
      case 'put': return this.put(l, emit);
      case 'frags': case 'copy': return this.pages(l, emit);
      case 'done': return this.done(l, emit);
      case 'read': return this.read(l, emit);
      case 'skfree': return this.skfree(l, emit);
      case 'unmap': return this.unmap(l, emit);
      case 'exit': return this.exit(l, emit);
      case 'hist': return this.hist(l);
      case 'rewrite': return this.rewrite(l, emit);
      case 'write': return this.write(l, emit);
      default: return; // hb: only moves the reorder window
    }
  }

  private submit(l: ProbeLine, emit: Emit): void {
    const f = l.fields;
    const obj = f.get('obj')!;
    const sk = f.get('sk')!;
    const pid = int(f.get('pid'))!;
    const bytes = int(f.get('bytes'))!;
    this.stats.submits++;
    let h = this.holders.get(obj);
    if (f.get('new') === '1') {
      // The kernel allocated this address again, so its previous ubuf was freed: a notification
      // we saw queued was consumed unseen (or a done was lost); end that lifetime first.
      if (h !== undefined) this.forget(obj, h, l.t, h.notified ? 'released' : 'close', emit);
      h = undefined;
    }
    if (h === undefined) h = this.track(obj, { sk, pid, start: l.t, notified: false });
    const id = int(f.get('id'));
    if (id !== undefined) {
      if (h.first === undefined) h.first = id;
      h.last = id;
    }
    this.ended.delete(obj);
    // A send of bytes still in flight: the same bytes again is a resend; changed bytes were
    // rewritten under the older ubuf (its pages are still TCP's), an early free.
    const ranges = sentRanges(f, bytes, 2);
    const fp = f.get('fp');
    let resend = false;
    const seen = new Set<string>();
    for (const [a, len] of ranges) {
      for (const r of this.ranges.overlapping(pid, a, len)) {
        if (seen.has(r.obj)) continue; // the same ubuf too: a send that extends it may rewrite its bytes
        seen.add(r.obj);
        const old = this.fps.get(r.obj);
        const same = old !== undefined && old.start === a && old.len === len;
        if (!same || old.fp === undefined || fp === undefined || old.fp === fp) {
          resend = true;
          continue;
        }
        this.ranges.remove(r.obj);
        this.fps.delete(r.obj);
        this.stats.frees++;
        const free: ZcEvent = { t: l.t, ev: 'free', obj: r.obj, reason: 'rewrite', pid, since: old.t };
        if (old.fz || f.get('fz') === '1') free.unsure = ZERO_WHY;
        emit(free);
      }
    }
    for (const [a, len] of ranges) this.ranges.add(pid, obj, a, len, sk);
    if (this.fps.size >= MAX_HOLDERS) this.fps.delete(this.fps.keys().next().value as string);
    if (ranges.length > 0) this.fps.set(obj, { start: ranges[0][0], len: ranges[0][1], fp, fz: f.get('fz') === '1', t: l.t });
    const e: ZcEvent = { t: l.t, ev: 'submit', obj, bytes, pid };
    if (resend) e.resend = true;
    const comm = f.get('comm');
    if (comm) e.comm = comm;
    const sock = f.get('sock');
    if (sock && sock !== '-') e.sock = sock;
    emit(e);
  }

  private put(l: ProbeLine, emit: Emit): void {
    const obj = l.fields.get('obj')!;
    const ref = int(l.fields.get('ref'))!;
    const h = this.holders.get(obj);
    if (h !== undefined) {
      h.putRef = ref;
      if (l.fields.get('ok') === '0') h.copied = true;
    }
    const e: ZcEvent = { t: l.t, ev: 'put', obj, ref };
    if (l.fields.get('ok') === '0') e.reason = 'copy';
    emit(e);
  }

  // The frag pages of one skb: one put each. The ubuf's count does not move (its own put line
  // follows), so each carries the count as it is; the page's count goes in pageRef.
  private pages(l: ProbeLine, emit: Emit): void {
    const f = l.fields;
    const obj = f.get('obj')!;
    const ref = int(f.get('ref'))!;
    const copy = l.kind === 'copy';
    if (copy) this.stats.copies++;
    for (const p of parsePages(f.get('pages')!, int(f.get('n'))!)) {
      this.stats.pagePuts++;
      if (p.count <= 0) this.stats.pagesLastRef++;
      const e: PageEvent = { t: l.t, ev: 'put', obj, page: p.page, ref, pageRef: p.count };
      if (copy) e.reason = 'copy';
      emit(e);
    }
  }

  private done(l: ProbeLine, emit: Emit): void {
    const f = l.fields;
    const obj = f.get('obj')!;
    const fate = f.get('fate') as 'queue' | 'merge' | 'drop';
    const lo = int(f.get('lo'))!;
    const hi = int(f.get('hi'))!;
    this.stats.dones[fate]++;
    if (fate !== 'drop') this.stats.doneIds += ((hi - lo) >>> 0) + 1;
    this.ranges.remove(obj); // the kernel holds none of its pages any more
    this.fps.delete(obj);
    const h = this.holders.get(obj);
    if (h !== undefined && fate === 'queue') {
      h.notified = true;
      h.doneAt = l.t;
      h.lo = lo;
      h.hi = hi;
      emit({ t: l.t, ev: 'get', obj, ref: 1, reason: 'notification' });
    } else if (h !== undefined && h.putRef !== undefined && h.putRef !== 0) {
      // Two puts on two CPUs at once read the same count; the kernel's is 0 now.
      emit({ t: l.t, ev: 'put', obj, ref: 0, reason: 'sync' });
    }
    emit({ t: l.t, ev: 'done', obj, copied: f.get('copied') === '1' });
    if (fate !== 'queue' && h !== undefined) this.end(obj, h, l.t);
    if (fate === 'merge') {
      const into = this.holders.get(f.get('into') ?? '');
      if (into?.notified) into.hi = hi;
    }
  }

  // The owner read the notification [lo, hi]: the ubuf that carries it, and every other ubuf of
  // the socket whose ids have now all been read (merged into it, or into an earlier one), are
  // done in the kernel, whether or not their done lines came.
  private read(l: ProbeLine, emit: Emit): void {
    const f = l.fields;
    const obj = f.get('obj')!;
    const sk = f.get('sk')!;
    const lo = int(f.get('lo'))!;
    const hi = int(f.get('hi'))!;
    const copied = f.get('copied') === '1';
    this.stats.readIds += ((hi - lo) >>> 0) + 1;
    this.addRead(sk, lo, hi, l.t);
    const h = this.holders.get(obj);
    if (h !== undefined && h.start <= l.t) {
      if (!h.notified) this.derive(obj, h, l.t, copied, true, emit);
      this.forget(obj, h, l.t, 'read', emit);
    }
    const others = this.bySk.get(sk);
    if (others === undefined || others.size === 0) return;
    const have = this.readBy(sk, l.t);
    for (const o of [...others]) {
      const g = this.holders.get(o);
      if (g === undefined || g.start > l.t || g.first === undefined || !allRead(have, g.first, g.last!)) continue;
      if (g.notified) {
        // its notification was consumed with this one: the kernel merged it after all
        this.forget(o, g, l.t, 'released', emit);
      } else {
        this.derive(o, g, l.t, copied, false, emit);
        this.end(o, g, l.t);
      }
    }
  }

  // The socket is destroyed: no ubuf of it is left in the kernel (each holds the socket).
  // Unread notifications go with it (close); ubufs whose done never came ended before.
  private skfree(l: ProbeLine, emit: Emit): void {
    const sk = l.fields.get('sk')!;
    for (const obj of [...(this.bySk.get(sk) ?? [])]) {
      const h = this.holders.get(obj);
      if (h === undefined || h.start > l.t) continue;
      if (h.notified) {
        this.forget(obj, h, l.t, 'close', emit);
      } else {
        this.derive(obj, h, l.t, h.copied ?? false, false, emit);
        this.end(obj, h, l.t);
      }
    }
    this.readSpans.delete(sk);
  }

  // The kernel completed obj though its done line was not seen: the same events a done line
  // would have produced (the count to 0, its notification queued when it is the one read, the
  // completion), marked as derived.
  private derive(obj: string, h: Holder, t: number, copied: boolean, queued: boolean, emit: Emit): void {
    this.stats.derived++;
    this.ranges.remove(obj);
    this.fps.delete(obj);
    emit({ t, ev: 'put', obj, ref: 0, reason: 'derived' });
    if (queued) {
      h.notified = true;
      emit({ t, ev: 'get', obj, ref: 1, reason: 'notification' });
    }
    emit({ t, ev: 'done', obj, copied });
  }

  // The decoder ends obj's lifetime itself: lines of it that still come (older) are dropped.
  private end(obj: string, h: Holder, t: number): void {
    this.untrack(obj, h);
    if (this.ended.size >= MAX_ENDED) this.ended.delete(this.ended.keys().next().value as string);
    this.ended.set(obj, t);
  }

  // A line of an earlier lifetime at this address (older than the current one's allocation), or
  // of one the decoder already ended: the kernel's order put it before what has been decoded.
  // (Submits too: one older than the done already decoded extended the ubuf before its done.)
  private isStale(l: ProbeLine): boolean {
    const k = l.kind;
    if (k !== 'put' && k !== 'frags' && k !== 'copy' && k !== 'done' && k !== 'submit') return false;
    const obj = l.fields.get('obj')!;
    const h = this.holders.get(obj);
    if (h !== undefined) return l.t < h.start || (h.doneAt !== undefined && l.t <= h.doneAt);
    const e = this.ended.get(obj);
    return e !== undefined && l.t <= e;
  }

  private addRead(sk: string, lo: number, hi: number, t: number): void {
    let list = this.readSpans.get(sk);
    if (list === undefined) this.readSpans.set(sk, (list = []));
    for (const [a, b] of spans(lo, hi)) {
      const prev = list[list.length - 1];
      // the usual case: this read follows on the previous one (and is not older): one span
      if (prev !== undefined && prev.hi + 1 === a && prev.t <= t) {
        prev.hi = b;
        prev.t = t;
      } else {
        list.push({ lo: a, hi: b, t });
      }
    }
    while (list.length > MAX_READ_SPANS) list.shift();
  }

  // The id spans of sk read by `now`, by their first id. Reads are taken with their time: a read
  // line that came early (another CPU's buffer) must not complete a ubuf that did not exist yet.
  private readBy(sk: string, now: number): ReadSpan[] {
    return (this.readSpans.get(sk) ?? []).filter((r) => r.t <= now).sort((x, y) => x.lo - y.lo);
  }

  private unmap(l: ProbeLine, emit: Emit): void {
    const f = l.fields;
    const [start, end] = pageSpan(big(f.get('addr'))!, big(f.get('len'))!);
    this.freeRange(int(f.get('pid'))!, start, end - start, f.get('reason') === 'madvise' ? 'madvise' : 'unmap', l.t, emit);
  }

  // The sender's address space is gone: buffers still in flight were freed under TCP.
  private exit(l: ProbeLine, emit: Emit): void {
    this.freeRange(int(l.fields.get('pid'))!, 0n, 1n << 64n, 'exit', l.t, emit);
  }

  private hist(l: ProbeLine): void {
    const name = l.fields.get('name')!;
    const sums = this.histograms.get(name) ?? [];
    for (let i = 0; ; i++) {
      const v = int(l.fields.get(`b${i}`));
      if (v === undefined) break;
      sums[i] = (sums[i] ?? 0) + v;
    }
    this.histograms.set(name, sums);
  }

  // At the socket's next send the bytes of U's last send had changed: an early free if the
  // kernel still held U's pages (no done yet); after its done the change was harmless.
  private rewrite(l: ProbeLine, emit: Emit): void {
    const obj = l.fields.get('obj')!;
    const fp = this.fps.get(obj);
    if (fp === undefined || !this.ranges.has(obj)) return;
    const pid = this.ranges.get(obj)![0].pid;
    this.ranges.remove(obj);
    this.fps.delete(obj);
    this.stats.frees++;
    const free: ZcEvent = { t: l.t, ev: 'free', obj, reason: 'rewrite', pid, since: fp.t };
    if (fp.fz || l.fields.get('fz') === '1') free.unsure = ZERO_WHY;
    emit(free);
  }

  // A read-like call wrote into the sender's memory during [t - dt, t]: every ubuf whose pages
  // the kernel still held there was overwritten under TCP (uncertain when sent meanwhile).
  private write(l: ProbeLine, emit: Emit): void {
    const pid = int(l.fields.get('pid'))!;
    const t0 = l.t - int(l.fields.get('dt'))!;
    const call = callName(l.fields.get('call'));
    for (const [a, len] of writtenRanges(l.fields)) {
      for (const r of this.ranges.overlapping(pid, a, len)) {
        const sent = this.fps.get(r.obj)?.t ?? -Infinity;
        if (sent > l.t) continue;
        this.ranges.remove(r.obj);
        this.fps.delete(r.obj);
        this.stats.frees++;
        const free: ZcEvent = { t: l.t, ev: 'free', obj: r.obj, reason: call, pid, since: t0 };
        if (sent >= t0) free.unsure = raceWhy(call);
        emit(free);
      }
    }
  }

  private freeRange(pid: number, start: bigint, len: bigint, reason: string, t: number, emit: Emit): void {
    for (const r of this.ranges.overlapping(pid, start, len)) {
      this.ranges.remove(r.obj);
      this.fps.delete(r.obj);
      this.stats.frees++;
      emit({ t, ev: 'free', obj: r.obj, reason, pid });
    }
  }

  private track(obj: string, h: Holder): Holder {
    while (this.holders.size >= MAX_HOLDERS) {
      const oldest = this.holders.keys().next().value as string;
      this.untrack(oldest, this.holders.get(oldest)!);
      this.ranges.remove(oldest);
      this.stats.evicted++;
    }
    this.holders.set(obj, h);
    let set = this.bySk.get(h.sk);
    if (set === undefined) this.bySk.set(h.sk, (set = new Set()));
    set.add(obj);
    this.stats.holders++;
    return h;
  }

  private untrack(obj: string, h: Holder): void {
    this.holders.delete(obj);
    const set = this.bySk.get(h.sk);
    set?.delete(obj);
    if (set?.size === 0) this.bySk.delete(h.sk);
  }

  // Ends what the decoder holds for obj: its notification read (or consumed unseen), or closed.
  private forget(obj: string, h: Holder, t: number, how: 'read' | 'released' | 'close', emit: Emit): void {
    this.untrack(obj, h);
    if (how !== 'released') {
      if (this.ended.size >= MAX_ENDED) this.ended.delete(this.ended.keys().next().value as string);
      this.ended.set(obj, t);
    }
    this.ranges.remove(obj);
    this.fps.delete(obj);
    if (how === 'close') emit({ t, ev: 'close', obj });
    else emit({ t, ev: 'put', obj, ref: 0, reason: how });
  }
}
