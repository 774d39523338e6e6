// In-flight zero-copy buffers of the msgzc-syscalls decoder, and the frees found on them.
//
// Each holder whose user address range is known is filed in InflightRanges (per process), with
// its send time and socket beside it. An munmap/madvise meeting the range, or a new send of it
// on the same socket, before the holder's completion is a `free`. Lines reach the decoder in
// time order (the parser's reorder window, src/probes/reorder.ts), so a completion read just
// before an unmap is always decoded before it, however bpftrace's per-CPU buffers delivered them.
import type { Emit } from '../pack.js';
import { InflightRanges } from './inflight-ranges.js';

/** Holders whose buffer ranges are remembered at once; beyond it the oldest are forgotten. */
const MAX_INFLIGHT = 65536;

interface HolderInfo { t: number; pid: number; sk: string }

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

/** An unmap line's address and length, or undefined when malformed. */
export function unmapRange(f: Map<string, string>): [bigint, bigint] | undefined {
  const addr = big(f.get('addr'));
  const len = big(f.get('len'));
  return addr === undefined || len === undefined ? undefined : [addr, len];
}

/** In-flight buffer ranges per process, bounded. */
export class BufferWatch {
  readonly ranges = new InflightRanges(MAX_INFLIGHT);
  private readonly holders = new Map<string, HolderInfo>();

  /** Files the buffer ranges of holder `obj`, sent at `t` by `pid` on socket `sk`. */
  add(obj: string, pid: number, sk: string, t: number, ranges: [bigint, bigint][]): void {
    this.forget(obj);
    if (ranges.length === 0) return;
    for (const [addr, len] of ranges) this.ranges.add(pid, obj, addr, len, sk);
    this.holders.set(obj, { t, pid, sk });
    // InflightRanges forgets its oldest holders when full: drop their companions too
    for (const o of this.holders.keys()) {
      if (this.holders.size <= this.ranges.size) break;
      if (!this.ranges.has(o)) this.holders.delete(o);
    }
  }

  /**
   * Holders of `pid` (only those on socket `sk` when given) sent before `t` whose buffer meets
   * [addr, addr+len): each gets one `free` with `reason` and is forgotten, oldest first.
   */
  free(pid: number, addr: bigint, len: bigint, t: number, reason: string, emit: Emit, sk?: string): void {
    for (const r of this.ranges.overlapping(pid, addr, len)) {
      const h = this.holders.get(r.obj);
      if (h === undefined || h.t > t || (sk !== undefined && h.sk !== sk)) continue;
      this.forget(r.obj);
      emit({ t, ev: 'free', obj: r.obj, reason, pid });
    }
  }

  /** The process is gone: its address space cannot be unmapped any more. */
  forgetPid(pid: number): void {
    for (const [obj, h] of this.holders) if (h.pid === pid) this.forget(obj);
  }

  /** The holder completed or went away: its buffer is no longer watched. */
  forget(obj: string): void {
    if (this.holders.delete(obj)) this.ranges.remove(obj);
  }
}
