// Writes a trace append-only, so whatever happens the file on disk is a valid trace up to
// its last complete line: lines are buffered and written whole; a `.gz` trace is written as a
// sequence of complete gzip members (one per flush), which gunzip reads as one stream, so a
// crash loses at most the unflushed tail. A failed write (full disk) stops writing and says
// how much was kept, instead of throwing from the middle of the pipeline. With a rotation
// policy (util/segmented-file.ts) the trace goes on in a fresh file that starts with the same
// header plus its `segment` number: times stay on the first file's clock (t0), so `replay`
// reads the segments in order as one trace.
import type { ZcEvent } from '../engine/types.js';
import { TraceOutputError } from '../util/errors.js';
import { SegmentedFile, type Rotation } from '../util/segmented-file.js';
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
  private readonly flushBytes: number;

  private constructor(private readonly file: SegmentedFile, private readonly onError: (e: TraceOutputError) => void, rotate?: Rotation) {
    // Rotating at a size: flush often enough that a file ends close to it.
    this.flushBytes = rotate?.maxBytes !== undefined ? Math.max(4096, Math.min(FLUSH_BYTES, rotate.maxBytes / 8)) : FLUSH_BYTES;
  }

  get path(): string {
    return this.file.path;
  }

  /** Files started so far (1 without rotation). */
  get files(): number {
    return this.file.index;
  }

  /** Creates the file (refusing to overwrite unless `force`) and writes the header. */
  static create(path: string, header: TraceHeader, opts: { force?: boolean; rotate?: Rotation; onError?: (e: TraceOutputError) => void } = {}): TraceWriter {
    const head = (index: number): string => `${JSON.stringify(opts.rotate ? { ...header, segment: index } : header)}\n`;
    const file = new SegmentedFile(path, { force: opts.force, rotate: opts.rotate, head });
    if (file.failed) throw file.failed;
    return new TraceWriter(file, opts.onError ?? (() => {}), opts.rotate);
  }

  /** Queues one event line. */
  write(e: ZcEvent): void {
    if (this.failed || this.closed) return;
    const line = JSON.stringify(e) + '\n';
    this.pending.push(line);
    this.pendingBytes += line.length;
    this.pendingEvents++;
    this.events++;
    if (this.pendingBytes >= this.flushBytes) this.flush();
  }

  /** Writes what is pending (call it on a timer: it bounds what a crash can lose). */
  flush(): void {
    if (this.failed || this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    if (this.file.write(text)) {
      this.eventsWritten += this.pendingEvents;
      this.pendingEvents = 0;
      return;
    }
    const e = this.file.failed!;
    this.failed = new TraceOutputError(`${e.message}: recording stopped; the file holds the ${this.eventsWritten} events before the failure`, e.hint);
    this.onError(this.failed);
  }

  /** Flushes, syncs and closes. Safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.file.close();
  }
}
