// In-flight zero-copy buffers by user address range, per process: the state a decoder needs to
// turn "process P unmapped [a, b)" or "process P sent [a, b) again" into `free` events for the
// holders whose buffer TCP may still reference.
//
// API (all addresses are BigInt user virtual addresses, ranges half-open [start, end)):
//   new InflightRanges(maxEntries = 65536)
//   add(pid, obj, start, len, sock?)   record one buffer range of holder `obj` (a holder may
//                                      own several ranges: call add once per segment);
//                                      a zero-length range is ignored
//   remove(obj)                        forget all ranges of `obj` (its `done`, or after a free)
//   overlapping(pid, start, len)       holders of `pid` with a range meeting [start, start+len),
//                                      oldest first, each once (nothing is removed)
//   has(obj), get(obj) (its ranges), size (holders), evicted (dropped because the table was full)
//   pageSpan(start, len)               [start, end) rounded out to 4 KiB pages, for munmap/madvise
// Bounded: beyond maxEntries holders the oldest is forgotten (counted in `evicted`), so an
// unmap of its buffer is then missed, never invented.
// Index: ranges are filed under each 2 MiB bucket they touch; a query scans the buckets it
// touches, or the process's whole list when that is shorter (a munmap of a huge region).

/** One buffer range of a holder. */
export interface InflightRange {
  obj: string;
  pid: number;
  start: bigint;
  end: bigint;
  sock?: string;
  /** Insertion order of the holder (for oldest-first answers). */
  seq: number;
}

const BUCKET_SHIFT = 21n;
/** Ranges spanning more buckets than this go to a per-process list scanned on every query. */
const MAX_BUCKETS_PER_RANGE = 64n;
const PAGE = 4096n;

interface ProcIndex {
  buckets: Map<bigint, Set<InflightRange>>;
  wide: Set<InflightRange>;
  all: Set<InflightRange>;
}

/** Rounds [start, start+len) out to whole pages, as the kernel does for munmap/madvise. */
export function pageSpan(start: bigint, len: bigint): [bigint, bigint] {
  return [start - (start % PAGE), ((start + len + PAGE - 1n) / PAGE) * PAGE];
}

/** In-flight buffer ranges per process, bounded, with overlap queries. */
export class InflightRanges {
  private readonly byObj = new Map<string, InflightRange[]>();
  private readonly byPid = new Map<number, ProcIndex>();
  /** Holders forgotten because the table was full. */
  evicted = 0;
  private nextSeq = 0;

  constructor(private readonly maxEntries = 65536) {}

  /** Number of holders tracked. */
  get size(): number {
    return this.byObj.size;
  }

  has(obj: string): boolean {
    return this.byObj.has(obj);
  }

  /** The ranges of `obj`, oldest first, or undefined when it is not tracked. */
  get(obj: string): readonly InflightRange[] | undefined {
    return this.byObj.get(obj);
  }

  /** Records one range [start, start+len) of holder `obj` in process `pid`. */
  add(pid: number, obj: string, start: bigint, len: bigint, sock?: string): void {
    if (len <= 0n) return;
    let list = this.byObj.get(obj);
    if (!list) {
      while (this.byObj.size >= this.maxEntries) {
        const oldest = this.byObj.keys().next().value as string;
        this.remove(oldest);
        this.evicted++;
      }
      list = [];
      this.byObj.set(obj, list);
      this.nextSeq++;
    }
    const seq = list.length > 0 ? list[0].seq : this.nextSeq;
    const r: InflightRange = { obj, pid, start, end: start + len, sock, seq };
    list.push(r);
    let p = this.byPid.get(pid);
    if (!p) {
      p = { buckets: new Map(), wide: new Set(), all: new Set() };
      this.byPid.set(pid, p);
    }
    p.all.add(r);
    const [b0, b1] = bucketsOf(r.start, r.end);
    if (b1 - b0 + 1n > MAX_BUCKETS_PER_RANGE) {
      p.wide.add(r);
      return;
    }
    for (let b = b0; b <= b1; b++) {
      let set = p.buckets.get(b);
      if (!set) p.buckets.set(b, (set = new Set()));
      set.add(r);
    }
  }

  /** Forgets every range of `obj`; returns whether it was tracked. */
  remove(obj: string): boolean {
    const list = this.byObj.get(obj);
    if (!list) return false;
    this.byObj.delete(obj);
    for (const r of list) {
      const p = this.byPid.get(r.pid);
      if (!p) continue;
      p.all.delete(r);
      if (!p.wide.delete(r)) {
        const [b0, b1] = bucketsOf(r.start, r.end);
        for (let b = b0; b <= b1; b++) {
          const set = p.buckets.get(b);
          if (set && set.delete(r) && set.size === 0) p.buckets.delete(b);
        }
      }
      if (p.all.size === 0) this.byPid.delete(r.pid);
    }
    return true;
  }

  /** Holders of `pid` with a range meeting [start, start+len), oldest first. */
  overlapping(pid: number, start: bigint, len: bigint): InflightRange[] {
    const p = this.byPid.get(pid);
    if (!p || len <= 0n) return [];
    const end = start + len;
    const hit = new Map<string, InflightRange>();
    const check = (r: InflightRange): void => {
      if (r.start < end && start < r.end && !hit.has(r.obj)) hit.set(r.obj, r);
    };
    const [b0, b1] = bucketsOf(start, end);
    if (b1 - b0 + 1n > BigInt(p.all.size)) {
      p.all.forEach(check);
    } else {
      for (let b = b0; b <= b1; b++) p.buckets.get(b)?.forEach(check);
      p.wide.forEach(check);
    }
    return [...hit.values()].sort((a, b) => a.seq - b.seq);
  }
}

function bucketsOf(start: bigint, end: bigint): [bigint, bigint] {
  return [start >> BUCKET_SHIFT, (end - 1n) >> BUCKET_SHIFT];
}
