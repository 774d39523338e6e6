// What a msgzc-kernel run must show for one run of the msgzc workload, judged from the raw
// program lines (which lifetime took which zero-copy id) and the workload's own accounting.
// Used by the lab tests (zctrace live in a guest) and the replay tests of the committed
// captures (test/fixtures/msgzc-kernel), so both hold the pack to the same standard.
import { Engine } from '../../src/engine/engine.js';
import type { EngineRecord, Finding, ZcEvent } from '../../src/engine/types.js';
import type { ProbeLine } from '../../src/probes/pack.js';
import { MsgzcKernelDecoder } from '../../src/probes/packs/msgzc-kernel-decoder.js';

/** The workload's JSON line (workloads/msgzc.c). */
export interface Accounting {
  /** 'reuse' is the workload's old name of 'rewrite' (the lab runs it under that name). */
  fault: 'none' | 'leak' | 'early-free' | 'reuse' | 'rewrite' | 'rewrite-quiet' | 'read-into' | 'resend';
  pid: number;
  sends: number;
  completions: number;
  copied: number;
  sock: string;
  next_id: number;
  faulted_ids: number[];
  /** Sends made while an earlier send of the same buffer was unread (absent in old captures). */
  resends?: number;
  /** read-into: the call that read into the buffer (read, readv, pread, recvfrom). */
  read_call?: string | null;
}

/** The free reason the decoder gives each --read-call of read-into (the syscall's name). */
const READ_REASON: Record<string, string> = { read: 'read', readv: 'readv', pread: 'pread64', recvfrom: 'recvfrom' };

/** One raw line: kind, absolute time, fields. */
export interface RawLine {
  kind: string;
  T: bigint;
  f: Map<string, string>;
  lineNo: number;
}

/** Splits bpftrace stdout into event lines (bpftrace's own lines skipped). */
export function parseRaw(text: string): RawLine[] {
  const out: RawLine[] = [];
  text.split('\n').forEach((s, i) => {
    const parts = s.split('\t');
    if (parts.length < 2 || !/^[0-9]+$/.test(parts[1])) return;
    const f = new Map<string, string>();
    for (const kv of parts.slice(2)) {
      const eq = kv.indexOf('=');
      if (eq > 0) f.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    out.push({ kind: parts[0], T: BigInt(parts[1]), f, lineNo: i + 1 });
  });
  return out;
}

/** One lifetime of a ubuf as the raw lines tell it. */
export interface RawLifetime {
  obj: string;
  start: bigint;
  pid: number;
  /** The socket, as `address#incarnation`. */
  sk: string;
  ids: Set<number>;
  /** Its submits: id → time. A free splits the engine's lifetime (a submit after a free starts
   * a new one at the same obj), so a finding may start at any of them. */
  submits: Map<number, bigint>;
  fate?: string;
  /** Ids its notification carries: its own done range and the ranges merged into it. */
  notified: Set<number>;
  read: boolean;
  /** When the kernel let go of it (its done line): it held none of the pages after. */
  done?: bigint;
  /** Per id: its submit line (the send's buffer: addr, len). */
  lines: Map<number, RawLine>;
}

function range(lo: number, hi: number): number[] {
  const out: number[] = [];
  for (let id = lo; id !== ((hi + 1) >>> 0); id = (id + 1) >>> 0) out.push(id);
  return out;
}

/** Lifetimes (in time order) and per-socket id counts, from raw lines in time order. */
export function lifetimes(lines: RawLine[]): { all: RawLifetime[]; readIds: Map<string, number>; readCopied: Map<string, number>; doneIds: Map<string, number> } {
  const sorted = [...lines].sort((a, b) => (a.T < b.T ? -1 : a.T > b.T ? 1 : a.lineNo - b.lineNo));
  const current = new Map<string, RawLifetime>();
  const all: RawLifetime[] = [];
  const readIds = new Map<string, number>();
  const readCopied = new Map<string, number>();
  const doneIds = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, n: number): void => { m.set(k, (m.get(k) ?? 0) + n); };
  // A socket's address is reused after it is destroyed (skfree): count per socket incarnation.
  const epoch = new Map<string, number>();
  const skKey = (sk: string): string => `${sk}#${epoch.get(sk) ?? 0}`;
  for (const l of sorted) {
    const obj = l.f.get('obj') ?? '';
    if (l.kind === 'skfree') {
      epoch.set(l.f.get('sk')!, (epoch.get(l.f.get('sk')!) ?? 0) + 1);
    } else if (l.kind === 'submit') {
      let lt = current.get(obj);
      if (l.f.get('new') === '1' || lt === undefined) {
        lt = { obj, start: l.T, pid: Number(l.f.get('pid')), sk: skKey(l.f.get('sk')!), ids: new Set(), submits: new Map(), notified: new Set(), read: false, lines: new Map() };
        current.set(obj, lt);
        all.push(lt);
      }
      lt.ids.add(Number(l.f.get('id')));
      lt.submits.set(Number(l.f.get('id')), l.T);
      lt.lines.set(Number(l.f.get('id')), l);
    } else if (l.kind === 'done') {
      const lt = current.get(obj);
      const ids = range(Number(l.f.get('lo')), Number(l.f.get('hi')));
      const fate = l.f.get('fate')!;
      if (fate !== 'drop') add(doneIds, skKey(l.f.get('sk')!), ids.length);
      if (lt === undefined) continue;
      lt.fate = fate;
      lt.done ??= l.T;
      if (fate === 'queue') for (const id of ids) lt.notified.add(id);
      if (fate === 'merge') {
        const into = current.get(l.f.get('into')!);
        if (into?.fate === 'queue' && !into.read) for (const id of ids) into.notified.add(id);
      }
    } else if (l.kind === 'read') {
      const n = range(Number(l.f.get('lo')), Number(l.f.get('hi'))).length;
      add(readIds, skKey(l.f.get('sk')!), n);
      if (l.f.get('copied') === '1') add(readCopied, skKey(l.f.get('sk')!), n);
      const lt = current.get(obj);
      if (lt !== undefined) lt.read = true;
    }
  }
  return { all, readIds, readCopied, doneIds };
}

