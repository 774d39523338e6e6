// What the packs' tests share: running probe lines through a decoder, and reading the
// `Example:` lines of a program's header (each pack's test checks they come from a capture).
import type { ZcEvent } from '../../src/engine/types.js';
import type { Decoder, ProbeLine } from '../../src/probes/pack.js';

/** Decodes lines with `d` (then finishes it); counts the lines it refused. */
export function decodeWith<D extends Decoder>(d: D, lines: ProbeLine[]): { events: ZcEvent[]; unknown: number; d: D } {
  const events: ZcEvent[] = [];
  let unknown = 0;
  for (const l of lines) if (!d.decode(l, (e) => events.push(e))) unknown++;
  d.finish?.((e) => events.push(e));
  return { events, unknown, d };
}

/** The probe lines quoted in a .bt header's `Example:` paragraph (the ones with a TAB). */
export function headerExampleLines(bt: string): string[] {
  const example = bt.slice(bt.indexOf(' * Example'), bt.indexOf(' * Overhead'));
  return example.split('\n').filter((l) => l.includes('\t')).map((l) => l.replace(/^ \*\s+/, ''));
}

/** A probe line as the parser makes it, for a decoder under test. */
export function probeLine(kind: string, t: number, fields: Record<string, string | number> = {}, lineNo = 1): ProbeLine {
  return { kind, t, fields: new Map(Object.entries(fields).map(([k, v]) => [k, String(v)])), lineNo };
}
