// The MSG_ZEROCOPY pack from syscall tracepoints (probes/msgzc-syscalls.bt). Holder = one
// zero-copy send: `sk:<struct sock address>#<id>`, id being the kernel's own per-socket counter
// (sk_zckey), so ids stay right when tracing starts in the middle of a run. A holder lives from
// its sendmsg/sendmmsg to the recvmsg(MSG_ERRQUEUE) that tells the owner it completed; the
// owner's munmap/madvise of its buffer, a change of its bytes (a fingerprint that differs at
// the next send of it or when the completion is read) or a read(2)-like call writing into it
// before then is a `free` (user-buffers.ts); a resend of unchanged bytes is counted, not a
// finding; the socket going away first is a `close` per holder.
// Lines arrive in time order (src/probes/reorder.ts): state here follows the kernel's order.
import type { ZcEvent } from '../../engine/types.js';
import type { Decoder, Emit, PackDescriptor, ProbeLine } from '../pack.js';
import { REORDER_WINDOW_NS } from '../reorder.js';
import { standardEvent } from '../standard.js';
import { pageSpan } from './inflight-ranges.js';
import { aheadOf, EarlyDones, IdSet } from './msgzc-ids.js';
import { big, callName, int, RANGE_FIELDS, rangesOf, sentRanges, writtenRanges } from '../fields.js';
import { collectFields } from '../parse.js';
import { describe, heldFacts, MatchingDecoder } from './matching.js';

// A submit line's fields, in the order the program prints them (collect stops at the first key
// that matches): the standard ones the event carries, the buffer's ranges, its fingerprint.
const SUBMIT_KEYS = ['obj', 'bytes', 'pid', 'sock', ...RANGE_FIELDS, 'fp', 'fz', 'comm'];
const SUBMIT_RANGES_AT = 4;
const SUBMIT_FP = SUBMIT_RANGES_AT + RANGE_FIELDS.length;
const submitVals: (string | undefined)[] = [];

/** Sockets tracked at once (each: its in-flight ids as intervals). */
const MAX_SOCKETS = 16384;

/** What the decoder knows of one socket. */
interface Sock {
  /**
   * "sk:<address>#", a string of its own: holder ids are made from it (prefix + id), so a
   * finished lifetime the engine caches keeps this, not the probe line its id was sliced from.
   */
  prefix: string;
  /** Ids sent and not yet reported complete to the owner. */
  inflight: IdSet;
  /** Completions that arrived before their send line. */
  early: EarlyDones;
  /** The id after the newest send seen. */
  next?: number;
  /** "laddr:lport>raddr:rport", from its submit lines (or its `sock` line in matching mode). */
  sock?: string;
  /** Matching mode: the sender that made it, from its `sock` line. */
  pid?: number;
  comm?: string;
}

/**
 * A copy of `s` that shares no memory with it: V8 makes a substring of 13 characters or more a
 * view of its whole line, and a string kept for long would keep the line alive with it.
 */
function ownCopy(s: string): string {
  return Buffer.from(s, 'latin1').toString('latin1');
}

/** Decodes the msgzc-syscalls lines into events; see probes/msgzc-syscalls.bt for the grammar. */
export class MsgzcSyscallsDecoder extends MatchingDecoder implements Decoder {
  private readonly socks = new Map<string, Sock>();

  decode(line: ProbeLine, emit: Emit): boolean {
    switch (line.kind) {
      case 'submit': return this.submit(line, emit);
      case 'submits': return this.submits(line, emit);
      case 'zcdone': return this.zcdone(line, emit);
      case 'unmap': return this.unmap(line, emit);
      case 'close': return this.close(line, emit);
      case 'exit': return this.exit(line);
      case 'send_error': return this.sendError(line, emit);
      case 'rewrite': return this.rewrite(line, emit);
      case 'write': return this.write(line, emit);
      case 'match': return this.maps.start(line.fields);
      case 'sock': return this.sockLine(line);
      case 'held': return this.held(line, emit);
      case 'gone':
      case 'late': return this.gone(line, emit);
      case 'counts': return this.maps.counts(line.fields);
      default: return false;
    }
  }

  // Matching mode: a socket's first zero-copy send.
  private sockLine(line: ProbeLine): boolean {
    const r = this.maps.sock(line.fields);
    if (r === undefined) return false;
    Object.assign(this.sock(r.sk, line.t, () => {}), r.s);
    return true;
  }

