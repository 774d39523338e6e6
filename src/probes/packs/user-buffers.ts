// In-flight zero-copy buffers in the sender's memory, shared by the packs whose holders are user
// buffers (msgzc-syscalls, iouring-sendzc, msgzc-kernel), and the frees found on them.
//
// What is a finding here, and what is not (a finding claims the owner's program is broken):
//   - a new send that overlaps an in-flight buffer is NOT one: correct senders resend one
//     unchanged buffer while earlier sends of it are in flight (benchmarks, static data, a
//     cached block sent to two initiators). It is counted (`resend` on the submit event).
//   - the bytes changing while TCP may still send from them is: the probes sample a
//     fingerprint of the buffer at submit (probes/msgzc-syscalls.bt has the sampling) and
//     again at the next send of the same range (compared here) and when the owner learns of
//     the completion (compared in the kernel: a `rewrite` line). A change is free(rewrite).
//   - the kernel writing into an in-flight buffer for the owner (read(2), recvmsg, an io_uring
//     READ...) is: free(<the call>), seen at the call's exit.
//   - munmap/madvise of an in-flight buffer is: free(unmap|madvise).
// A free carries `since` (the last time the bytes were known unchanged: the window in which
// the change happened is [since, t]) and `unsure` when the evidence cannot be certain: a
// fingerprint that reads all zero may be a read of user memory that failed (bpftrace 0.17
// reports no error), and a read that ran while the send was made may have come first.
// Lines reach a decoder in time order (src/probes/reorder.ts).
import type { Emit, ProbeLine } from '../pack.js';
import { InflightRanges } from './inflight-ranges.js';

/** Holders whose buffer ranges are remembered at once; beyond it the oldest are forgotten. */
const MAX_INFLIGHT = 65536;

/** One send's buffer: its ranges (half-open, user addresses) and the fingerprint at submit. */
export interface SentBuffer {
  obj: string;
  pid: number;
  t: number;
  ranges: [bigint, bigint][];
  /** Fingerprint of the bytes at submit (the probe's hex), absent when the probe printed none. */
  fp?: string;
  /** Every sampled word read as zero: zeroed memory, or a read that failed. */
  fz?: boolean;
}

interface Group {
  /** The newest in-flight holder with exactly these ranges. */
  obj: string;
  /** The last time the bytes of these ranges were seen unchanged (a resend that compared equal). */
  seen: number;
}

/** Why a write by `call` is uncertain when a send was made while the call ran. */
export function raceWhy(call: string): string {
  return `the ${call} ran while this send was made: which came first is unknown`;
}

/** Why a change seen against an all-zero sample is uncertain. */
export const ZERO_WHY =
  'the fingerprint read all zero: the buffer was zeroed, or its memory could not be read (bpftrace cannot tell)';

function rangeKey(pid: number, ranges: [bigint, bigint][]): string {
  let k = String(pid);
  for (const [a, l] of ranges) k += `:${a.toString(16)}+${l.toString(16)}`;
  return k;
}

/** In-flight user buffers per process, bounded, with the rules above. */
export class UserBuffers {
  readonly ranges = new InflightRanges(MAX_INFLIGHT);
  private readonly held = new Map<string, SentBuffer & { key: string }>();
  private readonly groups = new Map<string, Group>();

  /** Tracked holders (tests). */
  get size(): number {
    return this.held.size;
  }

  /**
   * A new send. Holders of the same process in flight with exactly the same ranges are
   * compared by fingerprint: equal, this send is a resend; different, the bytes were rewritten
   * under them (free(rewrite) each). A partial overlap cannot be compared here (different
   * samples): it counts as a resend, and the completion check in the kernel judges the older
   * holder. Returns whether this send repeated an in-flight buffer. Then files the new holder.
   */
  send(s: SentBuffer, emit: Emit): boolean {
    this.forget(s.obj);
    if (s.ranges.length === 0) return false;
    const key = rangeKey(s.pid, s.ranges);
    let resend = false;
    const g = this.groups.get(key);
    const newest = g !== undefined ? this.held.get(g.obj) : undefined;
    if (newest !== undefined && newest.t <= s.t) {
      resend = this.compare(newest, g as Group, s, emit);
    } else {
      const seen = new Set<string>();
      for (const [a, l] of s.ranges) {
        for (const r of this.ranges.overlapping(s.pid, a, l)) {
          const h = this.held.get(r.obj);
          if (h === undefined || seen.has(r.obj) || h.t > s.t) continue;
          seen.add(r.obj);
          if (h.key !== key) { resend = true; continue; }
          const hg = this.groups.get(key) ?? { obj: h.obj, seen: h.t };
          resend = this.compare(h, hg, s, emit) || resend;
          break; // the same-range holders were all judged by compare()
        }
      }
    }
    for (const [a, l] of s.ranges) this.ranges.add(s.pid, s.obj, a, l);
    this.held.set(s.obj, { ...s, key });
    // the newest holder of these ranges; its bytes are known unchanged as of now
    this.groups.set(key, { obj: s.obj, seen: s.t });
    this.trim();
    return resend;
  }

  // The new send `s` has the ranges of in-flight holder `h`: same bytes = resend; otherwise every
  // in-flight holder of those ranges had its bytes changed before its completion.
  private compare(h: SentBuffer & { key: string }, g: Group, s: SentBuffer, emit: Emit): boolean {
    if (h.fp === undefined || s.fp === undefined || h.fp === s.fp) return true;
    const unsure = h.fz === true || s.fz === true ? ZERO_WHY : undefined;
    for (const r of this.ranges.overlapping(s.pid, s.ranges[0][0], s.ranges[0][1])) {
      const o = this.held.get(r.obj);
      if (o === undefined || o.key !== h.key || o.t > s.t) continue;
      this.drop(o, s.t, 'rewrite', Math.max(o.t, g.seen), unsure, emit);
    }
    return false;
  }

