// The scheduler is the only thing that renders: at its period, once soon after input
// (coalesced), and blessed's own render calls are folded into that.
import { describe, expect, it } from 'vitest';
import type { Widgets } from 'blessed';
import { Scheduler } from '../../../src/sinks/dashboard/scheduler.js';
import { sleep } from './fake-terminal.js';

function fakeScreen(): { screen: Widgets.Screen; renders: () => number } {
  let n = 0;
  const screen = { render: () => { n++; } } as unknown as Widgets.Screen;
  return { screen, renders: () => n };
}

describe('scheduler', () => {
  it('renders once at start and then once per period, each after a fresh draw', async () => {
    const { screen, renders } = fakeScreen();
    const draws: boolean[] = [];
    const s = new Scheduler(screen, 100, (fresh) => draws.push(fresh), (e) => { throw e; });
    s.start();
    await sleep(350);
    s.stop();
    expect(renders()).toBeGreaterThanOrEqual(3);
    expect(renders()).toBeLessThanOrEqual(5);
    expect(draws.every((f) => f)).toBe(true);
    const n = renders();
    await sleep(150);
    expect(renders()).toBe(n); // stopped means stopped
  });

  it('a burst of input is one redraw; a fresh one if any input asked for it', async () => {
    const { screen, renders } = fakeScreen();
    const draws: boolean[] = [];
    const s = new Scheduler(screen, 10_000, (fresh) => draws.push(fresh), (e) => { throw e; });
    s.start();
    for (let i = 0; i < 50; i++) s.soon(i === 25);
    await sleep(100);
    expect(renders()).toBe(2);
    expect(draws).toEqual([true, true]);
    s.stop();
  });

  it('blessed calling screen.render() gets a coalesced redraw; calls made while drawing are absorbed', async () => {
    const { screen, renders } = fakeScreen();
    const s = new Scheduler(screen, 10_000, () => { screen.render(); screen.render(); }, (e) => { throw e; });
    s.start();
    await sleep(100);
    expect(renders()).toBe(1); // the draw's own render calls did not cause another frame
    for (let i = 0; i < 20; i++) screen.render();
    await sleep(100);
    expect(renders()).toBe(2);
    s.stop();
  });

  it('a draw that throws stops the scheduler and reports the error', async () => {
    const { screen } = fakeScreen();
    let seen: unknown;
    let calls = 0;
    const s = new Scheduler(screen, 50, () => { if (++calls === 2) throw new Error('draw failed'); }, (e) => { seen = e; });
    s.start();
    await sleep(200);
    expect((seen as Error).message).toBe('draw failed');
    expect(calls).toBe(2);
  });
});
