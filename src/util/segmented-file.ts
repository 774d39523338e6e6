// An append-only output file that can rotate: the trace of `--record` and the records of
// `--output`. Text is written in whole-line chunks, each a complete gzip member when the name
// ends in .gz (gunzip reads the members as one stream), so the file on disk is always valid up
// to its last chunk. With a rotation policy, the chunk that would take the file past its size,
// or the first chunk after its age, goes to a fresh file instead: the full one is renamed to
// the next numbered segment (trace.gz → trace.000001.gz, findings.ndjson → findings.000001.ndjson)
// and the oldest segments are removed so at most `keep` files remain, the active one included.
// Each new file starts with the caller's head (a trace's header): every file stands alone.
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { gzipSync, constants as zc } from 'node:zlib';
import { TraceOutputError } from './errors.js';

/** When to start a new file, and how many to keep. */
export interface Rotation {
  /** Rotate before a chunk would take the file past this many bytes (as written: compressed for .gz). */
  maxBytes?: number;
  /** Rotate at the first chunk written this long (ms) after the file was started. */
  maxAgeMs?: number;
  /** Files kept, the active one included (≥ 1). */
  keep: number;
}

/** The name of segment `n` of `path`, the number before the extension (two if the last is .gz):
 *  trace.gz → trace.000001.gz, x.trace.gz → x.000001.trace.gz, findings.ndjson → findings.000001.ndjson. */
export function segmentName(path: string, n: number): string {
  const [, stem, ext = ''] = /^(.+?)((?:\.[^.]+)?\.gz|\.[^.]+)?$/.exec(basename(path))!;
  return join(dirname(path), `${stem}.${String(n).padStart(6, '0')}${ext}`);
}

/** The rotated segments of `path` on disk, oldest first. */
export function segmentsOf(path: string): { n: number; path: string }[] {
  const dir = dirname(path);
  const pattern = new RegExp(`^${escape(basename(segmentName(path, 0))).replace('000000', '(\\d{6,})')}$`);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.map((name) => ({ m: pattern.exec(name), name }))
    .filter((x) => x.m !== null).map((x) => ({ n: Number(x.m![1]), path: join(dir, x.name) }))
    .sort((a, b) => a.n - b.n);
}

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

export class SegmentedFile {
  /** Which file this is since the run started (1 = the first); segments on disk are numbered apart. */
  index = 1;
  /** Bytes written to the active file. */
  bytes = 0;
  /** Bytes of the head at the top of the active file (a file holding only its head never rotates). */
  private headBytes = 0;
  failed: TraceOutputError | undefined;
  private fd: number;
  private started = Date.now();
  private nextSegment: number;
  private readonly gz: boolean;

  /**
   * Creates `path` (refusing to overwrite unless `force`). With rotation an existing `path`
   * (a previous run's active file) becomes a segment instead of being overwritten.
   */
  constructor(
    readonly path: string,
    private readonly opts: { force?: boolean; rotate?: Rotation; head?: (index: number) => string; onError?: (e: TraceOutputError) => void } = {},
  ) {
    this.gz = path.endsWith('.gz');
    const segs = opts.rotate ? segmentsOf(path) : [];
    this.nextSegment = (segs.at(-1)?.n ?? 0) + 1;
    if (opts.rotate && existsSync(path)) this.retire();
    this.fd = this.create(opts.force === true || opts.rotate !== undefined);
    this.writeHead();
  }

  /** Writes one chunk of whole lines, rotating first if the policy says so. False once failed. */
  write(text: string): boolean {
    if (this.failed) return false;
    const data = this.encode(text);
    const r = this.opts.rotate;
    if (r && this.bytes > this.headBytes && ((r.maxBytes !== undefined && this.bytes + data.length > r.maxBytes) || (r.maxAgeMs !== undefined && Date.now() - this.started >= r.maxAgeMs))) {
      this.rotate();
      if (this.failed) return false;
    }
    return this.put(data);
  }

  /** Syncs and closes the active file. Safe to call twice. */
  close(): void {
    if (this.fd < 0) return;
    try {
      if (!this.failed) fsyncSync(this.fd);
    } catch {
      // fsync can fail on odd file systems; the data is already written.
    }
    closeSync(this.fd);
    this.fd = -1;
  }

  private writeHead(): void {
    this.bytes = 0;
    this.headBytes = 0;
    const head = this.opts.head?.(this.index);
    if (head !== undefined && this.put(this.encode(head))) this.headBytes = this.bytes;
  }

  private rotate(): void {
    this.close();
    this.retire();
    try {
      this.fd = this.create(true);
    } catch (err) {
      this.fail(err as TraceOutputError);
      return;
    }
    this.index++;
    this.started = Date.now();
    this.writeHead();
  }

  // The active file becomes the next segment; the oldest go until `keep` files remain.
  private retire(): void {
    renameSync(this.path, segmentName(this.path, this.nextSegment++));
    const segs = segmentsOf(this.path);
    const keep = Math.max(0, (this.opts.rotate?.keep ?? 1) - 1);
    for (const s of segs.slice(0, Math.max(0, segs.length - keep))) {
      try {
        unlinkSync(s.path);
      } catch {
        // already gone (removed by hand): nothing to do
      }
    }
  }

  private create(overwrite: boolean): number {
    try {
      return openSync(this.path, overwrite ? 'w' : 'wx', 0o644);
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      if (e.code === 'EEXIST') throw new TraceOutputError(`${this.path} already exists`, 'choose another name or pass --force to overwrite');
      throw new TraceOutputError(`cannot create ${this.path}: ${e.message}`);
    }
  }

  private encode(text: string): Buffer {
    return this.gz ? gzipSync(text, { level: 3, flush: zc.Z_FINISH }) : Buffer.from(text);
  }

  private put(data: Buffer): boolean {
    try {
      let off = 0;
      while (off < data.length) off += writeSync(this.fd, data, off, data.length - off);
      this.bytes += data.length;
      return true;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      const what = e.code === 'ENOSPC' ? 'disk full' : e.message;
      this.fail(new TraceOutputError(`writing ${this.path} failed (${what})`, e.code === 'ENOSPC' ? 'free some space, or write to another file system' : undefined));
      return false;
    }
  }

  private fail(e: TraceOutputError): void {
    this.failed = e;
    this.opts.onError?.(e);
  }
}
