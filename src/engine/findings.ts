// Finding records: what went wrong with which lifetime, said once, with the holder's story.
import { fmtNs } from '../util/format.js';
import type { Lifetime } from './lifetime.js';
import type { Finding, FindingKind, ZcEvent } from './types.js';

/** Bit of a kind in Lifetime.reported: each kind is reported at most once per lifetime. */
export function kindBit(kind: FindingKind): number {
  switch (kind) {
    case 'leak': return 1;
    case 'early_free': return 2;
    case 'use_after_free': return 4;
    case 'underflow': return 8;
    case 'copy_fallback': return 16;
    case 'enobufs': return 32;
  }
}

/** Kinds whose judgement rests on having seen every reference event, so a loss makes them uncertain. */
export function lossSensitive(kind: FindingKind): boolean {
  return kind !== 'copy_fallback' && kind !== 'enobufs';
}

/** Kinds judged from a holder's reference counts (a callback the probes missed can fake them). */
export function countDerived(kind: FindingKind): boolean {
  return kind === 'leak' || kind === 'early_free' || kind === 'underflow' || kind === 'use_after_free';
}

/** One line for people: what happened, in the terms of the lifetime. */
export function describe(kind: FindingKind, lt: Lifetime, t: number, trigger?: ZcEvent): string {
  const age = fmtNs(t - lt.start);
  const why = trigger?.reason ? ` (${trigger.reason})` : '';
  switch (kind) {
    case 'leak': {
      return lt.done
        ? `still ${lt.refs} reference(s) held ${age} after submit, though done was signalled`
        : `not completed ${age} after submit, ${lt.refs} reference(s) held`;
    }
    case 'early_free':
      return earlyFree(lt, t, age, why, trigger);
    case 'use_after_free':
      return `${trigger?.ev ?? 'put'} on the holder after it was freed`;
    case 'underflow':
      return trigger?.ref !== undefined && trigger.ref < 0
        ? `put drove the kernel's count to ${trigger.ref} (double put)`
        : 'put with no reference held (double put)';
    case 'copy_fallback':
      return 'the kernel copied the data instead of sending the pages (zero-copy fell back to copy)';
    case 'enobufs':
      return `send failed with ${trigger?.errno ?? 'ENOBUFS'}: completions not reaped (optmem or locked-memory limit); the sender stalls`;
  }
}

/** Free reasons where the owner let go of the memory (the rest changed the bytes under TCP). */
const FREED = new Set(['unmap', 'madvise', 'exit', 'close', 'release', 'reuse']);

// The early free's own words: what happened to the bytes, when, and how sure the probe is.
function earlyFree(lt: Lifetime, t: number, age: string, why: string, trigger?: ZcEvent): string {
  const reason = trigger?.reason;
  const window = trigger?.since !== undefined
    ? `between +${fmtNs(Math.max(0, trigger.since - lt.start))} and +${fmtNs(t - lt.start)} after submit`
    : `${age} after submit`;
  let text: string;
  if (reason === 'rewrite') {
    text = `bytes rewritten in place while in flight (changed ${window}, before its completion)`;
  } else if (reason !== undefined && !FREED.has(reason)) {
    text = `the kernel wrote into the buffer for ${reason}() while in flight (${window}, before its completion)`;
  } else {
    text = lt.done
      ? `freed${why} while TCP still held ${lt.refs} reference(s)`
      : `freed${why} before completion, ${age} after submit, ${lt.refs} reference(s) held`;
  }
  return trigger?.unsure !== undefined ? `${text}; uncertain: ${trigger.unsure}` : text;
}

/** Builds the record sinks receive. */
export function makeFinding(
  kind: FindingKind, lt: Lifetime, t: number, uncertain: boolean, trigger?: ZcEvent, why?: string,
): Finding {
  const { story, dropped } = lt.story();
  let detail = describe(kind, lt, t, trigger);
  // why the probe could not be sure, unless the description already says it (an early free's)
  if (why !== undefined && !detail.endsWith(`uncertain: ${why}`)) detail += `; uncertain: ${why}`;
  const f: Finding = {
    type: 'finding', kind, obj: lt.obj, t, start: lt.start, age: t - lt.start, seq: lt.seq,
    refs: lt.refs, bytes: lt.bytes, detail,
    story, storyDropped: dropped,
  };
  if (lt.sock !== undefined) f.sock = lt.sock;
  if (lt.pid !== undefined) f.pid = lt.pid;
  if (lt.comm !== undefined) f.comm = lt.comm;
  if (uncertain) f.uncertain = true;
  if (trigger !== undefined) f.trigger = trigger;
  return f;
}

