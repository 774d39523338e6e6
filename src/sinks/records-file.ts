// The NDJSON records written to a file (`live --output FILE`) for a log shipper to tail: a
// destination pino writes to, buffered and written in whole lines once a second (and at 64 KiB),
// rotating by size and age like a recording (util/segmented-file.ts), gzip when named *.gz.
// Each file is complete NDJSON on its own. A shipper that follows renames (Vector, Fluent Bit,
// the OpenTelemetry Collector's filelog receiver) reads every line exactly once.
import type { TraceOutputError } from '../util/errors.js';
import { SegmentedFile, type Rotation } from '../util/segmented-file.js';

const FLUSH_BYTES = 64 * 1024;

export class RecordsFile {
  private pending: string[] = [];
  private pendingBytes = 0;
  private readonly file: SegmentedFile;
  private readonly timer: NodeJS.Timeout;

  constructor(path: string, opts: { force?: boolean; rotate?: Rotation; onError?: (e: TraceOutputError) => void }) {
    this.file = new SegmentedFile(path, { force: opts.force, rotate: opts.rotate, onError: opts.onError });
    this.timer = setInterval(() => this.flushSync(), 1000);
    this.timer.unref();
  }

  /** pino's destination interface: one or more whole lines. */
  write(s: string): boolean {
    this.pending.push(s);
    this.pendingBytes += s.length;
    if (this.pendingBytes >= FLUSH_BYTES) this.flushSync();
    return true;
  }

  /** Writes what is pending. */
  flushSync(): void {
    if (this.pending.length === 0) return;
    const text = this.pending.join('');
    this.pending = [];
    this.pendingBytes = 0;
    this.file.write(text);
  }

  /** pino's logger.flush(cb) calls this. */
  flush(cb?: (err?: Error) => void): void {
    this.flushSync();
    cb?.(this.file.failed);
  }

  /** Flushes, syncs and closes. */
  close(): void {
    clearInterval(this.timer);
    this.flushSync();
    this.file.close();
  }
}
