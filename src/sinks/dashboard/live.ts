// The dashboard as `zctrace live`'s output (and the demo's): a source with the live facts
// (pack, kernel, uptime), `q` stopping the run, and after a run that ended by itself (duration,
// the demo's workload done, bpftrace dying) the last state kept on screen until `q`.
import { release } from 'node:os';
import type { Engine } from '../../engine/engine.js';
import { fmtNs } from '../../util/format.js';
import { Dashboard } from './dashboard.js';
import type { Layout } from './layout.js';
import type { DashboardSource, SourceFacts } from './source.js';
import type { TerminalIO } from './terminal.js';

/** What the live run gives the dashboard. */
export interface LiveDashboardOptions {
  layout: Layout;
  engine: Engine;
  pack: string;
  /** The user quit (q, Ctrl-C): stop the run. */
  onQuit: () => void;
  /** Drawing failed: stop the run with this error (the terminal is already restored). */
  onError: (err: unknown) => void;
  io?: TerminalIO;
}

/** Stops that the user asked for (or a signal): the screen goes at once, no waiting for q. */
function userStop(reason: string | undefined): boolean {
  return reason === undefined || reason === 'quit' || reason.startsWith('interrupted') || reason === 'could not start';
}

/** A live dashboard session. */
export class LiveDashboard implements DashboardSource {
  readonly mode = 'live';
  readonly engine: Engine;
  private attachedAt: bigint | undefined;
  private endedAt: bigint | undefined;
  private endedWhy: string | undefined;
  private quitAsked = false;
  private readonly dash: Dashboard;

  /** Opens the dashboard (throws UsageError, nothing changed, when the terminal cannot show it). */
  constructor(private readonly o: LiveDashboardOptions) {
    this.engine = o.engine;
    this.dash = new Dashboard({ layout: o.layout, source: this, io: o.io, instead: { headless: 'use --headless for NDJSON records' } });
    this.dash.open();
    this.dash.closed.then(() => {
      this.quitAsked = true;
      o.onQuit();
    }, (err) => o.onError(err));
  }

  facts(): SourceFacts {
    const until = this.endedAt ?? process.hrtime.bigint(); // the clock stops with the run
    const up = this.attachedAt === undefined ? 'not attached yet' : `up ${fmtNs(Number(until - this.attachedAt))}`;
    const state = this.endedWhy !== undefined ? `ended: ${this.endedWhy} (q quits)` : this.attachedAt === undefined ? 'attaching probes…' : 'tracing';
    return { source: 'live', pack: this.o.pack, kernel: release(), clock: up, state };
  }

  /** The probes are attached: uptime starts. */
  attached(): void {
    this.attachedAt = process.hrtime.bigint();
    this.dash.refresh();
  }

  /**
   * The run has stopped (tracing is over). When it ended by itself, the final state stays on
   * screen until the user quits; then, or at once, the terminal is restored.
   */
  async finish(reason: string | undefined): Promise<void> {
    if (!userStop(reason) && !this.quitAsked) {
      this.endedWhy = reason;
      this.endedAt = process.hrtime.bigint();
      this.dash.refresh();
      await this.dash.closed.catch(() => {});
    }
    this.dash.close();
  }

  /** Restores the terminal now (idempotent). */
  close(): void {
    this.dash.close();
  }
}
