// The MSG_ZEROCOPY pack from syscall tracepoints (probes/msgzc-syscalls.bt). Holder = one
// zero-copy send: `sk:<struct sock address>#<id>`, id being the kernel's own per-socket counter
// (sk_zckey), so ids stay right when tracing starts in the middle of a run. A holder lives from
// its sendmsg/sendmmsg to the recvmsg(MSG_ERRQUEUE) that tells the owner it completed.
// The decoder remembers each in-flight buffer's address range per process (InflightRanges), so
// an munmap/madvise of it, or a new send of it on the same socket, before the completion is a
// `free`. Such a free is held back for REORDER_NS of trace time: lines from two CPUs can arrive
// out of order, and a completion read just before the unmap must cancel it, not follow it.
import type { ZcEvent } from '../../engine/types.js';
import type { Decoder, Emit, PackDescriptor, ProbeLine } from '../pack.js';
import { standardEvent } from '../standard.js';
import { InflightRanges, pageSpan } from './inflight-ranges.js';
import { aheadOf, EarlyDones, IdSet, type IdSpan } from './msgzc-ids.js';

/** Holders whose buffer ranges are remembered at once; beyond it the oldest are forgotten. */
const MAX_INFLIGHT = 65536;
/** Sockets tracked at once (each: its in-flight ids as intervals). */
const MAX_SOCKETS = 16384;
/** How long a free waits for a completion that happened before it but arrived after it. */
export const REORDER_NS = 200_000_000;

interface Sock {
  inflight: IdSet;
  early: EarlyDones;
  /** The id after the newest submit seen. */
  next?: number;
  sock?: string;
}

interface HolderInfo { t: number; pid: number; sk: string }
interface PendingFree { t: number; obj: string; reason: string; pid: number; sk: string }

const num = (v: string | undefined): number | undefined => {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
};
const big = (v: string | undefined): bigint | undefined =>
  v !== undefined && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v) ? BigInt(v) : undefined;

/** The iovec ranges of a submit line (addr/len, addr1/len1 … addr3/len3), clipped to `bytes`. */
export function sentRanges(f: Map<string, string>, bytes: number | undefined): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let left = bytes !== undefined ? BigInt(bytes) : undefined;
  for (const sfx of ['', '1', '2', '3']) {
    const addr = big(f.get(`addr${sfx}`));
    let len = big(f.get(`len${sfx}`));
    if (addr === undefined || len === undefined) break;
    if (left !== undefined && len > left) len = left;
    if (len > 0n) out.push([addr, len]);
    if (left !== undefined && (left -= len) <= 0n) break;
  }
  return out;
}

/** Decodes the msgzc-syscalls lines into events; see probes/msgzc-syscalls.bt for the grammar. */
export class MsgzcSyscallsDecoder implements Decoder {
  /** In-flight buffers per process (exposed for tests and stats). */
  readonly ranges = new InflightRanges(MAX_INFLIGHT);
  private readonly socks = new Map<string, Sock>();
  private readonly holders = new Map<string, HolderInfo>();
  private readonly pending = new Map<string, PendingFree>();

  decode(line: ProbeLine, emit: Emit): boolean {
    this.flushPending(line.t, emit);
    switch (line.kind) {
      case 'submit': return this.submit(line, emit);
      case 'submits': return this.submits(line, emit);
      case 'zcdone': return this.zcdone(line, emit);
      case 'unmap': return this.unmap(line);
      case 'close': return this.close(line, emit);
      case 'exit': return this.exit(line);
      case 'send_error': {
        const e = standardEvent(line);
        if (e === undefined || e.obj === undefined) return false;
        emit(e);
        return true;
      }
      default: return false;
    }
  }

  finish(emit: Emit): void {
    this.flushPending(Infinity, emit);
  }

  // One send took one id. A buffer range of the same process and socket still in flight is
  // being reused: free(reuse) for that older holder, before the new submit.
  private submit(line: ProbeLine, emit: Emit): boolean {
    const e = standardEvent(line);
    const obj = e?.obj;
    const hash = obj?.lastIndexOf('#') ?? -1;
    const id = num(obj?.slice(hash + 1));
    if (e === undefined || obj === undefined || !obj.startsWith('sk:') || id === undefined) return false;
    const sk = obj.slice(3, hash);
    const pid = e.pid;
    const ranges = sentRanges(line.fields, e.bytes);
    if (pid !== undefined) {
      for (const [addr, len] of ranges) this.freeOverlaps(pid, addr, len, line.t, 'reuse', sk);
    }
    emit(e);
    this.track(sk, id, e, line.t, emit);
    if (pid !== undefined && ranges.length > 0) {
      this.forget(obj);
      for (const [addr, len] of ranges) this.ranges.add(pid, obj, addr, len, sk);
      this.holders.set(obj, { t: line.t, pid, sk });
      this.pruneHolders();
    }
    return true;
  }

