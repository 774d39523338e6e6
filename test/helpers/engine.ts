// Runs events through a fresh engine and collects what it says.
import { Engine } from '../../src/engine/engine.js';
import { totals, type Totals } from '../../src/engine/snapshot.js';
import type { EngineRecord, Finding, ZcEvent } from '../../src/engine/types.js';

export interface Run {
  records: EngineRecord[];
  findings: Finding[];
  totals: Totals;
  engine: Engine;
}

/** Feeds `events` (t defaults to 1000·index) and ends the trace. */
export function run(events: (Omit<ZcEvent, 't'> & { t?: number })[], leakAfterNs = 10e9, end = true): Run {
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs, onRecord: (r) => records.push(r) });
  events.forEach((e, i) => engine.push({ t: (i + 1) * 1000, ...e } as ZcEvent));
  if (end) engine.end();
  const findings = records.filter((r): r is Finding => r.type === 'finding');
  return { records, findings, totals: totals(engine), engine };
}

/** A complete, balanced lifetime: submit, `refs` get/put pairs on one page, done, free. */
export function balanced(obj: string, refs = 3, extra: Partial<ZcEvent> = {}): Omit<ZcEvent, 't'>[] {
  const out: Omit<ZcEvent, 't'>[] = [{ ev: 'submit', obj, bytes: 4096, sock: 's1', pid: 1, comm: 'tgt', ...extra }];
  for (let i = 0; i < refs; i++) out.push({ ev: 'get', obj, page: '0xp1' });
  for (let i = 0; i < refs; i++) out.push({ ev: 'put', obj, page: '0xp1' });
  out.push({ ev: 'done', obj, copied: false }, { ev: 'free', obj, reason: 'release' });
  return out;
}
