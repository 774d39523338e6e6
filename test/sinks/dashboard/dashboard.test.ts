// The real dashboard on a fake terminal: what it draws from an engine's snapshots, what the
// keys do, the size rules, and that it renders at its own rate whatever the event rate.
import { afterEach, describe, expect, it } from 'vitest';
import { Dashboard } from '../../../src/sinks/dashboard/dashboard.js';
import type { ZcEvent } from '../../../src/engine/types.js';
import { synthesize } from '../../../src/trace/synthetic.js';
import { UsageError } from '../../../src/util/errors.js';
import { engineSource, engineWith, fakeTerminal, fastLayout, KEY, screenWith, sleep, type FakeTerminal } from './fake-terminal.js';

// A synthetic stream with one holder per fault; the leak is still open at the end.
const events: ZcEvent[] = [];
const injected = synthesize({ events: 6000, seed: 3, concurrency: 8, rate: 1000, faults: ['leak', 'early_free', 'underflow'] }, (e) => events.push(e));
const leak = injected.find((i) => i.kind === 'leak')!;
const early = injected.find((i) => i.kind === 'early_free')!;

let open: Dashboard[] = [];
afterEach(() => {
  for (const d of open) d.close();
  open = [];
});

function show(term: FakeTerminal, layout = 'default', evs = events): { dash: Dashboard; engine: ReturnType<typeof engineWith> } {
  const engine = engineWith(evs, 2e9);
  const dash = new Dashboard({ layout: fastLayout(layout), source: engineSource(engine), io: term, instead: { headless: 'use --headless' } });
  open.push(dash);
  dash.open();
  return { dash, engine };
}

describe('drawing from snapshots', () => {
  it('shows the panels, the findings of each kind, the leaked holder and the counts', async () => {
    const term = fakeTerminal(120, 40);
    const { dash, engine } = show(term);
    const text = await screenWith(dash, 'sockets:');
    for (const title of ['holders in flight', 'bytes pinned', 'lifetimes: p50', 'refs/page: p50', 'holders by age', 'findings, newest first', 'sockets:']) {
      expect(text).toContain(title);
    }
    expect(text).toMatch(/LEAK\s+0xffff/);
    expect(text).toMatch(/EARLY_FREE\s+0xffff/);
    expect(text).toMatch(/UNDERFLOW\s+0xffff/);
    expect(text).toContain(`${leak.obj} #${leak.seq}`);
    expect(text).toContain('findings: leak 1 early_free 1 underflow 1');
    expect(text).toContain(`open ${engine.open.size} (1 leaked)`);
  });

  it('the compact layout fits 80x24 and still shows the findings and the holders', async () => {
    const term = fakeTerminal(80, 24);
    const { dash } = show(term, 'compact');
    const text = await screenWith(dash, 'held p50');
    expect(text.split('\n').slice(0, 24).every((l) => l.length <= 80)).toBe(true);
    expect(text).toContain('holders by age');
    expect(text).toMatch(/LEAK\s+0xffff/);
    expect(text).toMatch(/held p50 [0-9.]+ m?s, p99/);
  });
});

describe('keys', () => {
  it('/ filters holders and findings; Esc clears the filter', async () => {
    const term = fakeTerminal(120, 40);
    const { dash, engine } = show(term);
    await screenWith(dash, 'holders by age');
    for (const k of ['/', ...`holder:${early.obj}`, KEY.enter]) term.type(k);
    let text = await screenWith(dash, `filter holder:${early.obj}`);
    expect(text).toContain(`filter holder:${early.obj}`);
    expect(text).toMatch(/EARLY_FREE\s+0xffff/);
    expect(text).not.toMatch(/LEAK\s+0xffff/);
    expect(text).toMatch(/holders by age \(oldest first\): [01] of \d+ open match/);
    term.type(KEY.escape);
    text = await screenWith(dash, /^(?![\s\S]*filter holder:)[\s\S]*sockets:/);
    expect(text).toContain(`${engine.open.size} open`);
  });

  it('a bad filter is refused with a message, and the old one stays', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    for (const k of ['/', ...'pid:abc', KEY.enter]) term.type(k);
    const text = await screenWith(dash, 'a pid is a number');
    expect(text).not.toMatch(/open match/); // no filter was applied
  });

  it('Enter opens the story of the selected (oldest) holder: its events, times relative to its start', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    term.type(KEY.enter);
    const text = await screenWith(dash, `holder ${leak.obj} #${leak.seq}: open, LEAKED`);
    expect(text).toMatch(/\+0 ns\s+submit/);
    expect(text).toMatch(/\+[0-9.]+ ms\s+get\s+page 0xffffea/);
    term.type(KEY.escape);
    await sleep(100); // Esc alone is only an escape once no sequence follows it
    await screenWith(dash, (/^(?![\s\S]*: open, LEAKED)[\s\S]*holders by age/));
  });

  it('s cycles the sort: refs puts the most referenced holder first', async () => {
    const term = fakeTerminal(120, 40);
    const { dash, engine } = show(term);
    await screenWith(dash, 'holders by age');
    term.type('s');
    const text = await screenWith(dash, 'holders by refs (largest first)');
    const most = Math.max(...[...engine.open.values()].map((l) => l.refs));
    const first = text.split('\n').find((l) => /0xffff8880[0-9a-f]+ #\d+/.test(l) && !l.includes('LEAK') && !l.includes('EARLY'))!;
    expect(first).toMatch(new RegExp(`\\s${most}\\s`));
  });

  it('Tab to the findings, Enter: the story the finding carries, with its kind and detail', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    term.type(KEY.tab); // findings come after holders in the default layout
    term.type(KEY.enter);
    const text = await screenWith(dash, /UNDERFLOW at [0-9.]+ m?s: put with no reference held/);
    expect(text).toMatch(/holder 0xffff8880[0-9a-f]+ #\d+: /);
    expect(text).toMatch(/\+0 ns\s+submit/);
    expect(text).toMatch(/put\s+page 0xffffea/);
  });

  it('Enter on a socket row filters the dashboard by that socket', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    term.type(KEY.tab);
    term.type(KEY.tab); // sockets
    term.type(KEY.enter);
    const text = await screenWith(dash, /filter sock:10\.0\.0\.1:\d+>10\.0\.0\.\d+:\d+/);
    const sock = /filter sock:(\S+)/.exec(text)![1];
    expect(text).toMatch(/sockets: 1 of \d+/);
    expect(text).toMatch(/\d+ of \d+ open match/);
    expect(sock).toMatch(/^10\.0\.0\.1:/);
  });

  it('live: p freezes the display (tracing goes on), a new sort still applies, p again catches up', async () => {
    const term = fakeTerminal(120, 40);
    const { dash, engine } = show(term);
    await screenWith(dash, 'holders by age');
    term.type('p');
    await screenWith(dash, 'display paused (tracing goes on)');
    const open = engine.open.size;
    for (let i = 0; i < 5; i++) engine.push({ t: engine.now + 1000, ev: 'submit', obj: `0xnew${i}`, bytes: 1 });
    await sleep(300);
    expect(dash.screenshot()).toContain(`${open} open,`);
    term.type('s');
    await screenWith(dash, `holders by refs (largest first): ${open + 5} open`);
    term.type('p');
    await screenWith(dash, /^(?![\s\S]*display paused)[\s\S]*testing/);
  });

  it('q resolves `closed` and restores the terminal', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    term.type('q');
    await dash.closed;
    expect(dash.screenshot()).toBe('');
  });
});

