// What the dashboard draws from, whichever mode feeds it: the engine (snapshots, story
// lookups), a few facts for the status bar, and in replay the pacing controls.
import type { Engine } from '../../engine/engine.js';

/** Status-bar facts the mode knows and the engine does not. */
export interface SourceFacts {
  /** "live", or the trace file replayed. */
  source: string;
  pack: string;
  kernel: string;
  /** live: time since the probes attached; replay: position in the trace. */
  clock: string;
  /** What the run is doing: attaching, tracing, playing 10x, paused, finished, ended (why). */
  state: string;
}

/** Replay pacing, driven by keys (see src/run/tui-replay.ts). */
export interface ReplayControls {
  readonly paused: boolean;
  togglePause(): void;
  faster(): void;
  slower(): void;
  /** One event, then paused. */
  step(): void;
  /** Runs at full speed until the next finding, then pauses. */
  nextFinding(): void;
}

/** A feed the dashboard can show. */
export interface DashboardSource {
  readonly engine: Engine;
  readonly mode: 'live' | 'replay';
  facts(): SourceFacts;
  readonly replay?: ReplayControls;
}
