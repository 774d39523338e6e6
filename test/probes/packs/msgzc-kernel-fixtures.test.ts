// Replays the msgzc-kernel captures recorded in the kernel lab (test/fixtures/msgzc-kernel,
// README there) on any machine: the raw program lines through the decoder and the engine,
// and the recorded trace through `zctrace replay`, each judged like the live lab test
// (test/lab/msgzc-kernel-check.ts): the fault on the right ubuf lifetime, nothing else, and
// the completions the workload counted. Also: the programs' header examples come from them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Finding } from '../../../src/engine/types.js';
import { PROGRAMS } from '../../../src/probes/packs/msgzc-kernel-programs.js';
import { packageRoot } from '../../../src/util/paths.js';
import { records, zctrace } from '../../helpers/cli.js';
import { headerExampleLines } from '../../helpers/pack-lines.js';
import { type Accounting, judge, parseRaw, replayFindings } from '../../lab/msgzc-kernel-check.js';

const dir = join(packageRoot, 'test/fixtures/msgzc-kernel');
const names = readdirSync(dir).filter((f) => f.endsWith('.txt') && f !== 'doctor.txt').map((f) => f.slice(0, -4)).sort();

describe('msgzc-kernel captures', () => {
  it('has one capture per fault, streaming and --aggregate', () => {
    for (const mode of ['stream', 'aggregate']) {
      for (const fault of ['none', 'leak', 'early-free', 'reuse', 'rewrite-quiet', 'read-into', 'resend']) expect(names).toContain(`${mode}-${fault}`);
    }
  });

  for (const name of names) {
    const acct = (): Accounting => JSON.parse(readFileSync(join(dir, `${name}.json`), 'utf8')) as Accounting;
    const raw = (): ReturnType<typeof parseRaw> => parseRaw(readFileSync(join(dir, `${name}.txt`), 'utf8'));

    it(`${name}: decoded and judged, the fault is on the right holder`, () => {
      const lines = raw();
      const { findings, t0, decoder, events } = replayFindings(lines, 10e9);
      expect(judge(acct(), lines, findings, t0)).toEqual([]);
      expect(decoder.stats.evicted).toBe(0);
      if (name.startsWith('stream-')) {
        expect(decoder.stats.pagePuts).toBeGreaterThan(0);
      } else {
        // the counts come with each done; no frags lines (the histograms, printed each
        // second, need not fall into a short capture: checked over all of them below)
        expect(lines.some((l) => l.kind === 'frags')).toBe(false);
        expect(lines.filter((l) => l.kind === 'done').every((l) => l.f.has('puts'))).toBe(true);
      }
      // Sends repeating an in-flight buffer's unchanged bytes: in resend some, at most the
      // workload's count (it counts a send in flight until its completion is read, the
      // decoder until the kernel's done); none elsewhere (reuse's one resend changed the
      // bytes: a rewrite, not a resend).
      const resends = events.filter((e) => e.ev === 'submit' && e.resend === true && e.pid === acct().pid).length;
      if (name.endsWith('-resend')) {
        expect(resends).toBeGreaterThan(0);
        expect(resends).toBeLessThanOrEqual(acct().resends ?? 0);
      } else {
        expect(resends).toBe(0);
      }
    });

    it(`${name}: zctrace replay of the recorded trace finds the same`, async () => {
      // a live recording under TCG: ticks follow the wall clock while lines lag (docs/msgzc-kernel.md)
      const r = await zctrace(['replay', '--json', '--time-tolerance', '10s', join(dir, `${name}.trace.gz`)]);
      expect(r.exitCode).toBe(0);
      const recs = records(r.stdout);
      const findings = recs.filter((x) => x.type === 'finding' && x.kind !== 'copy_fallback') as Finding[];
      const header = JSON.parse(gunzipSync(readFileSync(join(dir, `${name}.trace.gz`))).toString().split('\n')[0]) as { t0: string };
      expect(judge(acct(), raw(), findings, BigInt(header.t0))).toEqual([]);
    });
  }

  it('the --aggregate captures carry its histograms', () => {
    const hist = names.filter((n) => n.startsWith('aggregate-'))
      .flatMap((n) => parseRaw(readFileSync(join(dir, `${n}.txt`), 'utf8')).filter((l) => l.kind === 'hist'));
    expect(new Set(hist.map((l) => l.f.get('name')))).toEqual(new Set(['page_refs', 'puts', 'life_us']));
  });

  it("each program header's Example lines appear verbatim in one capture", () => {
    const captures = names.map((n) => readFileSync(join(dir, `${n}.txt`), 'utf8').split('\n'));
    for (const spec of PROGRAMS) {
      const bt = readFileSync(join(packageRoot, 'probes', spec.file), 'utf8');
      const lines = headerExampleLines(bt);
      expect(lines.length, spec.file).toBeGreaterThanOrEqual(3);
      expect(captures.some((c) => lines.every((l) => c.includes(l))), spec.file).toBe(true);
    }
  });
});
