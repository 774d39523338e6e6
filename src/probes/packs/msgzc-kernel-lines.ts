// The lines of the msgzc-kernel programs: which kinds exist, which fields each needs, and
// the parsing of the compound fields (page lists, iovec ranges). The decoder refuses a line
// that fails these checks, so bpftrace output that does not match the program is reported as
// a bad line at once, before it is held for reordering.
import type { ProbeLine } from '../pack.js';
import { big, int } from '../fields.js';

/** Every line kind of the programs (probes/msgzc-kernel*.bt, their Output: headers). */
export const KINDS = new Set(['submit', 'put', 'frags', 'copy', 'done', 'read', 'skfree', 'unmap', 'exit', 'hb', 'hist', 'rewrite', 'write']);
const NEED: Record<string, string[]> = {
  submit: ['obj', 'new', 'id', 'n', 'bytes', 'pid', 'sk'],
  put: ['obj', 'ref'],
  frags: ['obj', 'ref', 'n', 'pages'],
  copy: ['obj', 'ref', 'n', 'pages'],
  done: ['obj', 'sk', 'lo', 'hi', 'copied', 'fate'],
  read: ['obj', 'sk', 'lo', 'hi'],
  skfree: ['sk'],
  unmap: ['pid', 'addr', 'len'],
  exit: ['pid'],
  hb: [],
  hist: ['name'],
  rewrite: ['obj', 'fp', 'now'],
  write: ['dt', 'pid', 'addr', 'len'],
};
const NUMERIC = new Set(['new', 'id', 'n', 'bytes', 'pid', 'ref', 'lo', 'hi', 'copied', 'len', 'len1', 'niov', 'dt']);

/** Checks a line has the fields its kind needs, with numbers where numbers belong. */
export function wellFormed(line: ProbeLine): boolean {
  const need = NEED[line.kind];
  if (need === undefined) return false;
  for (const k of need) {
    const v = line.fields.get(k);
    if (v === undefined || v === '') return false;
    if (NUMERIC.has(k) && int(v) === undefined) return false;
  }
  if (line.kind === 'done' && !['queue', 'merge', 'drop'].includes(line.fields.get('fate')!)) return false;
  if (line.kind === 'unmap' && (big(line.fields.get('addr')) === undefined || big(line.fields.get('len')) === undefined)) return false;
  return true;
}

/** The `page:count` pairs of a frags/copy line, the first n of them. */
export function parsePages(s: string, n: number): { page: string; count: number }[] {
  const out: { page: string; count: number }[] = [];
  for (const pair of s.split(',')) {
    if (out.length >= n) break;
    const colon = pair.indexOf(':');
    if (colon <= 0) continue;
    const count = Number(pair.slice(colon + 1));
    out.push({ page: pair.slice(0, colon), count: Number.isInteger(count) ? count : 0 });
  }
  return out;
}