  /**
   * The kernel saw the bytes of `obj` changed when its completion was reported (a `rewrite`
   * line): free(rewrite) with the window since its submit or last equal comparison.
   * `nowZero`: the new sample read all zero.
   */
  rewrite(obj: string, t: number, nowZero: boolean, emit: Emit): void {
    const h = this.held.get(obj);
    if (h === undefined) return;
    const g = this.groups.get(h.key);
    const since = g !== undefined && g.obj === obj ? Math.max(h.t, g.seen) : h.t;
    this.drop(h, t, 'rewrite', since, h.fz === true || nowZero ? ZERO_WHY : undefined, emit);
  }

  /**
   * The kernel wrote [addr, addr+len) for process `pid` on behalf of `call`, between `t0` (the
   * call's start) and `t` (its end): every in-flight buffer it meets was overwritten under TCP.
   * A send made while the call ran may have come after the write: uncertain.
   */
  write(pid: number, t0: number, t: number, ranges: [bigint, bigint][], call: string, emit: Emit): void {
    for (const [a, l] of ranges) {
      for (const r of this.ranges.overlapping(pid, a, l)) {
        const h = this.held.get(r.obj);
        if (h === undefined || h.t > t) continue;
        const unsure = h.t >= t0 ? raceWhy(call) : undefined;
        this.drop(h, t, call, t0, unsure, emit);
      }
    }
  }

  /**
   * A `write` line of the packs (dt, pid, addr/len[, addr1/len1], call): the call ran during
   * the dt ns before the line's time. False when malformed.
   */
  writeLine(line: ProbeLine, emit: Emit): boolean {
    const f = line.fields;
    const pid = Number(f.get('pid') ?? NaN);
    const dt = Number(f.get('dt') ?? NaN);
    if (!Number.isInteger(pid) || !Number.isInteger(dt)) return false;
    this.write(pid, line.t - dt, line.t, writtenRanges(f), callName(f.get('call')), emit);
    return true;
  }

  /** munmap / madvise of [addr, addr+len) by `pid`: every in-flight buffer it meets is freed. */
  unmap(pid: number, addr: bigint, len: bigint, t: number, reason: string, emit: Emit): void {
    for (const r of this.ranges.overlapping(pid, addr, len)) {
      const h = this.held.get(r.obj);
      if (h === undefined || h.t > t) continue;
      this.drop(h, t, reason, undefined, undefined, emit);
    }
  }

  /** The process is gone: its address space cannot be written or unmapped any more. */
  forgetPid(pid: number): void {
    for (const [obj, h] of this.held) if (h.pid === pid) this.forget(obj);
  }

  /** The holder completed or went away: its buffer is no longer watched. */
  forget(obj: string): void {
    const h = this.held.get(obj);
    if (h === undefined) return;
    this.held.delete(obj);
    this.ranges.remove(obj);
    const g = this.groups.get(h.key);
    if (g !== undefined && g.obj === obj) this.groups.delete(h.key);
  }

  private drop(
    h: SentBuffer, t: number, reason: string, since: number | undefined, unsure: string | undefined, emit: Emit,
  ): void {
    this.forget(h.obj);
    const e: Parameters<Emit>[0] = { t, ev: 'free', obj: h.obj, reason, pid: h.pid };
    if (since !== undefined) e.since = since;
    if (unsure !== undefined) e.unsure = unsure;
    emit(e);
  }

  // InflightRanges forgets its oldest holders when full: drop their companions too.
  private trim(): void {
    if (this.held.size <= this.ranges.size) return;
    for (const obj of this.held.keys()) {
      if (this.held.size <= this.ranges.size) break;
      if (!this.ranges.has(obj)) this.forget(obj);
    }
  }
}

/** The ranges a send line names (addr/len, addr1/len1 … addr3/len3), clipped to `bytes`. */
export function sentRanges(f: Map<string, string>, bytes: number | undefined, max = 4): [bigint, bigint][] {
  const out: [bigint, bigint][] = [];
  let left = bytes !== undefined ? BigInt(bytes) : undefined;
  for (const sfx of ['', '1', '2', '3'].slice(0, max)) {
    const addr = hexOrDec(f.get(`addr${sfx}`));
    let len = hexOrDec(f.get(`len${sfx}`));
    if (addr === undefined || len === undefined) break;
    if (left !== undefined && len > left) len = left;
    if (len > 0n) out.push([addr, len]);
    if (left !== undefined && (left -= len) <= 0n) break;
  }
  return out;
}

/** A write line's ranges (addr/len, addr1/len1), zero-length ones left out. */
export function writtenRanges(f: Map<string, string>): [bigint, bigint][] {
  return sentRanges(f, undefined, 2);
}

/** The call a write line names: `tracepoint:syscalls:sys_exit_read` → `read`. */
export function callName(v: string | undefined): string {
  if (v === undefined || v === '') return 'write';
  const i = v.lastIndexOf('sys_exit_');
  return i >= 0 ? v.slice(i + 'sys_exit_'.length) : v;
}

/** A BigInt from `0x…` or decimal, or undefined. */
export function hexOrDec(v: string | undefined): bigint | undefined {
  return v !== undefined && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v) ? BigInt(v) : undefined;
}
