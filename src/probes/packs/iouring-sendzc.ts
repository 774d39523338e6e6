// The io_uring zero-copy send pack (probes/iouring-sendzc.bt): one holder per SEND_ZC /
// SENDMSG_ZC request, named `ring:<io_ring_ctx address>#<user_data>`; it lives from the submit
// to the request's notification CQE (IORING_CQE_F_NOTIF), the moment the kernel lets go of the
// buffer. The decoder also remembers each in-flight buffer's address range per process
// (user-buffers.ts): an munmap/madvise of it, a change of its bytes (seen at the next send of
// it, or by the kernel at the notification) or a read writing into it before the notification
// becomes a `free`; a resend of unchanged bytes is counted, not a finding.
import { constants as osConstants } from 'node:os';
import type { ZcEvent } from '../../engine/types.js';
import type { Decoder, Emit, PackDescriptor, ProbeLine } from '../pack.js';
import { pageSpan } from './inflight-ranges.js';
import { big, callName, int, writtenRanges } from '../fields.js';
import { describe, heldFacts, MatchingDecoder } from './matching.js';

let errnoNames: Map<number, string> | undefined;

/** "ENOBUFS" for 105; "ERRNO_<n>" for a number this platform does not name. */
export function errnoName(n: number): string {
  if (!errnoNames) {
    errnoNames = new Map();
    for (const [name, value] of Object.entries(osConstants.errno)) {
      if (!errnoNames.has(value)) errnoNames.set(value, name);
    }
  }
  return errnoNames.get(n) ?? `ERRNO_${n}`;
}

/** Decodes submit / done / result / unmap lines into events; see probes/iouring-sendzc.bt. */
export class IouringSendzcDecoder extends MatchingDecoder implements Decoder {
  /** Per holder: its process and socket, for a failed request's send_error. */
  private readonly who = new Map<string, { pid?: number; sock?: string }>();
  /** In-flight holders by their notification's address (nf): user_data need not be unique. */
  private readonly byNf = new Map<string, string>();
  private dups = 0;

  decode(line: ProbeLine, emit: Emit): boolean {
    switch (line.kind) {
      case 'submit':
        return this.submit(line, emit);
      case 'done':
        return this.done(line, emit);
      case 'result':
        return this.result(line, emit);
      case 'unmap':
        return this.unmap(line, emit);
      case 'rewrite':
        return this.rewrite(line, emit);
      case 'write':
        return this.write(line, emit);
      case 'match':
        return this.maps.start(line.fields);
      case 'sock':
        return this.sockLine(line);
      case 'held':
        return this.held(line, emit);
      case 'late':
        return this.late(line, emit);
      case 'counts':
        return this.maps.counts(line.fields);
      default:
        return false;
    }
  }

  private sockLine(line: ProbeLine): boolean {
    return this.maps.sock(line.fields) !== undefined;
  }

  // A holder's name: user_data need not be unique; a second one in flight gets ~N.
  private name(base: string, nf: string | undefined): string {
    const obj = this.who.has(base) ? `${base}~${++this.dups}` : base;
    if (nf === undefined) return obj;
    if (this.byNf.size >= 65536) this.byNf.delete(this.byNf.keys().next().value as string);
    this.byNf.set(nf, obj);
    return obj;
  }

  // Matching mode: a request the kernel did not judge clean, with its notification: its submit
  // (dated back), what happened to its buffer since, then its done (matching.ts).
  private held(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const nf = f.get('nf');
    const base = f.get('obj');
    const h = heldFacts(f);
    const pid = int(f.get('pid'));
    const addr = big(f.get('addr'));
    const len = big(f.get('len'));
    if (!nf || !base || h === undefined || pid === undefined || addr === undefined || len === undefined) return false;
    const t = line.t;
    const start = Math.max(0, t - h.age);
    const obj = this.byNf.get(nf) ?? this.handOver(line, base, nf, start, pid, emit);
    this.changes.judge(this.buffers, { obj, pid, t: start, ranges: len > 0n ? [[addr, len]] : [], fp: f.get('fp'), fz: f.get('fz') === '1' }, t, h, emit);
    this.end(obj, nf);
    const d: ZcEvent = { t, ev: 'done', obj };
    const copied = f.get('copied');
    if (copied === '1' || copied === '0') d.copied = copied === '1';
    emit(d);
    return true;
  }

  // Matching mode: a request in flight past the threshold, found by the program's scan: handed
  // over, dated back to its submit, so the engine reports the leak now; its notification, if it
  // comes, is a held line that ends it.
  private late(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const nf = f.get('nf');
    const base = f.get('obj');
    const age = int(f.get('age'));
    if (!nf || !base || age === undefined || age < 0) return false;
    if (this.byNf.has(nf)) return true;
    const pid = int(f.get('pid'));
    this.handOver(line, base, nf, Math.max(0, line.t - age), pid !== undefined && pid > 0 ? pid : undefined, emit);
    return true;
  }

