// `zctrace replay FILE`: a trace file through the engine, with a progress line on a terminal.
import { statSync } from 'node:fs';
import type { FindingKind } from '../engine/types.js';
import { TraceReader, type BadLineMode } from '../trace/reader.js';
import { fmtCount } from '../util/format.js';
import { Analysis } from './analysis.js';

export interface ReplayOptions {
  leakAfterNs: number;
  json: boolean;
  failOn?: Set<FindingKind>;
  onBadLine: BadLineMode;
  timeToleranceNs: number;
  /** Show progress on stderr (only when it is a terminal). */
  progress: boolean;
}

/** Replays `file`; resolves to whether a --fail-on finding occurred. Throws TraceInputError. */
export async function replayFile(file: string, opts: ReplayOptions): Promise<{ failHit: boolean }> {
  const analysis = new Analysis({ leakAfterNs: opts.leakAfterNs, json: opts.json, failOn: opts.failOn });
  const reader = new TraceReader(file, { onBadLine: opts.onBadLine, timeToleranceNs: opts.timeToleranceNs });
  const progress = opts.progress && process.stderr.isTTY ? new Progress(file) : undefined;
  const engine = analysis.engine;
  await reader.forEach((e) => {
    engine.push(e);
    if (progress !== undefined && (reader.events & 0xffff) === 0) progress.update(reader.events);
  });
  progress?.done();
  const h = reader.header;
  const notes: string[] = [];
  if (h?.generated) notes.push(`synthetic trace: ${h.generated}`);
  if (h?.kernel) notes.push(`pack ${h?.pack ?? '?'} on ${h?.host ?? '?'} (kernel ${h?.kernel ?? '?'}), started ${h?.started ?? '?'}`);
  await analysis.finish({
    title: `zctrace replay of ${file} (leak threshold ${engine.leakAfterNs / 1e9} s)`,
    notes, badLines: reader.badLines, truncated: reader.truncated, source: file, ended: 'end of input',
  });
  return { failHit: analysis.failHit };
}

/** A one-line progress meter on stderr, redrawn at most twice a second. */
class Progress {
  private last = 0;
  private readonly size: number;
  constructor(private readonly file: string) {
    this.size = statSync(file).size;
  }
  update(events: number): void {
    const now = Date.now();
    if (now - this.last < 500) return;
    this.last = now;
    process.stderr.write(`\r\x1b[Kreading ${this.file} (${(this.size / 1048576).toFixed(0)} MiB): ${fmtCount(events)} events`);
  }
  done(): void {
    if (this.last > 0) process.stderr.write('\r\x1b[K');
  }
}
