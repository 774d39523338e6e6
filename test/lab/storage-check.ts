// Checks of a kernel-target run's raw lines (probes/kernel-target.bt), shared by the lab test
// (test/lab/storage.lab.ts: zctrace live in a guest) and the replay test of the committed capture
// (test/probes/packs/kernel-target.test.ts).
import { Engine } from '../../src/engine/engine.js';
import { snapshot } from '../../src/engine/snapshot.js';
import type { Breakdown } from '../../src/engine/stats.js';
import type { EngineRecord, Finding, ZcEvent } from '../../src/engine/types.js';
import { ProbeParser } from '../../src/probes/parse.js';
import { KernelTargetDecoder } from '../../src/probes/packs/kernel-target.js';

/** What the raw lines say, page by page, without the decoder. */
export interface RawStats {
  /** send lines, distinct pages sent. */
  sends: number;
  pages: number;
  /** Pages sent whose target release (prel) was seen. */
  released: number;
  /** Pages whose last reference was seen dropped (prel ref=1, or pfree after the release). */
  ended: number;
  /** pfree lines with rel=0: a page freed while the target still had it. */
  freedUnder: number;
  /** Pages sent again (by another command) before any line showed their end: freed meanwhile,
   *  the free's program skipped by the kernel; counted in `ended`. */
  inferred: number;
  /** TCP's references when the target released each page (prel ref - 1), one entry per page. */
  tcpRefsAtRelease: number[];
}

/** Reads the raw lines; a page sent again after it ended starts over (pages are reused). */
export function rawStats(raw: string): RawStats {
  const s: RawStats = { sends: 0, pages: 0, released: 0, ended: 0, freedUnder: 0, inferred: 0, tcpRefsAtRelease: [] };
  const live = new Map<string, string>(); // page → the command (obj) that handed it to TCP
  for (const l of raw.split('\n')) {
    const f = l.split('\t');
    const page = f.find((x) => x.startsWith('page='))?.slice(5);
    if (page === undefined) continue;
    const ref = Number(f.find((x) => x.startsWith('ref='))?.slice(4));
    if (f[0] === 'send') {
      s.sends++;
      const obj = f.find((x) => x.startsWith('obj='))?.slice(4) ?? '';
      const owner = live.get(page);
      if (owner !== undefined && owner !== obj) { s.inferred++; s.ended++; live.delete(page); }
      if (!live.has(page)) { live.set(page, obj); s.pages++; }
    } else if (f[0] === 'prel' && live.has(page)) {
      s.released++;
      s.tcpRefsAtRelease.push(ref - 1);
      if (ref <= 1) { s.ended++; live.delete(page); }
    } else if (f[0] === 'pfree' && live.has(page)) {
      if (l.includes('\trel=0')) s.freedUnder++;
      else s.ended++;
      live.delete(page);
    }
  }
  return s;
}

/** The raw lines replayed through the pack's decoder and the engine, as zctrace would. */
export function replayRaw(raw: string, leakAfterNs: number): { findings: Finding[]; events: ZcEvent[]; decoder: KernelTargetDecoder; bad: string[]; bySock: Breakdown[] } {
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs, onRecord: (r) => records.push(r) });
  const decoder = new KernelTargetDecoder();
  const events: ZcEvent[] = [];
  const bad: string[] = [];
  const lines = raw.split('\n');
  const first = lines.find((l) => /^ready\t\d+/.test(l));
  const parser = new ProbeParser(decoder, BigInt(first?.split('\t')[1] ?? '0'), {
    emit: (e) => { events.push(e); engine.push(e); },
    ready: () => {},
    message: () => {},
    bad: (n, why, line) => { bad.push(`${n}: ${why}: ${line}`); },
  });
  for (const l of lines) parser.line(l);
  parser.finish();
  engine.push({ t: parser.lastT + leakAfterNs + 1e9, ev: 'tick' });
  engine.end();
  return { findings: records.filter((r): r is Finding => r.type === 'finding'), events, decoder, bad, bySock: snapshot(engine).bySock };
}

/** p50, p99 and max of a list (0s when empty). */
export function percentiles(v: number[]): { p50: number; p99: number; max: number } {
  const s = [...v].sort((a, b) => a - b);
  const at = (q: number): number => (s.length === 0 ? 0 : s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  return { p50: at(0.5), p99: at(0.99), max: s.length === 0 ? 0 : s[s.length - 1] };
}
