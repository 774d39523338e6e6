// Reads a trace file as a stream of event batches: header first, gzip by file name, memory
// bounded by the chunk size whatever the file size, every bad line named by file and line.
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { EVENT_KINDS, type EventKind, type ZcEvent } from '../engine/types.js';
import { TraceInputError } from '../util/errors.js';
import { ByteLineSplitter } from '../util/lines.js';
import { EventLineParser } from './line-parser.js';
import { eventError, headerError, isEvent, isHeader } from './schema.js';
import { FORMAT_VERSION, type TraceHeader } from './header.js';

export type BadLineMode = 'error' | 'skip' | 'warn';

export interface ReaderOptions {
  /** What to do with a bad event line: stop (default), drop silently, or drop and say so. */
  onBadLine?: BadLineMode;
  /** Longest line accepted (bytes); longer ones are bad lines and are never buffered whole. */
  maxLineBytes?: number;
  /** How far (ns) time may step back before a line is bad (probes on several CPUs interleave). */
  timeToleranceNs?: number;
  /** Where warnings go (one line each, no trailing newline). */
  warn?: (msg: string) => void;
}

/** How many warnings about bad lines are printed before the rest are only counted. */
const WARN_LIMIT = 20;
const KNOWN = new Set<EventKind>(EVENT_KINDS);
const HINT = 'use --on-bad-line=skip or --on-bad-line=warn to read past bad lines';

export class TraceReader {
  header: TraceHeader | undefined;
  events = 0;
  badLines = 0;
  /** The file ended mid-line or mid-stream (a writer that was interrupted). */
  truncated = false;
  lines = 0;
  private maxT = -Infinity;
  private batch: ZcEvent[] = [];
  private sink: ((e: ZcEvent) => void) | undefined;
  private readonly mode: BadLineMode;
  private readonly tolerance: number;
  private readonly warn: (msg: string) => void;
  private warned = 0;
  private readonly parser = new EventLineParser();

  constructor(readonly file: string, private readonly opts: ReaderOptions = {}) {
    this.mode = opts.onBadLine ?? 'error';
    this.tolerance = opts.timeToleranceNs ?? 1e9;
    this.warn = opts.warn ?? ((m) => process.stderr.write(`${m}\n`));
  }

  /**
   * Calls `onEvent` for each event in file order. The fast path: each event goes to the engine
   * as soon as it is parsed, so it dies young unless the engine keeps it.
   */
  async forEach(onEvent: (e: ZcEvent) => void): Promise<void> {
    this.sink = onEvent;
    for await (const batch of this.batches()) for (const e of batch) onEvent(e);
  }

