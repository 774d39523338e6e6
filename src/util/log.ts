// Diagnostics for whoever debugs zctrace itself (spawn arguments, bpftrace's stderr, timings):
// pino, JSON lines on stderr, silent unless --log-level (or ZCTRACE_LOG) asks. What users must
// see (errors, warnings) is printed as plain sentences, not logged.
import pino from 'pino';

export const log = pino({ name: 'zctrace', level: process.env.ZCTRACE_LOG ?? 'silent' }, pino.destination({ dest: 2, sync: true }));

/** Sets the diagnostic level (trace, debug, info, warn, error, silent). */
export function setLogLevel(level: string): void {
  log.level = level;
}

/** A warning for people: one line on stderr. */
export function warn(msg: string): void {
  process.stderr.write(`zctrace: warning: ${msg}\n`);
}
