// `zctrace replay` end to end: the report, the NDJSON records and their schema, exit codes.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { synthesize } from '../../src/trace/synthetic.js';
import { assertRecord, BIN, records, zctrace } from '../helpers/cli.js';

const EXAMPLE = 'examples/demo.trace.gz';
// The faults `zctrace synth` injected when it made the example: the generator says which, run
// again with the example's options (examples/README.md).
const INJECTED = synthesize(
  { events: 30000, faults: ['leak', 'early_free', 'use_after_free', 'underflow', 'copy_fallback'], rate: 1000, concurrency: 16, lostAt: 0.8, seed: 7 },
  () => {},
).map((f) => [f.kind, f.obj, f.seq]);
const dir = mkdtempSync(join(tmpdir(), 'zctrace-cli-'));

describe('replay of the bundled example', () => {
  it('reports each injected fault, with the summary counts', async () => {
    const r = await zctrace(['replay', EXAMPLE]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('30,000 events');
    expect(r.stdout).toContain('findings: leak 1, early_free 1, use_after_free 1, underflow 1, copy_fallback 1');
    expect(r.stdout).toContain('synthetic trace:');
    for (const [, obj] of INJECTED) expect(r.stdout).toContain(String(obj));
    expect(r.stdout).toMatch(/references per page per lifetime: p50 (19|20|21)/);
  });

  it('--json: schema-valid records, findings on the injected holders, summary last', async () => {
    const r = await zctrace(['replay', '--json', EXAMPLE]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    const recs = records(r.stdout);
    recs.forEach(assertRecord);
    const findings = recs.filter((x) => x.type === 'finding');
    expect(INJECTED).toHaveLength(5);
    expect(findings.map((f) => [f.kind, f.obj, f.seq]).sort()).toEqual([...INJECTED].sort());
    for (const f of findings) {
      expect(f.level).toBe('warn');
      expect(typeof f.start).toBe('number');
      expect(f.sock).toBeDefined();
      expect(f.pid).toBeDefined();
      expect(f.comm).toBeDefined();
    }
    const summary = recs.at(-1)!;
    expect(summary.type).toBe('summary');
    expect(summary.events).toBe(30000);
    expect(summary.findings).toEqual({ leak: 1, early_free: 1, use_after_free: 1, underflow: 1, copy_fallback: 1, enobufs: 0 });
    expect(summary.copied).toBe(1);
    expect(summary.lost).toBeGreaterThan(0);
    expect(summary.earlyFreed).toBe(1);
    // The statistics of the report are in the record too: the oldest open holder is the leak.
    expect(summary.oldest[0]).toMatchObject({ obj: INJECTED[0][1], leaked: true });
    expect(summary.inflight.length).toBeGreaterThan(10);
    expect(summary.bySock.reduce((n: number, r: { findings: number }) => n + r.findings, 0)).toBe(5);
    expect(summary.byProc.length).toBeGreaterThan(0);
    expect(summary.lifetimes).toBe(summary.completed + summary.open + summary.abandoned + summary.earlyFreed);
  });

  it('--leak-after changes the judgement', async () => {
    const r = await zctrace(['replay', '--json', '--leak-after', '2m', EXAMPLE]);
    expect(records(r.stdout).at(-1)!.findings.leak).toBe(0);
  });
});

describe('exit codes', () => {
  it('--fail-on: 3 when such a finding occurs, 0 when not', async () => {
    expect((await zctrace(['replay', '--json', '--fail-on', 'leak,underflow', EXAMPLE])).exitCode).toBe(3);
    const clean = join(dir, 'clean.trace');
    writeFileSync(clean, '{"type":"header","format":"zctrace-trace","version":1}\n{"t":1,"ev":"submit","obj":"0xa"}\n{"t":2,"ev":"done","obj":"0xa"}\n');
    expect((await zctrace(['replay', '--fail-on', 'any', clean])).exitCode).toBe(0);
  });

  const usage: [string, string[], RegExp][] = [
    ['a bad duration', ['replay', '--leak-after', '10', EXAMPLE], /--leak-after: "10" is not a duration/],
    ['an unknown kind', ['replay', '--fail-on', 'leaks', EXAMPLE], /--fail-on: unknown finding kind "leaks"/],
    ['a bad mode', ['replay', '--on-bad-line', 'ignore', EXAMPLE], /--on-bad-line: "ignore" is not one of error, skip, warn/],
    ['a missing file', ['replay', join(dir, 'nope.trace')], /nope.trace: no such file/],
    ['an unknown option', ['replay', '--frobnicate', EXAMPLE], /unknown option '--frobnicate'/],
  ];
  for (const [name, args, re] of usage) {
    it(`2 and one line on stderr for ${name}`, async () => {
      const r = await zctrace(args);
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace without --debug
    });
  }

  it('a bad line: 2 with file:line; --on-bad-line=warn reads on and counts it', async () => {
    const p = join(dir, 'bad.trace');
    writeFileSync(p, '{"type":"header","format":"zctrace-trace","version":1}\n{"t":1,"ev":"submit","obj":"0xa"}\n{"t":2,"ev":"dnoe","obj":"0xa"}\n');
    const r = await zctrace(['replay', p]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/bad.trace:3: unknown ev "dnoe"/);
    const w = await zctrace(['replay', '--json', '--on-bad-line', 'warn', p]);
    expect(w.exitCode).toBe(0);
    expect(w.stderr).toMatch(/bad.trace:3: unknown ev "dnoe" \(skipped\)/);
    expect(records(w.stdout).at(-1)!.badLines).toBe(1);
  });

  it('a closed pipe (zctrace … | head -1) ends quietly', async () => {
    const r = await execa('bash', ['-o', 'pipefail', '-c', `node ${BIN} replay --json ${EXAMPLE} --leak-after 1ms | head -1`], { reject: false, cwd: join(__dirname, '..', '..') });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout).type).toBe('finding');
  });
});

describe('help', () => {
  it('answers, with the exit codes', async () => {
    const r = await zctrace(['--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/replay/);
    expect(r.stdout).toMatch(/Exit status: 0 ok/);
    const h = await zctrace(['replay', '--help']);
    expect(h.stdout).toMatch(/--leak-after <duration>/);
    expect(h.stdout).toMatch(/--fail-on <kinds>/);
  });
});
