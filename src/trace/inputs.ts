// What `replay` and `export` read: one trace file, or several files or directories holding the
// files of one rotated capture (`live --record FILE --record-max-size …`). They are put in
// capture order from their headers (same t0, then `segment`), whatever their names or the
// order given, so they are read as one trace; files of different captures are refused, since
// their clocks do not continue one another.
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { TraceInputError, UsageError } from '../util/errors.js';
import type { TraceHeader } from './header.js';
import { isHeader } from './schema.js';

/** One file of the input, with its header when it was read ahead. */
export interface TraceInput {
  file: string;
  header?: TraceHeader;
}

/** The files to read, in order. A single file is passed through untouched (its reader judges it). */
export async function traceInputs(args: string[], warn: (m: string) => void = (m) => process.stderr.write(`${m}\n`)): Promise<TraceInput[]> {
  if (args.length === 1 && !isDir(args[0])) return [{ file: args[0] }];
  const found: TraceInput[] = [];
  for (const a of args) {
    if (isDir(a)) {
      for (const name of readdirSync(a).sort()) {
        const file = join(a, name);
        if (!statSync(file).isFile()) continue;
        const header = await headerOf(file);
        if (header === undefined) warn(`${file}: not a zctrace trace, skipped`);
        else found.push({ file, header });
      }
    } else {
      const header = await headerOf(a);
      if (header === undefined) throw new TraceInputError(a, 1, 'not a zctrace trace: line 1 is not a trace header');
      found.push({ file: a, header });
    }
  }
  if (found.length === 0) throw new TraceInputError(args.join(' '), undefined, 'no zctrace trace files there');
  const captures = new Map<string, TraceInput[]>();
  for (const f of found) {
    // the files of one capture share host, clock origin and start (a rotated file repeats the header)
    const key = `${f.header!.host ?? ''} ${f.header!.t0 ?? ''} ${f.header!.started ?? ''}`;
    captures.set(key, [...(captures.get(key) ?? []), f]);
  }
  if (captures.size > 1) {
    const list = [...captures.values()].map((fs) => `${fs[0].header!.started ?? '?'}: ${fs.map((f) => f.file).join(' ')}`).join('; ');
    throw new UsageError(`these files come from ${captures.size} different captures (${list})`, 'replay the files of one capture at a time');
  }
  return found.sort((a, b) => (a.header!.segment ?? 0) - (b.header!.segment ?? 0));
}

/** Segments missing between the first and the last given (rotated away, or not given). */
export function missingSegments(inputs: TraceInput[]): { before: number; gaps: number } {
  const segs = inputs.map((i) => i.header?.segment).filter((s): s is number => s !== undefined);
  if (segs.length === 0) return { before: 0, gaps: 0 };
  let gaps = 0;
  for (let i = 1; i < segs.length; i++) gaps += Math.max(0, segs[i] - segs[i - 1] - 1);
  return { before: segs[0] - 1, gaps };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The header of a trace file, or undefined if its first line is not one. */
async function headerOf(file: string): Promise<TraceHeader | undefined> {
  const raw = createReadStream(file, { highWaterMark: 64 * 1024 });
  let src: Readable = raw;
  if (file.endsWith('.gz')) {
    const gunzip = createGunzip();
    raw.on('error', (e) => gunzip.destroy(e));
    src = raw.pipe(gunzip);
  }
  let text = '';
  try {
    for await (const chunk of src) {
      text += (chunk as Buffer).toString('utf8');
      if (text.includes('\n') || text.length > 1 << 20) break;
    }
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new TraceInputError(file, undefined, 'no such file');
    return undefined;
  } finally {
    src.destroy();
    raw.destroy();
  }
  try {
    const v: unknown = JSON.parse(text.split('\n')[0]);
    return isHeader(v) ? v : undefined;
  } catch {
    return undefined;
  }
}