/** What `f` throws; a test failure when it throws nothing (so no assertion is ever skipped). */
function thrown(f: () => unknown): UsageError {
  try {
    f();
  } catch (e) {
    return e as UsageError;
  }
  throw new Error('expected a throw, nothing was thrown');
}

describe('terminal rules', () => {
  it('not a terminal: a UsageError naming stdout, with the headless suggestion', () => {
    const d = new Dashboard({ layout: fastLayout('default'), source: engineSource(engineWith([])), io: fakeTerminal(120, 40, false), instead: { headless: 'use --headless' } });
    const e = thrown(() => d.open());
    expect(e).toBeInstanceOf(UsageError);
    expect(e).toMatchObject({ message: 'the dashboard needs a terminal, and stdout is not one', hint: 'use --headless' });
  });

  it('too small: a UsageError with the sizes, suggesting compact and headless', () => {
    const d = new Dashboard({ layout: fastLayout('default'), source: engineSource(engineWith([])), io: fakeTerminal(90, 24), instead: { headless: 'use --headless' } });
    const e = thrown(() => d.open());
    expect(e).toBeInstanceOf(UsageError);
    expect(e.message).toBe('the terminal is 90x24; the "default" dashboard needs at least 100x30');
    expect(e.hint).toMatch(/--dashboard compact.*--headless/);
  });

  it('shrunk below the minimum while running: a message instead of panels, and back when enlarged', async () => {
    const term = fakeTerminal(120, 40);
    const { dash } = show(term);
    await screenWith(dash, 'holders by age');
    term.resize(70, 20);
    await screenWith(dash, 'terminal too small: 70x20, the "default" dashboard needs 100x30');
    term.resize(110, 35);
    const text = await screenWith(dash, /^(?![\s\S]*terminal too small)[\s\S]*sockets:/);
    expect(text).toContain('holders by age');
  });
});

describe('rendering rate', () => {
  it('renders at the layout rate while the engine takes events at full speed, never per event', async () => {
    const term = fakeTerminal(120, 40);
    const { dash, engine } = show(term, 'default', []);
    const t0 = Date.now();
    let n = 0;
    // Events pushed as fast as possible for over a second, yielding now and then as the drivers do.
    while (Date.now() - t0 < 1200) {
      for (let i = 0; i < 2000; i++, n++) engine.push({ t: n * 1000, ev: 'submit', obj: `0x${(n % 5000).toString(16)}`, bytes: 4096 });
      await new Promise((r) => setImmediate(r));
    }
    const elapsed = Date.now() - t0;
    const renders = dash.scheduler!.renders;
    // The 100 ms layout: one render per period (plus the first), whatever the event count.
    expect(renders).toBeGreaterThanOrEqual(3);
    expect(renders).toBeLessThanOrEqual(Math.ceil(elapsed / 100) + 2);
    expect(n).toBeGreaterThan(renders * 1000);
  });

  it('a drawing error ends the dashboard with that error, terminal restored', async () => {
    const term = fakeTerminal(120, 40);
    const engine = engineWith(events);
    let calls = 0;
    const src = engineSource(engine, { facts: () => { if (++calls > 1) throw new Error('boom in facts'); return { source: 't', pack: 'p', kernel: 'k', clock: 'c', state: 's' }; } });
    const dash = new Dashboard({ layout: fastLayout('default'), source: src, io: term, instead: { headless: 'x' } });
    open.push(dash);
    dash.open();
    await expect(dash.closed).rejects.toThrow('boom in facts');
    expect(dash.screenshot()).toBe('');
  });
});
