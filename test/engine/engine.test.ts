// The finding rules of the engine, one at a time (issue: "The engine").
import { describe, expect, it } from 'vitest';
import { balanced, run } from '../helpers/engine.js';
import { Engine } from '../../src/engine/engine.js';
import type { Finding, ZcEvent } from '../../src/engine/types.js';

describe('balanced lifetimes', () => {
  it('gives no findings and counts the lifetime as completed', () => {
    const r = run([...balanced('0xa'), ...balanced('0xb')]);
    expect(r.findings).toEqual([]);
    expect(r.totals.lifetimes).toBe(2);
    expect(r.totals.completed).toBe(2);
    expect(r.totals.open).toBe(0);
    expect(r.totals.duration.count).toBe(2);
    expect(r.totals.refsPerPage.count).toBe(2);
    expect(r.totals.refsPerPage.max).toBe(3);
    expect(r.totals.eventsByKind).toMatchObject({ submit: 2, get: 6, put: 6, done: 2, free: 2 });
  });
});

describe('leak', () => {
  it('fires once when time passes the threshold, with the lifetime facts', () => {
    const r = run([
      { t: 1000, ev: 'submit', obj: '0xa', bytes: 8192, sock: 's1', pid: 7, comm: 'tgt' },
      { t: 2000, ev: 'get', obj: '0xa', page: '0xp' },
      { t: 5000, ev: 'tick' },
      { t: 11_000, ev: 'tick' },
      { t: 12_000, ev: 'tick' },
    ], 10_000);
    expect(r.findings).toHaveLength(1);
    const f = r.findings[0];
    expect(f).toMatchObject({ kind: 'leak', obj: '0xa', seq: 1, start: 1000, t: 11_000, age: 10_000, refs: 1, bytes: 8192, sock: 's1', pid: 7, comm: 'tgt' });
    expect(f.uncertain).toBeUndefined();
    expect(f.story.map((s) => s.ev)).toEqual(['submit', 'get']);
    expect(r.totals.findings.leak).toBe(1);
  });

  it("is uncertain, saying why, when the holder's submit said a leak could not be certain", () => {
    const r = run([
      { t: 1000, ev: 'submit', obj: '0xa', bytes: 4096, unsure: 'the target may hold it itself' },
      { t: 1000, ev: 'submit', obj: '0xb', bytes: 4096 },
      { t: 12_000, ev: 'tick' },
    ], 10_000);
    expect(r.findings.map((f) => [f.obj, f.uncertain ?? false])).toEqual([['0xa', true], ['0xb', false]]);
    expect(r.findings[0].detail).toMatch(/; uncertain: the target may hold it itself$/);
    expect(r.totals.uncertain.leak).toBe(1);
    expect(r.totals.findings.leak).toBe(1);
  });

  it("a holder's first get that says its counts are unsure makes its count findings uncertain", () => {
    const r = run([
      { t: 1000, ev: 'get', obj: '0xa', page: '0xp', unsure: 'no owner count' },
      { t: 2000, ev: 'put', obj: '0xa', page: '0xp' },
      { t: 3000, ev: 'done', obj: '0xa' },
      { t: 4000, ev: 'put', obj: '0xa', page: '0xp' },
      { t: 5000, ev: 'get', obj: '0xb', page: '0xq' },
      { t: 5500, ev: 'put', obj: '0xb', page: '0xq' },
      { t: 5600, ev: 'done', obj: '0xb' },
      { t: 6000, ev: 'put', obj: '0xb', page: '0xq' },
    ], 10_000);
    expect(r.findings.map((f) => [f.kind, f.obj, f.uncertain ?? false])).toEqual([['underflow', '0xa', true], ['underflow', '0xb', false]]);
    expect(r.findings[0].detail).toMatch(/; uncertain: no owner count$/);
  });

  it('at the end of the trace: old open lifetimes leak, young ones are in flight', () => {
    const r = run([
      { t: 0, ev: 'submit', obj: '0xold' },
      { t: 9000, ev: 'submit', obj: '0xyoung' },
      { t: 10_000, ev: 'tick' },
    ], 10_000);
    expect(r.findings.map((f) => f.obj)).toEqual(['0xold']);
    expect(r.totals.inFlight).toBe(1);
    expect(r.totals.open).toBe(2);
  });

  it('a lifetime with done but references still held is open (leaks)', () => {
    const r = run([
      { t: 0, ev: 'submit', obj: '0xa' },
      { t: 1, ev: 'get', obj: '0xa' },
      { t: 2, ev: 'done', obj: '0xa' },
      { t: 100, ev: 'tick' },
    ], 50);
    expect(r.findings.map((f) => f.kind)).toEqual(['leak']);
    expect(r.findings[0].detail).toContain('done was signalled');
  });

  it('a leak that completes later emits leak_resolved (a stall)', () => {
    const r = run([
      { t: 0, ev: 'submit', obj: '0xa' },
      { t: 1, ev: 'get', obj: '0xa' },
      { t: 200, ev: 'put', obj: '0xa' },
      { t: 210, ev: 'done', obj: '0xa' },
    ], 100);
    expect(r.records.map((x) => x.type)).toEqual(['finding', 'leak_resolved']);
    expect(r.records[1]).toMatchObject({ obj: '0xa', start: 0, duration: 210 });
    expect(r.totals.open).toBe(0);
  });
});

