// bpftrace stdout → events. One line format for every pack (probes/README.md):
// `KIND<TAB>NSECS<TAB>key=value…`, split with indexOf, no regular expressions on this path.
// Lines that are not events are bpftrace's own: `Attaching N probes...`, `Lost N events`
// (→ a `lost` event), and the pack's `ready` line printed from BEGIN, which bpftrace runs only
// once every probe is attached (checked on this machine), so events after it are not missed;
// `sync` lines (a stop's, src/probes/sync.ts) are skipped.
import type { ZcEvent } from '../engine/types.js';
import type { Decoder, LineFields, ProbeLine } from './pack.js';
import { Reorder } from './reorder.js';

export interface ParserHooks {
  emit(e: ZcEvent): void;
  /** The pack's probes are attached. */
  ready(): void;
  /** A line that is neither an event nor a known bpftrace message. */
  message(line: string): void;
  /** An event line that could not be parsed or that the pack's decoder does not know. */
  bad(lineNo: number, why: string, line: string): void;
}

/**
 * One parsed line, which is also its own fields, found on demand: `get("pid")` scans the line's
 * tab-separated `key=value` fields (a dozen at most) for the first with that key. One object per
 * line and no copy of it (a Map per line was a third of the live path's allocations, profiled).
 */
export class RawLine implements ProbeLine, LineFields {
  constructor(
    readonly kind: string,
    readonly t: number,
    readonly lineNo: number,
    /** The line as bpftrace printed it. */
    readonly raw: string,
    /** Index of the tab before the first field (-1: the line has none). */
    private readonly from: number,
  ) {}

  get fields(): LineFields {
    return this;
  }

  get(key: string): string | undefined {
    const raw = this.raw;
    let pos = this.from;
    while (pos !== -1) {
      const start = pos + 1;
      const next = raw.indexOf('\t', start);
      if (raw.charCodeAt(start + key.length) === 61 && raw.startsWith(key, start)) {
        return raw.slice(start + key.length + 1, next === -1 ? raw.length : next);
      }
      pos = next;
    }
    return undefined;
  }

  /**
   * Looks up several keys in one pass over the line: out[i] = the value of keys[i] (the first
   * field with it), or undefined. For decoders that read many fields of every line.
   */
  collect(keys: readonly string[], out: (string | undefined)[]): void {
    const raw = this.raw;
    out.length = keys.length;
    out.fill(undefined);
    let pos = this.from;
    while (pos !== -1) {
      const start = pos + 1;
      const next = raw.indexOf('\t', start);
      const eq = raw.indexOf('=', start);
      const end = next === -1 ? raw.length : next;
      if (eq !== -1 && eq < end) {
        const klen = eq - start;
        for (let i = 0; i < keys.length; i++) {
          if (keys[i].length === klen && out[i] === undefined && raw.startsWith(keys[i], start)) {
            out[i] = raw.slice(eq + 1, end);
            break;
          }
        }
      }
      pos = next;
    }
  }
}

/** `collect` for any LineFields (a Map in tests, the lazy view when parsing). */
export function collectFields(f: LineFields, keys: readonly string[], out: (string | undefined)[]): void {
  if (f instanceof RawLine) {
    f.collect(keys, out);
    return;
  }
  out.length = keys.length;
  for (let i = 0; i < keys.length; i++) out[i] = f.get(keys[i]);
}

/** Splits a monotonic-ns origin so `nsecs` strings can be rebased exactly without BigInt. */
export function splitOrigin(t0: bigint): { hi: number; lo: number } {
  return { hi: Number(t0 / 1_000_000_000n), lo: Number(t0 % 1_000_000_000n) };
}

const LOST_PREFIX = 'Lost ';
/** Internal line kind of a loss while it waits in the reorder buffer. */
const LOST_KIND = '\u0000lost';
/** Internal line kind of a printed map's line while it waits in the reorder buffer. */
const MAP_KIND = '\u0000map';

export class ProbeParser {
  lineNo = 0;
  /** Latest event time, for `lost` events (bpftrace does not timestamp them). */
  lastT = 0;
  private readonly t0hi: number;
  private readonly t0lo: number;
  private readonly reorder: Reorder<ProbeLine>;
  private readonly ready: ProbeLine[] = [];
  private readonly toReady = (l: ProbeLine): void => { this.ready.push(l); };

  constructor(private readonly decoder: Decoder, t0: bigint, private readonly hooks: ParserHooks, windowNs?: number) {
    this.reorder = new Reorder(windowNs);
    const o = splitOrigin(t0);
    this.t0hi = o.hi;
    this.t0lo = o.lo;
  }

