// `live --metrics` on this kernel: real bpftrace, the bundled MSG_ZEROCOPY sender with early
// frees, in matching mode (counts aggregated in BPF, only the faulted sends streamed) and in
// streaming mode. The metrics scraped after the workload equal the workload's own accounting
// and the run's summary record, and every metric deploy/ (alert rules, Grafana dashboard) uses
// is really exported.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { records, ROOT } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';
import { workloadAs } from '../helpers/workload.js';
import { deployMetricNames, liveWithMetrics } from '../helpers/metrics.js';

const skip = liveSkipReason();
let sender = '';

describe.skipIf(skip !== null)(`live --metrics on this kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'workloads')]);
    sender = workloadAs('msgzc', 'zcmetrics');
  });

  for (const mode of ['match', 'stream'] as const) {
    it(`${mode}: the scrape equals the workload's accounting and the summary; every metric deploy/ names is exported`, async () => {
      const { z, scrape } = await liveWithMetrics(['--pack', 'msgzc-syscalls', '--mode', mode, '--comm', 'zcmetrics', '--leak-after', '2s', '--interval', '500ms']);
      const before = await scrape();
      const P = '{pack="msgzc-syscalls"}';
      const attached = [...before.entries()].find(([k]) => k.startsWith('zctrace_probes_attached{'));
      expect(attached?.[1]).toBe(1);
      expect(attached?.[0]).toContain(`mode="${mode === 'match' ? 'matching' : 'streaming'}"`);
      const w = await execa(sender, ['--fault', 'early-free', '--count', '64'], { timeout: 60_000 });
      const acct = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!);
      await new Promise((r) => setTimeout(r, 2500)); // the last per-second counts and the reorder window
      const m = await scrape();
      z.kill('SIGINT');
      const r = await z;
      expect(r.exitCode, String(r.stderr)).toBe(0);
      const summary = records(String(r.stdout)).at(-1)!;
      expect(summary.type).toBe('summary');

      expect(m.get(`zctrace_lifetimes_started_total${P}`)).toBe(acct.sends);
      expect(m.get(`zctrace_lifetimes_started_total${P}`)).toBe(summary.lifetimes);
      expect(m.get(`zctrace_findings_total{pack="msgzc-syscalls",kind="early_free"}`)).toBe(acct.faulted_ids.length);
      expect(m.get(`zctrace_findings_total{pack="msgzc-syscalls",kind="early_free"}`)).toBe(summary.findings.early_free);
      expect(m.get(`zctrace_lifetimes_early_freed_total${P}`)).toBe(summary.earlyFreed);
      expect(m.get(`zctrace_lifetimes_completed_total${P}`)).toBe(summary.completed);
      expect(m.get(`zctrace_copy_fallbacks_total${P}`)).toBe(summary.copied);
      expect(m.get(`zctrace_lifetime_seconds_count${P}`)).toBe(summary.duration.count);
      expect(m.get(`zctrace_lifetime_seconds_bucket{pack="msgzc-syscalls",le="+Inf"}`)).toBe(summary.duration.count);
      expect(summary.duration.count).toBeGreaterThan(0);
      expect(m.get(`zctrace_lost_events_total${P}`)).toBe(0);
      expect(m.get(`zctrace_in_flight_holders${P}`)).toBe(0);
      // every name deploy/ uses is in a real scrape
      const exported = new Set([...m.keys()].map((k) => k.replace(/\{.*$/, '')));
      const missing = deployMetricNames().filter((n) => !exported.has(n));
      expect(missing).toEqual([]);
    });
  }
});
