// The reader's fast line parser (src/trace/line-parser.ts) against JSON.parse and the schema
// check: whatever it returns is what JSON.parse makes of the line (same values, same key order,
// -0 included) and a valid event; it leaves nothing of its subset (zctrace's own compact lines)
// to the slow path; and the reader gives the same events and the same messages either way.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../src/engine/types.js';
import { EventLineParser } from '../../src/trace/line-parser.js';
import { TraceReader } from '../../src/trace/reader.js';
import { isEvent } from '../../src/trace/schema.js';
import { synthesize } from '../../src/trace/synthetic.js';
import { eventSchema, records, values } from './schema-values.js';

const HEADER = '{"type":"header","format":"zctrace-trace","version":1}';

function jsonOf(line: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/** The same keys in the same order, each value the same (Object.is: -0 is not 0). */
function same(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && Object.is(a[k], b[k]));
}

// matching mode's fields and `count` events (a few a second) are left to the slow path
const SLOW_FIELDS = new Set(['start', 'counter', 'bucket']);
const FIELDS = new Set(Object.keys(eventSchema.properties!).filter((k) => !SLOW_FIELDS.has(k)));

/** A line zctrace writes and the fast path must take: compact, the event fields only, printable ASCII, no escapes, whole numbers below 1e15. */
function inSubset(line: string, v: unknown): boolean {
  if (!isEvent(v) || v.ev === 'count' || JSON.stringify(v) !== line || !/^[\x20-\x7e]*$/.test(line) || line.includes('\\')) return false;
  if (!Object.keys(v).every((k) => FIELDS.has(k))) return false;
  return Object.values(v).every((x) => typeof x !== 'number' || (Number.isInteger(x) && Math.abs(x) < 1e15 && !Object.is(x, -0)));
}

/** The fast parser's answer for a line agrees with JSON.parse: the same event, or a refusal of a line outside its subset. */
function agrees(line: string, got: unknown): void {
  const want = jsonOf(line);
  if (got !== undefined) {
    expect(isEvent(want)).toBe(true);
    expect(same(got as Record<string, unknown>, want as Record<string, unknown>)).toBe(true);
  } else {
    expect(inSubset(line, want)).toBe(false);
  }
}

/** Lines: events from the schema, written compactly, then often changed the ways files differ. */
const lines = fc.tuple(records(eventSchema), fc.nat(), fc.constantFrom('none', 'none', 'space', 'cut', 'byte', 'dup', 'raw'), fc.string({ unit: 'binary-ascii', maxLength: 8 }))
  .map(([v, at, how, junk]) => {
    const line = JSON.stringify(v);
    const p = line.length === 0 ? 0 : at % line.length;
    switch (how) {
      case 'space': return `${line.slice(0, p)} ${line.slice(p)}`;
      case 'cut': return line.slice(0, p);
      case 'byte': return `${line.slice(0, p)}${junk}${line.slice(p + 1)}`;
      case 'dup': return line.replace(/}$/, line.length > 2 ? `,${line.slice(1)}` : '}');
      default: return line;
    }
  });
const raw = fc.constantFrom(
  '{"t":-0,"ev":"tick"}', '{"t":0,"ev":"tick"}', '{"t":01,"ev":"tick"}', '{"t":1.0,"ev":"tick"}', '{"t":1e3,"ev":"tick"}',
  '{"t":1E3,"ev":"tick"}', '{"t":-1,"ev":"tick"}', '{"t":123456789012345,"ev":"tick"}', '{"t":1234567890123456,"ev":"tick"}',
  '{"t":9007199254740993,"ev":"tick"}', '{"t":1,"ev":"tick",}', '{"t":1,,"ev":"tick"}', '{"t":1 ,"ev":"tick"}', '{"t":1,"ev":"tick"}x',
  '{"t":1,"ev":"tick"}}', '{"t":1,"ev":"tic\\u006b"}', '{"t":1,"ev":"get","obj":"a\\"b"}', '{"t":1,"ev":"get","obj":"é"}',
  '{"t":1,"ev":"get","obj":""}', '{"t":1,"ev":"get","obj":null}', '{"t":1,"ev":"put","obj":"x","copied":true}',
  '{"t":1,"ev":"done","obj":"x","copied":false}', '{"t":1,"ev":"done","obj":"x","copied":tru}', '{"t":1,"ev":"done","obj":"x","copied":falsey}',
  '{"t":1,"ev":"lost"}', '{"t":1,"ev":"lost","n":3}', '{"t":1,"ev":"lost","n":-3}', '{"t":1,"ev":"get","ref":-3,"obj":"y"}',
  '{"ev":"tick","t":2}', '{"t":1,"ev":"tick","t":2}', '{"t":1,"ev":"tick","x":1}', '{"t":1,"ev":"tick","obj":{}}', '{"t":1,"ev":"tick","pid":[]}',
  '{"t":1,"ev":"tick","pid":-0}', '{"t":1,"ev":"tick","since":5}', '{"tt":1,"ev":"tick"}', '{"t":1,"e":"tick"}', '{"t":1,"evv":"tick"}',
  '{"t":1,"ev":"tick","re":1}', '{"ev":"tick"}', '{"t":1}', '{"t":1,"obj":"x"}', '{"t":1,"ev":"close"}', '{"t":1,"ev":"send_error"}',
  '{"t":60197607508698625196,"ev":"tick"}', '{"t":1,"ev":"tick","ref":-128619165522001354825}', '{"t":33396267861538615,"ev":"tick"}', '{"t":1,"ev":"tick","r', '{"t":1,"ev":"tick","sock":"a\tb"}', '{}', '{"t"}', '{"t":}', '[]', '"x"', '1', 'null',
);

