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

/**
 * A bounded-delay reorder buffer: push items, get them back in time order. Most lines arrive
 * in order, so those go to a FIFO (append, take from the front: no allocation, no sifting);
 * only a line older than the FIFO's newest goes to a min-heap. Release merges the two.
 */
export class Reorder<T extends Timed> {
  private readonly heap: Item<T>[] = [];
  // The in-order FIFO: fifo[head..] with their arrival numbers in fifoSeq.
  private fifo: T[] = [];
  private fifoSeq: number[] = [];
  private head = 0;
  private seq = 0;
  /** Newest time seen. */
  newest = 0;
  /** Items that arrived older than one already delivered (later than the window allowed). */
  late = 0;
  private released = -Infinity;

  constructor(private readonly windowNs = REORDER_WINDOW_NS) {}

  get size(): number {
    return this.heap.length + this.fifo.length - this.head;
  }

  /** Adds an item; hands `out` every item now older than the window, oldest first. */
  push(item: T, out: (item: T) => void): void {
    if (item.t < this.released) this.late++;
    if (item.t > this.newest) this.newest = item.t;
    const n = this.fifo.length;
    if (n === this.head || this.fifo[n - 1].t <= item.t) {
      this.fifo.push(item);
      this.fifoSeq.push(this.seq++);
    } else {
      this.insert({ item, seq: this.seq++ });
    }
    this.release(this.newest - this.windowNs, out);
  }

  /** Releases every item at or before `t`, in time order (arrival order among equal times). */
  release(t: number, out: (item: T) => void): void {
    const fifo = this.fifo;
    for (;;) {
      const f = this.head < fifo.length ? fifo[this.head] : undefined;
      const h = this.heap.length > 0 ? this.heap[0] : undefined;
      let top: T;
      if (f !== undefined && (h === undefined || f.t < h.item.t || (f.t === h.item.t && this.fifoSeq[this.head] < h.seq))) {
        if (f.t > t) break;
        top = f;
        this.head++;
      } else if (h !== undefined) {
        if (h.item.t > t) break;
        top = this.pop();
      } else {
        break;
      }
      if (top.t > this.released) this.released = top.t;
      out(top);
    }
    // Drop the taken front now and then (not on each take: that would copy every time).
    if (this.head > 4096 && this.head * 2 > fifo.length) {
      this.fifo = fifo.slice(this.head);
      this.fifoSeq = this.fifoSeq.slice(this.head);
      this.head = 0;
    } else if (this.head === fifo.length && this.head > 0) {
      fifo.length = 0;
      this.fifoSeq.length = 0;
      this.head = 0;
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
      const tmp = h[i];
      h[i] = h[p];
      h[p] = tmp;
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
        const tmp = h[i];
        h[i] = h[m];
        h[m] = tmp;
        i = m;
      }
    }
    return top.item;
  }
}
