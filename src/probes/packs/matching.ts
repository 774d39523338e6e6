// Matching mode, shared by the packs whose programs can match in the kernel (msgzc-syscalls,
// iouring-sendzc: run with $4 = the leak threshold in ms): the kernel keeps each send until its
// completion and only counts a clean one, so user space gets, instead of two lines per send
// (msgzc-syscalls' words; iouring-sendzc's are the same with its own holder names):
//   match   T leak_ms=N              the mode is on (printed first)
//   sock    T sk= pid= sock= comm=   a socket's first zero-copy send
//   held    T obj= age= bytes= pid= addr/len addr1/len1 fp= fz= rwat= now= nz= copied=
//           a completed send with something to judge (see the .bt), just read by its owner
//   counts  T abs=NSECS              each second, then the counters as bpftrace prints maps:
//           @m_bytes[SK]: count N, average A, total T (N completions; T = their bytes plus
//           2^40 per copied one: one stats() map, one update per completion, not a count(), a
//           sum() and a count() of the copied; A means nothing), @m_resend, @m_life (a
//           histogram), @m_full: N (@m_copied[SK]: N and @m_done[SK]: N, older programs)
//           (not the sends in flight: bpftrace 0.17 dies printing a map whose entries vanish)
// This module turns those into the events streaming would have produced for the same holders
// (a held send is a submit dated back to its send, then what happened to it, then its done),
// and `count` events for what the kernel counted.
import type { ZcEvent } from '../../engine/types.js';
import type { Emit, LineFields } from '../pack.js';
import { type SentBuffer, UserBuffers } from './user-buffers.js';

/** A socket as its `sock` line described it. */
export interface MatchSock {
  sock?: string;
  pid?: number;
  comm?: string;
}

/** Fills in an event's socket, pid and comm from its socket's `sock` line. */
export function describe(e: ZcEvent, s: MatchSock | undefined): void {
  if (s?.sock !== undefined) e.sock = s.sock;
  if (s?.pid !== undefined && e.pid === undefined) e.pid = s.pid;
  if (s?.comm !== undefined) e.comm = s.comm;
}

/** Counter maps of the program → the engine's counters. */
const COUNTERS: Record<string, ZcEvent['counter']> = {
  done: 'done', bytes: 'bytes', copied: 'copied', resend: 'resends',
};

/** The bytes' part of a @m_bytes total (its low 40 bits; the copied completions are above). */
const BYTES_MASK = (1n << 40n) - 1n;

/** A map key printed by bpftrace as a signed decimal → the kernel address in hex. */
export function skHex(key: string): string | undefined {
  const k = key.trim();
  if (!/^-?[0-9]+$/.test(k)) return undefined;
  return `0x${BigInt.asUintN(64, BigInt(k)).toString(16)}`;
}

/** A histogram row's upper bound: `[16K, 32K)` → 32768; `[1]` → 2. */
export function bucketTop(row: string): number | undefined {
  const m = /^\[([0-9]+)([KMG]?)(?:, ([0-9]+)([KMG]?)\))?\]?/.exec(row);
  if (m === null) return undefined;
  const unit = (u: string): number => (u === 'K' ? 1024 : u === 'M' ? 1024 ** 2 : u === 'G' ? 1024 ** 3 : 1);
  return m[3] !== undefined ? Number(m[3]) * unit(m[4]) : Number(m[1]) * unit(m[2]) + 1;
}

/** Parses the printed maps; keeps what a line needs from the lines before it. */
export class MatchMaps {
  /** Each socket's `sock` line, kept past its close (its last counts come after). */
  readonly names = new Map<string, MatchSock>();
  /** The leak threshold the program was given (ns); undefined: not matching mode. */
  leakNs: number | undefined;
  private current = '';

  /** The `match` line. */
  start(f: LineFields): boolean {
    const ms = Number(f.get('leak_ms'));
    if (!Number.isInteger(ms) || ms <= 0) return false;
    this.leakNs = ms * 1e6;
    return true;
  }

  /** A `sock` line (a socket's first zero-copy send): its address and what it says of it. */
  sock(f: LineFields): { sk: string; s: MatchSock } | undefined {
    const sk = f.get('sk');
    if (!sk) return undefined;
    const pid = Number(f.get('pid'));
    const s: MatchSock = { sock: f.get('sock') || undefined, pid: Number.isInteger(pid) ? pid : undefined, comm: f.get('comm') || undefined };
    if (this.names.size >= 16384) this.names.delete(this.names.keys().next().value as string);
    this.names.set(sk, s);
    return { sk, s };
  }

  /** The `counts` line: the counters of the second that ended follow. */
  counts(f: LineFields): boolean {
    return Number.isInteger(Number(f.get('abs')));
  }

