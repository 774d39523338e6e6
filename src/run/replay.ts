// `zctrace replay FILE`: a trace file through the engine, with a progress line on a terminal.
import type { FindingKind } from '../engine/types.js';
import { TraceReader, type BadLineMode } from '../trace/reader.js';
import type { TraceHeader } from '../trace/header.js';
import { missingSegments, traceInputs } from '../trace/inputs.js';
import { Progress } from '../sinks/progress.js';
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

/**
 * Replays a trace: one file, or the files of one rotated capture in order (trace/inputs.ts),
 * through one engine. Resolves to whether a --fail-on finding occurred. Throws TraceInputError.
 */
export async function replayFile(args: string | string[], opts: ReplayOptions): Promise<{ failHit: boolean }> {
  const inputs = await traceInputs(typeof args === 'string' ? [args] : args);
  const analysis = new Analysis({ leakAfterNs: opts.leakAfterNs, json: opts.json, failOn: opts.failOn });
  const engine = analysis.engine;
  let badLines = 0, truncated = false, events = 0;
  let h: TraceHeader | undefined;
  for (const { file } of inputs) {
    const reader = new TraceReader(file, { onBadLine: opts.onBadLine, timeToleranceNs: opts.timeToleranceNs });
    const progress = opts.progress && process.stderr.isTTY ? new Progress(file) : undefined;
    await reader.forEach((e) => {
      engine.push(e);
      if (progress !== undefined && (reader.events & 0xffff) === 0) progress.update(events + reader.events);
    });
    progress?.done();
    h ??= reader.header;
    badLines += reader.badLines;
    truncated ||= reader.truncated;
    events += reader.events;
  }
  const notes: string[] = [];
  if (h?.generated) notes.push(`synthetic trace: ${h.generated}`);
  if (h?.kernel) notes.push(`pack ${h?.pack ?? '?'} on ${h?.host ?? '?'} (kernel ${h?.kernel ?? '?'}), started ${h?.started ?? '?'}`);
  const source = inputs.length === 1 ? inputs[0].file : `${inputs.length} files, ${inputs[0].file} … ${inputs.at(-1)!.file}`;
  if (inputs.length > 1) notes.push(`read as one trace: ${source}`);
  const missing = missingSegments(inputs);
  if (missing.before > 0 || missing.gaps > 0) {
    notes.push(`${missing.before + missing.gaps} earlier or middle file(s) of the capture are not here (rotated away?): lifetimes begun in them are not judged`);
  }
  await analysis.finish({
    title: `zctrace replay of ${typeof args === 'string' ? args : args.join(' ')} (leak threshold ${engine.leakAfterNs / 1e9} s)`,
    notes, badLines, truncated, source, ended: 'end of input',
  });
  return { failHit: analysis.failHit };
}
