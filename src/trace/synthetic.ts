// Synthetic event streams: many holders in flight at once, each taking and dropping about
// twenty references per page (what the seed patch's author saw during transmit), holder
// addresses reused from a small pool, and chosen faults injected on known holders. Used for
// the bundled example trace, the replay benchmark and tests; never presented as a real capture
// (the trace header says how it was made). Deterministic for a given seed.
import type { FindingKind, ZcEvent } from '../engine/types.js';

export type SynthFault = Exclude<FindingKind, 'enobufs'>;

export interface SynthOptions {
  /** Stop after about this many events. */
  events: number;
  seed: number;
  /** Holders in flight at once. */
  concurrency: number;
  /** Trace-time event rate (events per second). */
  rate: number;
  /** Faults to inject, each on its own holder, spread over the first half of the trace. */
  faults: SynthFault[];
  /** Emit a `lost` event at about this fraction of the trace (0 = none). */
  lostAt?: number;
}

/** Which holder got which fault (obj and its lifetime number). */
export interface Injected {
  kind: SynthFault;
  obj: string;
  seq: number;
}

/** A small, fast, seedable PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Active {
  obj: string;
  seq: number;
  script: Omit<ZcEvent, 't'>[];
  next: number;
}

const SOCKS = ['10.0.0.1:3260>10.0.0.2:51234', '10.0.0.1:3260>10.0.0.3:40112', '10.0.0.1:4420>10.0.0.4:33018', '10.0.0.1:4420>10.0.0.5:57220'];
const PROCS: [number, string][] = [[812, 'iscsi_trd'], [813, 'iscsi_trd'], [1290, 'nvmet-tcp'], [2201, 'spdk_reactor']];

/** Generates the stream, calling `emit` per event; returns where the faults went. */
export function synthesize(o: SynthOptions, emit: (e: ZcEvent) => void): Injected[] {
  const rand = rng(o.seed);
  const pick = <T>(a: T[]): T => a[Math.floor(rand() * a.length)];
  const pool: string[] = [];
  for (let i = 0; i < o.concurrency * 4; i++) pool.push(`0xffff8880${(0xa1b20000 + i * 0x200).toString(16)}`);
  const seqs = new Map<string, number>();
  const injected: Injected[] = [];
  const pending = [...o.faults];
  // About 100 events per holder (2.5 pages x 20 references x get+put): spread the faults over
  // the first half of the holders, so leaks have time to age before the trace ends.
  const holders = Math.max(1, Math.floor(o.events / 103));
  const faultEvery = Math.max(1, Math.floor(holders / 2 / (o.faults.length + 1)));
  let started = 0;
  let t = 0;
  let n = 0;
  let lostDone = !(o.lostAt && o.lostAt > 0);
  const active: Active[] = [];
  const out = (e: Omit<ZcEvent, 't'>): void => {
    t += Math.max(1, Math.round((0.5 + rand()) * (1e9 / o.rate)));
    emit({ t, ...e } as ZcEvent);
    n++;
  };

  const startHolder = (): void => {
    const obj = pool.splice(Math.floor(rand() * pool.length), 1)[0];
    const seq = (seqs.get(obj) ?? 0) + 1;
    seqs.set(obj, seq);
    started++;
    const fault = started % faultEvery === 0 ? pending.shift() : undefined;
    if (fault) injected.push({ kind: fault, obj, seq });
    const [pid, comm] = pick(PROCS);
    const sock = fault === 'copy_fallback' ? `10.9.9.${injected.length}:3260>10.9.9.99:50000` : pick(SOCKS);
    const pages = 1 + Math.floor(rand() * 4);
    const script: Omit<ZcEvent, 't'>[] = [{ ev: 'submit', obj, bytes: pages * 4096, pid, comm, sock }];
    const refs: Omit<ZcEvent, 't'>[] = [];
    for (let p = 0; p < pages; p++) {
      const page = `0xffffea0004${(0xa10000 + Math.floor(rand() * 0xffff) * 0x40).toString(16)}`;
      const k = 10 + Math.floor(rand() * 21);
      for (let i = 0; i < k; i++) refs.push({ ev: 'get', obj, page }, { ev: 'put', obj, page });
    }
    // Interleave: gets stay before their puts, refs overlap as skbs are cloned and freed.
    const gets = refs.filter((e) => e.ev === 'get');
    const puts = refs.filter((e) => e.ev === 'put');
    let held = 0;
    while (gets.length > 0 || puts.length > 0) {
      if (gets.length > 0 && (held === 0 || rand() < 0.55)) {
        script.push(gets.shift()!);
        held++;
      } else {
        script.push(puts.shift()!);
        held--;
      }
    }
    const done: Omit<ZcEvent, 't'> = { ev: 'done', obj, copied: fault === 'copy_fallback' };
    const free: Omit<ZcEvent, 't'> = { ev: 'free', obj, reason: 'release' };
    if (fault === 'leak') {
      // A lost put and no completion: the holder keeps one reference forever.
      script.splice(script.map((e) => e.ev).lastIndexOf('put'), 1);
    } else if (fault === 'early_free') script.push({ ...free, reason: 'reuse' }, done);
    else if (fault === 'use_after_free') script.push(done, free, script[script.length - 1]);
    else if (fault === 'underflow') script.push(script[script.length - 1], done, free);
    else script.push(done, free);
    active.push({ obj, seq, script, next: 0 });
  };

  while (n < o.events) {
    while (active.length < o.concurrency && n < o.events) startHolder();
    if (!lostDone && n >= o.events * (o.lostAt ?? 0)) {
      out({ ev: 'lost', n: 1 + Math.floor(rand() * 50) });
      lostDone = true;
    }
    const i = Math.floor(rand() * active.length);
    const a = active[i];
    out(a.script[a.next++]);
    if (a.next >= a.script.length) {
      active.splice(i, 1);
      const leaked = injected.some((f) => f.kind === 'leak' && f.obj === a.obj);
      if (!leaked) pool.push(a.obj); // a leaked holder's address is never reused
    }
  }
  return injected;
}