  // Matching mode: a send the kernel did not judge clean, with its completion. It becomes what
  // streaming would have seen: its submit (dated back), the rewrite or the unmaps and writes
  // since it was sent (kept in `changes`), then its done.
  private held(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const obj = f.get('obj') ?? '';
    const hash = obj.lastIndexOf('#');
    const id = int(obj.slice(hash + 1));
    const h = heldFacts(f);
    const pid = int(f.get('pid'));
    const bytes = int(f.get('bytes'));
    if (!obj.startsWith('sk:') || hash < 0 || id === undefined || h === undefined || pid === undefined) return false;
    const sk = obj.slice(3, hash);
    const t = line.t;
    const start = Math.max(0, t - h.age);
    const s = this.sock(sk, t, emit);
    if (!s.inflight.has(id)) {
      const e: ZcEvent = { t, ev: 'submit', obj, pid, start };
      if (bytes !== undefined) e.bytes = bytes;
      describe(e, s);
      emit(e);
      this.track(s, id, e, t, emit);
    }
    this.changes.judge(this.buffers, { obj, pid, t: start, ranges: sentRanges(f, bytes), fp: f.get('fp'), fz: f.get('fz') === '1' }, t, h, emit);
    for (const [a, b] of s.inflight.take(id, id)) {
      for (let i = a; i <= b; i++) this.done(`sk:${sk}#${i}`, t, h.copied, emit);
    }
    return true;
  }

  // Matching mode: a send in flight past the threshold, found by the program's scan (`late`: the
  // socket is still open; its completion may come later, as a held line) or at its socket's
  // close (`gone`: the close line that follows ends it): handed over, dated back to its send,
  // so the engine reports the leak now.
  private gone(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const obj = f.get('obj') ?? '';
    const hash = obj.lastIndexOf('#');
    const id = int(obj.slice(hash + 1));
    const age = int(f.get('age'));
    if (!obj.startsWith('sk:') || hash < 0 || id === undefined || age === undefined) return false;
    const sk = obj.slice(3, hash);
    const s = this.sock(sk, line.t, emit);
    if (s.inflight.has(id)) return true;
    const e: ZcEvent = { t: line.t, ev: 'submit', obj, start: Math.max(0, line.t - age) };
    const pid = int(f.get('pid'));
    if (pid !== undefined && pid > 0) e.pid = pid;
    const bytes = int(f.get('bytes'));
    if (bytes !== undefined) e.bytes = bytes;
    describe(e, this.maps.names.get(sk));
    emit(e);
    this.track(s, id, e, line.t, emit);
    return true;
  }

  // One send took one id. Its buffer compared with the in-flight ones it overlaps
  // (user-buffers.ts): the same bytes again is a resend, changed bytes free the older holders.
  private submit(line: ProbeLine, emit: Emit): boolean {
    // Every field this needs in one pass over the line (it is the pack's most frequent line).
    const v = submitVals;
    collectFields(line.fields, SUBMIT_KEYS, v);
    const obj = v[0] ?? '';
    const hash = obj.lastIndexOf('#');
    const id = int(obj.slice(hash + 1));
    if (!obj.startsWith('sk:') || hash < 0 || id === undefined) return false;
    const s = this.sock(obj.slice(3, hash), line.t, emit);
    const e: ZcEvent = { t: line.t, ev: 'submit', obj: s.prefix + id };
    const bytes = int(v[1]);
    if (bytes !== undefined) e.bytes = bytes;
    const pid = int(v[2]);
    if (pid !== undefined) e.pid = pid;
    if (v[3] !== undefined && v[3] !== '') e.sock = v[3];
    const comm = v[SUBMIT_FP + 2];
    if (comm !== undefined && comm !== '') e.comm = comm;
    if (pid !== undefined) {
      const sent = { obj: e.obj!, pid, t: line.t, ranges: rangesOf(v, SUBMIT_RANGES_AT, bytes), fp: v[SUBMIT_FP], fz: v[SUBMIT_FP + 1] === '1' };
      if (this.buffers.send(sent, emit)) e.resend = true;
    }
    emit(e);
    this.track(s, id, e, line.t, emit);
    return true;
  }

