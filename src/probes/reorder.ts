// Puts probe lines back in time order. bpftrace keeps one output buffer per CPU and drains them
// in turn, so a line can reach us after a later one from another CPU (seen here: an munmap
// printed 2 ms after a completion that followed it; in the lab, a put on the softirq CPU after
// the next submit of the same, reused, ubuf address). Decoders that relate lines (an unmap to
// the send it frees, a put to the lifetime of a reused address) need them in order, so lines
// wait in a min-heap until they are older than the window behind the newest line seen, or
// behind the clock when nothing arrives (programs with heartbeats move it on their own).

/** How far back a line may arrive out of order (ns). */
export const REORDER_WINDOW_NS = 100e6;

/** Anything with a time (ns). */
export interface Timed {
  t: number;
}

interface Item<T> {
  item: T;
  seq: number;
}

/** A bounded-delay reorder buffer: push items, get them back in time order. */
export class Reorder<T extends Timed> {
  private readonly heap: Item<T>[] = [];
  private seq = 0;
  /** Newest time seen. */
  newest = 0;
  /** Items that arrived older than one already delivered (later than the window allowed). */
  late = 0;
  private released = -Infinity;

  constructor(private readonly windowNs = REORDER_WINDOW_NS) {}

  get size(): number {
    return this.heap.length;
  }

  /** Adds an item; hands `out` every item now older than the window, oldest first. */
  push(item: T, out: (item: T) => void): void {
    if (item.t < this.released) this.late++;
    if (item.t > this.newest) this.newest = item.t;
    this.insert({ item, seq: this.seq++ });
    this.release(this.newest - this.windowNs, out);
  }

  /** Releases every item at or before `t`, in time order (arrival order among equal times). */
  release(t: number, out: (item: T) => void): void {
    while (this.heap.length > 0 && this.heap[0].item.t <= t) {
      const top = this.pop();
      if (top.t > this.released) this.released = top.t;
      out(top);
    }
  }

  /** Releases everything (end of run). */
  drain(out: (item: T) => void): void {
    this.release(Infinity, out);
  }

  private less(a: Item<T>, b: Item<T>): boolean {
    return a.item.t < b.item.t || (a.item.t === b.item.t && a.seq < b.seq);
  }

  private insert(it: Item<T>): void {
    const h = this.heap;
    h.push(it);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i], h[p])) break;
      [h[i], h[p]] = [h[p], h[i]];
      i = p;
    }
  }

  private pop(): T {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top.item;
  }
}
