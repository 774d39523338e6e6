// The Prometheus metrics are the engine's own counters read at scrape time: for a stream with
// every kind of event (streamed lifetimes, the kernel's `count` events of matching mode, lost
// events, findings), each metric equals the figure the summary and the report print.
import { describe, expect, it } from 'vitest';
import { LIFETIME_BUCKETS_S, Metrics } from '../../src/sinks/metrics.js';
import { totals } from '../../src/engine/snapshot.js';
import type { ZcEvent } from '../../src/engine/types.js';
import { balanced, run } from '../helpers/engine.js';
import { parseExposition } from '../helpers/metrics.js';

const EVENTS: Omit<ZcEvent, 't'>[] = [
  ...balanced('0xa'), ...balanced('0xb', 2, { bytes: 8192 }),
  { ev: 'submit', obj: '0xc', bytes: 4096, sock: 's1' }, { ev: 'free', obj: '0xc', reason: 'unmap' }, // early free
  { ev: 'submit', obj: '0xd', bytes: 100, sock: 's2' }, { ev: 'done', obj: '0xd', copied: true }, // copy fallback
  { ev: 'submit', obj: '0xe', bytes: 100, sock: 's1', resend: true },
  { ev: 'lost', n: 7 },
  { ev: 'send_error', sock: 's1', errno: 'ENOBUFS' },
  // matching mode: what the kernel counted
  { ev: 'count', counter: 'done', n: 40, sock: 's1', pid: 1, comm: 'tgt' },
  { ev: 'count', counter: 'bytes', n: 40 * 65536, sock: 's1', pid: 1, comm: 'tgt' },
  { ev: 'count', counter: 'copied', n: 30, sock: 's1' },
  { ev: 'count', counter: 'resends', n: 3, sock: 's1' },
  { ev: 'count', counter: 'life', n: 25, bucket: 65536 },
  { ev: 'count', counter: 'life', n: 15, bucket: 4 * 1024 * 1024 * 1024 }, // 3.2 s: past the 3 s bound
  { ev: 'submit', obj: '0xf', bytes: 64, sock: 's3' }, // still open at the end
];

describe('metrics', () => {
  it('equal the totals the summary and the report print, in streaming and matching mode alike', async () => {
    const { engine } = run(EVENTS, 10e9, false);
    const m = new Metrics({ engine, pack: 'p', program: 'p.bt', mode: 'matching', version: '9.9.9', per: { socket: true } });
    const v = parseExposition(await m.text());
    const t = totals(engine);
    const one = (name: string, extra = ''): number | undefined => v.get(`${name}{pack="p"${extra}}`);
    expect(one('zctrace_lifetimes_started_total')).toBe(t.lifetimes);
    expect(t.lifetimes).toBe(6 + 40); // the count events are in
    expect(one('zctrace_lifetimes_completed_total')).toBe(t.completed);
    expect(one('zctrace_lifetimes_early_freed_total')).toBe(t.earlyFreed);
    expect(one('zctrace_copy_fallbacks_total')).toBe(t.copied);
    expect(one('zctrace_copy_fallbacks_total')).toBe(31);
    expect(one('zctrace_copy_fallbacks_total')! / one('zctrace_completions_total')!).toBeCloseTo(t.copiedRatio, 12);
    expect(one('zctrace_resends_total')).toBe(t.resends);
    expect(one('zctrace_resends_total')).toBe(4);
    expect(one('zctrace_lost_events_total')).toBe(7);
    expect(one('zctrace_events_total')).toBe(t.events);
    expect(one('zctrace_send_errors_total')).toBe(t.sendErrors);
    expect(one('zctrace_in_flight_bytes')).toBe(t.bytesInFlight);
    expect(one('zctrace_in_flight_holders')).toBe(t.inFlight);
    expect(one('zctrace_leaked_holders')).toBe(t.open - t.inFlight);
    for (const [kind, n] of Object.entries(t.findings)) expect(one('zctrace_findings_total', `,kind="${kind}"`)).toBe(n);
    expect(one('zctrace_findings_total', ',kind="early_free"')).toBe(1);
    expect(one('zctrace_findings_total', ',kind="enobufs"')).toBe(1);
    expect(v.get('zctrace_uncertain_findings_total{pack="p",kind="leak"}')).toBe(0);
    // the histogram: count and sum as the report's distribution; buckets cumulative
    expect(one('zctrace_lifetime_seconds_count')).toBe(t.duration.count);
    expect(one('zctrace_lifetime_seconds_sum')).toBeCloseTo((t.duration.mean * t.duration.count) / 1e9, 9);
    const buckets = LIFETIME_BUCKETS_S.map((le) => one('zctrace_lifetime_seconds_bucket', `,le="${le}"`)!);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]).toBeGreaterThanOrEqual(buckets[i - 1]);
    expect(one('zctrace_lifetime_seconds_bucket', ',le="+Inf"')).toBe(t.duration.count);
    expect(one('zctrace_lifetime_seconds_bucket', ',le="1"')).toBe(t.duration.count - 15);
    expect(one('zctrace_lifetime_seconds_bucket', ',le="10"')).toBe(t.duration.count);
    // opt-in per-socket series; none per process (not asked for), no holder or pid label anywhere
    expect(v.get('zctrace_socket_lifetimes_total{pack="p",sock="s1"}')).toBeGreaterThan(40);
    expect([...v.keys()].some((k) => k.startsWith('zctrace_process_'))).toBe(false);
    expect([...v.keys()].some((k) => /obj=|pid=/.test(k))).toBe(false);
    expect(v.get('zctrace_build_info{version="9.9.9",nodejs="' + process.version + '"}')).toBe(1);
  });

  it('attach state follows the run', async () => {
    const { engine } = run([]);
    const m = new Metrics({ engine, pack: 'p', program: 'p.bt', mode: 'streaming', version: '0' });
    const key = 'zctrace_probes_attached{pack="p",program="p.bt",mode="streaming"}';
    expect(parseExposition(await m.text()).get(key)).toBe(0);
    m.setAttached(true);
    expect(parseExposition(await m.text()).get(key)).toBe(1);
    // every finding kind is there from the first scrape, at 0: increase() needs that sample
    expect(parseExposition(await m.text()).get('zctrace_findings_total{pack="p",kind="early_free"}')).toBe(0);
  });
});
