// The reader's fast path: an event line parsed and checked straight from the bytes of the chunk
// read, as zctrace's writers write them: compact JSON, one flat object of the event fields,
// ASCII strings without escapes, whole numbers. For a valid event it gives exactly what
// JSON.parse gives (same values, same key order), checked as the schema says; for anything else
// (an invalid event, whitespace, escapes, non-ASCII, fractions, exponents, nesting, null,
// unknown or repeated keys, anything malformed) `undefined`, and the reader then decodes the
// line and hands it to JSON.parse and the schema check as before, with the same messages.
//
// Why not JSON.parse: per line it needs a decoded string first, and it makes a new string for
// every value. Here a trace's values repeat (holder addresses, sockets, process names, pages):
// strings are interned in a small table (bounded: 4096 entries of at most 256 characters, a
// newer string replaces an older one in its slot), so most values cost a byte comparison and no allocation, and the
// engine's map lookups hash each distinct string once. bench:replay measures it (README).
// test/trace/line-parser.test.ts checks it against JSON.parse and isEvent on generated lines.

import { EVENT_KINDS, type ZcEvent } from '../engine/types.js';

// The event fields, numbered; each one's bit marks it seen (a repeated key is left to JSON.parse).
const T = 1, EV = 2, OBJ = 3, BYTES = 4, PID = 5, COMM = 6, SOCK = 7, PAGE = 8, REF = 9;
const COPIED = 10, REASON = 11, SINCE = 12, UNSURE = 13, RESEND = 14, N = 15, ERRNO = 16;
/** The length of each field's name, by number. */
const NAME_LENGTH = [0, 1, 2, 3, 5, 3, 4, 4, 4, 3, 6, 6, 5, 6, 6, 1, 5];

const Q = 0x22; // "
const COLON = 0x3a;
const COMMA = 0x2c;
const BACKSLASH = 0x5c;
const CLOSE = 0x7d; // }
const MINUS = 0x2d;
const D0 = 0x30;
const D9 = 0x39;

const SLOTS = 4096;
/** The longest string any event field may hold (obj, unsure); a longer one is never interned. */
const MAX_STRING = 256;

/** Value types readValue reports. */
const FAIL = 0, STR = 1, INT = 2, BOOL = 3;
const REQUIRED = (1 << T) | (1 << EV);
const KINDS: ReadonlySet<string> = new Set(EVENT_KINDS);

export class EventLineParser {
  private readonly table: (string | undefined)[] = new Array<string | undefined>(SLOTS).fill(undefined);
  private readonly hashes = new Int32Array(SLOTS);
  /** Where parsing stopped (the index after the value just read). */
  private pos = 0;
  /** The value just read: a string, number, boolean or null. */
  private value: unknown;

  /**
   * The event JSON.parse would make of bytes [start, end) of `buf` when it is a valid event
   * (schema/trace-event.schema.json, as schema.ts's isEvent checks it), else undefined.
   */
  parse(buf: Uint8Array, start: number, end: number): ZcEvent | undefined {
    if (end - start < 2 || buf[start] !== 0x7b || buf[end - 1] !== CLOSE) return undefined;
    const o: Record<string, unknown> = {};
    let seen = 0;
    let i = start + 1;
    for (;;) {
      // A key: one of the event fields, in quotes.
      if (buf[i] !== Q) return undefined;
      const k = key(buf, i + 1, end);
      if (k === 0 || (seen & (1 << k)) !== 0) return undefined;
      seen |= 1 << k;
      i += NAME_LENGTH[k] + 2;
      if (buf[i] !== COLON) return undefined;
      const type = this.readValue(buf, i + 1, end);
      const v = this.value;
      // Each field checked as the schema says (strings here are ASCII: length = characters).
      switch (k) {
        case T: if (type !== INT || (v as number) < 0) return undefined; o.t = v; break;
        case EV: if (type !== STR || !KINDS.has(v as string)) return undefined; o.ev = v; break;
        case OBJ: if (type !== STR || (v as string).length === 0 || (v as string).length > 256) return undefined; o.obj = v; break;
        case BYTES: if (type !== INT || (v as number) < 0) return undefined; o.bytes = v; break;
        case PID: if (type !== INT || (v as number) < 0) return undefined; o.pid = v; break;
        case COMM: if (type !== STR || (v as string).length > 64) return undefined; o.comm = v; break;
        case SOCK: if (type !== STR || (v as string).length > 128) return undefined; o.sock = v; break;
        case PAGE: if (type !== STR || (v as string).length > 64) return undefined; o.page = v; break;
        case REF: if (type !== INT) return undefined; o.ref = v; break;
        case COPIED: if (type !== BOOL) return undefined; o.copied = v; break;
        case REASON: if (type !== STR || (v as string).length > 32) return undefined; o.reason = v; break;
        case SINCE: if (type !== INT || (v as number) < 0) return undefined; o.since = v; break;
        case UNSURE: if (type !== STR || (v as string).length > 256) return undefined; o.unsure = v; break;
        case RESEND: if (type !== BOOL) return undefined; o.resend = v; break;
        case N: if (type !== INT || (v as number) < 0) return undefined; o.n = v; break;
        case ERRNO: if (type !== STR || (v as string).length > 32) return undefined; o.errno = v; break;
      }
      i = this.pos;
      const c = buf[i];
      if (c === COMMA) {
        i++;
        continue;
      }
      if (c !== CLOSE || i !== end - 1) return undefined;
      break;
    }
    // Required: t and ev; obj except on lost, tick, send_error and close; n on lost.
    if ((seen & REQUIRED) !== REQUIRED) return undefined;
    const ev = o.ev;
    // count (matching mode's counters, a few a second) is left to the slow path
    if (ev === 'count') return undefined;
    if (ev === 'lost') {
      if ((seen & (1 << N)) === 0) return undefined;
    } else if (ev !== 'tick' && ev !== 'send_error' && ev !== 'close' && (seen & (1 << OBJ)) === 0) {
      return undefined;
    }
    return o as unknown as ZcEvent;
  }

