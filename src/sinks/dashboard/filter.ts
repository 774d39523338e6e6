// The `/` filter: "sock:3260 comm:iscsi" keeps what matches every term. A term is FIELD:VALUE
// (sock, pid, comm, holder) or a bare word matched against all of them. Parsed once into
// checks, so the per-holder test in the snapshot is a few string compares.
import { UsageError } from '../../util/errors.js';

/** Fields a term can name. */
export const FILTER_FIELDS = ['sock', 'pid', 'comm', 'holder'] as const;
export type FilterField = (typeof FILTER_FIELDS)[number];

/** One term: a field (or any) and the value to find. */
export interface FilterTerm {
  field: FilterField | 'any';
  value: string;
}

/** What a row can be matched on (holders and findings have all of it, breakdown rows part). */
export interface Matchable {
  obj?: string;
  sock?: string;
  pid?: number;
  comm?: string;
}

/** A parsed filter; `text` is what the user typed (shown in the status bar). */
export interface Filter {
  text: string;
  terms: FilterTerm[];
}

/** No filter. */
export const NO_FILTER: Filter = { text: '', terms: [] };

/** Parses the filter text; throws UsageError naming a bad term (shown, the old filter stays). */
export function parseFilter(text: string): Filter {
  const terms: FilterTerm[] = [];
  for (const word of text.trim().split(/\s+/).filter(Boolean)) {
    const m = /^([a-z]+):(.*)$/.exec(word);
    if (m === null) {
      terms.push({ field: 'any', value: word });
      continue;
    }
    const field = m[1] === 'socket' ? 'sock' : m[1] === 'obj' ? 'holder' : m[1];
    if (!(FILTER_FIELDS as readonly string[]).includes(field)) throw new UsageError(`unknown filter field "${m[1]}" (use ${FILTER_FIELDS.join(', ')})`);
    if (m[2] === '') throw new UsageError(`filter "${word}" has no value`);
    // A pid is a number: "pid:81" must not match 812 as a substring would.
    if (field === 'pid' && !/^[0-9]+$/.test(m[2])) throw new UsageError(`filter pid:${m[2]}: a pid is a number`);
    terms.push({ field: field as FilterField, value: m[2] });
  }
  return { text: terms.length === 0 ? '' : text.trim(), terms };
}

function has(s: string | undefined, v: string): boolean {
  return s !== undefined && s.toLowerCase().includes(v.toLowerCase());
}

function termMatches(t: FilterTerm, r: Matchable): boolean {
  switch (t.field) {
    case 'sock': return has(r.sock, t.value);
    case 'pid': return r.pid !== undefined && String(r.pid) === t.value;
    case 'comm': return has(r.comm, t.value);
    case 'holder': return has(r.obj, t.value);
    case 'any':
      return has(r.obj, t.value) || has(r.sock, t.value) || has(r.comm, t.value) || (r.pid !== undefined && String(r.pid) === t.value);
  }
}

/** True when every term matches (a holder, a finding). */
export function matches(f: Filter, r: Matchable): boolean {
  for (const t of f.terms) if (!termMatches(t, r)) return false;
  return true;
}

/**
 * For breakdown rows, which know only their key: terms on fields the row does not have are
 * ignored (a socket row cannot say which pid used it), the others must match.
 */
export function matchesKey(f: Filter, by: 'socket' | 'process', key: string): boolean {
  const row: Matchable = by === 'socket' ? { sock: key } : procFields(key);
  for (const t of f.terms) {
    if (t.field === 'holder') continue;
    if (by === 'socket' && (t.field === 'pid' || t.field === 'comm')) continue;
    if (by === 'process' && t.field === 'sock') continue;
    if (!termMatches(t, row)) return false;
  }
  return true;
}

function procFields(key: string): Matchable {
  const i = key.indexOf('/');
  const pid = Number(key.slice(0, i));
  return { pid: Number.isInteger(pid) ? pid : undefined, comm: key.slice(i + 1) };
}