  // The part of a large sendmmsg batch the program did not detail: ids only, no ranges.
  private submits(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const sk = f.get('sk');
    const lo = int(f.get('lo'));
    const hi = int(f.get('hi'));
    if (!sk || lo === undefined || hi === undefined) return false;
    const base: ZcEvent = { t: line.t, ev: 'submit' };
    const pid = int(f.get('pid'));
    if (pid !== undefined) base.pid = pid;
    const comm = f.get('comm');
    if (comm) base.comm = comm;
    const s = this.sock(sk, line.t, emit);
    if (s.sock !== undefined) base.sock = s.sock;
    for (let n = ((hi - lo) >>> 0) + 1, id = lo, k = 0; k < n; k++, id = (id + 1) >>> 0) {
      const e = { ...base, obj: s.prefix + id };
      emit(e);
      this.track(s, id, e, line.t, emit);
    }
    return true;
  }

  // A completion range [lo, hi] (inclusive, may wrap): one done per id this decoder saw sent;
  // ids after the newest send seen are kept briefly: another thread can read a completion
  // before the sending thread's sendmsg has returned (and printed its submit line).
  // Ids sent before the trace began are skipped: there is no lifetime to end.
  private zcdone(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const sk = f.get('sk');
    const lo = int(f.get('lo'));
    const hi = int(f.get('hi'));
    if (!sk || lo === undefined || hi === undefined) return false;
    const copied = f.get('copied') === '1';
    const s = this.sock(sk, line.t, emit);
    for (const [a, b] of s.inflight.take(lo, hi)) {
      for (let id = a; id <= b; id++) this.done(s.prefix + id, line.t, copied, emit);
    }
    for (const span of aheadOf(s.next, lo, hi)) s.early.add(span, copied, line.t);
    return true;
  }

  // munmap / madvise(DONTNEED, FREE, …) that succeeded: every in-flight buffer of that process
  // the page-rounded range meets is freed under TCP's feet.
  private unmap(line: ProbeLine, emit: Emit): boolean {
    const pid = int(line.fields.get('pid'));
    const addr = big(line.fields.get('addr'));
    const len = big(line.fields.get('len'));
    if (pid === undefined || addr === undefined || len === undefined) return false;
    const [start, end] = pageSpan(addr, len);
    const reason = line.fields.get('reason') === 'madvise' ? 'madvise' : 'unmap';
    this.buffers.unmap(pid, start, end - start, line.t, reason, emit);
    if (this.matching) this.changes.add({ t: line.t, pid, kind: 'unmap', start, len: end - start, reason });
    return true;
  }

  // The kernel compared the bytes of a holder when its completion was read: they changed.
  private rewrite(line: ProbeLine, emit: Emit): boolean {
    const obj = line.fields.get('obj');
    if (!obj) return false;
    this.buffers.rewrite(obj, line.t, line.fields.get('fz') === '1', emit);
    return true;
  }

  // A read(2)-like call of a zero-copy sender wrote [addr, +len) (and [addr1, +len1)).
  private write(line: ProbeLine, emit: Emit): boolean {
    if (!this.buffers.writeLine(line, emit)) return false;
    const f = line.fields;
    const pid = Number(f.get('pid'));
    if (this.matching) this.changes.add({ t: line.t, pid, kind: 'write', t0: line.t - Number(f.get('dt')), ranges: writtenRanges(f), call: callName(f.get('call')) });
    return true;
  }

  // The socket went away (close(2) of its last reference, or the kernel destroyed it): the
  // owner will never be told about the sends still in flight. One `close` per such holder.
  private close(line: ProbeLine, emit: Emit): boolean {
    const sk = line.fields.get('sk');
    if (!sk) return false;
    const s = this.socks.get(sk);
    // matching mode: the kernel counted the sends it still held (those the decoder was handed
    // are among them: they get their close event here)
    const abandoned = int(line.fields.get('abandoned')) ?? 0;
    let drained = 0;
    if (s !== undefined) {
      this.socks.delete(sk);
      for (const [a, b] of s.inflight.drain()) {
        drained += b - a + 1;
        for (let id = a; id <= b; id++) {
          const obj = s.prefix + id;
          this.buffers.forget(obj);
          const e: ZcEvent = { t: line.t, ev: 'close', obj };
          if (s.sock !== undefined) e.sock = s.sock;
          emit(e);
        }
      }
    }
    if (abandoned > drained) {
      const e: ZcEvent = { t: line.t, ev: 'count', counter: 'abandoned', n: abandoned - drained };
      describe(e, this.maps.names.get(sk));
      emit(e);
    }
    return true;
  }