  // A request the kernel kept (held or late line) reaches the engine: its submit, dated back to
  // `start`, with its socket's facts from the `sock` line. Returns its holder name.
  private handOver(line: ProbeLine, base: string, nf: string, start: number, pid: number | undefined, emit: Emit): string {
    const f = line.fields;
    const obj = this.name(base, nf);
    const e: ZcEvent = { t: line.t, ev: 'submit', obj, start };
    if (pid !== undefined) e.pid = pid;
    const bytes = int(f.get('bytes'));
    if (bytes !== undefined) e.bytes = bytes;
    describe(e, this.maps.names.get(f.get('sk') ?? ''));
    this.remember(obj, pid, e.sock);
    emit(e);
    return obj;
  }

  // A new request. Its buffer compared with the in-flight ones it overlaps (user-buffers.ts):
  // the same bytes again is a resend, changed bytes free the older holders.
  private submit(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const base = f.get('obj');
    if (!base) return false;
    // A program may give every request the same user_data (the kernel's own selftest does):
    // a second request of that name while the first is in flight gets a name of its own,
    // `ring:…#UD~N`, and its notification finds it by nf.
    const nf = f.get('nf');
    const obj = this.name(base, nf !== undefined && nf !== '0x0' ? nf : undefined);
    const pid = int(f.get('pid'));
    const rawSock = f.get('sock');
    const sock = rawSock && rawSock !== '-' ? rawSock : undefined;
    const addr = big(f.get('addr'));
    const len = big(f.get('len'));
    const e: ZcEvent = { t: line.t, ev: 'submit', obj };
    if (pid !== undefined && addr !== undefined && len !== undefined) {
      const sent = { obj, pid, t: line.t, ranges: len > 0n ? [[addr, len] as [bigint, bigint]] : [], fp: f.get('fp'), fz: f.get('fz') === '1' };
      if (this.buffers.send(sent, emit)) e.resend = true;
    }
    this.remember(obj, pid, sock);
    const bytes = int(f.get('bytes'));
    if (bytes !== undefined) e.bytes = bytes;
    if (pid !== undefined) e.pid = pid;
    if (sock !== undefined) e.sock = sock;
    const comm = f.get('comm');
    if (comm !== undefined) e.comm = comm;
    emit(e);
    return true;
  }

  // The notification CQE: TCP holds no more of the buffer. Passed on even for a holder this
  // decoder never saw submitted (it may have been submitted before the trace began).
  private done(line: ProbeLine, emit: Emit): boolean {
    const obj = this.holder(line);
    if (!obj) return false;
    this.end(obj, line.fields.get('nf'));
    const e: ZcEvent = { t: line.t, ev: 'done', obj };
    const copied = line.fields.get('copied');
    if (copied === '1' || copied === '0') e.copied = copied === '1';
    emit(e);
    return true;
  }

  // The request's first CQE, printed only when it failed or no notification will follow.
  private result(line: ProbeLine, emit: Emit): boolean {
    const obj = this.holder(line);
    const res = int(line.fields.get('res'));
    const more = line.fields.get('more');
    if (!obj || res === undefined || (more !== '0' && more !== '1')) return false;
    const held = this.who.get(obj);
    if (res < 0) {
      const e: ZcEvent = { t: line.t, ev: 'send_error', obj, errno: errnoName(-res) };
      if (held?.pid !== undefined) e.pid = held.pid;
      if (held?.sock !== undefined) e.sock = held.sock;
      emit(e);
    }
    if (more === '0' && (!this.matching || held !== undefined)) {
      // nothing was pinned, or the kernel let go already: the holder ends here (in matching
      // mode the kernel counted it, unless this decoder was handed it)
      this.end(obj, line.fields.get('nf'));
      emit({ t: line.t, ev: 'done', obj });
    }
    return true;
  }

  // munmap / madvise(DONTNEED, FREE, REMOVE) of a range: every in-flight holder of that
  // process whose buffer meets the (page-rounded) range is freed under TCP's feet.
  private unmap(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const pid = int(f.get('pid'));
    const addr = big(f.get('addr'));
    const len = big(f.get('len'));
    const reason = f.get('reason') === 'madvise' ? 'madvise' : 'unmap';
    if (pid === undefined || addr === undefined || len === undefined) return false;
    const [start, end] = pageSpan(addr, len);
    this.buffers.unmap(pid, start, end - start, line.t, reason, emit);
    if (this.matching) this.changes.add({ t: line.t, pid, kind: 'unmap', start, len: end - start, reason });
    return true;
  }

  // The kernel compared the bytes of a holder at its notification: they changed.
  private rewrite(line: ProbeLine, emit: Emit): boolean {
    const obj = this.holder(line);
    if (!obj) return false;
    this.buffers.rewrite(obj, line.t, line.fields.get('fz') === '1', emit);
    return true;
  }

