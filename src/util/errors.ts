// Typed errors: each kind carries its context and, where one exists, the fix; the CLI maps the
// class to an exit code in one table (cli/exit-codes.ts) and prints one line.

/** Base: a message for people, and an optional hint on how to fix it. */
export class ZctraceError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad flags or arguments. */
export class UsageError extends ZctraceError {}

/** A trace file that cannot be read as a trace (or a line of it, when --on-bad-line=error). */
export class TraceInputError extends ZctraceError {
  constructor(readonly file: string, readonly line: number | undefined, what: string, hint?: string) {
    super(line === undefined ? `${file}: ${what}` : `${file}:${line}: ${what}`, hint);
  }
}

/** Writing a trace failed (full disk, permissions); what was written before stays valid. */
export class TraceOutputError extends ZctraceError {}

/** A probe pack cannot run here (missing tracepoint, no kprobes, not root, no bpftrace). */
export class ProbeUnusableError extends ZctraceError {
  constructor(readonly pack: string, reason: string, hint?: string) {
    super(`pack ${pack}: ${reason}`, hint);
  }
}

/** bpftrace failed to start, or died while tracing. */
export class BpftraceError extends ZctraceError {}

/** A bundled workload (demo) failed. */
export class WorkloadError extends ZctraceError {}