describe('early_free', () => {
  it('free before done, with the reason', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'free', obj: '0xa', reason: 'unmap' }]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'early_free', obj: '0xa' });
    expect(r.findings[0].detail).toContain('(unmap)');
    expect(r.findings[0].trigger).toMatchObject({ ev: 'free', reason: 'unmap' });
    expect(r.totals.open).toBe(0);
  });

  it('free after done while references are held', () => {
    const r = run([
      { ev: 'submit', obj: '0xa' }, { ev: 'get', obj: '0xa' }, { ev: 'done', obj: '0xa' },
      { ev: 'free', obj: '0xa' },
    ]);
    expect(r.findings.map((f) => f.kind)).toEqual(['early_free']);
    expect(r.findings[0].refs).toBe(1);
  });

  it('a completion arriving after an early free is not a second finding', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'free', obj: '0xa' }, { ev: 'done', obj: '0xa' }]);
    expect(r.findings.map((f) => f.kind)).toEqual(['early_free']);
  });
});

describe('use_after_free', () => {
  it('a put after the holder was freed (lifetime over)', () => {
    const r = run([...balanced('0xa'), { ev: 'put', obj: '0xa', page: '0xp1' }]);
    expect(r.findings.map((f) => [f.kind, f.obj, f.seq])).toEqual([['use_after_free', '0xa', 1]]);
  });

  it('puts on a holder freed while references were held: one early_free, one use_after_free', () => {
    const r = run([
      { ev: 'submit', obj: '0xa' }, { ev: 'get', obj: '0xa' }, { ev: 'get', obj: '0xa' },
      { ev: 'free', obj: '0xa' }, { ev: 'put', obj: '0xa' }, { ev: 'put', obj: '0xa' },
    ]);
    expect(r.findings.map((f) => f.kind)).toEqual(['early_free', 'use_after_free']);
    expect(r.totals.open).toBe(0);
  });
});

describe('underflow', () => {
  it('a put with no reference held on an open lifetime', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'get', obj: '0xa' }, { ev: 'put', obj: '0xa' }, { ev: 'put', obj: '0xa' }, { ev: 'done', obj: '0xa' }]);
    expect(r.findings.map((f) => f.kind)).toEqual(['underflow']);
    expect(r.totals.completed).toBe(1);
  });

  it('a put after done on a holder that was not freed', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'done', obj: '0xa' }, { ev: 'put', obj: '0xa' }]);
    expect(r.findings.map((f) => f.kind)).toEqual(['underflow']);
  });

  it("the kernel's count going negative", () => {
    const r = run([{ ev: 'get', obj: '0xa', ref: 1 }, { ev: 'put', obj: '0xa', ref: 0 }, { ev: 'put', obj: '0xa', ref: -1 }]);
    expect(r.findings.map((f) => f.kind)).toEqual(['underflow']);
    expect(r.findings[0].detail).toContain('-1');
  });

  it('references no probe saw are reconstructed from the counts, not reported', () => {
    // A guard reference and inline gets: the probe only sees puts, which carry the count after.
    const r = run([
      { ev: 'submit', obj: '0xa' }, { ev: 'put', obj: '0xa', ref: 2 }, { ev: 'put', obj: '0xa', ref: 1 },
      { ev: 'put', obj: '0xa', ref: 0 }, { ev: 'done', obj: '0xa' },
    ]);
    expect(r.findings).toEqual([]);
    expect(r.totals.completed).toBe(1);
  });

  it('a put on a holder never seen is counted as untracked, not judged', () => {
    const r = run([{ ev: 'put', obj: '0xz' }, { ev: 'done', obj: '0xz' }]);
    expect(r.findings).toEqual([]);
    expect(r.totals.untracked).toBe(2);
  });
});