  /** Reads a value at `i`: its type (FAIL for one the fast path does not take); sets value and pos. */
  private readValue(buf: Uint8Array, i: number, end: number): number {
    const c = buf[i];
    if (c === Q) {
      // An ASCII string without escapes or control characters, hashed as it is scanned.
      let h = 0x811c9dc5;
      let j = i + 1;
      for (; j < end; j++) {
        const b = buf[j];
        if (b === Q) break;
        if (b < 0x20 || b === BACKSLASH || b >= 0x80) return FAIL;
        h = Math.imul(h ^ b, 0x01000193);
      }
      // Longer than any field allows (256): the slow path says so, and the table stays small.
      if (j >= end || j - i - 1 > MAX_STRING) return FAIL;
      this.value = this.intern(buf, i + 1, j, h);
      this.pos = j + 1;
      return STR;
    }
    if ((c >= D0 && c <= D9) || c === MINUS) {
      // A whole number of at most 15 digits (exact in a double); no fraction, no exponent.
      let j = i;
      const neg = c === MINUS;
      if (neg) j++;
      const first = j;
      let n = 0;
      for (; j < end; j++) {
        const b = buf[j];
        if (b < D0 || b > D9) break;
        n = n * 10 + (b - D0);
      }
      const digits = j - first;
      if (digits === 0 || digits > 15 || (buf[first] === D0 && digits > 1)) return FAIL;
      const b = buf[j];
      if (b === 0x2e || b === 0x65 || b === 0x45) return FAIL; // . e E
      this.value = neg ? -n : n;
      this.pos = j;
      return INT;
    }
    if (c === 0x74 && buf[i + 1] === 0x72 && buf[i + 2] === 0x75 && buf[i + 3] === 0x65) { // true
      this.value = true;
      this.pos = i + 4;
      return BOOL;
    }
    if (c === 0x66 && buf[i + 1] === 0x61 && buf[i + 2] === 0x6c && buf[i + 3] === 0x73 && buf[i + 4] === 0x65) { // false
      this.value = false;
      this.pos = i + 5;
      return BOOL;
    }
    // null, nesting, anything else: not a valid field value, or not for the fast path.
    return FAIL;
  }

  /** The string of ASCII bytes [a, b), from the table when it is there. */
  private intern(buf: Uint8Array, a: number, b: number, h: number): string {
    const slot = h & (SLOTS - 1);
    const s = this.table[slot];
    const len = b - a;
    if (s !== undefined && this.hashes[slot] === h && s.length === len) {
      let k = 0;
      while (k < len && s.charCodeAt(k) === buf[a + k]) k++;
      if (k === len) return s;
    }
    const fresh = latin1(buf, a, b);
    this.table[slot] = fresh;
    this.hashes[slot] = h;
    return fresh;
  }
}

/** Bytes [a, b) as a string, one character per byte (the fastest decoding; they are ASCII). */
function latin1(buf: Uint8Array, a: number, b: number): string {
  return (buf as unknown as { latin1Slice(start: number, end: number): string }).latin1Slice(a, b);
}

/** The field whose quoted name starts at `i` (after the opening quote), or 0. */
function key(buf: Uint8Array, i: number, end: number): number {
  const c = buf[i];
  // Each candidate's closing quote is checked, so "tt" is not "t".
  switch (c) {
    case 0x74: // t
      return buf[i + 1] === Q ? T : 0;
    case 0x6e: // n
      return buf[i + 1] === Q ? N : 0;
    case 0x65: // ev, errno
      if (buf[i + 1] === 0x76 && buf[i + 2] === Q) return EV;
      return match(buf, i, end, 'errno') ? ERRNO : 0;
    case 0x6f: // obj
      return match(buf, i, end, 'obj') ? OBJ : 0;
    case 0x62: // bytes
      return match(buf, i, end, 'bytes') ? BYTES : 0;
    case 0x70: // pid, page
      if (buf[i + 1] === 0x69) return match(buf, i, end, 'pid') ? PID : 0;
      return match(buf, i, end, 'page') ? PAGE : 0;
    case 0x63: // comm, copied
      if (buf[i + 1] === 0x6f && buf[i + 2] === 0x6d) return match(buf, i, end, 'comm') ? COMM : 0;
      return match(buf, i, end, 'copied') ? COPIED : 0;
    case 0x73: // sock, since
      if (buf[i + 1] === 0x6f) return match(buf, i, end, 'sock') ? SOCK : 0;
      return match(buf, i, end, 'since') ? SINCE : 0;
    case 0x72: // ref, reason, resend
      if (buf[i + 2] === 0x66) return match(buf, i, end, 'ref') ? REF : 0;
      if (buf[i + 2] === 0x61) return match(buf, i, end, 'reason') ? REASON : 0;
      return match(buf, i, end, 'resend') ? RESEND : 0;
    case 0x75: // unsure
      return match(buf, i, end, 'unsure') ? UNSURE : 0;
    default:
      return 0;
  }
}

/** Bytes at `i` are `name` followed by a closing quote. */
function match(buf: Uint8Array, i: number, end: number, name: string): boolean {
  const len = name.length;
  if (i + len >= end) return false;
  for (let k = 0; k < len; k++) if (buf[i + k] !== name.charCodeAt(k)) return false;
  return buf[i + len] === Q;
}
