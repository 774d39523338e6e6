// The NDJSON output of `replay --json` and `live --headless`: one record per line, each with a
// "type" (docs/records.md), written by pino so alerting pipelines get its fast, asynchronous,
// line-atomic output. The pino level says how much a record matters: findings are "warn",
// uncertain findings, leak_resolved, stats and the summary are "info".
import pino, { type Logger } from 'pino';
import type { EngineRecord } from '../engine/types.js';
import type { Totals } from '../engine/snapshot.js';
import type { Breakdown } from '../engine/stats.js';

/** The last record of a run. */
export interface SummaryRecord extends Totals {
  type: 'summary';
  leakAfterNs: number;
  /** Lines of the input dropped by --on-bad-line=skip|warn. */
  badLines: number;
  /** The input ended mid-record (an interrupted writer). */
  truncated: boolean;
  /** What was read or traced: a file name, or the pack. */
  source: string;
  /** Why the run ended: end of input, duration reached, interrupted, a failure. */
  ended: string;
  /** live: whether bpftrace delivered everything traced before the stop (false: it was stopped
   *  while behind, and what its buffers held is lost, not counted in `lost`). */
  drained?: boolean;
  /** Holders in flight and bytes pinned over the trace (at most 60 points, evenly spread). */
  inflight: { t: number; holders: number; bytes: number }[];
  /** The oldest lifetimes still open at the end (at most 10). */
  oldest: { obj: string; seq: number; start: number; age: number; refs: number; bytes: number; leaked: boolean; sock?: string; pid?: number; comm?: string }[];
  /** Per socket and per "pid/comm": lifetimes, bytes, open now, findings (the 20 busiest). */
  bySock: Breakdown[];
  byProc: Breakdown[];
}

/** Periodic record of `live --headless`. */
export interface StatsRecord extends Totals {
  type: 'stats';
  /** Events per second over the last interval. */
  rate: number;
}

/** First record of `live --headless`, written once the probes are attached. */
export interface StartRecord {
  type: 'start';
  pack: string;
  /** The program bpftrace runs (the variant chosen for this kernel). */
  program: string;
  /** streaming: a line per event; aggregate: counted in BPF maps; matching: sends matched to
   *  their completions in the kernel, only what needs judging sent on. */
  mode: 'streaming' | 'aggregate' | 'matching';
  kernel: string;
  version: string;
  filters: { pid?: number; port?: number; comm?: string };
  leakAfterNs: number;
  /** Trace clock (ns) when attached: records' times are on the same clock. */
  t: number;
}

export class JsonSink {
  private readonly log: Logger;

  /**
   * `out`: a file descriptor (stdout by default; tests pass their own) or a destination of whole
   * lines (`live --output FILE`: a rotating file, records-file.ts).
   */
  constructor(out: number | { write(s: string): unknown; flush?(cb?: (err?: Error) => void): void } = 1, private readonly onBrokenPipe: () => void = () => process.exit(0)) {
    const options = { base: null, timestamp: false, formatters: { level: (label: string) => ({ level: label }) } };
    if (typeof out !== 'number') {
      this.log = pino(options, out as never);
      return;
    }
    const dest = pino.destination({ dest: out, sync: false, minLength: 4096 });
    // `zctrace … | head`: the reader went away; end quietly rather than crash on EPIPE.
    dest.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') this.onBrokenPipe();
      else throw err;
    });
    this.log = pino(options, dest);
  }

  record(r: EngineRecord): void {
    if (r.type === 'finding' && !r.uncertain) this.log.warn(r);
    else this.log.info(r);
  }

  /** Written at once (not held in the output buffer): a script waits for it to start its work. */
  start(r: StartRecord): void {
    this.log.info(r);
    this.log.flush();
  }

  /** Flushed too: a stats record is a sign of life, and a late one looks like a stall. */
  stats(r: StatsRecord): void {
    this.log.info(r);
    this.log.flush();
  }

  summary(r: SummaryRecord): void {
    this.log.info(r);
  }

  /** Writes out everything buffered; call before exiting. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.log.flush(() => resolve()));
  }
}
