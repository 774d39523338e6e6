// What the dashboard asks of the engine beyond the report's snapshot: the last records, a
// holder's current or just-closed lifetime, and holders picked by a filter and a sort.
import { describe, expect, it } from 'vitest';
import { RECENT_RECORDS } from '../../../src/engine/engine.js';
import { snapshot } from '../../../src/engine/snapshot.js';
import type { ZcEvent } from '../../../src/engine/types.js';
import { balanced, run } from '../../helpers/engine.js';

describe('recent records', () => {
  it('newest first, bounded, in the snapshot', () => {
    const ev: Omit<ZcEvent, 't'>[] = [];
    // Each holder freed before completion: one early_free each.
    for (let i = 0; i < RECENT_RECORDS + 20; i++) ev.push({ ev: 'submit', obj: `0x${i}`, bytes: 1 }, { ev: 'free', obj: `0x${i}` });
    const { engine, findings } = run(ev);
    const recent = snapshot(engine).recent;
    expect(recent).toHaveLength(RECENT_RECORDS);
    expect(recent[0]).toBe(findings.at(-1));
    expect(recent.at(-1)).toBe(findings[20]);
    expect(engine.recent(3).map((r) => r.obj)).toEqual([`0x${RECENT_RECORDS + 19}`, `0x${RECENT_RECORDS + 18}`, `0x${RECENT_RECORDS + 17}`]);
  });
});

describe('lifetimeOf', () => {
  it('the open lifetime, then the closed one (its last events), then the next one', () => {
    const { engine } = run([...balanced('0xa', 3), { ev: 'submit', obj: '0xb', bytes: 10 }, { ev: 'get', obj: '0xb', page: 'p' }], 10e9, false);
    const b = engine.lifetimeOf('0xb')!;
    expect(b).toMatchObject({ obj: '0xb', seq: 1, open: true, refs: 1, gets: 1 });
    expect(b.story.map((e) => e.ev)).toEqual(['submit', 'get']);
    const a = engine.lifetimeOf('0xa')!;
    expect(a).toMatchObject({ obj: '0xa', seq: 1, open: false, done: true, freed: true });
    expect(a.story.length).toBeLessThan(9); // closed lifetimes keep only their last events
    expect(a.storyDropped).toBe(9 - a.story.length);
    engine.push({ t: engine.now + 1, ev: 'submit', obj: '0xa', bytes: 1 });
    expect(engine.lifetimeOf('0xa')).toMatchObject({ seq: 2, open: true });
    expect(engine.lifetimeOf('0xnone')).toBeUndefined();
  });
});

describe('holder query', () => {
  const ev: Omit<ZcEvent, 't'>[] = [];
  for (let i = 0; i < 30; i++) {
    ev.push({ ev: 'submit', obj: `0x${i}`, bytes: 1000 * ((i * 7) % 30), sock: i % 2 ? 'odd' : 'even', pid: 100 + (i % 3) });
    for (let r = 0; r < (i * 11) % 17; r++) ev.push({ ev: 'get', obj: `0x${i}`, page: 'p' });
  }
  const { engine } = run(ev, 10e9, false);

  it('no query: the oldest first, as the report has always had them', () => {
    const s = snapshot(engine, 5);
    expect(s.oldest.map((h) => h.obj)).toEqual(['0x0', '0x1', '0x2', '0x3', '0x4']);
    expect(s.matching).toBe(30);
  });

  it('a filter over all open holders (not only the rows shown), oldest first', () => {
    const s = snapshot(engine, 4, { match: (h) => h.sock === 'odd' && h.pid === 101 });
    expect(s.matching).toBe(5); // i = 1, 7, 13, 19, 25
    expect(s.oldest.map((h) => h.obj)).toEqual(['0x1', '0x7', '0x13', '0x19']);
  });

  it('by refs and by bytes: the top ones over all open holders, largest first', () => {
    const all = [...engine.open.values()];
    for (const key of ['refs', 'bytes'] as const) {
      const s = snapshot(engine, 6, { sort: key });
      const want = all.map((l) => l[key]).sort((a, b) => b - a).slice(0, 6);
      expect(s.oldest.map((h) => h[key])).toEqual(want);
    }
  });
});
