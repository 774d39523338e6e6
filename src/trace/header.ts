// The trace header (line 1 of every trace file) and how a new one is filled in.
import { hostname, release } from 'node:os';

/** The format major version this code writes and reads; a newer major is refused. */
export const FORMAT_VERSION = 1;

export interface TraceHeader {
  type: 'header';
  format: 'zctrace-trace';
  version: number;
  pack?: string;
  host?: string;
  kernel?: string;
  clock?: 'monotonic_ns';
  /** Absolute CLOCK_MONOTONIC ns of t = 0, as a decimal string (it can exceed 2^53). */
  t0?: string;
  started?: string;
  /** Set on synthetic traces: how they were made. */
  generated?: string;
  command?: string;
  /** Rotated recordings: which file of the capture (1 = the first); all share t0. */
  segment?: number;
}

/** A header for a trace being recorded now on this host. */
export function newHeader(fields: Partial<TraceHeader>): TraceHeader {
  return {
    type: 'header', format: 'zctrace-trace', version: FORMAT_VERSION,
    host: hostname(), kernel: release(), clock: 'monotonic_ns', started: new Date().toISOString(),
    ...fields,
  };
}