describe('the fast line parser', () => {
  it('gives what JSON.parse gives, only for valid events, and takes every line of its subset', () => {
    const parser = new EventLineParser();
    fc.assert(fc.property(fc.oneof(lines, raw), (line) => {
      const buf = Buffer.from(line, 'utf8');
      // Inside a larger buffer, as lines come in a chunk: nothing outside [start, end) is read.
      const chunk = Buffer.concat([Buffer.from('{"t":9,"ev":"get","obj":"z"}\n'), buf, Buffer.from('\n"t":1}true1')]);
      const start = 29;
      agrees(line, parser.parse(chunk, start, start + buf.length));
    }), { numRuns: 20000 });
  });

  it('each kind with its required fields, one field varied at a time', () => {
    const parser = new EventLineParser();
    for (const ev of eventSchema.properties!.ev.enum as string[]) {
      const base: Record<string, unknown> = { t: 1, ev, obj: '0xa', n: 1 };
      for (const [k, p] of Object.entries({ ...eventSchema.properties!, big: { type: 'integer' } })) {
        const field = k === 'big' ? 't' : k;
        const arb = k === 'big' ? fc.bigInt({ min: -(10n ** 22n), max: 10n ** 22n }).map((b) => JSON.parse(b.toString()) as number) : values(p);
        fc.assert(fc.property(arb, fc.boolean(), (x, first) => {
          const v: Record<string, unknown> = first ? { [field]: x, ...base } : { ...base, [field]: x };
          v[field] = x; // (first: the field leads, base fields after it)
          const without = { ...v };
          delete without[field];
          for (const o of [v, without]) {
            const line = k === 'big' ? JSON.stringify(o).replace(/"t":[^,}]+/, `"t":${String(x)}`) : JSON.stringify(o);
            if (line === undefined) continue;
            agrees(line, parser.parse(Buffer.from(line), 0, Buffer.byteLength(line)));
          }
        }), { numRuns: 200 });
      }
    }
  });

  it('takes zctrace\'s own lines, and interned strings stay right when their slot is reused', () => {
    const parser = new EventLineParser();
    let n = 0;
    synthesize({ events: 50000, seed: 7, concurrency: 300, rate: 1e5, faults: ['leak', 'early_free', 'underflow', 'copy_fallback', 'use_after_free'], lostAt: 0.3 }, (e) => {
      const line = JSON.stringify(e);
      const got = parser.parse(Buffer.from(line), 0, line.length);
      expect(got).toBeDefined();
      expect(same(got as unknown as Record<string, unknown>, e as unknown as Record<string, unknown>)).toBe(true);
      n++;
    });
    expect(n).toBeGreaterThan(40000);
  });
});

describe('the reader gives the same events whichever path a line takes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'zctrace-lines-'));

  async function readAll(path: string, onBadLine: 'warn' | 'error' = 'warn'): Promise<{ events: ZcEvent[]; warnings: string[] }> {
    const warnings: string[] = [];
    const reader = new TraceReader(path, { onBadLine, warn: (m) => warnings.push(m) });
    const events: ZcEvent[] = [];
    for await (const b of reader.batches()) events.push(...b);
    return { events, warnings };
  }

  it('across chunk boundaries, CRLF, blank lines, other spellings and bad lines', async () => {
    // Over 3 MiB so lines straddle the reader's 1 MiB chunks.
    const out: string[] = [HEADER];
    const want: unknown[] = [];
    let i = 0;
    synthesize({ events: 40000, seed: 3, concurrency: 64, rate: 1e5, faults: ['leak'], lostAt: 0.5 }, (e) => {
      const padded = { ...e, unsure: i % 7 === 0 ? 'x'.repeat(40) : undefined };
      let line = JSON.stringify(padded);
      if (i % 11 === 0) line = JSON.stringify(padded, null, 1).replace(/\n/g, ''); // spaces: the slow path
      if (i % 13 === 0) line += '\r';
      out.push(line);
      want.push(JSON.parse(line));
      if (i % 5000 === 0) out.push('');
      if (i % 9000 === 0) out.push('{"t":1,"ev":"grab","obj":"0xa"}');
      i++;
    });
    const path = join(dir, 'mixed.trace');
    writeFileSync(path, out.join('\n') + '\n');
    const { events, warnings } = await readAll(path);
    expect(events).toHaveLength(want.length);
    events.forEach((e, k) => expect(same(e as unknown as Record<string, unknown>, want[k] as Record<string, unknown>)).toBe(true));
    expect(warnings.length).toBeGreaterThan(0);
    for (const w of warnings) expect(w).toMatch(/:\d+: unknown ev "grab" \(skipped\)/);
  });

  it('bad lines the fast path leaves alone get the messages they always had', async () => {
    const bad: [string, RegExp][] = [
      ['{"t":-1,"ev":"get","obj":"0xa"}', /:2: field "t" must be >= 0/],
      ['{"t":1,"ev":"get","obj":"0xa","bytes":-4}', /:2: field "bytes" must be >= 0/],
      ['{"t":1,"ev":"get","obj":""}', /:2: field "obj" must NOT have fewer than 1 characters/],
      ['{"t":1,"ev":"get","obj":null}', /:2: field "obj" must be string/],
      ['{"t":1,"ev":"get","obj":"0xa","obj":"0xb","comm":"' + 'c'.repeat(65) + '"}', /:2: field "comm" must NOT have more than 64 characters/],
      ['{"t":1,"ev":"done"}', /:2: missing required field "obj"/],
      ['{"t":1,"ev":"tick",}', /:2: not JSON/],
    ];
    for (const [line, re] of bad) {
      const path = join(dir, `bad${Math.random()}.trace`);
      writeFileSync(path, `${HEADER}\n${line}\n`);
      await expect(readAll(path, 'error')).rejects.toThrow(re);
    }
  });
});
