// Writes a trace append-only, so whatever happens the file on disk is a valid trace up to
// its last complete line: lines are buffered and written whole; a `.gz` trace is written as a
// sequence of complete gzip members (one per flush), which gunzip reads as one stream, so a
// crash loses at most the unflushed tail. A failed write (full disk) stops writing and says
// how much was kept, instead of throwing from the middle of the pipeline.
import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { gzipSync, constants as zc } from 'node:zlib';
import type { ZcEvent } from '../engine/types.js';
import { TraceOutputError } from '../util/errors.js';
import type { TraceHeader } from './header.js';

/** Flush when this much is pending even if the caller's timer has not fired. */
const FLUSH_BYTES = 256 * 1024;

export class TraceWriter {
  /** Events handed to the writer, and those known to be on disk. */
  events = 0;
  eventsWritten = 0;
  failed: TraceOutputError | undefined;
  private pending: string[] = [];
  private pendingBytes = 0;
  private pendingEvents = 0;
  private closed = false;
  private readonly gz: boolean;

  private constructor(readonly path: string, private readonly fd: number, private readonly onError: (e: TraceOutputError) => void) {
    this.gz = path.endsWith('.gz');
  }

  /** Creates the file (refusing to overwrite unless `force`) and writes the header. */
  static create(path: string, header: TraceHeader, opts: { force?: boolean; onError?: (e: TraceOutputError) => void } = {}): TraceWriter {
    let fd: number;
    try {
      fd = openSync(path, opts.force ? 'w' : 'wx', 0o644);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') throw new TraceOutputError(`${path} already exists`, 'choose another name or pass --force to overwrite');
      throw new TraceOutputError(`cannot create ${path}: ${e.message}`);
    }
    const w = new TraceWriter(path, fd, opts.onError ?? (() => {}));
    w.pending.push(JSON.stringify(header) + '\n');
    w.flush();
    if (w.failed) throw w.failed;
    return w;
  }

  /** Queues one event line. */
  write(e: ZcEvent): void {
    if (this.failed || this.closed) return;
    const line = JSON.stringify(e) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.pendingEvents++;
    this.events++;
    if (this.pendingBytes >= FLUSH_BYTES) this.flush();
  }

  /** Writes what is pending (call it on a timer: it bounds what a crash can lose). */
  flush(): void {
    if (this.failed || this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    const data = this.gz ? gzipSync(text, { level: 3, flush: zc.Z_FINISH }) : Buffer.from(text);
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
      this.eventsWritten += this.pendingEvents;
      this.pendingEvents = 0;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const what = e.code === 'ENOSPC' ? 'disk full' : e.message;
      this.failed = new TraceOutputError(
        `writing ${this.path} failed (${what}): recording stopped; the file holds the ${this.eventsWritten} events before the failure`,
        e.code === 'ENOSPC' ? 'free some space, or record to another file system' : undefined,
      );
      this.onError(this.failed);
    }
  }

  /** Flushes, syncs and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    try {
      if (!this.failed) fsyncSync(this.fd);
    } catch {
      // fsync can fail on odd file systems; the data is already written.
    }
    closeSync(this.fd);
  }
}
