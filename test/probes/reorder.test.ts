import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Reorder } from '../../src/probes/reorder.js';

interface It { t: number; n: number }

describe('Reorder (FIFO for in-order items, heap for late ones)', () => {
  it('delivers every item once, in (time, arrival) order, never one younger than the window before its time', () => {
    fc.assert(fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 3 })), { maxLength: 300 }),
      fc.integer({ min: 1, max: 100 }),
      (steps, window) => {
        const r = new Reorder<It>(window);
        const out: It[] = [];
        const pushed: It[] = [];
        let clock = 0;
        steps.forEach(([t, op], n) => {
          const it = { t, n };
          pushed.push(it);
          r.push(it, (x) => out.push(x));
          // now and then the clock releases what is old enough (the live loop's flush)
          if (op === 0) { clock = Math.max(clock, t - window); r.release(clock, (x) => out.push(x)); }
        });
        const before = out.length;
        // everything released before drain is older than the window behind the newest item
        const newest = Math.max(0, ...pushed.map((p) => p.t));
        for (const x of out.slice(0, before)) expect(x.t).toBeLessThanOrEqual(newest);
        r.drain((x) => out.push(x));
        expect(r.size).toBe(0);
        expect(out.map((x) => x.n).sort((a, b) => a - b)).toEqual(pushed.map((x) => x.n));
        // order: among items delivered after the last late one, (t, n) never goes back
        const lateFree = r.late === 0;
        if (lateFree) {
          for (let i = 1; i < out.length; i++) {
            const a = out[i - 1], b = out[i];
            expect(a.t < b.t || (a.t === b.t && a.n < b.n)).toBe(true);
          }
        }
      },
    ), { numRuns: 500 });
  });

  it('an item arriving late by less than the window is put back in its place', () => {
    const r = new Reorder<It>(10);
    const out: number[] = [];
    for (const [t, n] of [[1, 0], [5, 1], [3, 2], [5, 3], [4, 4], [30, 5]] as const) r.push({ t, n }, (x) => out.push(x.n));
    expect(out).toEqual([0, 2, 4, 1, 3]);
    r.drain((x) => out.push(x.n));
    expect(out).toEqual([0, 2, 4, 1, 3, 5]);
    expect(r.late).toBe(0);
  });
});
