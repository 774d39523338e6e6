// The fleet flags of `live` end to end with the fake bpftrace (test/fixtures/fake-bpftrace):
// --output sends the records to a file (stdout stays empty), --metrics serves the engine's
// counters and fails at once on a port in use, and bad combinations are usage errors that name
// the flag before anything is started.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseListen, parseSize } from '../../src/cli/options.js';
import { assertRecord, records, ROOT, zctrace } from '../helpers/cli.js';
import { fakeEnv, replayLines } from '../helpers/fake-bpftrace.js';

const CAPTURE = join(ROOT, 'test', 'fixtures', 'iouring-sendzc', 'early-free.txt');
const dir = mkdtempSync(join(tmpdir(), 'zctrace-fleet-'));
const root = process.getuid?.() === 0;

describe('fleet flags', () => {
  it('sizes and listen addresses', () => {
    expect(parseSize('--x', '1MB')).toBe(1_000_000);
    expect(parseSize('--x', '1MiB')).toBe(1 << 20);
    expect(parseSize('--x', '64k')).toBe(65536);
    expect(parseSize('--x', '2G')).toBe(2 * 1024 ** 3);
    expect(() => parseSize('--x', '10')).toThrow(/too small/);
    expect(() => parseSize('--x', 'lots')).toThrow(/not a size/);
    expect(parseListen('--m', '9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseListen('--m', '0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseListen('--m', '[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(() => parseListen('--m', 'x:y')).toThrow(/not HOST:PORT/);
  });

  it('bad combinations are usage errors (exit 2) naming the flag', async () => {
    for (const [args, re] of [
      [['--record-max-size', '1MB'], /--record-max-size and --record-max-age need --record FILE/],
      [['--output-keep', '3'], /--output-keep needs --output-max-size or --output-max-age/],
      [['--metrics-per', 'socket'], /--metrics-per needs --metrics/],
      [['--metrics', '1:2:3'], /--metrics: "1:2:3" is not HOST:PORT/],
      [['--metrics', '9464', '--metrics-per', 'holder'], /--metrics-per: unknown table "holder"/],
    ] as const) {
      const r = await zctrace(['live', '--headless', '--pack', 'iouring-sendzc', ...args]);
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
    }
  });

  it.skipIf(!root)(`--output and --metrics with a fake bpftrace${root ? '' : ' (skipped: pack selection needs root)'}`, async () => {
    const out = join(dir, 'findings.ndjson');
    const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--output', out, '--metrics', '0', '--duration', '2s', '--interval', '500ms'],
      { env: fakeEnv('replay', replayLines(CAPTURE)) });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Prometheus metrics on http:\/\/127\.0\.0\.1:\d+\/metrics/);
    const recs = records(readFileSync(out, 'utf8'));
    recs.forEach(assertRecord);
    expect(recs[0].type).toBe('start');
    expect(recs.at(-1)).toMatchObject({ type: 'summary', ended: 'duration reached' });
    expect(recs.filter((x) => x.type === 'finding' && x.kind === 'early_free').length).toBeGreaterThan(0);
  });

  it.skipIf(!root)(`--metrics on a port in use: exit 1 before tracing, saying so${root ? '' : ' (skipped: pack selection needs root)'}`, async () => {
    const s = createServer();
    await new Promise<void>((res) => s.listen(0, '127.0.0.1', () => res()));
    const port = (s.address() as { port: number }).port;
    const r = await zctrace(['live', '--headless', '--pack', 'iouring-sendzc', '--metrics', String(port), '--duration', '2s'], { env: fakeEnv('replay', replayLines(CAPTURE)) });
    s.close();
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`--metrics 127.0.0.1:${port}: cannot listen \\(EADDRINUSE\\)`));
    expect(r.stderr).toMatch(/hint: another process listens there/);
    expect(r.stdout).not.toMatch(/"type":"start"/);
  });
});
