// The timeline export, checked against the trace-event format's rules that Perfetto's JSON
// importer relies on (no trace processor is packaged for npm or Debian, so no load test): a
// JSON object with a traceEvents array; every event a known phase with pid/tid and µs times;
// every async begin closed by an end of the same cat, id, name and track, not before it; every
// track named by process_name metadata. And against zctrace itself: one slice per lifetime,
// named by how it ended as the summary counts them, one instant per finding at its time on its
// socket's track, and the in-flight counter ending where the summary does.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { records, ROOT, zctrace } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'zctrace-perfetto-'));

describe('export --format perfetto', () => {
  it('a valid Chrome trace-event file that draws exactly what replay reports', async () => {
    const trace = join(ROOT, 'examples', 'demo.trace.gz');
    const out = join(dir, 'demo.json');
    const r = await zctrace(['export', '--format', 'perfetto', '-o', out, trace]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*demo\.json: \d+ lifetimes, \d+ findings/);
    const doc = JSON.parse(readFileSync(out, 'utf8'));
    expect(Array.isArray(doc.traceEvents)).toBe(true);
    const evs: Record<string, any>[] = doc.traceEvents;
    const named = new Set(evs.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid));
    const open = new Map<string, Record<string, any>>();
    const slices: { name: string; pid: number; b: number; e: number }[] = [];
    for (const e of evs) {
      expect(['b', 'e', 'i', 'C', 'M']).toContain(e.ph);
      expect(Number.isInteger(e.pid) && Number.isInteger(e.tid)).toBe(true);
      expect(typeof e.name).toBe('string');
      expect(named.has(e.pid)).toBe(true);
      if (e.ph === 'M') continue;
      expect(typeof e.ts === 'number' && e.ts >= 0).toBe(true);
      const key = `${e.cat}|${e.id}|${e.pid}`;
      if (e.ph === 'b') {
        expect(open.has(key)).toBe(false);
        open.set(key, e);
      } else if (e.ph === 'e') {
        const b = open.get(key);
        expect(b, `end without begin: ${key}`).toBeDefined();
        expect(b!.name).toBe(e.name);
        expect(e.ts).toBeGreaterThanOrEqual(b!.ts);
        open.delete(key);
        slices.push({ name: e.name, pid: e.pid, b: b!.ts, e: e.ts });
      } else if (e.ph === 'i') {
        expect(['p', 't', 'g']).toContain(e.s);
      } else if (e.ph === 'C') {
        for (const v of Object.values(e.args)) expect(typeof v).toBe('number');
      }
    }
    expect(open.size).toBe(0);

    const rep = records((await zctrace(['replay', '--json', trace])).stdout);
    const summary = rep.at(-1)!;
    const count = (re: RegExp) => slices.filter((s) => re.test(s.name)).length;
    expect(slices.length).toBe(summary.lifetimes);
    expect(count(/^completed/)).toBe(summary.completed);
    expect(count(/^early freed/)).toBe(summary.earlyFreed);
    expect(count(/^abandoned/)).toBe(summary.abandoned);
    expect(count(/open at end/)).toBe(summary.open);
    // slices last as long as the lifetimes: the sum of the completed ones is the summary's (ns → µs)
    const done = slices.filter((x) => /^completed/.test(x.name));
    const total = done.reduce((a, x) => a + (x.e - x.b), 0);
    expect(total).toBeCloseTo((summary.duration.mean * summary.duration.count) / 1000, 0);
    // one track per socket
    const socks = new Set(evs.filter((e) => e.ph === 'M' && /^sock /.test(e.args.name)).map((e) => e.args.name));
    expect(socks.size).toBe(new Set(summary.bySock.map((b: any) => `sock ${b.key}`)).size);
    // findings: same kinds, holders and times as replay's records
    const findings = rep.filter((x) => x.type === 'finding');
    expect(findings.length).toBeGreaterThan(0);
    const inst = evs.filter((e) => e.ph === 'i').map((e) => `${e.name} ${e.args.obj} ${e.ts}`).sort();
    expect(inst).toEqual(findings.map((f) => `${f.uncertain ? `${f.kind} (uncertain)` : f.kind} ${f.obj} ${f.t / 1000}`).sort());
    const counters = evs.filter((e) => e.ph === 'C');
    expect(counters.at(-1)!.args).toEqual({ holders: summary.open, bytes: summary.bytesInFlight });
    expect(Math.max(...counters.map((c) => c.args.holders))).toBeGreaterThan(1);
  });

  it('refuses an unknown format, and writes to stdout by default', async () => {
    const bad = await zctrace(['export', '--format', 'pprof', join(ROOT, 'examples', 'demo.trace.gz')]);
    expect(bad.exitCode).toBe(2);
    const ok = await zctrace(['export', '--format', 'perfetto', join(ROOT, 'examples', 'demo.trace.gz')]);
    expect(ok.exitCode).toBe(0);
    expect(JSON.parse(ok.stdout).traceEvents.length).toBeGreaterThan(10);
  });
});
