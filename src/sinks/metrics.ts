// Prometheus metrics of a live run (`live --metrics`), read from the engine when Prometheus
// scrapes: the same counters the report and the `stats`/`summary` records print (totals()), so
// the three can never disagree, in matching mode too (the kernel's `count` events feed the same
// counters). Nothing is counted here. Labels stay bounded: `pack`, `kind`, and the socket and
// process tables (at most 1024 rows each, the rest folded into "(other)") only when asked for.
// The metric names are a contract: deploy/ (alert rules, the Grafana dashboard) and
// docs/fleet.md use them, and a test checks every name they use against a real scrape.
import type * as hdr from 'hdr-histogram-js';
import { Counter, Gauge, Registry } from 'prom-client';
import type { Engine } from '../engine/engine.js';
import { snapshot, totals, type Totals } from '../engine/snapshot.js';
import { FINDING_KINDS } from '../engine/types.js';

/** Upper bounds (s) of the lifetime histogram: one at each default threshold (the demo's 3 s
 *  and live's 10 s leak thresholds, the alert rules' 1 s) and decades around them. */
export const LIFETIME_BUCKETS_S = [0.0001, 0.001, 0.01, 0.1, 0.5, 1, 3, 10, 30, 60, 300];

export interface MetricsOptions {
  engine: Engine;
  pack: string;
  program: string;
  mode: string;
  version: string;
  /** Opt-in per-socket and per-process series (labels `sock`, `process` = "pid/comm"). */
  per?: { socket?: boolean; process?: boolean };
}

/** The registry of one live run. `attached` is the probes' state (0 before and after). */
export class Metrics {
  readonly registry = new Registry();
  attached = false;
  private readonly attachedGauge: Gauge;
  private readonly probes: Record<string, string>;
  private cached: { at: number; tot: Totals } | undefined;

  constructor(private readonly o: MetricsOptions) {
    const reg = this.registry;
    const pack = { pack: o.pack };
    const tot = (): Totals => this.totals();
    new Gauge({ name: 'zctrace_build_info', help: 'zctrace version and the Node.js it runs on (always 1)', labelNames: ['version', 'nodejs'], registers: [reg] })
      .set({ version: o.version, nodejs: process.version }, 1);
    const probes = { ...pack, program: o.program, mode: o.mode };
    this.attachedGauge = new Gauge({
      name: 'zctrace_probes_attached', help: '1 while the probe pack is attached and tracing, 0 while attaching or stopping',
      labelNames: ['pack', 'program', 'mode'], registers: [reg],
    });
    this.probes = probes;
    this.setAttached(false);
    new Gauge({ name: 'zctrace_leak_threshold_seconds', help: 'age at which an open lifetime is reported as a leak (--leak-after)', labelNames: ['pack'], registers: [reg] })
      .set(pack, o.engine.leakAfterNs / 1e9);

    const counter = (name: string, help: string, value: (t: Totals) => number): void => {
      new Counter({
        name, help, labelNames: ['pack'], registers: [reg],
        collect() { this.reset(); this.inc(pack, value(tot())); },
      });
    };
    const gauge = (name: string, help: string, value: (t: Totals) => number): void => {
      new Gauge({ name, help, labelNames: ['pack'], registers: [reg], collect() { this.set(pack, value(tot())); } });
    };
    counter('zctrace_events_total', 'events that reached zctrace (in matching mode: the lines sent on, not the sends)', (t) => t.events);
    counter('zctrace_lost_events_total', 'events the probes dropped (findings on lifetimes open across the gap are uncertain)', (t) => t.lost);
    for (const [name, help, pick] of [
      ['zctrace_findings_total', 'findings by kind (uncertain ones excluded)', (t: Totals) => t.findings],
      ['zctrace_uncertain_findings_total', 'findings on lifetimes open across lost events, or on evidence the probe could not make certain', (t: Totals) => t.uncertain],
    ] as const) {
      new Counter({
        name, help, labelNames: ['pack', 'kind'], registers: [reg],
        // Every kind from the first scrape, at 0: increase() needs a sample before the first finding.
        collect() { this.reset(); const c = pick(tot()); for (const kind of FINDING_KINDS) this.inc({ ...pack, kind }, c[kind]); },
      });
    }
    counter('zctrace_lifetimes_started_total', 'holder lifetimes started (in matching mode: every send, counted in the kernel or seen)', (t) => t.lifetimes);
    counter('zctrace_lifetimes_completed_total', 'lifetimes completed: done, every reference dropped', (t) => t.completed);
    counter('zctrace_lifetimes_abandoned_total', 'lifetimes ended by their socket closing before completion', (t) => t.abandoned);
    counter('zctrace_lifetimes_early_freed_total', 'lifetimes ended by a free before completion', (t) => t.earlyFreed);
    counter('zctrace_completions_total', 'lifetimes that reached done (the copy-fallback ratio\'s denominator)', () => o.engine.stats.doneLifetimes);
    counter('zctrace_copy_fallbacks_total', 'completions the kernel made by copying (zero-copy silently became a copy)', (t) => t.copied);
    counter('zctrace_resends_total', 'sends that repeated a buffer still in flight with unchanged bytes (not a finding)', (t) => t.resends);
    counter('zctrace_send_errors_total', 'failed zero-copy sends (ENOBUFS and others)', (t) => t.sendErrors);
    gauge('zctrace_in_flight_holders', 'lifetimes open and younger than the leak threshold', (t) => t.inFlight);
    gauge('zctrace_leaked_holders', 'lifetimes open and older than the leak threshold', (t) => t.open - t.inFlight);
    gauge('zctrace_in_flight_bytes', 'bytes of the open lifetimes (pinned by TCP)', (t) => t.bytesInFlight);
    reg.registerMetric(new LifetimeHistogram(o.engine, o.pack) as never);
    if (o.per?.socket) this.breakdown('socket', 'sock', (s) => s.bySock);
    if (o.per?.process) this.breakdown('process', 'process', (s) => s.byProc);
  }

