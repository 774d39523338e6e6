// The trace reader: the format, every kind of bad input named by file and line, the three
// --on-bad-line modes, interrupted writers, and bounded memory on hostile input.
import { mkdtempSync, openSync, writeFileSync, closeSync, ftruncateSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../src/engine/types.js';
import { TraceReader, type ReaderOptions } from '../../src/trace/reader.js';
import { TraceInputError } from '../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'zctrace-reader-'));
const HEADER = '{"type":"header","format":"zctrace-trace","version":1,"pack":"test"}';
let n = 0;

function file(content: string | Buffer, name = `t${n++}.trace`): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

async function read(path: string, opts: ReaderOptions = {}): Promise<{ events: ZcEvent[]; reader: TraceReader; warnings: string[] }> {
  const warnings: string[] = [];
  const reader = new TraceReader(path, { warn: (m) => warnings.push(m), ...opts });
  const events: ZcEvent[] = [];
  for await (const b of reader.batches()) events.push(...b);
  return { events, reader, warnings };
}

async function failure(path: string, opts: ReaderOptions = {}): Promise<TraceInputError> {
  try {
    await read(path, opts);
  } catch (e) {
    expect(e).toBeInstanceOf(TraceInputError);
    return e as TraceInputError;
  }
  throw new Error('expected a TraceInputError');
}

const ok = [HEADER, '{"t":1,"ev":"submit","obj":"0xa","bytes":10}', '{"t":2,"ev":"done","obj":"0xa","extra":"ignored"}', '{"t":3,"ev":"lost","n":2}'].join('\n') + '\n';

describe('reading', () => {
  it('reads the header and events, ignoring unknown fields', async () => {
    const { events, reader } = await read(file(ok));
    expect(reader.header?.pack).toBe('test');
    expect(events.map((e) => e.ev)).toEqual(['submit', 'done', 'lost']);
    expect(reader.badLines).toBe(0);
  });

  it('reads gzip when the name ends in .gz, and CRLF line ends', async () => {
    const { events } = await read(file(gzipSync(ok.replace(/\n/g, '\r\n')), `g${n++}.trace.gz`));
    expect(events).toHaveLength(3);
  });

  it('refuses a .gz name on a file that is not gzip', async () => {
    expect((await failure(file(ok, `bad${n++}.gz`))).message).toMatch(/not a gzip file/);
  });

  it('says so when a gzip file is not named .gz', async () => {
    const e = await failure(file(gzipSync(ok)));
    expect(e.message).toMatch(/:1: looks gzip-compressed/);
  });
});

describe('bad lines name file, line and what is wrong', () => {
  const cases: [string, string, RegExp][] = [
    ['not JSON', '{"t":1,"ev":', /:2: not JSON/],
    ['missing t', '{"ev":"get","obj":"0xa"}', /:2: missing required field "t"/],
    ['ill-typed t', '{"t":"5","ev":"get","obj":"0xa"}', /:2: field "t" must be number/],
    ['negative t', '{"t":-1,"ev":"get","obj":"0xa"}', /:2: field "t" must be >= 0/],
    ['missing ev', '{"t":1,"obj":"0xa"}', /:2: missing required field "ev"/],
    ['unknown ev', '{"t":1,"ev":"grab","obj":"0xa"}', /:2: unknown ev "grab"/],
    ['missing obj', '{"t":1,"ev":"put"}', /:2: missing required field "obj"/],
    ['ill-typed obj', '{"t":1,"ev":"put","obj":12}', /:2: field "obj" must be string/],
    ['lost without n', '{"t":1,"ev":"lost"}', /:2: missing required field "n"/],
    ['not an object', '[1,2]', /:2: must be object/],
    ['a second header', HEADER, /:2: a second header/],
  ];
  for (const [name, line, re] of cases) {
    it(name, async () => {
      const e = await failure(file(`${HEADER}\n${line}\n{"t":9,"ev":"tick"}\n`));
      expect(e.message).toMatch(re);
      expect(e.hint).toMatch(/--on-bad-line/);
    });
  }

  it('time going backwards beyond the tolerance', async () => {
    const p = file(`${HEADER}\n{"t":5000,"ev":"lost","n":1}\n{"t":4500,"ev":"lost","n":1}\n{"t":3000,"ev":"lost","n":1}\n`);
    const e = await failure(p, { timeToleranceNs: 1000 });
    expect(e.message).toMatch(/:4: time goes backwards by 2000 ns/);
  });
  it('events older than a tick are not out of order: a tick is the live clock, and bpftrace can lag it', async () => {
    // the lab's netem run: a tick, then lines bpftrace delivered a second late
    const p = file(`${HEADER}\n{"t":1000,"ev":"lost","n":1}\n{"t":5000,"ev":"tick"}\n{"t":2000,"ev":"lost","n":1}\n{"t":1500,"ev":"tick"}\n{"t":2500,"ev":"lost","n":1}\n`);
    const r = new TraceReader(p, { timeToleranceNs: 1000 });
    const seen: number[] = [];
    await r.forEach((e) => seen.push(e.t));
    expect(seen).toEqual([1000, 5000, 2000, 1500, 2500]);
    expect(r.badLines).toBe(0);
  });
});

describe('headers', () => {
  it('a missing header is fatal whatever the mode', async () => {
    const e = await failure(file('{"t":1,"ev":"tick"}\n'), { onBadLine: 'skip' });
    expect(e.message).toMatch(/:1: missing header/);
  });
  it('an unknown format is refused', async () => {
    expect((await failure(file('{"type":"header","format":"pcap","version":1}\n'))).message).toMatch(/missing header/);
  });
  it('a newer major version is refused with a hint', async () => {
    const e = await failure(file('{"type":"header","format":"zctrace-trace","version":2}\n'));
    expect(e.message).toMatch(/format version 2; this zctrace reads version 1/);
    expect(e.hint).toMatch(/upgrade/);
  });
  it('an empty file', async () => {
    expect((await failure(file(''))).message).toMatch(/empty file/);
  });
  it('a missing file', async () => {
    expect((await failure(join(dir, 'nope.trace'))).message).toMatch(/no such file/);
  });
});

describe('--on-bad-line skip and warn', () => {
  const mixed = `${HEADER}\nnot json\n{"t":1,"ev":"tick"}\n{"t":2,"ev":"bogus"}\n{"t":3,"ev":"tick"}\n`;
  it('skip drops and counts silently', async () => {
    const { events, reader, warnings } = await read(file(mixed), { onBadLine: 'skip' });
    expect(events).toHaveLength(2);
    expect(reader.badLines).toBe(2);
    expect(warnings).toEqual([]);
  });
  it('warn drops, counts and says which lines', async () => {
    const { reader, warnings } = await read(file(mixed), { onBadLine: 'warn' });
    expect(reader.badLines).toBe(2);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toMatch(/:2: not JSON \(skipped\)/);
    expect(warnings[1]).toMatch(/:4: unknown ev "bogus" \(skipped\)/);
  });
});

describe('interrupted writers', () => {
  it('a truncated last line is a warning and is skipped, even in error mode', async () => {
    const { events, reader, warnings } = await read(file(`${HEADER}\n{"t":1,"ev":"tick"}\n{"t":2,"ev":"su`));
    expect(events).toHaveLength(1);
    expect(reader.truncated).toBe(true);
    expect(warnings[0]).toMatch(/:3: truncated last line skipped/);
  });
  it('a complete last line without its newline is read', async () => {
    const { events, reader } = await read(file(`${HEADER}\n{"t":1,"ev":"tick"}`));
    expect(events).toHaveLength(1);
    expect(reader.truncated).toBe(false);
  });
  it('a gzip stream cut short gives the events before the cut and a warning', async () => {
    const lines = [HEADER];
    for (let i = 0; i < 5000; i++) lines.push(JSON.stringify({ t: i, ev: 'tick' }));
    const gz = gzipSync(lines.join('\n') + '\n');
    const { events, reader, warnings } = await read(file(gz.subarray(0, Math.floor(gz.length * 0.6)), `cut${n++}.gz`));
    expect(events.length).toBeGreaterThan(1000);
    expect(events.length).toBeLessThan(5000);
    expect(reader.truncated).toBe(true);
    expect(warnings.join('\n')).toMatch(/compressed data ends early/);
  });
});

describe('hostile input', () => {
  it('a 1 GiB line with no newline is reported without buffering it', async () => {
    // A sparse file: 1 GiB of NUL bytes after the header, costing no disk space.
    const p = join(dir, 'huge.trace');
    const fd = openSync(p, 'w');
    writeSync(fd, `${HEADER}\n{"t":1,"ev":"tick"}\n`);
    ftruncateSync(fd, 1 << 30);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    let peak = before;
    const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 20);
    const { events, reader, warnings } = await read(p, { onBadLine: 'warn' });
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    expect(events).toHaveLength(1);
    expect(reader.badLines).toBe(1);
    expect(warnings[0]).toMatch(/:3: line of \d+ bytes is longer than the 1048576-byte limit/);
    expect(peak - before).toBeLessThan(200 * 1024 * 1024);
  });

  it('random bytes after a header: only TraceInputErrors in error mode, never a throw in skip mode', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ minLength: 0, maxLength: 2000 }), async (bytes) => {
      const p = file(Buffer.concat([Buffer.from(HEADER + '\n'), Buffer.from(bytes)]));
      try {
        await read(p);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceInputError);
      }
      const { reader } = await read(p, { onBadLine: 'skip' });
      expect(reader.header).toBeDefined();
    }), { numRuns: 200 });
  });

  it('random JSON values as lines are either valid events or named bad lines', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.jsonValue(), { maxLength: 20 }), async (values) => {
      const p = file([HEADER, ...values.map((v) => JSON.stringify(v) ?? 'null')].join('\n') + '\n');
      const { events, reader } = await read(p, { onBadLine: 'skip' });
      expect(events.length + reader.badLines).toBe(values.length);
      for (const e of events) expect(typeof e.t).toBe('number');
    }), { numRuns: 200 });
  });
});