  // The process is gone with its address space (and a new one may get its pid): its buffers
  // can no longer be unmapped. Its holders stay open until their socket closes.
  private exit(line: ProbeLine): boolean {
    const pid = int(line.fields.get('pid'));
    if (pid === undefined) return false;
    this.buffers.forgetPid(pid);
    return true;
  }

  // ENOBUFS from a MSG_ZEROCOPY send; obj names the socket (`sk:<address>`), not a holder.
  private sendError(line: ProbeLine, emit: Emit): boolean {
    const e = standardEvent(line);
    if (e?.obj === undefined) return false;
    emit(e);
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
      s = { prefix: ownCopy(`sk:${sk}#`), inflight: new IdSet(), early: new EarlyDones(REORDER_WINDOW_NS) };
      this.socks.set(sk, s);
    }
    return s;
  }

  // Files a sent id under its socket, or completes it at once when its completion came first.
  private track(s: Sock, id: number, e: ZcEvent, t: number, emit: Emit): void {
    if (e.sock !== undefined) s.sock = e.sock;
    s.next = (id + 1) >>> 0;
    const early = s.early.take(id, t);
    if (early !== undefined) {
      this.done(e.obj as string, Math.max(t, early.t), early.copied, emit);
      return;
    }
    const dropped = s.inflight.add(id);
    if (dropped > 0) emit({ t, ev: 'lost', n: dropped }); // their completions will be missed
  }

  private done(obj: string, t: number, copied: boolean, emit: Emit): void {
    this.buffers.forget(obj);
    emit({ t, ev: 'done', obj, copied });
  }
}

/** What this pack cannot see (doctor, `probes show`). */
const BLIND_SPOTS = [
  'no page or skb references: a holder is open from its send to the completion its owner reads, with nothing in between (which skb, retransmits, when the kernel itself let go)',
  'a holder ends when the owner reads its completion, not when the kernel queues it: a completion queued but never read is reported as a leak (the owner-side leak); a kernel that never completes looks the same',
  'completions read other than by recvmsg(MSG_ERRQUEUE) (recvmmsg, io_uring) are not seen: those holders look leaked; so do completions lost to a too small msg_control (MSG_CTRUNC)',
  'a coalesced completion range carries one copied flag for all its ids (the kernel merges ranges whatever each send did)',
  'a rewrite is seen only through the fingerprint (one word per 4 KiB of the first two iovecs, 16 at most each, and the last word): a change that leaves the sampled words as they were, or in iovecs 3 and 4, is missed; it is checked again when the owner reads the completion (the first 64 ids of a coalesced range) and at the next send of exactly the same ranges; a partial overlap is counted as a resend, never compared',
  'writes by the kernel into a buffer are seen for read, pread64, readv, preadv, recvfrom and recvmsg (the first two iovecs) of the sending process; io_uring reads, splice, process_vm_writev and writes by other processes (shared memory) are not',
  'buffer ranges: the first 4 iovecs of a sendmsg, the first iovec of each sendmmsg message, none past the 16th message of one sendmmsg call (ids only)',
  'frees seen: munmap and madvise(DONTNEED, FREE, REMOVE, DONTNEED_LOCKED, GUARD_INSTALL) that succeed; mremap, mmap(MAP_FIXED) over a buffer, shmdt, brk and process_madvise are not',
  'ids are read from the socket at syscall entry and exit: two threads sending MSG_ZEROCOPY on one socket at the same instant can swap ids',
  'at most 4096 sockets with zero-copy sends and 4096 processes at once in the BPF maps (BPFTRACE_MAP_KEYS_MAX): beyond, the completions and closes of further sockets are not printed and their holders look leaked',
  'matching mode (live\'s default): a finding comes when its send completes, dated by its window; a leak within a second of the threshold from the program\'s scan (the first 128 sockets at once, 32 sends per socket and second; beyond, when the send completes late or its socket closes); resends counted per (process, first iovec); a completion of more than 256 ids leaves the rest to the decoder, their kernel state kept until the socket closes; a leaked send\'s buffer later unmapped without completing is reported as a leak only',
  'TCP only (UDP and RDS zero-copy are ignored); a socket closed by process exit, dup2 or close_range gets its close when the kernel destroys it, which for a lingering connection can be later',
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
  matching: true,
  blindSpots: BLIND_SPOTS,
  createDecoder: () => new MsgzcSyscallsDecoder(),
};
