// The dashboard replay driver (src/run/tui-replay.ts) on a fake terminal: to the end at max
// speed, run-to-next-finding, step, and pacing at a factor of real time.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayTui, type TuiReplayOptions } from '../../src/run/tui-replay.js';
import type { Dashboard } from '../../src/sinks/dashboard/dashboard.js';
import { newHeader } from '../../src/trace/header.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { ROOT } from '../helpers/cli.js';
import { fakeTerminal, fastLayout, screenWith, sleep } from '../sinks/dashboard/fake-terminal.js';

const EXAMPLE = join(ROOT, 'examples', 'demo.trace.gz');
const dir = mkdtempSync(join(tmpdir(), 'zctrace-tui-replay-'));

/** Starts a replay on a fake terminal; resolves the dashboard once open, and the run's end. */
function start(o: Partial<TuiReplayOptions>): { dash: Promise<Dashboard>; done: ReturnType<typeof replayTui>; term: ReturnType<typeof fakeTerminal> } {
  const term = fakeTerminal(120, 40);
  let opened!: (d: Dashboard) => void;
  const dash = new Promise<Dashboard>((r) => { opened = r; });
  const done = replayTui({
    file: EXAMPLE, leakAfterNs: 10e9, onBadLine: 'error', timeToleranceNs: 1e9, layout: fastLayout('default'),
    speed: 'max', io: term, onOpen: opened, ...o,
  });
  return { dash, done, term };
}

describe('replay under the dashboard', () => {
  it('max speed: the whole trace, the end said on screen, the same findings as headless', async () => {
    const { dash, done, term } = start({});
    const d = await dash;
    const text = await screenWith(d, 'end of trace (q quits)');
    expect(text).toContain('findings: leak 1 early_free 1 use_after_free 1 underflow 1 copy_fallback 1');
    expect(text).toContain('30,000 events');
    term.type('q');
    const r = await done;
    expect(r.summary).toBe('zctrace: replayed ' + EXAMPLE + ' to the end: 30,000 events, 298 lifetimes, findings: leak 1, early_free 1, use_after_free 1, underflow 1, copy_fallback 1');
  });

  it('f runs to the next finding and pauses there; again, to the one after', async () => {
    const { dash, done, term } = start({ speed: 1 });
    const d = await dash;
    term.type('f');
    let text = await screenWith(d, /paused[\s\S]*at 5\.358 s/);
    expect(text).toMatch(/EARLY_FREE\s+0xffff8880a1b23e00 #1/);
    expect(text).not.toMatch(/USE_AFTER_FREE\s+0x/);
    term.type('f');
    text = await screenWith(d, /paused[\s\S]*at 7\.567 s/);
    expect(text).toMatch(/USE_AFTER_FREE\s+0xffff8880a1b25800 #1/);
    expect(text).not.toMatch(/UNDERFLOW\s+0x/);
    term.type('q');
    expect((await done).summary).toContain('(quit before the end)');
  });

  it('n steps one event at a time, paused', async () => {
    const { dash, done, term } = start({ speed: 0.1 });
    const d = await dash;
    term.type('p');
    await screenWith(d, '│ paused');
    const events = (t: string): number => Number(/ ([0-9,]+) events/.exec(t)![1].replace(/,/g, ''));
    const before = events(d.screenshot());
    for (let i = 0; i < 3; i++) {
      term.type('n');
      await sleep(150);
    }
    const after = events(await screenWith(d, `${before + 3} events`));
    expect(after).toBe(before + 3);
    term.type('q');
    await done;
  });

  it('paces by trace time: 2 s of trace at 4x takes about half a second', async () => {
    const file = join(dir, 'paced.trace');
    const w = TraceWriter.create(file, newHeader({ pack: 'synthetic', generated: 'test' }));
    for (let i = 0; i <= 20; i++) w.write({ t: i * 1e8, ev: 'submit', obj: `0x${i}`, bytes: 4096 });
    w.close();
    const t0 = Date.now();
    const { dash, done, term } = start({ file, speed: 4 });
    const d = await dash;
    await screenWith(d, 'playing 4x');
    await screenWith(d, 'end of trace', 10_000);
    const took = Date.now() - t0;
    expect(took).toBeGreaterThan(400);
    expect(took).toBeLessThan(3000);
    term.type('q');
    await done;
  });

  it('+ and - change the speed: 4 s of trace at 1x, made 10x, ends in well under 4 s', async () => {
    const file = join(dir, 'faster.trace');
    const w = TraceWriter.create(file, newHeader({ pack: 'synthetic', generated: 'test' }));
    for (let i = 0; i <= 40; i++) w.write({ t: i * 1e8, ev: 'submit', obj: `0x${i}`, bytes: 4096 });
    w.close();
    const { dash, done, term } = start({ file, speed: 1 });
    const d = await dash;
    await screenWith(d, 'playing 1x');
    const t0 = Date.now();
    for (const k of ['+', '+', '+', '+', '-']) term.type(k); // 2x 5x 10x 20x, back to 10x
    await screenWith(d, 'playing 10x');
    await screenWith(d, 'end of trace', 10_000);
    expect(Date.now() - t0).toBeLessThan(3000);
    term.type('q');
    await done;
  });
});
