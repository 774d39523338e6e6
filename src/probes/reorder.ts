// Puts probe lines back in time order. bpftrace keeps one output buffer per CPU and drains them
// in turn, so a line can reach us after a later one from another CPU (seen here: an munmap
// printed 2 ms after a completion that followed it). Decoders that relate lines (an unmap to
// the send it frees) need them in order, so lines wait in a min-heap until they are older than
// the window behind the newest line seen, or behind the clock when nothing arrives.
import type { ProbeLine } from './pack.js';

/** How far back a line may arrive out of order (ns). */
export const REORDER_WINDOW_NS = 100e6;

interface Item {
  line: ProbeLine;
  seq: number;
}

export class Reorder {
  private readonly heap: Item[] = [];
  private seq = 0;
  /** Newest line time seen. */
  newest = 0;

  constructor(private readonly windowNs = REORDER_WINDOW_NS) {}

  get size(): number {
    return this.heap.length;
  }

  /** Adds a line; returns the lines now old enough to release, in time order. */
  push(line: ProbeLine, out: ProbeLine[]): void {
    if (line.t > this.newest) this.newest = line.t;
    this.insert({ line, seq: this.seq++ });
    this.release(this.newest - this.windowNs, out);
  }

  /** Releases every line at or before `t`, in time order (arrival order among equal times). */
  release(t: number, out: ProbeLine[]): void {
    while (this.heap.length > 0 && this.heap[0].line.t <= t) out.push(this.pop().line);
  }

  /** Releases everything (end of run). */
  drain(out: ProbeLine[]): void {
    while (this.heap.length > 0) out.push(this.pop().line);
  }

  private less(a: Item, b: Item): boolean {
    return a.line.t < b.line.t || (a.line.t === b.line.t && a.seq < b.seq);
  }

  private insert(it: Item): void {
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

  private pop(): Item {
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
    return top;
  }
}
