// The standard line kinds, whose fields map one to one to event fields (probes/README.md):
// every pack's decoder can hand them here and handle only its own kinds.
import type { EventKind, ZcEvent } from '../engine/types.js';
import type { Emit, ProbeLine } from './pack.js';

const STANDARD = new Set<string>(['submit', 'get', 'put', 'done', 'free', 'close', 'send_error']);

function int(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** Builds the event of a standard line; undefined for other kinds. */
export function standardEvent(line: ProbeLine): ZcEvent | undefined {
  if (!STANDARD.has(line.kind)) return undefined;
  const f = line.fields;
  const e: ZcEvent = { t: line.t, ev: line.kind as EventKind };
  const obj = f.get('obj');
  if (obj !== undefined) e.obj = obj;
  const bytes = int(f.get('bytes'));
  if (bytes !== undefined) e.bytes = bytes;
  const pid = int(f.get('pid'));
  if (pid !== undefined) e.pid = pid;
  const comm = f.get('comm');
  if (comm !== undefined && comm !== '') e.comm = comm;
  const sock = f.get('sock');
  if (sock !== undefined && sock !== '') e.sock = sock;
  const page = f.get('page');
  if (page !== undefined) e.page = page;
  const ref = int(f.get('ref'));
  if (ref !== undefined) e.ref = ref;
  const copied = f.get('copied');
  if (copied !== undefined) e.copied = copied === '1';
  const reason = f.get('reason');
  if (reason !== undefined) e.reason = reason;
  const errno = f.get('errno');
  if (errno !== undefined) e.errno = errno;
  return e;
}

/** A decoder for packs whose lines are all standard. */
export function decodeStandard(line: ProbeLine, emit: Emit): boolean {
  const e = standardEvent(line);
  if (e === undefined) return false;
  emit(e);
  return true;
}