  // The holder a done/result/rewrite line names: by its notification's address when known.
  private holder(line: ProbeLine): string | undefined {
    const nf = line.fields.get('nf');
    return (nf !== undefined ? this.byNf.get(nf) : undefined) ?? line.fields.get('obj');
  }

  // A read(2)-like call or an io_uring READ/RECV wrote [addr, +len) for a zero-copy sender.
  private write(line: ProbeLine, emit: Emit): boolean {
    if (!this.buffers.writeLine(line, emit)) return false;
    const f = line.fields;
    if (this.matching) {
      this.changes.add({ t: line.t, pid: Number(f.get('pid')), kind: 'write', t0: line.t - Number(f.get('dt')), ranges: writtenRanges(f), call: callName(f.get('call')) });
    }
    return true;
  }

  private remember(obj: string, pid: number | undefined, sock: string | undefined): void {
    if (this.who.size >= 65536) this.who.delete(this.who.keys().next().value as string);
    this.who.set(obj, { pid, sock });
  }

  private end(obj: string, nf?: string): void {
    this.buffers.forget(obj);
    this.who.delete(obj);
    if (nf !== undefined && this.byNf.get(nf) === obj) this.byNf.delete(nf);
  }
}

/** The pack's descriptor, for registry.ts. */
export const iouringSendzc: PackDescriptor = {
  name: 'iouring-sendzc',
  description:
    'io_uring SEND_ZC/SENDMSG_ZC requests from submit to notification CQE, with unmap/madvise/reuse of in-flight buffers (tracepoints + BTF)',
  holder: 'ring:<io_ring_ctx address>#<user_data>[~N]: one io_uring zero-copy send request (~N: a second request with a user_data still in flight)',
  file: 'iouring-sendzc.bt',
  requires: [
    { kind: 'tracepoint', name: 'io_uring:io_uring_submit_req' },
    { kind: 'tracepoint', name: 'io_uring:io_uring_complete' },
    { kind: 'tracepoint', name: 'syscalls:sys_enter_munmap' },
    { kind: 'tracepoint', name: 'syscalls:sys_enter_madvise' },
    { kind: 'tracepoint', name: 'sched:sched_process_exit' },
    { kind: 'btf' },
    { kind: 'btf_member', struct: 'io_sr_msg', member: 'notif' },
    { kind: 'btf_member', struct: 'io_notif_data', member: 'zc_report' },
    { kind: 'btf_member', struct: 'io_async_msghdr', member: 'msg' },
    { kind: 'btf_member', struct: 'io_ring_ctx', member: 'file_table' },
    { kind: 'btf_member', struct: 'io_file_table', member: 'data' },
    { kind: 'btf_member', struct: 'io_rsrc_node', member: 'file_ptr' },
  ],
  priority: 40,
  matching: true,
  blindSpots: [
    'matching mode (live\'s default): a finding comes when its notification is posted, dated by its window; a leak within a second of the threshold from the program\'s scan (the first 64 sockets at once, 32 requests per socket and second; beyond, when the notification comes late, at the latest when the ring is torn down); resends counted per (process, buffer) while one is in flight; a request named by user_data, with ~N when a held one shares it with another in flight',
    'no page references: a holder is open from submit to its notification CQE, with nothing in between (which skb, retransmits)',
    'a rewrite is seen only through the fingerprint (one word per 4 KiB, 16 at most, and the last word): a change that leaves the sampled words as they were is missed; the fingerprint is checked again only when the notification is posted in the submitter (checked=0 otherwise) and at the next request from exactly the same range; a partial overlap is counted as a resend, never compared',
    'writes by the kernel into a buffer are seen for read/pread64/readv/preadv/recvfrom/recvmsg and io_uring READ/READ_FIXED/READV/RECV (first iovec); RECVMSG, multishot receives, splice and writes by other processes are not',
    'SENDMSG_ZC with several iovecs: bytes counts them all, but only the first iovec is tracked for unmap, rewrite and writes',
    'munmap/madvise are taken at syscall entry (a call that fails still counts); mremap, shmdt, brk and process exit are not seen as frees',
    'registered (fixed) buffers stay pinned by the ring, so their munmap is reported as an early free although the pages survive',
    'copied is known only for requests that asked IORING_SEND_ZC_REPORT_USAGE; short (partial) sends are not reported, bytes is the amount requested',
    'with a pid/port/comm filter, notifications are matched to printed submits in a BPF map of BPFTRACE_MAP_KEYS_MAX (4096) entries: beyond that many holders in flight, later notifications are not printed and those holders look leaked',
    'the port filter drops requests whose socket is not AF_INET/AF_INET6; comm is the submitting thread (with SQPOLL, the iou-sqp thread)',
    'opcode numbers (47, 48) and struct layouts are those of Linux 6.18, the only kernel it was tested on (layouts are checked through BTF, opcodes are not)',
  ],
  createDecoder: () => new IouringSendzcDecoder(),
};
