// `zctrace export --format perfetto TRACE...`: a trace (or a rotated capture) through the
// engine into a timeline file, written as it goes (memory bounded by the engine, not the file).
import { closeSync, openSync, writeSync } from 'node:fs';
import { Engine } from '../engine/engine.js';
import { PerfettoExport, type TraceEvent } from '../sinks/perfetto.js';
import { traceInputs } from '../trace/inputs.js';
import { TraceReader } from '../trace/reader.js';
import { TraceOutputError } from '../util/errors.js';

export interface ExportOptions {
  leakAfterNs: number;
  /** Output file; stdout when absent or "-". */
  output?: string;
  force?: boolean;
}

export async function exportPerfetto(args: string[], o: ExportOptions): Promise<{ lifetimes: number; findings: number; events: number }> {
  const inputs = await traceInputs(args);
  const fd = o.output === undefined || o.output === '-' ? 1 : open(o.output, o.force === true);
  let pending: string[] = [];
  let size = 0;
  let first = true;
  const put = (s: string): void => {
    pending.push(s);
    size += s.length;
    if (size > 1 << 20) flush();
  };
  const flush = (): void => {
    const buf = Buffer.from(pending.join(''));
    pending = [];
    size = 0;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
  };
  put('{"displayTimeUnit":"ns","traceEvents":[\n');
  const out = (e: TraceEvent): void => {
    put(`${first ? '' : ',\n'}${JSON.stringify(e)}`);
    first = false;
  };
  let exp: PerfettoExport | undefined;
  const engine = new Engine({ leakAfterNs: o.leakAfterNs, onRecord: (r) => exp?.record(r) });
  exp = new PerfettoExport(engine, out);
  let events = 0;
  for (const { file } of inputs) {
    const reader = new TraceReader(file, {});
    await reader.forEach((e) => exp!.push(e));
    events += reader.events;
  }
  engine.end();
  exp.finish();
  put(`\n],"otherData":${JSON.stringify({ source: inputs.map((i) => i.file), exporter: 'zctrace', leakAfterNs: o.leakAfterNs, lifetimes: exp.lifetimes, findings: exp.findings })}}\n`);
  flush();
  if (fd !== 1) closeSync(fd);
  return { lifetimes: exp.lifetimes, findings: exp.findings, events };
}

function open(path: string, force: boolean): number {
  try {
    return openSync(path, force ? 'w' : 'wx', 0o644);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') throw new TraceOutputError(`${path} already exists`, 'choose another name or pass --force to overwrite');
    throw new TraceOutputError(`cannot create ${path}: ${e.message}`);
  }
}