describe('copy_fallback', () => {
  it('done with copied:true, reported once per socket and counted every time', () => {
    const r = run([
      ...balanced('0xa', 1, { sock: 'sA' }).map((e) => (e.ev === 'done' ? { ...e, copied: true } : e)),
      ...balanced('0xb', 1, { sock: 'sA' }).map((e) => (e.ev === 'done' ? { ...e, copied: true } : e)),
      ...balanced('0xc', 1, { sock: 'sB' }).map((e) => (e.ev === 'done' ? { ...e, copied: true } : e)),
      ...balanced('0xd', 1, { sock: 'sB' }),
    ]);
    expect(r.findings.map((f) => [f.kind, f.obj])).toEqual([['copy_fallback', '0xa'], ['copy_fallback', '0xc']]);
    expect(r.totals.copied).toBe(3);
    expect(r.totals.copiedRatio).toBeCloseTo(0.75);
  });
});

describe('holder id reuse', () => {
  it('a submit after done/free starts a new lifetime of the same obj', () => {
    const r = run([...balanced('0xa'), { ev: 'submit', obj: '0xa' }, { ev: 'free', obj: '0xa' }]);
    expect(r.totals.lifetimes).toBe(2);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'early_free', obj: '0xa', seq: 2 });
  });

  it('a get with no open lifetime after done starts a new lifetime', () => {
    const r = run([
      { ev: 'get', obj: '0xa' }, { ev: 'put', obj: '0xa' }, { ev: 'done', obj: '0xa' },
      { ev: 'get', obj: '0xa' }, { ev: 'put', obj: '0xa' }, { ev: 'done', obj: '0xa' },
    ]);
    expect(r.findings).toEqual([]);
    expect(r.totals.lifetimes).toBe(2);
    expect(r.totals.completed).toBe(2);
  });

  it('a put after free belongs to the old lifetime until a new one starts', () => {
    const r = run([...balanced('0xa'), ...balanced('0xa'), { ev: 'put', obj: '0xa' }]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'use_after_free', seq: 2 });
  });

  it('a submit on a running lifetime extends it (bytes add up)', () => {
    const r = run([{ ev: 'submit', obj: '0xa', bytes: 100 }, { ev: 'submit', obj: '0xa', bytes: 50 }]);
    expect(r.totals.lifetimes).toBe(1);
    expect(r.totals.bytesInFlight).toBe(150);
  });
});

describe('lost events', () => {
  it('a lifetime open across a loss that later leaks is reported uncertain, not as a finding', () => {
    const r = run([
      { t: 0, ev: 'submit', obj: '0xa' },
      { t: 10, ev: 'lost', n: 5 },
      { t: 20, ev: 'submit', obj: '0xb' },
      { t: 1000, ev: 'tick' },
    ], 100);
    const byObj = Object.fromEntries(r.findings.map((f) => [f.obj, f]));
    expect(byObj['0xa'].uncertain).toBe(true);
    expect(byObj['0xb'].uncertain).toBeUndefined();
    expect(r.totals.findings.leak).toBe(1);
    expect(r.totals.uncertain.leak).toBe(1);
    expect(r.totals.lost).toBe(5);
  });

  it('an underflow after a loss is uncertain (the matching get may be what was lost)', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'lost', n: 1 }, { ev: 'put', obj: '0xa' }]);
    expect(r.findings).toHaveLength(1);
    expect(r.findings[0]).toMatchObject({ kind: 'underflow', uncertain: true });
    expect(r.totals.findings.underflow).toBe(0);
  });

  it('a copy fallback is a kernel fact and is never uncertain', () => {
    const r = run([{ ev: 'submit', obj: '0xa' }, { ev: 'lost', n: 1 }, { ev: 'done', obj: '0xa', copied: true }]);
    expect(r.findings[0].uncertain).toBeUndefined();
  });
});

