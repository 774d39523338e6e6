// Rotation of recordings and records files (util/segmented-file.ts), and replay of a rotated
// capture as one trace (trace/inputs.ts): every file complete and valid on its own (a trace's
// header first), at most `keep` files, none past the size, and `replay DIR` reporting exactly
// what the same capture replays to from one file.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { newHeader } from '../../src/trace/header.js';
import { synthesize } from '../../src/trace/synthetic.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { RecordsFile } from '../../src/sinks/records-file.js';
import { segmentName, segmentsOf } from '../../src/util/segmented-file.js';
import { records, zctrace } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'zctrace-rotation-'));
let n = 0;
const fresh = (): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  return d;
};
const text = (p: string): string => (p.endsWith('.gz') ? gunzipSync(readFileSync(p)).toString('utf8') : readFileSync(p, 'utf8'));
const SYNTH = { events: 20000, seed: 7, concurrency: 16, rate: 2000, faults: ['early_free', 'leak', 'underflow', 'use_after_free'] as const, lostAt: 0 };

/** Writes the same synthetic capture to `path`, rotating or not. */
function capture(path: string, rotate?: { maxBytes?: number; maxAgeMs?: number; keep: number }): TraceWriter {
  const header = newHeader({ pack: 'synthetic', t0: '123456789', started: '2026-12-02T00:00:00.000Z' });
  const w = TraceWriter.create(path, header, { rotate });
  synthesize({ ...SYNTH, faults: [...SYNTH.faults] }, (e) => w.write(e));
  w.close();
  return w;
}

describe('segment names', () => {
  it('put the number before the extension (two when the last is .gz), sorted by number', () => {
    expect(segmentName('/a/trace.gz', 3)).toBe('/a/trace.000003.gz');
    expect(segmentName('/a/x.trace.gz', 12)).toBe('/a/x.000012.trace.gz');
    expect(segmentName('f.ndjson', 1)).toBe('f.000001.ndjson');
    expect(segmentName('/a/trace', 1)).toBe('/a/trace.000001');
  });
});

describe('rotating a recording', () => {
  for (const [name, max] of [['cap.trace', 64 * 1024], ['cap.trace.gz', 12 * 1024]] as const) {
    it(`${name}: each file starts with the header, stays under the size, replays alone; at most keep files`, async () => {
      const d = fresh();
      const w = capture(join(d, name), { maxBytes: max, keep: 4 });
      expect(w.files).toBeGreaterThan(4); // it did rotate, several times
      const files = readdirSync(d).sort();
      expect(files.length).toBe(4);
      for (const f of files) {
        const p = join(d, f);
        expect(statSync(p).size).toBeLessThanOrEqual(max);
        const lines = text(p).trimEnd().split('\n');
        const h = JSON.parse(lines[0]);
        expect(h).toMatchObject({ type: 'header', format: 'zctrace-trace', t0: '123456789' });
        expect(h.segment).toBeGreaterThanOrEqual(1);
        const r = await zctrace(['replay', '--json', '--no-progress', p]);
        expect(r.exitCode, r.stderr).toBe(0);
      }
      // the active file is the newest segment; the oldest were removed
      expect(segmentsOf(join(d, name)).map((s) => s.n)).toEqual([w.files - 3, w.files - 2, w.files - 1]);
    });
  }

  it('replay DIR equals the single-file replay of the same capture (findings and summary)', async () => {
    const one = join(fresh(), 'one.trace.gz');
    capture(one);
    const d = fresh();
    const w = capture(join(d, 'rot.trace.gz'), { maxBytes: 32 * 1024, keep: 1000 });
    expect(w.files).toBeGreaterThan(5);
    const a = await zctrace(['replay', '--json', one]);
    const b = await zctrace(['replay', '--json', d]);
    expect(a.exitCode).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const strip = (recs: Record<string, any>[]) => recs.map((r) => (r.type === 'summary' ? { ...r, source: '' } : r));
    const ra = records(a.stdout), rb = records(b.stdout);
    expect(new Set(ra.filter((r) => r.type === 'finding').map((r) => r.kind))).toEqual(new Set(['early_free', 'underflow', 'use_after_free']));
    expect(strip(rb)).toEqual(strip(ra));
    // files given in any order are read in capture order too
    const files = readdirSync(d).map((f) => join(d, f)).reverse();
    const c = await zctrace(['replay', '--json', ...files]);
    expect(strip(records(c.stdout))).toEqual(strip(ra));
    // without the first files the replay says so
    const tail = await zctrace(['replay', files[0], files[1]]);
    expect(tail.stdout).toMatch(/file\(s\) of the capture are not here/);
  });

  it('rotates by age, and an existing file becomes a segment instead of being overwritten', async () => {
    const d = fresh();
    const p = join(d, 'aged.trace');
    writeFileSync(p, `${JSON.stringify(newHeader({ pack: 'old' }))}\n`);
    const w = TraceWriter.create(p, newHeader({ pack: 'x', t0: '1' }), { rotate: { maxAgeMs: 30, keep: 10 } });
    for (let i = 0; i < 4; i++) {
      w.write({ t: i, ev: 'submit', obj: `0x${i}`, bytes: 1 });
      w.flush();
      await new Promise((r) => setTimeout(r, 40));
    }
    w.close();
    const segs = segmentsOf(p);
    expect(JSON.parse(readFileSync(segs[0].path, 'utf8').split('\n')[0]).pack).toBe('old');
    expect(segs.length).toBe(4); // the old file, then three full ones; the fourth event is in p
    expect(readFileSync(p, 'utf8').trimEnd().split('\n').length).toBe(2);
  });

  it('replay refuses files of two different captures', async () => {
    const d = fresh();
    capture(join(d, 'a.trace'));
    const header = newHeader({ pack: 'synthetic', t0: '999', started: '2026-12-03T00:00:00.000Z' });
    TraceWriter.create(join(d, 'b.trace'), header).close();
    const r = await zctrace(['replay', d]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/2 different captures/);
  });
});

describe('rotating a records file', () => {
  it('whole lines only, every file valid NDJSON, at most keep files, gzip when named so', () => {
    for (const [name, max] of [['findings.ndjson', 8192], ['findings.ndjson.gz', 1024]] as const) {
      const d = fresh();
      const f = new RecordsFile(join(d, name), { rotate: { maxBytes: max, keep: 3 } });
      for (let i = 0; i < 3000; i++) f.write(`${JSON.stringify({ type: 'finding', i, pad: 'x'.repeat(i % 50) })}\n`);
      f.close();
      const files = readdirSync(d);
      expect(files.length).toBe(3);
      const seen: number[] = [];
      for (const x of files.sort()) {
        for (const l of text(join(d, x)).trimEnd().split('\n')) seen.push(JSON.parse(l).i);
      }
      // the newest lines are all there, in order, none twice
      expect(seen.at(-1)).toBe(2999);
      expect(new Set(seen).size).toBe(seen.length);
      expect(existsSync(join(d, name))).toBe(true);
    }
  });
});
