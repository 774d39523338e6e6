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
import { callName, writtenRanges } from '../fields.js';
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

/** One in-flight holder, filed in the group of its exact ranges. */
interface Holder {
  obj: string;
  pid: number;
  t: number;
  fp?: string;
  fz?: boolean;
  group: Group;
}

/**
 * The in-flight holders of one process with exactly the same ranges. The range index files
 * groups, not holders: a sender resending one buffer (a benchmark, the kernel's selftests) has
 * thousands of holders in flight and one group, so a send or a completion costs a Set update,
 * not an index update (profiled: the index was the live path's largest cost).
 */
interface Group {
  key: string;
  pid: number;
  ranges: [bigint, bigint][];
  /** Holders in send order (a Set keeps insertion order). */
  holders: Set<Holder>;
  /** The newest send of these ranges, while it is in flight. */
  newest: Holder | undefined;
  /** The last time the bytes were known unchanged (the newest send, or an equal comparison). */
  seen: number;
}

/** Why a write by `call` is uncertain when a send was made while the call ran. */
export function raceWhy(call: string): string {
  return `the ${call} ran while this send was made: which came first is unknown`;
}

/** Why a change seen against an all-zero sample is uncertain. */
export const ZERO_WHY =
  'the fingerprint read all zero: the buffer was zeroed, or its memory could not be read (bpftrace cannot tell)';

// The key of a ranges array, per pid (sentRanges hands out the same array for the same buffer).
const keyMemo = new WeakMap<[bigint, bigint][], { pid: number; key: string }>();

function rangeKey(pid: number, ranges: [bigint, bigint][]): string {
  const m = keyMemo.get(ranges);
  if (m !== undefined && m.pid === pid) return m.key;
  let k = String(pid);
  for (const [a, l] of ranges) k += `:${a.toString(16)}+${l.toString(16)}`;
  keyMemo.set(ranges, { pid, key: k });
  return k;
}

/** In-flight user buffers per process, bounded, with the rules above. */
export class UserBuffers {
  /** Group ranges by group key (exposed for tests). */
  readonly ranges = new InflightRanges(Number.MAX_SAFE_INTEGER);
  private readonly held = new Map<string, Holder>();
  private readonly groups = new Map<string, Group>();

  constructor(private readonly maxInflight = MAX_INFLIGHT) {}

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
    let g = this.groups.get(key);
    if (g !== undefined && g.newest !== undefined && g.newest.t <= s.t) {
      resend = this.compare(g.newest, g, g.seen, s, emit);
    } else {
      // No newest to compare with (it completed, or its line came later): the oldest same-range
      // holder sent before this one judges; a partly overlapping one makes this a resend.
      for (const o of this.overlapping(s.pid, s.ranges, s.t)) {
        if (o.group.key !== key) { resend = true; continue; }
        resend = this.compare(o, o.group, o.t, s, emit) || resend;
        break; // the same-range holders were all judged by compare()
      }
    }
    g = this.groups.get(key) ?? this.newGroup(key, s.pid, s.ranges);
    const h: Holder = { obj: s.obj, pid: s.pid, t: s.t, group: g };
    if (s.fp !== undefined) h.fp = s.fp;
    if (s.fz !== undefined) h.fz = s.fz;
    g.holders.add(h);
    this.held.set(s.obj, h);
    // the newest holder of these ranges; its bytes are known unchanged as of now
    if (g.newest === undefined || g.newest.t <= s.t) {
      g.newest = h;
      g.seen = s.t;
    }
    if (this.held.size > this.maxInflight) this.forget(this.held.keys().next().value as string);
    return resend;
  }

  // The new send `s` has the ranges of in-flight holder `h`: same bytes = resend; otherwise every
  // in-flight holder of those ranges had its bytes changed before its completion.
  private compare(h: Holder, g: Group, seen: number, s: SentBuffer, emit: Emit): boolean {
    if (h.fp === undefined || s.fp === undefined || h.fp === s.fp) return true;
    const unsure = h.fz === true || s.fz === true ? ZERO_WHY : undefined;
    for (const o of [...g.holders]) {
      if (o.t > s.t) continue;
      this.drop(o, s.t, 'rewrite', Math.max(o.t, seen), unsure, emit);
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
    const since = h.group.newest === h ? Math.max(h.t, h.group.seen) : h.t;
    this.drop(h, t, 'rewrite', since, h.fz === true || nowZero ? ZERO_WHY : undefined, emit);
  }

  /**
   * The kernel wrote [addr, addr+len) for process `pid` on behalf of `call`, between `t0` (the
   * call's start) and `t` (its end): every in-flight buffer it meets was overwritten under TCP.
   * A send made while the call ran may have come after the write: uncertain.
   */
  write(pid: number, t0: number, t: number, ranges: [bigint, bigint][], call: string, emit: Emit): void {
    for (const h of this.overlapping(pid, ranges, t)) {
      const unsure = h.t >= t0 ? raceWhy(call) : undefined;
      this.drop(h, t, call, t0, unsure, emit);
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
    for (const h of this.overlapping(pid, [[addr, len]], t)) this.drop(h, t, reason, undefined, undefined, emit);
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
    const g = h.group;
    g.holders.delete(h);
    if (g.newest === h) g.newest = undefined;
    if (g.holders.size === 0) {
      this.groups.delete(g.key);
      this.ranges.remove(g.key);
    }
  }

  // Holders of `pid` sent at or before `t` whose ranges meet any of `ranges`, oldest first.
  private overlapping(pid: number, ranges: [bigint, bigint][], t: number): Holder[] {
    const out: Holder[] = [];
    const seen = new Set<string>();
    for (const [a, l] of ranges) {
      for (const r of this.ranges.overlapping(pid, a, l)) {
        if (seen.has(r.obj)) continue;
        seen.add(r.obj);
        const g = this.groups.get(r.obj);
        if (g !== undefined) for (const h of g.holders) if (h.t <= t) out.push(h);
      }
    }
    return out.sort((x, y) => x.t - y.t);
  }

  private newGroup(key: string, pid: number, ranges: [bigint, bigint][]): Group {
    const g: Group = { key, pid, ranges, holders: new Set(), newest: undefined, seen: -Infinity };
    this.groups.set(key, g);
    for (const [a, l] of ranges) this.ranges.add(pid, key, a, l);
    return g;
  }

  private drop(
    h: Holder, t: number, reason: string, since: number | undefined, unsure: string | undefined, emit: Emit,
  ): void {
    this.forget(h.obj);
    const e: Parameters<Emit>[0] = { t, ev: 'free', obj: h.obj, reason, pid: h.pid };
    if (since !== undefined) e.since = since;
    if (unsure !== undefined) e.unsure = unsure;
    emit(e);
  }
}