describe('enobufs and close', () => {
  it('ENOBUFS is reported once per socket until a completion shows the sender reaping again', () => {
    const r = run([
      { ev: 'submit', obj: '0xa', sock: 's1' },
      { ev: 'send_error', errno: 'ENOBUFS', sock: 's1', pid: 9 },
      { ev: 'send_error', errno: 'ENOBUFS', sock: 's1', pid: 9 },
      { ev: 'done', obj: '0xa' },
      { ev: 'send_error', errno: 'ENOBUFS', sock: 's1', pid: 9 },
      { ev: 'send_error', errno: 'EAGAIN', sock: 's1', pid: 9 },
    ]);
    expect(r.findings.map((f) => [f.kind, f.obj])).toEqual([['enobufs', 's1'], ['enobufs', 's1']]);
    expect(r.totals.sendErrors).toBe(4);
  });

  it('a socket close ends its open lifetimes without a finding, even later', () => {
    const r = run([
      { t: 0, ev: 'submit', obj: '0xa', sock: 's1' },
      { t: 1, ev: 'submit', obj: '0xb', sock: 's1' },
      { t: 2, ev: 'submit', obj: '0xc', sock: 's2' },
      { t: 3, ev: 'close', sock: 's1' },
      { t: 1000, ev: 'done', obj: '0xc' },
    ], 500);
    expect(r.findings.map((f) => f.obj)).toEqual(['0xc']); // 0xc stalled past the threshold
    expect(r.totals.abandoned).toBe(2);
    expect(r.totals.open).toBe(0);
  });
});

describe('bounded memory', () => {
  it('stories keep the first and last events of long lifetimes', () => {
    const ev = [{ ev: 'submit' as const, obj: '0xa' }];
    for (let i = 0; i < 500; i++) ev.push({ ev: 'get' as never, obj: '0xa' });
    ev.push({ ev: 'free' as never, obj: '0xa' });
    const r = run(ev);
    expect(r.findings[0].story.length).toBe(48);
    expect(r.findings[0].storyDropped).toBe(502 - 48);
    expect(r.findings[0].story.at(-1)?.ev).toBe('free');
    expect(r.findings[0].story[0].ev).toBe('submit');
  });
});

describe('the cache of finished lifetimes (late puts are judged against it)', () => {
  const feed = (cap: number, events: Omit<ZcEvent, 't'>[]): Finding[] => {
    const out: Finding[] = [];
    const e = new Engine({ leakAfterNs: 10e9, closedCacheSize: cap, onRecord: (r) => { if (r.type === 'finding') out.push(r); } });
    events.forEach((ev, i) => e.push({ t: (i + 1) * 1000, ...ev } as ZcEvent));
    return out;
  };
  const life = (obj: string): Omit<ZcEvent, 't'>[] => [{ ev: 'submit', obj }, { ev: 'done', obj }];

  it('keeps between N/2 and N of the last finished lifetimes: a put on an older one is untracked, on a kept one an underflow', () => {
    // cap 2 (generations of 1): a, then b (a ages), then c (a dropped, b ages)
    const f = feed(2, [...life('a'), ...life('b'), ...life('c'), { ev: 'put', obj: 'a' }, { ev: 'put', obj: 'b' }, { ev: 'put', obj: 'c' }]);
    expect(f.map((x) => [x.kind, x.obj])).toEqual([['underflow', 'b'], ['underflow', 'c']]);
    // cap 4 (generations of 2): after a..e the young one holds e, the old one c and d
    const g = feed(4, [...'abcde'].flatMap(life).concat([...'abcde'].map((obj) => ({ ev: 'put', obj }))));
    expect(g.map((x) => x.obj)).toEqual(['c', 'd', 'e']);
  });

  it('a late finding on a cached lifetime tells the story it had when it ended (pages, counts, copied)', () => {
    const f = feed(16, [
      { ev: 'submit', obj: 'a', sock: '10.0.0.1:1>10.0.0.2:2', comm: 'tgt' },
      { ev: 'get', obj: 'a', page: '0xp1', ref: 1 },
      { ev: 'done', obj: 'a', copied: true },
      { ev: 'put', obj: 'a', page: '0xp1', ref: 0 },
      { ev: 'put', obj: 'a', page: '0xp1', ref: -1 },
    ]);
    expect(f.map((x) => x.kind)).toEqual(['copy_fallback', 'underflow']);
    expect(f[1].story).toEqual([
      { dt: 0, ev: 'submit' },
      { dt: 1000, ev: 'get', page: '0xp1', ref: 1 },
      { dt: 2000, ev: 'done', copied: true },
      { dt: 3000, ev: 'put', page: '0xp1', ref: 0 },
      { dt: 4000, ev: 'put', page: '0xp1', ref: -1 },
    ]);
    expect(f[1]).toMatchObject({ sock: '10.0.0.1:1>10.0.0.2:2', comm: 'tgt' });
  });

  it('a holder that lived twice: dropping its first lifetime keeps its second', () => {
    // cap 2: a#1 ages when a#2 finishes, and is dropped when b does; a#2 must stay
    const f = feed(2, [...life('a'), ...life('a'), ...life('b'), { ev: 'put', obj: 'a' }]);
    expect(f.map((x) => [x.kind, x.obj, x.seq])).toEqual([['underflow', 'a', 2]]);
  });
});