  // The part of a large sendmmsg batch the program did not detail: ids only.
  private submits(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const sk = f.get('sk');
    const lo = num(f.get('lo'));
    const hi = num(f.get('hi'));
    if (!sk || lo === undefined || hi === undefined) return false;
    const base: ZcEvent = { t: line.t, ev: 'submit' };
    const pid = num(f.get('pid'));
    if (pid !== undefined) base.pid = pid;
    const comm = f.get('comm');
    if (comm) base.comm = comm;
    const s = this.socks.get(sk);
    if (s?.sock !== undefined) base.sock = s.sock;
    for (let n = ((hi - lo) >>> 0) + 1, id = lo, k = 0; k < n; k++, id = (id + 1) >>> 0) {
      const e = { ...base, obj: `sk:${sk}#${id}` };
      emit(e);
      this.track(sk, id, e, line.t, emit);
    }
    return true;
  }

  // A completion range [lo, hi] (inclusive, may wrap): one done per id this decoder saw sent;
  // ids not sent yet are kept for the send line still on its way (see msgzc-ids.ts).
  private zcdone(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const sk = f.get('sk');
    const lo = num(f.get('lo'));
    const hi = num(f.get('hi'));
    if (!sk || lo === undefined || hi === undefined) return false;
    const copied = f.get('copied') === '1';
    const s = this.sock(sk, line.t, emit);
    for (const [a, b] of s.inflight.take(lo, hi)) {
      for (let id = a; id <= b; id++) this.done(`sk:${sk}#${id}`, line.t, copied, emit);
    }
    for (const span of aheadOf(s.next, lo, hi)) s.early.add(span, copied, line.t);
    return true;
  }

  // munmap / madvise(DONTNEED, FREE, …): every in-flight buffer of that process the page-rounded
  // range meets is freed under TCP's feet.
  private unmap(line: ProbeLine): boolean {
    const f = line.fields;
    const pid = num(f.get('pid'));
    const addr = big(f.get('addr'));
    const len = big(f.get('len'));
    if (pid === undefined || addr === undefined || len === undefined) return false;
    const [start, end] = pageSpan(addr, len);
    this.freeOverlaps(pid, start, end - start, line.t, f.get('reason') === 'madvise' ? 'madvise' : 'unmap');
    return true;
  }

  // The socket went away (close(2) of its last reference, or destroyed): its holders still in
  // flight will never be reported to the owner. One `close` per such holder, after any free
  // still held back for it.
  private close(line: ProbeLine, emit: Emit): boolean {
    const sk = line.fields.get('sk');
    if (!sk) return false;
    const s = this.socks.get(sk);
    if (s === undefined) return true;
    this.socks.delete(sk);
    for (const [a, b] of s.inflight.drain()) {
      for (let id = a; id <= b; id++) {
        const obj = `sk:${sk}#${id}`;
        const p = this.pending.get(obj);
        if (p !== undefined) this.emitFree(p, emit);
        this.forget(obj);
        const e: ZcEvent = { t: line.t, ev: 'close', obj };
        if (s.sock !== undefined) e.sock = s.sock;
        emit(e);
      }
    }
    return true;
  }

  // The process is gone, and its address space with it: its ranges can no longer be unmapped
  // (and a new process may get its pid). Its holders stay open until their socket closes.
  private exit(line: ProbeLine): boolean {
    const pid = num(line.fields.get('pid'));
    if (pid === undefined) return false;
    for (const [obj, h] of this.holders) if (h.pid === pid) this.forget(obj);
    return true;
  }

  private sock(sk: string, t: number, emit: Emit): Sock {
    let s = this.socks.get(sk);
    if (s === undefined) {
      if (this.socks.size >= MAX_SOCKETS) {
        const [oldSk, old] = this.socks.entries().next().value as [string, Sock];
        this.socks.delete(oldSk);
        if (old.inflight.count > 0) emit({ t, ev: 'lost', n: old.inflight.count });
      }
      s = { inflight: new IdSet(), early: new EarlyDones(REORDER_NS) };
      this.socks.set(sk, s);
    }
    return s;
  }

  // Files a sent id under its socket, or completes it at once when its completion came first.
  private track(sk: string, id: number, e: ZcEvent, t: number, emit: Emit): void {
    const s = this.sock(sk, t, emit);
    if (e.sock !== undefined) s.sock = e.sock;
    s.next = (id + 1) >>> 0;
    const early = s.early.take(id, t);
    if (early !== undefined) {
      this.done(e.obj as string, Math.max(t, early.t), early.copied, emit);
      return;
    }
    const dropped = s.inflight.add(id);
    if (dropped > 0) emit({ t, ev: 'lost', n: dropped });
  }

