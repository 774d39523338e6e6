import { describe, expect, it } from 'vitest';
import { tickTime } from '../../src/run/live.js';
import { REORDER_WINDOW_NS } from '../../src/probes/reorder.js';

describe('live ticks', () => {
  it('trail the clock by the reorder window when zctrace keeps up, or nothing arrives', () => {
    expect(tickTime(10e9, 10e9 - 5e6, true)).toBe(10e9 - REORDER_WINDOW_NS);
    expect(tickTime(10e9, 1e9, false)).toBe(10e9 - REORDER_WINDOW_NS); // idle: the clock moves on
  });
  it('follow the lines when zctrace is more than a second behind bpftrace (no false leaks)', () => {
    expect(tickTime(10e9, 5e9, true)).toBe(5e9 - REORDER_WINDOW_NS);
  });
});
