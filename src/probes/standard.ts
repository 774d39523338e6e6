// The standard line kinds, whose fields map one to one to event fields (probes/README.md):
// every pack's decoder can hand them here and handle only its own kinds.
import type { EventKind, ZcEvent } from '../engine/types.js';
import type { Emit, ProbeLine } from './pack.js';
import { int } from './fields.js';
import { collectFields } from './parse.js';

const STANDARD = new Set<string>(['submit', 'get', 'put', 'done', 'free', 'close', 'send_error']);

// The keys of the standard fields, looked up in one pass over the line (collectFields).
const KEYS = ['obj', 'bytes', 'pid', 'comm', 'sock', 'page', 'ref', 'copied', 'reason', 'errno'] as const;
const vals: (string | undefined)[] = [];

/** Builds the event of a standard line; undefined for other kinds. */
export function standardEvent(line: ProbeLine): ZcEvent | undefined {
  if (!STANDARD.has(line.kind)) return undefined;
  collectFields(line.fields, KEYS, vals);
  const v = vals;
  const e: ZcEvent = { t: line.t, ev: line.kind as EventKind };
  if (v[0] !== undefined) e.obj = v[0];
  const b = int(v[1]);
  if (b !== undefined) e.bytes = b;
  const p = int(v[2]);
  if (p !== undefined) e.pid = p;
  if (v[3] !== undefined && v[3] !== '') e.comm = v[3];
  if (v[4] !== undefined && v[4] !== '') e.sock = v[4];
  if (v[5] !== undefined) e.page = v[5];
  const r = int(v[6]);
  if (r !== undefined) e.ref = r;
  if (v[7] !== undefined) e.copied = v[7] === '1';
  if (v[8] !== undefined) e.reason = v[8];
  if (v[9] !== undefined) e.errno = v[9];
  return e;
}

/** A decoder for packs whose lines are all standard. */
export function decodeStandard(line: ProbeLine, emit: Emit): boolean {
  const e = standardEvent(line);
  if (e === undefined) return false;
  emit(e);
  return true;
}
