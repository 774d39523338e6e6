// Property: random interleavings of balanced lifetimes (with holder ids reused) give no
// findings; one injected fault is found exactly once, on the right holder, and nothing else.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../src/engine/types.js';
import { run } from '../helpers/engine.js';

type Ev = Omit<ZcEvent, 't'>;
const FAULTS = ['leak', 'early_free', 'use_after_free', 'underflow', 'copy_fallback'] as const;
type Fault = (typeof FAULTS)[number];

/** One lifetime: per page, some references; each get comes before its put. */
const lifetimeArb = fc.record({
  pages: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 3 }),
  startsWithGet: fc.boolean(),
  order: fc.array(fc.boolean(), { minLength: 40, maxLength: 40 }),
});
/** The value type of an arbitrary. */
type Of<A> = A extends fc.Arbitrary<infer T> ? T : never;
type LifetimeSpec = Of<typeof lifetimeArb>;

/** The events of one balanced lifetime of `obj` (submit or first get → … → done → free). */
function lifetimeEvents(obj: string, spec: LifetimeSpec, sock: string): Ev[] {
  const gets: Ev[] = [];
  const puts: Ev[] = [];
  spec.pages.forEach((n, p) => {
    for (let i = 0; i < n; i++) {
      gets.push({ ev: 'get', obj, page: `0xp${p}` });
      puts.push({ ev: 'put', obj, page: `0xp${p}` });
    }
  });
  const out: Ev[] = spec.startsWithGet ? [] : [{ ev: 'submit', obj, bytes: 4096 * spec.pages.length, sock }];
  let held = 0;
  let k = 0;
  while (gets.length || puts.length) {
    const takeGet = gets.length > 0 && (held === 0 || spec.order[k++ % spec.order.length]);
    out.push(takeGet ? gets.shift()! : puts.shift()!);
    held += takeGet ? 1 : -1;
  }
  out.push({ ev: 'done', obj, copied: false }, { ev: 'free', obj, reason: 'release' });
  return out;
}

/** Applies a fault to one lifetime's events; what it should be found as. */
function inject(fault: Fault, ev: Ev[], sock: string): Ev[] {
  const out = ev.slice();
  const done = out.findIndex((e) => e.ev === 'done');
  switch (fault) {
    case 'leak': // a lost put, and never completed
      out.splice(done, 2);
      out.splice(out.map((e) => e.ev).lastIndexOf('put'), 1);
      return out;
    case 'early_free': // freed before the completion
      return [...out.slice(0, done), out[done + 1], out[done]];
    case 'use_after_free':
      return [...out, { ev: 'put', obj: out[0].obj, page: '0xp0' }];
    case 'underflow':
      return [...out.slice(0, done), { ev: 'put', obj: out[0].obj, page: '0xp0' }, ...out.slice(done)];
    case 'copy_fallback':
      out[done] = { ...out[done], copied: true };
      return out.map((e) => (e.ev === 'submit' ? { ...e, sock } : e));
  }
}

const scenarioArb = fc.record({
  lifetimes: fc.array(lifetimeArb, { minLength: 1, maxLength: 25 }),
  /** Holder id of each lifetime, from a small pool: ids get reused. */
  ids: fc.array(fc.integer({ min: 0, max: 7 }), { minLength: 25, maxLength: 25 }),
  /** Random choices driving the interleaving. */
  picks: fc.array(fc.nat(), { minLength: 64, maxLength: 64 }),
});

/**
 * Lifetimes sharing an id run one after the other (the kernel only reuses an id after it was
 * freed); the chains of different ids are interleaved at random, keeping each chain's order.
 */
function interleave(chains: Ev[][], picks: number[]): ZcEvent[] {
  const pos = chains.map(() => 0);
  const out: ZcEvent[] = [];
  let k = 0;
  for (;;) {
    const live = chains.map((c, i) => i).filter((i) => pos[i] < chains[i].length);
    if (live.length === 0) return out;
    const i = live[picks[k++ % picks.length] % live.length];
    out.push({ ...chains[i][pos[i]++], t: (out.length + 1) * 1000 } as ZcEvent);
  }
}

function build(s: Of<typeof scenarioArb>, fault?: { kind: Fault; index: number }) {
  const byId = new Map<number, Ev[][]>();
  s.lifetimes.forEach((spec, i) => {
    const id = s.ids[i];
    const list = byId.get(id) ?? [];
    list.push(lifetimeEvents(`0xh${id}`, spec, 'sock-common'));
    byId.set(id, list);
  });
  let target: { obj: string; seq: number } | undefined;
  if (fault) {
    // A leak must be the last lifetime of its id (a reused id would restart it); any fault
    // goes on the chosen id's last lifetime, so its seq is the chain length.
    const ids = [...byId.keys()];
    const id = ids[fault.index % ids.length];
    const list = byId.get(id)!;
    list[list.length - 1] = inject(fault.kind, list[list.length - 1], 'sock-copy');
    target = { obj: `0xh${id}`, seq: list.length };
  }
  const events = interleave([...byId.values()].map((l) => l.flat()), s.picks);
  return { events, target };
}

describe('engine properties', () => {
  it('balanced lifetimes in any interleaving, ids reused: no findings, all completed', () => {
    fc.assert(fc.property(scenarioArb, (s) => {
      const { events } = build(s);
      const r = run(events, 1e15);
      expect(r.findings).toEqual([]);
      expect(r.totals.lifetimes).toBe(s.lifetimes.length);
      expect(r.totals.completed).toBe(s.lifetimes.length);
      expect(r.totals.open).toBe(0);
    }), { numRuns: 300 });
  });

  it('each injected fault is found exactly once, on the right holder, and nothing else', () => {
    fc.assert(fc.property(scenarioArb, fc.constantFrom(...FAULTS), fc.nat(), (s, kind, index) => {
      const { events, target } = build(s, { kind, index });
      const leakAfter = 1e12;
      // Let time pass the leak threshold after the last event, as the end of a long trace would.
      const last = events[events.length - 1].t;
      events.push({ t: last + leakAfter, ev: 'tick' });
      const r = run(events, leakAfter);
      expect(r.findings.map((f) => [f.kind, f.obj, f.seq])).toEqual([[kind, target!.obj, target!.seq]]);
      expect(r.findings[0].uncertain).toBeUndefined();
      const t = r.totals;
      expect(t.lifetimes).toBe(t.completed + t.open + t.abandoned + t.earlyFreed);
    }), { numRuns: 500 });
  });
});
