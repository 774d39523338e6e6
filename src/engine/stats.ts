// Running statistics of the stream: counts, distributions, the in-flight series and breakdowns.
// Everything here is bounded in memory whatever the trace length (histograms have fixed
// buckets, the series halves its resolution when full, breakdowns fold into "(other)").
import * as hdr from 'hdr-histogram-js';
import type { EventKind, FindingKind, ZcEvent } from './types.js';

/** Percentiles of a distribution, in its own unit. */
export interface Distribution {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Aggregates per socket or per process. */
export interface Breakdown {
  key: string;
  lifetimes: number;
  bytes: number;
  open: number;
  findings: number;
  /** Sends that repeated a buffer still in flight (not a finding). */
  resends: number;
}

/** One point of the in-flight series: holders open and bytes they pin, at trace time t. */
export interface InflightPoint {
  t: number;
  holders: number;
  bytes: number;
}

const SERIES_CAP = 720;
export const REFS_BUCKETS = 65;
export const DURATION_BUCKETS = 40;
const BREAKDOWN_CAP = 1024;
const OTHER = '(other)';

function histogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1, highestTrackableValue: 2, autoResize: true,
    numberOfSignificantValueDigits: 3, bitBucketSize: 32,
  });
}

/**
 * Reads a distribution out of an HDR histogram. The mean comes from a running sum: the
 * histogram computes it by walking every bucket, which was most of a dashboard frame's cost.
 */
export function distribution(h: hdr.Histogram, sum: number): Distribution {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: h.getValueAtPercentile(50),
    p90: h.getValueAtPercentile(90),
    p99: h.getValueAtPercentile(99),
    max: h.maxValue,
    mean: sum / h.totalCount,
  };
}

/** Counters and distributions the engine updates as it goes. */
export class Stats {
  readonly events: Record<string, number> = {};
  started = 0;
  completed = 0;
  abandoned = 0;
  /** Lifetimes ended by a free before their completion (an early free). */
  earlyFreed = 0;
  /** Lifetimes that reached `done`, and those of them the kernel copied. */
  doneLifetimes = 0;
  copiedLifetimes = 0;
  lost = 0;
  /** Events about holders the trace never saw start (attached mid-flight). */
  untracked = 0;
  sendErrors = 0;
  /** Sends that repeated a buffer still in flight (resends of unchanged bytes: no finding). */
  resends = 0;
  readonly findings: Partial<Record<FindingKind, number>> = {};
  readonly uncertain: Partial<Record<FindingKind, number>> = {};
  /** Lifetime durations, submit/first get → done, in ns. */
  readonly durations = histogram();
  /** References taken per page per lifetime. */
  readonly refsPerPage = histogram();
  /** Sums of the values recorded in the two histograms (for their means). */
  durationSum = 0;
  refsSum = 0;
  /** Bar-chart buckets: refsBuckets[n] = pages with n references (last bucket: that many or more). */
  readonly refsBuckets: number[] = new Array(REFS_BUCKETS).fill(0);
  /** durationBuckets[i] = lifetimes lasting [2^i, 2^(i+1)) µs (first bucket: under 2 µs). */
  readonly durationBuckets: number[] = new Array(DURATION_BUCKETS).fill(0);
  readonly series: InflightPoint[] = [];
  seriesStep: number;
  private nextSample = -1;
  readonly bySock = new Map<string, Breakdown>();
  readonly byProc = new Map<string, Breakdown>();

  constructor(sampleEveryNs: number) {
    this.seriesStep = sampleEveryNs;
  }

  countEvent(ev: EventKind): void {
    this.events[ev] = (this.events[ev] ?? 0) + 1;
  }

  /** Records one lifetime's duration (ns). */
  recordDuration(ns: number): void {
    const v = Math.max(1, ns);
    this.durations.recordValue(v);
    this.durationSum += v;
    const us = v / 1000;
    const i = us < 2 ? 0 : Math.min(DURATION_BUCKETS - 1, Math.floor(Math.log2(us)));
    this.durationBuckets[i]++;
  }

  /** Records the references one page took during one lifetime. */
  recordPageRefs(n: number): void {
    const v = Math.max(1, n);
    this.refsPerPage.recordValue(v);
    this.refsSum += v;
    this.refsBuckets[Math.min(REFS_BUCKETS - 1, v)]++;
  }

  countFinding(kind: FindingKind, uncertain: boolean): void {
    const into = uncertain ? this.uncertain : this.findings;
    into[kind] = (into[kind] ?? 0) + 1;
  }