  /** Handles one stdout line (without its newline). */
  line(raw: string): void {
    this.lineNo++;
    const tab = raw.indexOf('\t');
    if (tab <= 0) {
      this.control(raw);
      return;
    }
    const tab2 = raw.indexOf('\t', tab + 1);
    const t = this.rebase(raw, tab + 1, tab2 === -1 ? raw.length : tab2);
    if (Number.isNaN(t)) {
      this.hooks.bad(this.lineNo, 'the time field is not a number', raw);
      return;
    }
    const kind = raw.slice(0, tab);
    if (kind === 'ready') {
      this.hooks.ready();
      return;
    }
    // a stop's sync line (probes/sync.ts), which the runner takes before lines reach a parser;
    // here only in raw captures of bpftrace's stdout
    if (kind === 'sync') return;
    // Fields are checked here (each has a "="), looked up later in the raw line (RawLine).
    let pos = tab2;
    while (pos !== -1) {
      const next = raw.indexOf('\t', pos + 1);
      const end = next === -1 ? raw.length : next;
      const eq = raw.indexOf('=', pos + 1);
      if ((eq === -1 || eq >= end || eq === pos + 1) && end > pos + 1) {
        this.hooks.bad(this.lineNo, `field "${raw.slice(pos + 1, end)}" has no "="`, raw);
        return;
      }
      pos = next;
    }
    if (t > this.lastT) this.lastT = t;
    this.reorder.push(new RawLine(kind, t, this.lineNo, raw, tab2), this.toReady);
    this.decodeReady();
  }

  /**
   * Decodes every line at or before `t` (the live loop calls it with the clock minus the
   * reorder window, so lines do not wait for the next one when the host goes quiet).
   */
  flush(t: number): void {
    this.reorder.release(t, this.toReady);
    this.decodeReady();
  }

  /** Called at the end of the run: everything still waiting is decoded. */
  finish(): void {
    this.reorder.drain(this.toReady);
    this.decodeReady();
    this.decoder.finish?.(this.hooks.emit);
  }

  private decodeReady(): void {
    for (const line of this.ready) {
      if (line.kind === LOST_KIND) this.hooks.emit({ t: line.t, ev: 'lost', n: Number(line.fields.get('n')) });
      else if (line.kind === MAP_KIND) this.decoder.mapLine?.((line as RawLine).raw, line.t, this.hooks.emit);
      else if (!this.decoder.decode(line, this.hooks.emit)) this.hooks.bad(line.lineNo, `unknown line kind "${line.kind}"`, `${line.kind}\t…`);
    }
    this.ready.length = 0;
  }

  /** bpftrace's own lines. */
  private control(raw: string): void {
    if (raw.startsWith(LOST_PREFIX) && raw.endsWith(' events')) {
      const n = Number(raw.slice(LOST_PREFIX.length, -' events'.length));
      if (Number.isInteger(n)) {
        // In time order with the lines around it, so lifetimes open across the gap are the right ones.
        this.reorder.push({ kind: LOST_KIND, t: this.lastT, fields: new Map([['n', String(n)]]), lineNo: this.lineNo }, this.toReady);
        this.decodeReady();
        return;
      }
    }
    if (raw === '' || raw.startsWith('Attaching ')) return;
    const c = raw.charCodeAt(0);
    if ((c === 64 || c === 91) && this.decoder.mapLine !== undefined) { // '@name…' or '[lo, hi)'
      this.reorder.push(new RawLine(MAP_KIND, this.lastT, this.lineNo, raw, -1), this.toReady);
      this.decodeReady();
      return;
    }
    this.hooks.message(raw);
  }

  /** raw[from, to) = "1618913511152" (absolute ns) → ns since t0; NaN when not digits. */
  private rebase(raw: string, from: number, to: number): number {
    if (to <= from) return NaN;
    // seconds and nanoseconds apart, each exact in a double, without slicing the line
    const split = Math.max(from, to - 9);
    let hi = 0;
    let lo = 0;
    for (let i = from; i < to; i++) {
      const d = raw.charCodeAt(i) - 48;
      if (d < 0 || d > 9) return NaN;
      if (i < split) hi = hi * 10 + d;
      else lo = lo * 10 + d;
    }
    const t = (hi - this.t0hi) * 1e9 + (lo - this.t0lo);
    return t < 0 ? 0 : t;
  }
}
