// The NDJSON sink: one record a line, nothing added by pino but the level, findings at "warn"
// unless uncertain, and start and stats written out at once.
import { describe, expect, it } from 'vitest';
import type { EngineRecord } from '../../src/engine/types.js';
import { JsonSink, type StartRecord } from '../../src/sinks/json.js';

function sink(): { s: JsonSink; lines: () => Record<string, unknown>[]; writes: string[] } {
  const writes: string[] = [];
  const s = new JsonSink({ write: (x: string) => writes.push(x) });
  return { s, writes, lines: () => writes.join('').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const finding = (uncertain: boolean): EngineRecord => ({
  type: 'finding', kind: 'leak', obj: 'h#1', seq: 1, t: 5, start: 1, age: 4, refs: 0, bytes: 4096, detail: 'held', story: [], ...(uncertain ? { uncertain: true } : {}),
} as unknown as EngineRecord);

describe('JsonSink', () => {
  it('writes each record as one line, with only its level added', async () => {
    const { s, lines } = sink();
    s.record(finding(false));
    s.record(finding(true));
    s.record({ type: 'leak_resolved', obj: 'h#1', t: 9, start: 1, seq: 1, duration: 8 } as EngineRecord);
    await s.flush();
    const out = lines();
    expect(out.map((r) => [r.type, r.level])).toEqual([['finding', 'warn'], ['finding', 'info'], ['leak_resolved', 'info']]);
    // no time, pid or hostname from pino: the records are the engine's
    expect(Object.keys(out[2]).sort()).toEqual(['duration', 'level', 'obj', 'seq', 'start', 't', 'type']);
  });

  it('start is written at once, before any flush (a script waits on it)', () => {
    const { s, lines } = sink();
    const start: StartRecord = { type: 'start', pack: 'p', program: 'p.bt', mode: 'streaming', kernel: 'k', version: 'v', filters: {}, leakAfterNs: 1e9, t: 0 };
    s.start(start);
    expect(lines()).toEqual([{ level: 'info', ...start }]);
  });
});