  private done(obj: string, t: number, copied: boolean, emit: Emit): void {
    const p = this.pending.get(obj);
    if (p !== undefined) {
      this.pending.delete(obj);
      if (p.t <= t) this.emitFree(p, emit); // freed first, then completed: early free
    }
    this.forget(obj);
    emit({ t, ev: 'done', obj, copied });
  }

  // Holders of `pid` (on socket `sk` when given) sent before `t` whose buffer meets the range.
  private freeOverlaps(pid: number, addr: bigint, len: bigint, t: number, reason: string, sk?: string): void {
    for (const r of this.ranges.overlapping(pid, addr, len)) {
      const h = this.holders.get(r.obj);
      if (h === undefined || h.t > t || (sk !== undefined && h.sk !== sk)) continue;
      this.ranges.remove(r.obj);
      this.holders.delete(r.obj);
      this.pending.set(r.obj, { t, obj: r.obj, reason, pid, sk: h.sk });
    }
  }

  private flushPending(now: number, emit: Emit): void {
    for (const p of this.pending.values()) {
      if (p.t + REORDER_NS >= now) break;
      this.emitFree(p, emit);
    }
  }

  private emitFree(p: PendingFree, emit: Emit): void {
    this.pending.delete(p.obj);
    emit({ t: p.t, ev: 'free', obj: p.obj, reason: p.reason, pid: p.pid });
  }

  private forget(obj: string): void {
    if (this.holders.delete(obj)) this.ranges.remove(obj);
  }

  // InflightRanges forgets its oldest holders when full; drop their companions too.
  private pruneHolders(): void {
    for (const obj of this.holders.keys()) {
      if (this.holders.size <= this.ranges.size) break;
      if (!this.ranges.has(obj)) this.holders.delete(obj);
    }
  }
}

/** What this pack cannot see (doctor, `probes show`). */
const BLIND_SPOTS = [
    'no page or skb references: a holder is open from its send to the completion the owner reads, with nothing in between (which skb, retransmits, when the kernel itself let go)',
    'a holder completes when the owner reads the completion, not when the kernel queued it: a completion queued but never read looks exactly like a leak (that is the owner-side leak; the kernel side is invisible here)',
    'completions read any other way than recvmsg(MSG_ERRQUEUE) (recvmmsg, io_uring) are not seen: those holders look leaked',
    'coalesced completions carry one copied flag for the whole range (the kernel merges ranges regardless of how each was sent)',
    'a buffer rewritten in place without a new send is invisible; reuse is inferred when a new send of the same process and socket overlaps an in-flight buffer, so sending one unchanged buffer twice is also reported, and on two sockets never',
    'buffer ranges: the first 4 iovecs of a sendmsg, the first iovec of each sendmmsg message, and ids only (no ranges) past the 16th message of one sendmmsg call',
    'munmap/madvise(DONTNEED, FREE, REMOVE, DONTNEED_LOCKED, GUARD_INSTALL) only; mremap, mmap(MAP_FIXED) over a buffer, shmdt, brk and process_madvise are not seen as frees',
    'ids are read from the socket at syscall entry and exit: two threads sending MSG_ZEROCOPY on one socket at the same moment can be given each other\'s ids',
    'UDP, RDS and other non-TCP MSG_ZEROCOPY senders are ignored; a socket closed through a dup()ed fd that is still open elsewhere gets its close when the kernel destroys it',
  ];

/** The pack's descriptor, for registry.ts. */
export const msgzcSyscalls: PackDescriptor = {
  name: 'msgzc-syscalls',
  description:
    'MSG_ZEROCOPY TCP sends from sendmsg/sendmmsg to the completion read from the error queue, with unmap/madvise/reuse of in-flight buffers (syscall tracepoints + BTF)',
  holder: 'sk:<struct sock address>#<zero-copy id>: one MSG_ZEROCOPY send, numbered by the kernel per socket',
  file: 'msgzc-syscalls.bt',
  requires: [
    ...['sendmsg', 'sendmmsg', 'recvmsg', 'munmap', 'madvise', 'close'].flatMap((s) => [
      { kind: 'tracepoint' as const, name: `syscalls:sys_enter_${s}` },
      { kind: 'tracepoint' as const, name: `syscalls:sys_exit_${s}` },
    ]),
    { kind: 'tracepoint', name: 'tcp:tcp_destroy_sock' },
    { kind: 'tracepoint', name: 'sched:sched_process_exit' },
    { kind: 'btf' },
    { kind: 'btf_member', struct: 'sock', member: 'sk_zckey' },
    { kind: 'btf_member', struct: 'files_struct', member: 'fdt' },
  ],
  priority: 50,
  blindSpots: BLIND_SPOTS,
  createDecoder: () => new MsgzcSyscallsDecoder(),
};