  /**
   * One printed line: a counter (→ `count` events for its socket), a histogram row (→ `count`
   * life), a full-map count (→ `lost`); anything else is not the program's.
   */
  line(raw: string, t: number, emit: Emit): void {
    if (raw.charCodeAt(0) === 91) { // '[lo, hi)  n |@@@|': a row of the map named before
      if (this.current !== '@m_life') return;
      const top = bucketTop(raw);
      const n = Number(/^\[[^\])]*[\])]\s+([0-9]+)/.exec(raw)?.[1]);
      if (top !== undefined && Number.isInteger(n) && n > 0) emit({ t, ev: 'count', counter: 'life', n, bucket: top });
      return;
    }
    const colon = raw.indexOf(':');
    const br = raw.indexOf('[');
    // the program keeps two sets of counters (@m0_…, @m1_…: see its interval probe)
    const name = raw.slice(0, br >= 0 && br < colon ? br : colon).replace(/^@m[01]_/, '@m_');
    this.current = name;
    const value = raw.slice(colon + 1).trim();
    const key = br >= 0 && br < colon ? raw.slice(br + 1, raw.lastIndexOf(']', colon)) : '';
    if (name === '@m_full') {
      const n = Number(value);
      if (Number.isInteger(n) && n > 0) emit({ t, ev: 'lost', n });
      return;
    }
    const counter = name.startsWith('@m_') ? COUNTERS[name.slice(3)] : undefined;
    if (counter === 'bytes' && value.startsWith('count ')) {
      // a stats() map: `count N, average A, total T` = N completions, T = their bytes in the
      // low 40 bits (a TiB per socket and second), the copied ones above (beyond 2^53: BigInt)
      const m = /^count ([0-9]+), average -?[0-9]+, total ([0-9]+)$/.exec(value);
      const sk = skHex(key);
      if (m === null || sk === undefined || m[1] === '0') return;
      const s = this.names.get(sk);
      const total = BigInt(m[2]);
      const done: ZcEvent = { t, ev: 'count', counter: 'done', n: Number(m[1]) };
      describe(done, s);
      emit(done);
      const bytes: ZcEvent = { t, ev: 'count', counter: 'bytes', n: Number(total & BYTES_MASK) };
      describe(bytes, s);
      emit(bytes);
      const copied = Number(total >> 40n);
      if (copied > 0) {
        const c: ZcEvent = { t, ev: 'count', counter: 'copied', n: copied };
        describe(c, s);
        emit(c);
      }
      return;
    }
    if (counter !== undefined) {
      const sk = skHex(key);
      const n = Number(value);
      if (sk === undefined || !Number.isInteger(n) || n <= 0) return;
      const e: ZcEvent = { t, ev: 'count', counter, n };
      describe(e, this.names.get(sk));
      emit(e);
    }
  }
}

/** The ranges and facts of a `held` line (its fields are those of a submit line, plus these). */
export function heldFacts(f: LineFields): { age: number; rwat: number; rwatAge: number; now?: string; nowZero: boolean; copied: boolean } | undefined {
  const age = Number(f.get('age'));
  const rwat = Number(f.get('rwat') ?? '0');
  const now = Number(f.get('abs') ?? 'NaN');
  const nz = f.get('nz');
  if (!Number.isInteger(age) || age < 0 || !Number.isInteger(rwat)) return undefined;
  return {
    age, rwat,
    // rwat is the kernel's clock; abs is the kernel's clock at the line (ns since rwat = abs - rwat)
    rwatAge: rwat > 0 && Number.isFinite(now) ? Math.max(0, now - rwat) : 0,
    now: nz === '0' || nz === '1' ? f.get('now') : undefined,
    nowZero: nz === '1',
    copied: f.get('copied') === '1',
  };
}


/** The facts of a held line that say what happened to the send (heldFacts). */
export type HeldFacts = NonNullable<ReturnType<typeof heldFacts>>;

/** An unmap/madvise or a read-like write of a sender, kept for the held sends judged later. */
export type Change =
  | { t: number; pid: number; kind: 'unmap'; start: bigint; len: bigint; reason: string }
  | { t: number; pid: number; kind: 'write'; t0: number; ranges: [bigint, bigint][]; call: string };

/**
 * The unmaps and writes of the last while (bounded: a held send older than the oldest kept is
 * judged on fewer), and the judging of a held send against them, as streaming would have.
 */
export class Changes {
  private readonly list: Change[] = [];

  constructor(private readonly max = 4096) {}

  add(c: Change): void {
    this.list.push(c);
    if (this.list.length > this.max) this.list.shift();
  }

  /**
   * A held send `s` (its submit already emitted, s.t = its send time) completing at `t`: its
   * buffer is filed, then, in the order they happened, the unmaps and writes since it was sent,
   * the resend that found other bytes (rwat) and the check at completion. The first that frees
   * it is the finding (later ones find it gone). Frees are dated `t`: a recorded trace stays in
   * time order; their window (since) says when.
   */
  judge(buffers: UserBuffers, s: SentBuffer, t: number, h: HeldFacts, emit: Emit): void {
    buffers.send(s, () => {});
    const late: Emit = (e) => emit(e.t < t ? { ...e, t } : e);
    const rwat = h.rwat > 0 ? t - h.rwatAge : Infinity;
    let rewriteDone = false;
    for (const c of this.list) {
      if (c.pid !== s.pid || c.t < s.t) continue;
      if (!rewriteDone && rwat <= c.t) {
        buffers.rewrite(s.obj, t, false, late);
        rewriteDone = true;
      }
      if (c.kind === 'unmap') buffers.unmap(s.pid, c.start, c.len, c.t, c.reason, late);
      else buffers.write(s.pid, c.t0, c.t, c.ranges, c.call, late);
    }
    if (!rewriteDone && (h.rwat > 0 || h.now !== undefined)) buffers.rewrite(s.obj, t, h.rwat > 0 ? false : h.nowZero, late);
  }
}

/**
 * What the decoders of the packs that can match in the kernel share: the user buffers in flight,
 * the printed maps, the changes kept for held sends, and whether the program said it matches.
 */
export abstract class MatchingDecoder {
  /** In-flight buffers per process (exposed for tests and stats). */
  readonly buffers = new UserBuffers();
  protected readonly maps = new MatchMaps();
  protected readonly changes = new Changes();

  /** True once the program said it matches in the kernel. */
  get matching(): boolean {
    return this.maps.leakNs !== undefined;
  }

  /** A line of a printed map (matching mode's counters). */
  mapLine(raw: string, t: number, emit: Emit): void {
    this.maps.line(raw, t, emit);
  }
}