/** Findings (copy fallbacks aside) from replaying raw lines through the pack's decoder and the engine. */
export function replayFindings(lines: RawLine[], leakAfterNs: number): { findings: Finding[]; events: ZcEvent[]; t0: bigint; decoder: MsgzcKernelDecoder } {
  const t0 = lines.length ? lines[0].T : 0n;
  const decoder = new MsgzcKernelDecoder();
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs, onRecord: (r) => records.push(r) });
  const events: ZcEvent[] = [];
  const emit = (e: ZcEvent): void => { events.push(e); engine.push(e); };
  for (const l of lines) {
    const pl: ProbeLine = { kind: l.kind, t: Number(l.T - t0), fields: l.f, lineNo: l.lineNo };
    if (l.kind !== 'ready' && !decoder.decode(pl, emit)) throw new Error(`line ${l.lineNo}: the decoder refused a ${l.kind} line`);
  }
  decoder.finish(emit);
  engine.end();
  return { findings: records.filter((r): r is Finding => r.type === 'finding' && r.kind !== 'copy_fallback'), events, t0, decoder };
}

/** What is wrong with a run of one workload (empty: all good). `t0` = the time origin of the findings. */
export function judge(acct: Accounting, lines: RawLine[], findings: Finding[], t0: bigint): string[] {
  const problems: string[] = [];
  const { all, readIds, readCopied, doneIds } = lifetimes(lines);
  const mine = all.filter((lt) => lt.pid === acct.pid);
  const sk = mine[0]?.sk;
  if (sk === undefined) return [`no submit line of pid ${acct.pid}`];
  const sent = new Set(mine.flatMap((lt) => [...lt.ids]));
  if (sent.size !== acct.next_id) problems.push(`${sent.size} ids submitted, the workload used ${acct.next_id}`);
  // completions: the owner read exactly what the workload counted; the kernel completed every id
  if ((readIds.get(sk) ?? 0) !== acct.completions) problems.push(`read ${readIds.get(sk) ?? 0} ids, the workload counted ${acct.completions} completions`);
  if ((readCopied.get(sk) ?? 0) !== acct.copied) problems.push(`read ${readCopied.get(sk) ?? 0} copied ids, the workload counted ${acct.copied}`);
  if ((doneIds.get(sk) ?? 0) !== acct.next_id) problems.push(`the kernel completed ${doneIds.get(sk) ?? 0} ids of ${acct.next_id}`);

  // Findings by lifetime: obj and start (the live run's times are relative to t0), with the
  // reasons of its early frees (the free event that triggered each).
  const got = new Map<string, { obj: string; start: bigint; kinds: Set<string>; reasons: Set<string> }>();
  for (const f of findings.filter((x) => x.pid === acct.pid)) {
    const start = BigInt(f.start) + t0;
    const k = `${f.obj}@${start}`;
    if (!got.has(k)) got.set(k, { obj: f.obj, start, kinds: new Set(), reasons: new Set() });
    got.get(k)!.kinds.add(f.kind);
    if (f.kind === 'early_free') got.get(k)!.reasons.add(f.trigger?.reason ?? '(none)');
  }
  // What the fault must give: early-free unmaps the buffer in flight (free reason 'unmap');
  // reuse (= rewrite) rewrites it in place and sends it again while the first send is in
  // flight: the second send's fingerprint differs from the first's (free reason 'rewrite');
  // rewrite-quiet rewrites it in place and never resends it: the program sees the change at
  // the socket's next send (a rewrite line; free reason 'rewrite'); read-into has a read-like
  // call write into it (a write line; free reason: the call). resend is no fault: unchanged
  // buffers sent again while in flight must give nothing.
  const rewrite = acct.fault === 'reuse' || acct.fault === 'rewrite' || acct.fault === 'rewrite-quiet';
  const kind = acct.fault === 'none' || acct.fault === 'resend' ? '' : acct.fault === 'leak' ? 'leak' : 'early_free';
  const reason = acct.fault === 'early-free' ? 'unmap'
    : rewrite ? 'rewrite'
    : acct.fault === 'read-into' ? READ_REASON[acct.read_call ?? 'read'] ?? String(acct.read_call)
    : undefined;
  const want = reason === undefined ? kind : `${kind} (${reason})`;
  const allowed = new Set(acct.fault === 'leak' ? ['leak'] : ['early_free', 'use_after_free']);
  if (acct.fault === 'resend' && acct.resends !== undefined && acct.resends < 1) {
    problems.push('the workload sent no buffer again while in flight (resends 0): the run tests nothing');
  }
  // The lifetimes the fault must land on, and where their engine lifetimes may start.
  const expected: { lt: RawLifetime; starts: Set<bigint>; what: string }[] = [];
  if (acct.fault === 'early-free' || rewrite || acct.fault === 'read-into') {
    const sorted = [...lines].sort((a, b) => (a.T < b.T ? -1 : a.T > b.T ? 1 : a.lineNo - b.lineNo));
    const pidOf = (l: RawLine): number => Number(l.f.get('pid'));
    /** The last faulted id expected on each lifetime: its free ended the engine's lifetime there. */
    const lastOn = new Map<RawLifetime, number>();
    /** Faulted ids that cannot count, and why. */
    const skipped: string[] = [];
    for (const id of acct.faulted_ids) {
      const lt = mine.find((l) => l.ids.has(id));
      if (lt === undefined) {
        problems.push(`no lifetime took faulted id ${id}`);
        continue;
      }
      const sub = lt.lines.get(id)!;
      // rewrite-quiet and read-into: where the program saw the fault. It counts only if the
      // kernel still held the ubuf's pages then (no done line before); after its done TCP no
      // longer sends from the buffer, so the decoder reports nothing and the judge expects
      // nothing (the syscall pack reports it: the owner had not read its completion). For a
      // read the decoder compares with the read's exit (a done during the read cannot be
      // ordered with its writes). A quiet rewrite is only seen at the next send: one made
      // before the done but seen after it is a corruption the pack cannot place, so it misses
      // it; the lab gives rewrite-quiet a buffer per send so that the next send never waits
      // for a completion (test/lab/guest/msgzc-kernel.sh).
      let seen: bigint | undefined;
      if (acct.fault === 'rewrite-quiet') {
        // The check is made at the socket's next send (the rewrite line comes just before its
        // submit): a faulted send that was the socket's last one cannot be checked (the
        // programs' documented miss), so nothing is expected there.
        const next = sorted.find((l) => l.kind === 'submit' && l.T > sub.T && pidOf(l) === acct.pid && l.f.get('sk') === sub.f.get('sk'));
        if (next === undefined) {
          skipped.push(`${id}: the socket's last send, never checked`);
          continue;
        }
        const rw = sorted.find((l) => l.kind === 'rewrite' && l.T > sub.T && l.T <= next.T && l.f.get('obj') === lt.obj && pidOf(l) === acct.pid);
        if (rw === undefined) {
          problems.push(`no rewrite line for id ${id} at the socket's next send (id ${next.f.get('id')}, line ${next.lineNo})`);
          continue;
        }
        seen = rw.T;
      } else if (acct.fault === 'read-into') {
        const a = BigInt(sub.f.get('addr')!);
        const end = a + BigInt(sub.f.get('len')!);
        const meets = (l: RawLine, ak: string, lk: string): boolean => {
          const wa = BigInt(l.f.get(ak) ?? '0');
          const wl = BigInt(l.f.get(lk) ?? '0');
          return wl > 0n && wa < end && a < wa + wl;
        };
        const w = sorted.find((l) => l.kind === 'write' && l.T > sub.T && pidOf(l) === acct.pid && (meets(l, 'addr', 'len') || meets(l, 'addr1', 'len1')));
        if (w === undefined) {
          problems.push(`no write line into the buffer of id ${id} (${sub.f.get('addr')}, ${sub.f.get('len')} bytes)`);
          continue;
        }
        seen = w.T;
      }
      if (seen !== undefined && lt.done !== undefined && lt.done < seen) {
        skipped.push(`${id}: its ubuf was done (${lt.done}) before the fault was seen (${seen})`);
        continue;
      }
      // The engine's lifetime that took id starts at one of its raw lifetime's submits up to
      // id, after the previous fault expected on it (whose free ended the one before).
      const first = [...lt.submits.keys()][0];
      const pos = (i: number): number => (i - first) >>> 0;
      const prev = lastOn.get(lt);
      const starts = new Set([...lt.submits].filter(([i]) => pos(i) <= pos(id) && (prev === undefined || pos(i) > pos(prev))).map(([, T]) => T));
      expected.push({ lt, starts, what: `id ${id}` });
      lastOn.set(lt, id);
    }
    if (skipped.length > 0 && skipped.length === acct.faulted_ids.length) {
      problems.push(`no faulted id can count (${skipped.join('; ')}): the run tests nothing`);
    }
  } else if (acct.fault === 'leak') {
    const covered = new Set<number>();
    for (const lt of mine) {
      if (lt.fate !== 'queue' || lt.read) continue;
      expected.push({ lt, starts: new Set([lt.start]), what: `notification ${[...lt.notified].join(',')}` });
      for (const id of lt.notified) covered.add(id);
    }
    const missing = acct.faulted_ids.filter((id) => !covered.has(id));
    if (missing.length) problems.push(`leaked ids not covered by an unread notification: ${missing.join(',')}`);
  }
  const matches = (e: { lt: RawLifetime; starts: Set<bigint> }, g: { obj: string; start: bigint }): boolean => g.obj === e.lt.obj && e.starts.has(g.start);
  for (const e of expected) {
    if (![...got.values()].some((g) => matches(e, g) && g.kinds.has(kind) && (reason === undefined || g.reasons.has(reason)))) {
      const seen = [...got.values()].filter((g) => matches(e, g) && g.kinds.has(kind)).flatMap((g) => [...g.reasons]);
      problems.push(`no ${want} on ${e.lt.obj} (lifetime from ${e.lt.start}, ${e.what})${seen.length ? `: ${kind} with reason ${seen.join(',')}` : ''}`);
    }
  }
  for (const g of got.values()) {
    if (!expected.some((e) => matches(e, g))) problems.push(`unexpected ${[...g.kinds].join('+')} on ${g.obj}@${g.start}`);
    else for (const k of g.kinds) if (!allowed.has(k)) problems.push(`unexpected ${k} on ${g.obj}@${g.start}`);
  }
  return problems;
}
