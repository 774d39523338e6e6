import { describe, expect, it } from 'vitest';
import { TickClock } from '../../src/run/live.js';
import { REORDER_WINDOW_NS as W } from '../../src/probes/reorder.js';

describe('live ticks', () => {
  it('trail the newest line by the reorder window when zctrace keeps up, the clock when nothing ever arrives', () => {
    expect(new TickClock().next(10e9, 10e9 - 5e6)).toBe(10e9 - 5e6 - W);
    expect(new TickClock().next(10e9, 0)).toBe(10e9 - W); // idle from the start: the clock moves on
  });
  it('follow the lines when bpftrace lags, by any amount (no false leaks)', () => {
    const c = new TickClock();
    expect(c.next(10e9, 9.5e9)).toBe(9.5e9 - W); // half a second behind
    expect(c.next(10.25e9, 9.8e9)).toBe(9.8e9 - W);
    expect(c.next(10.5e9, 10.45e9)).toBe(10.45e9 - W); // caught up
    expect(c.next(10.75e9, 10.5e9)).toBe(10.5e9 - W); // behind again: the tick follows the lines
    expect(c.next(11e9, 10.55e9)).toBe(10.55e9 - W);
  });
  it('after lines stop, move on with the clock from the last tick, never jumping to it (the lab netem run: bpftrace 1 s late)', () => {
    const c = new TickClock();
    expect(c.next(10e9, 9e9)).toBe(9e9 - W);
    // no line for the next ticks: a quiet host or a stalled bpftrace, the same to zctrace
    expect(c.next(10.25e9, 9e9)).toBe(9.25e9 - W);
    expect(c.next(10.5e9, 9e9)).toBe(9.5e9 - W);
    // lines again, older than that tick (bpftrace had stalled, the host was not quiet): the
    // tick stays where it was, it does not go back
    expect(c.next(10.75e9, 9.2e9)).toBe(9.5e9 - W);
    // caught up: ticks follow the lines
    expect(c.next(11e9, 10.9e9)).toBe(10.9e9 - W);
    // then quiet: on with the clock, as far behind it as the last line was (100 ms)
    expect(c.next(11.25e9, 10.9e9)).toBe(11.15e9 - W);
    expect(c.next(20e9, 10.9e9)).toBe(19.9e9 - W);
    // never later than the clock minus the window, whatever a line says
    expect(c.next(20.25e9, 30e9)).toBe(20.25e9 - W);
  });
});