  /** Yields events in file order, a batch per chunk read (for consumers that pace themselves). */
  async *batches(): AsyncGenerator<ZcEvent[]> {
    const splitter = new ByteLineSplitter(
      (buf, start, end, n) => this.onBytes(buf, start, end, n),
      (n, bytes) => this.bad(n, `line of ${bytes} bytes is longer than the ${this.opts.maxLineBytes ?? 1 << 20}-byte limit`),
      this.opts.maxLineBytes,
    );
    const src = this.open();
    try {
      for await (const chunk of src) {
        splitter.push(chunk as Buffer);
        if (this.batch.length > 0) {
          const out = this.batch;
          this.batch = [];
          yield out;
        }
      }
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'ENOENT') throw new TraceInputError(this.file, undefined, 'no such file');
      if (e.code === 'EISDIR') throw new TraceInputError(this.file, undefined, 'is a directory, not a trace file');
      if (e.code === 'EACCES') throw new TraceInputError(this.file, undefined, 'permission denied');
      if (e.code === 'Z_BUF_ERROR' || e.code === 'Z_DATA_ERROR') {
        if (this.header === undefined && splitter.lineNo === 0) {
          throw new TraceInputError(this.file, undefined, `not a gzip file (${e.message})`, 'only name a trace *.gz when it is gzip-compressed');
        }
        this.truncated = true;
        this.warn(`${this.file}: compressed data ends early after line ${splitter.lineNo} (${e.message}); read what was there`);
      } else if (err instanceof TraceInputError) {
        throw err;
      } else {
        throw new TraceInputError(this.file, undefined, e.message);
      }
    } finally {
      src.destroy();
    }
    const last = splitter.end();
    if (last !== undefined) this.onLastLine(last.line, last.lineNo);
    this.lines = splitter.lineNo;
    if (this.header === undefined) throw new TraceInputError(this.file, undefined, 'empty file: no header line');
    if (this.warned > WARN_LIMIT) this.warn(`${this.file}: ${this.warned - WARN_LIMIT} more bad line warning(s) not shown`);
    if (this.batch.length > 0) {
      const out = this.batch;
      this.batch = [];
      yield out;
    }
  }

  private open(): Readable {
    const raw = createReadStream(this.file, { highWaterMark: 1 << 20 });
    if (!this.file.endsWith('.gz')) return raw;
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    return raw.pipe(gunzip);
  }

  private onLastLine(line: string, n: number): void {
    // An unterminated last line that parses is a complete record; one that does not is what
    // an interrupted writer leaves behind: a warning, never an error. (Line 1 is the header,
    // judged as such.)
    if (n === 1) {
      this.onLine(line, n);
      return;
    }
    try {
      JSON.parse(line);
    } catch {
      this.truncated = true;
      this.warn(`${this.file}:${n}: truncated last line skipped (was the writer interrupted?)`);
      return;
    }
    this.onLine(line, n);
  }

  /**
   * A line as bytes [start, end) of `buf` (no newline, no CR). The fast path: a valid event as
   * zctrace writes them, parsed and checked from the bytes; any other line goes to onLine.
   */
  private onBytes(buf: Buffer, start: number, end: number, n: number): void {
    if (start === end) return;
    const e = this.header === undefined ? undefined : this.parser.parse(buf, start, end);
    if (e === undefined) this.onLine(buf.toString('utf8', start, end), n);
    else this.onEvent(e, n);
  }

  private onLine(line: string, n: number): void {
    if (line.length === 0) return;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      if (n === 1 && line.charCodeAt(0) === 0x1f) {
        throw new TraceInputError(this.file, 1, 'looks gzip-compressed', 'name the file *.gz');
      }
      if (n === 1) throw new TraceInputError(this.file, 1, 'not a zctrace trace: the first line is not JSON');
      this.bad(n, 'not JSON');
      return;
    }
    if (this.header === undefined) {
      this.readHeader(v, n);
      return;
    }
    this.onValue(v, n);
  }

  /** A parsed line after the header. */
  private onValue(v: unknown, n: number): void {
    // One check of the fields, no allocation; a refused line is explained apart.
    if (isEvent(v)) this.onEvent(v, n);
    else this.badEvent(v, n);
  }

  /** A valid event. */
  private onEvent(e: ZcEvent, n: number): void {
    // A tick is the live run's clock, not a kernel event: it trails the clock by the reorder
    // window, and when bpftrace delivers lines late (seen in the lab: over a second behind on a
    // one-vCPU TCG guest under netem) the lines that follow a tick are older than it. Live fed
    // them in that order and replay does the same; only kernel events are held to the order.
    if (e.ev === 'tick') {
      this.events++;
      if (this.sink !== undefined) this.sink(e);
      else this.batch.push(e);
      return;
    }
    if (e.t < this.maxT - this.tolerance) {
      this.bad(n, `time goes backwards by ${this.maxT - e.t} ns (more than the ${this.tolerance} ns tolerance)`);
      return;
    }
    if (e.t > this.maxT) this.maxT = e.t;
    this.events++;
    if (this.sink !== undefined) this.sink(e);
    else this.batch.push(e);
  }

  /** Says what is wrong with a line that is not a valid event. */
  private badEvent(v: unknown, n: number): void {
    // Checked before the schema so the message says what is wrong rather than what follows.
    const ev = typeof v === 'object' && v !== null ? (v as { ev?: unknown }).ev : undefined;
    if (ev !== undefined && !KNOWN.has(ev as EventKind)) {
      this.bad(n, `unknown ev ${JSON.stringify(ev)}`);
      return;
    }
    const header = typeof v === 'object' && v !== null && (v as { type?: unknown }).type === 'header';
    this.bad(n, header ? 'a second header (were two traces concatenated?)' : eventError(v));
  }

  private readHeader(v: unknown, n: number): void {
    const h = v as Partial<TraceHeader>;
    if (typeof h !== 'object' || h === null || h.type !== 'header' || h.format !== 'zctrace-trace') {
      throw new TraceInputError(this.file, n, 'missing header: line 1 must be {"type":"header","format":"zctrace-trace","version":1,...}');
    }
    if (typeof h.version === 'number' && h.version > FORMAT_VERSION) {
      throw new TraceInputError(this.file, n, `written in trace format version ${h.version}; this zctrace reads version ${FORMAT_VERSION}`, 'upgrade zctrace');
    }
    if (!isHeader(v)) throw new TraceInputError(this.file, n, `bad header: ${headerError(v)}`);
    this.header = v;
  }

  private bad(n: number, what: string): void {
    this.badLines++;
    if (this.mode === 'error') throw new TraceInputError(this.file, n, what, HINT);
    if (this.mode === 'warn' && ++this.warned <= WARN_LIMIT) this.warn(`${this.file}:${n}: ${what} (skipped)`);
  }
}