  /** Sets the attach state (the probes-detached alert watches it). */
  setAttached(v: boolean): void {
    this.attached = v;
    this.attachedGauge.set(this.probes, v ? 1 : 0);
  }

  /** The exposition text of a scrape. */
  text(): Promise<string> {
    this.cached = undefined;
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  // One totals() per scrape, shared by every metric's collect.
  private totals(): Totals {
    const now = Date.now();
    if (this.cached === undefined || now - this.cached.at > 50) this.cached = { at: now, tot: totals(this.o.engine) };
    return this.cached.tot;
  }

  // Per-socket or per-process series from the engine's breakdown tables (the report's BY tables).
  private breakdown(what: 'socket' | 'process', label: string, rows: (s: ReturnType<typeof snapshot>) => ReturnType<typeof snapshot>['bySock']): void {
    const engine = this.o.engine;
    const fields = [
      ['lifetimes_total', 'lifetimes finished without a finding', 'lifetimes', 'counter'],
      ['bytes_total', 'bytes of those lifetimes', 'bytes', 'counter'],
      ['findings_total', 'lifetimes with a finding', 'findings', 'counter'],
      ['open_holders', 'lifetimes open now', 'open', 'gauge'],
    ] as const;
    let snap: { at: number; rows: ReturnType<typeof snapshot>['bySock'] } | undefined;
    const get = (): ReturnType<typeof snapshot>['bySock'] => {
      const now = Date.now();
      if (snap === undefined || now - snap.at > 50) snap = { at: now, rows: rows(snapshot(engine, 1025)) };
      return snap.rows;
    };
    const pack = this.o.pack;
    for (const [suffix, help, key, type] of fields) {
      const name = `zctrace_${what}_${suffix}`;
      const labelNames = ['pack', label];
      // Rows come and go (folded into "(other)" past the cap): each scrape starts afresh.
      if (type === 'counter') {
        new Counter({ name, help: `per ${what} (opt-in): ${help}`, labelNames, registers: [this.registry], collect() { this.reset(); for (const r of get()) this.inc({ pack, [label]: r.key }, r[key]); } });
      } else {
        new Gauge({ name, help: `per ${what} (opt-in): ${help}`, labelNames, registers: [this.registry], collect() { this.reset(); for (const r of get()) this.set({ pack, [label]: r.key }, r[key]); } });
      }
    }
  }
}

/**
 * The lifetime histogram (submit → done) in seconds, read from the engine's HDR histogram at
 * each scrape (prom-client's Histogram can only count observations itself). A bucket counts the
 * values whose HDR bucket's upper end is ≤ its bound (3 significant digits); in matching mode
 * the kernel counts lifetimes in power-of-two buckets, which the engine records at their middle.
 */
class LifetimeHistogram {
  readonly name = 'zctrace_lifetime_seconds';
  readonly help = 'holder lifetime from submit (or first get) to done, in seconds';
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  constructor(private readonly engine: Engine, private readonly pack: string) {}

  get(): { name: string; help: string; type: string; aggregator: string; values: { metricName: string; labels: Record<string, string | number>; value: number }[] } {
    const s = this.engine.stats;
    const h = s.durations as hdr.Histogram & Partial<{ recordedValuesIterator: { reset(): void; hasNext(): boolean; next(): { valueIteratedTo: number; countAtValueIteratedTo: number } } }>;
    const counts = new Array<number>(LIFETIME_BUCKETS_S.length).fill(0);
    const it = h.recordedValuesIterator;
    if (it !== undefined) {
      it.reset();
      while (it.hasNext()) {
        const v = it.next();
        const sec = v.valueIteratedTo / 1e9;
        for (let i = 0; i < LIFETIME_BUCKETS_S.length; i++) if (sec <= LIFETIME_BUCKETS_S[i]) counts[i] += v.countAtValueIteratedTo;
      }
    }
    const pack = this.pack;
    return {
      name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: [
        ...LIFETIME_BUCKETS_S.map((le, i) => ({ metricName: `${this.name}_bucket`, labels: { pack, le }, value: counts[i] })),
        { metricName: `${this.name}_bucket`, labels: { pack, le: '+Inf' }, value: h.totalCount },
        { metricName: `${this.name}_sum`, labels: { pack }, value: s.durationSum / 1e9 },
        { metricName: `${this.name}_count`, labels: { pack }, value: h.totalCount },
      ],
    };
  }
}
