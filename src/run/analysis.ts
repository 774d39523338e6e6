// The engine with its outputs attached: the one object replay, live and demo all feed, so the
// three modes judge events the same way and end with the same records.
import { Engine } from '../engine/engine.js';
import { snapshot, totals } from '../engine/snapshot.js';
import type { EngineRecord, FindingKind } from '../engine/types.js';
import { JsonSink, type SummaryRecord } from '../sinks/json.js';
import { ReportSink, type ReportContext } from '../sinks/report.js';

export interface AnalysisOptions {
  leakAfterNs: number;
  /** NDJSON records on stdout instead of a report at the end. */
  json: boolean;
  /** Print the report at the end when not json (default true). */
  report?: boolean;
  /** Finding kinds that make the run exit with status 3. */
  failOn?: Set<FindingKind>;
  /** Where the NDJSON records go (default stdout): `live --output FILE`. */
  jsonOut?: ConstructorParameters<typeof JsonSink>[0];
  /** Also called with every record (the dashboard's findings log, live status). */
  onRecord?: (r: EngineRecord) => void;
}

export class Analysis {
  readonly engine: Engine;
  readonly json: JsonSink | undefined;
  readonly report: ReportSink | undefined;
  /** A finding of a --fail-on kind was seen (uncertain ones do not count). */
  failHit = false;

  constructor(private readonly opts: AnalysisOptions) {
    this.json = opts.json ? new JsonSink(opts.jsonOut) : undefined;
    this.report = opts.json || opts.report === false ? undefined : new ReportSink();
    this.engine = new Engine({ leakAfterNs: opts.leakAfterNs, onRecord: (r) => this.onRecord(r) });
  }

  private onRecord(r: EngineRecord): void {
    if (r.type === 'finding' && !r.uncertain && this.opts.failOn?.has(r.kind)) this.failHit = true;
    this.json?.record(r);
    this.report?.record(r);
    this.opts.onRecord?.(r);
  }

  /** Ends the run: leaks at the end are judged, then the summary or the report is written. */
  async finish(ctx: ReportContext & { source: string; ended: string; drained?: boolean }): Promise<void> {
    this.engine.end();
    if (this.json) {
      const snap = snapshot(this.engine, 20);
      const { series, oldest, bySock, byProc } = snap;
      const step = Math.max(1, Math.ceil(series.length / 60));
      const summary: SummaryRecord = {
        type: 'summary', ...totals(this.engine), leakAfterNs: this.engine.leakAfterNs,
        badLines: ctx.badLines, truncated: ctx.truncated, source: ctx.source, ended: ctx.ended,
        ...(ctx.drained === undefined ? {} : { drained: ctx.drained }),
        inflight: series.filter((_, i) => i % step === 0),
        oldest: oldest.slice(0, 10).map((h) => ({
          obj: h.obj, seq: h.seq, start: h.start, age: h.age, refs: h.refs, bytes: h.bytes, leaked: h.leaked, sock: h.sock, pid: h.pid, comm: h.comm,
        })),
        bySock, byProc,
      };
      this.json.summary(summary);
      await this.json.flush();
    } else if (this.report) {
      process.stdout.write(this.report.render(snapshot(this.engine), ctx));
    }
  }
}
