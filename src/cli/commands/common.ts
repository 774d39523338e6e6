// Flags shared by every command that runs the engine (replay, live, demo).
import type { Command } from 'commander';
import type { FindingKind } from '../../engine/types.js';
import { parseDuration, parseKinds } from '../options.js';

export function addAnalysisOptions(cmd: Command): Command {
  return cmd
    .option('--leak-after <duration>', 'age at which an open lifetime is reported as a leak (500ms, 10s, 2m)', '10s')
    .option('--fail-on <kinds>', 'exit with status 3 if a finding of these kinds occurs (comma-separated, or "any")');
}

/** The validated values of the shared flags. */
export function analysisOptions(o: Record<string, unknown>): { leakAfterNs: number; failOn?: Set<FindingKind> } {
  return {
    leakAfterNs: parseDuration('--leak-after', String(o.leakAfter)),
    failOn: o.failOn === undefined ? undefined : parseKinds('--fail-on', String(o.failOn)),
  };
}
