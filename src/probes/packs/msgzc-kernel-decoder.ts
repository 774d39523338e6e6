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
import type { ZcEvent } from '../../engine/types.js';
import type { Decoder, Emit, ProbeLine } from '../pack.js';
import { InflightRanges, pageSpan } from './inflight-ranges.js';
import { big, int, KINDS, parsePages, sentRanges, wellFormed } from './msgzc-kernel-lines.js';
import { callName, raceWhy, writtenRanges, ZERO_WHY } from './user-buffers.js';
import { Reorder } from '../reorder.js';

/** How long a line waits for earlier lines from other CPUs (trace time). */
export const REORDER_NS = 200_000_000;
/** Holders (in flight or with an unread notification) remembered at once. */
const MAX_HOLDERS = 65536;

/** An event with the page's own count after the put (frags/copy lines): an extra field that
 * trace files keep and the engine ignores (DESIGN.md: unknown fields are ignored). */
export type PageEvent = ZcEvent & { pageRef?: number };

interface Holder {
  sk: string;
  pid?: number;
  /** The count read by the last put line (undefined: none seen, e.g. --aggregate). */
  putRef?: number;
  /** Its skb waits in the error queue: the lifetime is held open by the notification. */
  notified: boolean;
  lo?: number;
  hi?: number;
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
  };
  private readonly holders = new Map<string, Holder>();
  private readonly notes = new Map<string, Set<string>>();
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
    if (h === undefined) h = this.track(obj, { sk, pid, notified: false });
    // A send of bytes still in flight: the same bytes again is a resend; changed bytes were
    // rewritten under the older ubuf (its pages are still TCP's), an early free.
    const ranges = sentRanges(f, bytes);
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
    if (h !== undefined) h.putRef = ref;
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
      h.lo = lo;
      h.hi = hi;
      this.note(h.sk).add(obj);
      emit({ t: l.t, ev: 'get', obj, ref: 1, reason: 'notification' });
    } else if (h !== undefined && h.putRef !== undefined && h.putRef !== 0) {
      // Two puts on two CPUs at once read the same count; the kernel's is 0 now.
      emit({ t: l.t, ev: 'put', obj, ref: 0, reason: 'sync' });
    }
    emit({ t: l.t, ev: 'done', obj, copied: f.get('copied') === '1' });
    if (fate !== 'queue') this.holders.delete(obj);
    if (fate === 'merge') {
      const into = this.holders.get(f.get('into') ?? '');
      if (into?.notified) into.hi = hi;
    }
  }

  private read(l: ProbeLine, emit: Emit): void {
    const obj = l.fields.get('obj')!;
    this.stats.readIds += ((int(l.fields.get('hi'))! - int(l.fields.get('lo'))!) >>> 0) + 1;
    const h = this.holders.get(obj);
    if (h?.notified) this.forget(obj, h, l.t, 'read', emit);
  }

  private skfree(l: ProbeLine, emit: Emit): void {
    const sk = l.fields.get('sk')!;
    for (const obj of this.notes.get(sk) ?? []) {
      const h = this.holders.get(obj);
      if (h !== undefined) this.forget(obj, h, l.t, 'close', emit);
    }
    this.notes.delete(sk);
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
      this.holders.delete(oldest);
      this.ranges.remove(oldest);
      this.stats.evicted++;
    }
    this.holders.set(obj, h);
    this.stats.holders++;
    return h;
  }

  private note(sk: string): Set<string> {
    let s = this.notes.get(sk);
    if (s === undefined) this.notes.set(sk, (s = new Set()));
    return s;
  }

  // Ends what the decoder holds for obj: its notification read (or consumed unseen), or closed.
  private forget(obj: string, h: Holder, t: number, how: 'read' | 'released' | 'close', emit: Emit): void {
    this.holders.delete(obj);
    this.ranges.remove(obj);
    this.fps.delete(obj);
    this.notes.get(h.sk)?.delete(obj);
    if (how === 'close') emit({ t, ev: 'close', obj });
    else emit({ t, ev: 'put', obj, ref: 0, reason: how });
  }
}
