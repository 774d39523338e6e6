// One table from outcome to exit status, so scripts and alerting can rely on it.
import {
  BpftraceError, ProbeUnusableError, TraceInputError, TraceOutputError, UsageError, WorkloadError,
} from '../util/errors.js';

export const EXIT = {
  /** Ran to the end; no finding of a --fail-on kind. */
  ok: 0,
  /** Tracing failed at run time: bpftrace died, a pack cannot run here, the disk filled up. */
  failure: 1,
  /** Bad usage or unreadable input. */
  usage: 2,
  /** A finding of a --fail-on kind occurred. */
  findings: 3,
} as const;

/** The exit status for an error that ended the run. */
export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError || err instanceof TraceInputError) return EXIT.usage;
  if (err instanceof ProbeUnusableError || err instanceof BpftraceError || err instanceof TraceOutputError || err instanceof WorkloadError) return EXIT.failure;
  return EXIT.failure;
}
