// Zero-copy ids of one socket, for the msgzc-syscalls decoder.
//
// The kernel numbers a socket's MSG_ZEROCOPY sends 0, 1, 2, … (sk_zckey, a u32 that wraps) and
// reports completions as inclusive ranges [lo, hi] that are coalesced, may arrive out of order,
// and may wrap past 2^32 - 1. A socket's ids still in flight are kept as a few intervals (one in
// the usual in-order case), so a range of a million ids costs no more than a range of one.
// Completions seen before their send are kept briefly too: a reaper thread can read an id's
// completion before the sending thread's sendmsg has returned and printed its submit line.

/** 2^32: ids live in [0, U32). */
export const U32 = 0x1_0000_0000;

/** An inclusive id interval that does not wrap (lo <= hi). */
export type IdSpan = [lo: number, hi: number];

/** [lo, hi] (inclusive, u32, may wrap) as one or two spans that do not wrap. */
export function spans(lo: number, hi: number): IdSpan[] {
  return lo <= hi ? [[lo, hi]] : [[lo, U32 - 1], [0, hi]];
}

/** The ids of [lo, hi] (inclusive, may wrap) at or after `next` in send order. */
export function aheadOf(next: number | undefined, lo: number, hi: number): IdSpan[] {
  if (next === undefined) return spans(lo, hi);
  const n = (hi - lo) >>> 0;
  if (((next - lo) >>> 0) <= n) return spans(next, hi); // next falls inside the range
  return ((lo - next) >>> 0) < U32 / 2 ? spans(lo, hi) : [];
}

/** Ids sent and not completed, as intervals in send order. Bounded: the oldest go first. */
export class IdSet {
  private iv: IdSpan[] = [];
  /** Ids held. */
  count = 0;

  constructor(private readonly maxIntervals = 4096) {}

  /** Adds one id; returns how many old ids were forgotten to stay within the bound. */
  add(id: number): number {
    const last = this.iv[this.iv.length - 1];
    if (last !== undefined && last[1] + 1 === id) last[1] = id;
    else if (last !== undefined && id <= last[1] && this.has(id)) return 0; // a repeated line
    else this.iv.push([id, id]);
    this.count++;
    let dropped = 0;
    while (this.iv.length > this.maxIntervals) {
      const [lo, hi] = this.iv.shift() as IdSpan;
      dropped += hi - lo + 1;
    }
    this.count -= dropped;
    return dropped;
  }

  has(id: number): boolean {
    return this.iv.some(([lo, hi]) => lo <= id && id <= hi);
  }

  /** Removes the ids of [lo, hi] (inclusive, may wrap) that are held; returns them in send order. */
  take(lo: number, hi: number): IdSpan[] {
    const out: IdSpan[] = [];
    const keep: IdSpan[] = [];
    const cut = spans(lo, hi);
    for (const span of this.iv) {
      let rest: IdSpan[] = [span];
      for (const [a, b] of cut) {
        const next: IdSpan[] = [];
        for (const [p, q] of rest) {
          const s = Math.max(a, p);
          const e = Math.min(b, q);
          if (s > e) {
            next.push([p, q]);
            continue;
          }
          out.push([s, e]);
          if (p < s) next.push([p, s - 1]);
          if (e < q) next.push([e + 1, q]);
        }
        rest = next;
      }
      keep.push(...rest);
    }
    this.iv = keep;
    for (const [s, e] of out) this.count -= e - s + 1;
    return out;
  }

  /** Removes and returns every id held, in send order. */
  drain(): IdSpan[] {
    const out = this.iv;
    this.iv = [];
    this.count = 0;
    return out;
  }
}

/** A completion read before the send of its id was seen. */
export interface EarlyDone {
  span: IdSpan;
  copied: boolean;
  t: number;
}

/** Completions ahead of the sends, each kept for `windowNs` of trace time, at most `max`. */
export class EarlyDones {
  private list: EarlyDone[] = [];

  constructor(private readonly windowNs: number, private readonly max = 16) {}

  add(span: IdSpan, copied: boolean, t: number): void {
    this.expire(t);
    this.list.push({ span, copied, t });
    if (this.list.length > this.max) this.list.shift();
  }

  /** If `id` was already reported complete, removes it and returns that completion. */
  take(id: number, now: number): EarlyDone | undefined {
    this.expire(now);
    const i = this.list.findIndex((d) => d.span[0] <= id && id <= d.span[1]);
    if (i < 0) return undefined;
    const d = this.list[i];
    const [lo, hi] = d.span;
    const parts: EarlyDone[] = [];
    if (lo < id) parts.push({ ...d, span: [lo, id - 1] });
    if (id < hi) parts.push({ ...d, span: [id + 1, hi] });
    this.list.splice(i, 1, ...parts);
    return d;
  }

  private expire(now: number): void {
    while (this.list.length > 0 && this.list[0].t + this.windowNs < now) this.list.shift();
  }
}