  /** Samples the in-flight level once per step of trace time; halves resolution when full. */
  sample(now: number, holders: number, bytes: number): void {
    if (this.nextSample < 0) this.nextSample = now;
    if (now < this.nextSample) return;
    this.series.push({ t: now, holders, bytes });
    this.nextSample = now + this.seriesStep;
    if (this.series.length >= SERIES_CAP) {
      // Keep every other point (the larger of each pair) and sample half as often.
      const kept: InflightPoint[] = [];
      for (let i = 0; i + 1 < this.series.length; i += 2) {
        const a = this.series[i], b = this.series[i + 1];
        kept.push(a.holders >= b.holders ? a : b);
      }
      this.series.length = 0;
      this.series.push(...kept);
      this.seriesStep *= 2;
    }
  }

  /**
   * What the kernel counted in matching mode (a `count` event): lifetimes that completed
   * cleanly there, with their bytes, copies, resends, those abandoned at close, and the
   * lifetime histogram (n lifetimes under `bucket` ns, recorded at the bucket's middle).
   */
  addCount(e: ZcEvent): void {
    const n = e.n ?? 0;
    const proc = procKey(e.pid, e.comm);
    switch (e.counter) {
      case 'done':
        this.started += n;
        this.completed += n;
        this.doneLifetimes += n;
        this.row(this.bySock, e.sock).lifetimes += n;
        this.row(this.byProc, proc).lifetimes += n;
        break;
      case 'bytes':
        this.row(this.bySock, e.sock).bytes += n;
        this.row(this.byProc, proc).bytes += n;
        break;
      case 'copied':
        this.copiedLifetimes += n;
        break;
      case 'resends':
        this.resends += n;
        this.row(this.bySock, e.sock).resends += n;
        break;
      case 'abandoned':
        this.started += n;
        this.abandoned += n;
        break;
      case 'life': {
        if (n <= 0 || e.bucket === undefined) break;
        const v = Math.max(1, Math.round(e.bucket * 0.75)); // the middle of [bucket/2, bucket)
        this.durations.recordValueWithCount(v, n);
        this.durationSum += v * n;
        const us = v / 1000;
        this.durationBuckets[us < 2 ? 0 : Math.min(DURATION_BUCKETS - 1, Math.floor(Math.log2(us)))] += n;
        break;
      }
    }
  }

  /** Counts one resend, in total and for its socket. */
  countResend(sock: string | undefined): void {
    this.resends++;
    this.row(this.bySock, sock).resends++;
  }

  /** Adds one finished lifetime to a breakdown table; returns its row. */
  addTo(table: Map<string, Breakdown>, key: string | undefined, bytes: number, finding: boolean): Breakdown {
    const row = this.row(table, key);
    if (finding) row.findings++;
    else {
      row.lifetimes++;
      row.bytes += bytes;
    }
    return row;
  }

  // The row of `key`, made on first use; beyond BREAKDOWN_CAP keys, new ones fold into "(other)".
  private row(table: Map<string, Breakdown>, key: string | undefined): Breakdown {
    const k = key ?? '(unknown)';
    let row = table.get(k);
    if (row === undefined) {
      const fold = table.size >= BREAKDOWN_CAP;
      row = table.get(fold ? OTHER : k);
      if (row === undefined) {
        row = { key: fold ? OTHER : k, lifetimes: 0, bytes: 0, open: 0, findings: 0, resends: 0 };
        table.set(row.key, row);
      }
    }
    return row;
  }
}

// The last key made: a breakdown row is looked up for every finished lifetime, nearly always
// of the same process as the one before, and a new string per lifetime was measurable.
let lastKey: { pid: number | undefined; comm: string | undefined; key: string } | undefined;

/** `comm`, or an equal string kept from before (so finished lifetimes share one copy). */
export function sharedComm(comm: string | undefined): string | undefined {
  return lastKey !== undefined && lastKey.comm === comm ? lastKey.comm : comm;
}

/** The "pid/comm" key of the per-process breakdown. */
export function procKey(pid: number | undefined, comm: string | undefined): string | undefined {
  if (pid === undefined && comm === undefined) return undefined;
  if (lastKey !== undefined && lastKey.pid === pid && lastKey.comm === comm) return lastKey.key;
  lastKey = { pid, comm, key: `${pid ?? '?'}/${comm ?? '?'}` };
  return lastKey.key;
}
