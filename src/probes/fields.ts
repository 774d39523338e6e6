// The values inside a probe line's `key=value` fields, read the same way by every decoder:
// numbers, addresses, the buffer ranges of a send or a write, the call that wrote. One module so
// that a field means the same thing in every pack (the decoders each had their own copy).
import type { LineFields } from './pack.js';
import { collectFields } from './parse.js';

/** A decimal integer field, or undefined (absent, empty or not an integer). */
export function int(v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  return Number.isInteger(n) ? n : undefined;
}

/** A BigInt from a `0x…` or decimal field (addresses, lengths), or undefined. */
export function big(v: string | undefined): bigint | undefined {
  return v !== undefined && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v) ? BigInt(v) : undefined;
}

const RANGE_KEYS = ['addr', 'len', 'addr1', 'len1', 'addr2', 'len2', 'addr3', 'len3'] as const;
const rangeVals: (string | undefined)[] = [];

// The ranges of recent sends by their raw field strings: a sender resends the same few buffers,
// and parsing them into BigInts for every send was a tenth of the live path's allocations.
interface RangesMemo { raw: (string | undefined)[]; bytes: number | undefined; max: number; ranges: [bigint, bigint][] }
const rangesMemo = new Map<string, RangesMemo>();

/**
 * The ranges a send line names (addr/len, addr1/len1 … up to `max` pairs), clipped to `bytes`
 * when given. The list ends at the first pair missing, malformed or at address 0 (the programs
 * print unused pairs as zero); zero-length pairs are left out. The array may be shared with
 * earlier calls for the same fields: callers must not change it.
 */
export function sentRanges(f: LineFields, bytes: number | undefined, max = 4): [bigint, bigint][] {
  collectFields(f, RANGE_KEYS, rangeVals);
  return rangesOf(rangeVals, 0, bytes, max);
}

/** The field names `rangesOf` reads, in its order: addr, len, addr1, len1 … addr3, len3. */
export const RANGE_FIELDS: readonly string[] = RANGE_KEYS;

/**
 * `sentRanges` from values already collected (a decoder that reads all of a line's fields in one
 * pass): vals[at..at+7] are the RANGE_FIELDS' values.
 */
export function rangesOf(vals: readonly (string | undefined)[], at: number, bytes: number | undefined, max = 4): [bigint, bigint][] {
  const addr0 = vals[at];
  if (addr0 === undefined) return [];
  const m = rangesMemo.get(addr0);
  if (m !== undefined && m.bytes === bytes && m.max === max && sameRaw(m.raw, vals, at)) return m.ranges;
  const out: [bigint, bigint][] = [];
  let left = bytes !== undefined ? BigInt(bytes) : undefined;
  for (let i = 0; i < max; i++) {
    const addr = big(vals[at + 2 * i]);
    let len = big(vals[at + 2 * i + 1]);
    if (addr === undefined || len === undefined || addr === 0n) break;
    if (left !== undefined && len > left) len = left;
    if (len > 0n) out.push([addr, len]);
    if (left !== undefined && (left -= len) <= 0n) break;
  }
  if (rangesMemo.size >= 1024) rangesMemo.clear();
  rangesMemo.set(addr0, { raw: vals.slice(at, at + RANGE_KEYS.length), bytes, max, ranges: out });
  return out;
}

function sameRaw(raw: readonly (string | undefined)[], vals: readonly (string | undefined)[], at: number): boolean {
  for (let i = 0; i < raw.length; i++) if (raw[i] !== vals[at + i]) return false;
  return true;
}

/** A write line's ranges (addr/len, addr1/len1), zero-length ones left out. */
export function writtenRanges(f: LineFields): [bigint, bigint][] {
  return sentRanges(f, undefined, 2);
}

/** The call a write line names: `tracepoint:syscalls:sys_exit_read` → `read`. */
export function callName(v: string | undefined): string {
  if (v === undefined || v === '') return 'write';
  const i = v.lastIndexOf('sys_exit_');
  return i >= 0 ? v.slice(i + 'sys_exit_'.length) : v;
}
