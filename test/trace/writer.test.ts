// The trace writer: round trip, refusing to overwrite, a writer killed mid-run, a full disk.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../src/engine/types.js';
import { newHeader } from '../../src/trace/header.js';
import { TraceReader } from '../../src/trace/reader.js';
import { TraceWriter } from '../../src/trace/writer.js';
import { TraceOutputError } from '../../src/util/errors.js';
import { canMountTmpfs } from '../helpers/capabilities.js';

const dir = mkdtempSync(join(tmpdir(), 'zctrace-writer-'));

async function readAll(path: string): Promise<{ events: ZcEvent[]; reader: TraceReader; warnings: string[] }> {
  const warnings: string[] = [];
  const reader = new TraceReader(path, { warn: (m) => warnings.push(m) });
  const events: ZcEvent[] = [];
  for await (const b of reader.batches()) events.push(...b);
  return { events, reader, warnings };
}

function events(n: number): ZcEvent[] {
  return Array.from({ length: n }, (_, i) => ({ t: i * 10, ev: i % 2 ? 'put' : 'get', obj: `0x${i % 97}`, page: '0xp' }) as ZcEvent);
}

describe('round trip', () => {
  for (const name of ['a.trace', 'a.trace.gz']) {
    it(`writes what the reader reads back (${name})`, async () => {
      const p = join(dir, name);
      const w = TraceWriter.create(p, newHeader({ pack: 'test' }));
      const evs = events(20000);
      for (const e of evs) w.write(e);
      w.close();
      const { events: back, reader, warnings } = await readAll(p);
      expect(back).toEqual(evs);
      expect(reader.header?.pack).toBe('test');
      expect(warnings).toEqual([]);
      expect(w.eventsWritten).toBe(20000);
    });
  }

  it('refuses to overwrite unless forced', () => {
    const p = join(dir, 'exists.trace');
    writeFileSync(p, 'x');
    expect(() => TraceWriter.create(p, newHeader({}))).toThrow(/already exists/);
    TraceWriter.create(p, newHeader({}), { force: true }).close();
    expect(statSync(p).size).toBeGreaterThan(10);
  });
});

describe('a writer killed at any moment leaves a readable trace', () => {
  for (const name of ['killed.trace', 'killed.trace.gz']) {
    it(name, async () => {
      const p = join(dir, name);
      // A child writes as fast as it can, flushing on a timer like `record` does; SIGKILL it.
      const script = `
        import { TraceWriter } from './src/trace/writer.ts';
        import { newHeader } from './src/trace/header.ts';
        const w = TraceWriter.create(${JSON.stringify(p)}, newHeader({ pack: 'test' }));
        setInterval(() => w.flush(), 50);
        let i = 0;
        const burst = () => { for (let k = 0; k < 2000; k++) w.write({ t: i++, ev: 'tick' }); setImmediate(burst); };
        burst();
        process.stdout.write('go\\n');`;
      const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: join(__dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      await new Promise((r) => setTimeout(r, 700));
      child.kill('SIGKILL');
      await new Promise((r) => child.once('exit', r));
      const { events: back, reader } = await readAll(p);
      expect(reader.header?.pack).toBe('test');
      expect(back.length).toBeGreaterThan(1000);
      // Every event that made it is intact and in order.
      const firstOutOfPlace = back.findIndex((e, i) => e.t !== i);
      expect(firstOutOfPlace).toBe(-1);
    });
  }
});

const mnt = join(dir, 'small');
const tmpfs = canMountTmpfs();
afterAll(() => {
  if (tmpfs.ok) {
    try { execFileSync('umount', [mnt]); } catch { /* already gone */ }
  }
  rmSync(dir, { recursive: true, force: true });
});

describe('a full disk', () => {
  it.skipIf(!tmpfs.ok)(`stops writing, says how much was kept, and the file stays valid${tmpfs.ok ? '' : ` (skipped: ${tmpfs.reason})`}`, async () => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'zctrace-test', mnt]);
    const p = join(mnt, 'full.trace');
    let reported: TraceOutputError | undefined;
    const w = TraceWriter.create(p, newHeader({ pack: 'test' }), { onError: (e) => { reported = e; } });
    for (const e of events(100000)) w.write(e);
    w.close();
    expect(reported).toBeInstanceOf(TraceOutputError);
    expect(reported?.message).toMatch(/disk full.*holds the \d+ events before the failure/);
    expect(reported?.hint).toMatch(/free some space/);
    const { events: back, reader } = await readAll(p);
    expect(reader.header).toBeDefined();
    expect(back.length).toBeGreaterThanOrEqual(w.eventsWritten);
    expect(back.length).toBeLessThan(100000);
  });
});
