// The msgzc-syscalls pack: decoder units, real captures checked against the workload's own
// accounting (test/fixtures/msgzc-syscalls/README.md says how they were made), the .bt header's
// example, and live runs of the real program against the real workload (root + bpftrace + gcc).
import { decodeWith, headerExampleLines, probeLine } from '../../helpers/pack-lines.js';
import { stopChild } from '../../helpers/stop-child.js';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.js';
import type { EngineRecord, Finding, ZcEvent } from '../../../src/engine/types.js';
import type { ProbeLine } from '../../../src/probes/pack.js';
import { ProbeParser } from '../../../src/probes/parse.js';
import { sentRanges } from '../../../src/probes/fields.js';
import { faultKind, freeReason } from '../../helpers/iouring-capture.js';
import { aheadOf, IdSet, spans } from '../../../src/probes/packs/msgzc-ids.js';
import { msgzcSyscalls } from '../../../src/probes/packs/msgzc-syscalls.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const fixtures = join(root, 'test/fixtures/msgzc-syscalls');
const SK = '0xffff888100c62800';
const H = (id: number) => `sk:${SK}#${id}`;
const SOCK = '127.0.0.1:40000>127.0.0.1:45601';

/** A line as the generic parser hands it over (t already rebased, lines in time order). */
const line = probeLine;

function decodeAll(lines: ProbeLine[]): { events: ZcEvent[]; unknown: number } {
  return decodeWith(msgzcSyscalls.createDecoder(), lines);
}

const sub = (t: number, id: number, addr: string, extra: Record<string, string | number> = {}) =>
  line('submit', t, { obj: H(id), bytes: 65536, pid: 42, sock: SOCK, niov: 1, addr, len: 65536, ...extra, comm: 'tgt' });
const zcdone = (t: number, lo: number, hi: number, copied = 1) =>
  line('zcdone', t, { sk: SK, lo, hi, copied, pid: 42, comm: 'tgt' });
const unmap = (t: number, addr: string, len: number, extra: Record<string, string | number> = {}) =>
  line('unmap', t, { pid: 42, addr, len, reason: 'unmap', ...extra, comm: 'tgt' });
const evs = (events: ZcEvent[]) => events.map((e) => [e.ev, e.obj, e.reason ?? e.copied].filter((x) => x !== undefined));

describe('msgzc-syscalls decoder', () => {
  it('maps a submit line to a submit event', () => {
    const { events } = decodeAll([sub(5, 0, '0x7f0000010000')]);
    expect(events).toEqual([{ t: 5, ev: 'submit', obj: H(0), bytes: 65536, pid: 42, sock: SOCK, comm: 'tgt' }]);
  });

  it('turns a coalesced completion into one done per id, in id order', () => {
    const lines = [0, 1, 2, 3, 4].map((id) => sub(id + 1, id, `0x7f00000${id + 1}0000`));
    const { events } = decodeAll([...lines, zcdone(10, 0, 4)]);
    expect(events.slice(5)).toEqual([0, 1, 2, 3, 4].map((id) => ({ t: 10, ev: 'done', obj: H(id), copied: true })));
  });

  it('takes completion ranges out of order, and copied per range', () => {
    const lines = [0, 1, 2, 3, 4, 5].map((id) => sub(id + 1, id, `0x7f00000${id + 1}0000`));
    const { events } = decodeAll([...lines, zcdone(10, 3, 5, 0), zcdone(11, 0, 2, 1)]);
    expect(evs(events.slice(6))).toEqual([
      ['done', H(3), false], ['done', H(4), false], ['done', H(5), false],
      ['done', H(0), true], ['done', H(1), true], ['done', H(2), true],
    ]);
  });

  it('skips ids sent before the trace began (attached to a running sender)', () => {
    const { events } = decodeAll([sub(1, 8, '0x7f0000010000'), sub(2, 9, '0x7f0000020000'), zcdone(3, 0, 9)]);
    expect(evs(events)).toEqual([['submit', H(8)], ['submit', H(9)], ['done', H(8), true], ['done', H(9), true]]);
  });

  it('handles ids wrapping past 2^32 - 1, in sends and in a completion range', () => {
    const ids = [0xfffffffe, 0xffffffff, 0, 1];
    const { events } = decodeAll([...ids.map((id, k) => sub(k + 1, id, `0x7f00000${k + 1}0000`)), zcdone(9, 0xfffffffe, 1)]);
    expect(evs(events.slice(4))).toEqual(ids.map((id) => ['done', H(id), true]));
    expect(spans(0xfffffffe, 1)).toEqual([[0xfffffffe, 0xffffffff], [0, 1]]);
    expect(aheadOf(0xffffffff, 0xfffffffe, 1)).toEqual([[0xffffffff, 0xffffffff], [0, 1]]);
    expect(aheadOf(5, 0, 4)).toEqual([]);
    expect(aheadOf(undefined, 7, 9)).toEqual([[7, 9]]);
  });

  it('completes a send whose completion was read before its sendmsg returned', () => {
    // another thread reaps id 3 at t=5; the sender's sys_exit_sendmsg fires at t=6
    const { events } = decodeAll([sub(1, 2, '0x7f0000010000'), zcdone(5, 3, 3), sub(6, 3, '0x7f0000020000')]);
    expect(evs(events)).toEqual([['submit', H(2)], ['submit', H(3)], ['done', H(3), true]]);
    expect(events[2].t).toBe(6);
    // but not one read long before (a stale range: the socket address was reused since)
    const late = decodeAll([zcdone(5, 0, 0), sub(5 + 200e6, 0, '0x7f0000010000')]);
    expect(evs(late.events)).toEqual([['submit', H(0)]]);
  });

  it('frees an in-flight holder whose buffer is unmapped (page-rounded), once, and only its own process', () => {
    const { events } = decodeAll([
      sub(1, 0, '0x7f0000010100', { len: 8192, bytes: 8192 }), // covers pages 0x...10000-0x...12fff
      sub(2, 1, '0x7f0000030000'),
      unmap(3, '0x7f0000012000', 100), // meets holder 0's last page only
      unmap(4, '0x7f0000012000', 4096),
      unmap(5, '0x7f0000030000', 65536, { pid: 43 }), // another process's memory
      line('unmap', 6, { pid: 42, addr: '0x7f0000030000', len: 65536, reason: 'madvise', advice: 4, comm: 'tgt' }),
      zcdone(7, 0, 1),
    ]);
    expect(evs(events)).toEqual([
      ['submit', H(0)], ['submit', H(1)],
      ['free', H(0), 'unmap'], ['free', H(1), 'madvise'],
      ['done', H(0), true], ['done', H(1), true],
    ]);
    expect(events[2]).toEqual({ t: 3, ev: 'free', obj: H(0), reason: 'unmap', pid: 42 });
  });

  it('does not free a buffer after its completion, nor one mapped again and sent after the unmap', () => {
    const { events } = decodeAll([
      sub(1, 0, '0x7f0000010000'),
      zcdone(2, 0, 0),
      unmap(3, '0x7f0000010000', 65536), // legitimate: completion read first
      sub(4, 1, '0x7f0000010000'),       // the same address, mapped again
      zcdone(5, 1, 1),
    ]);
    expect(evs(events)).toEqual([['submit', H(0)], ['done', H(0), true], ['submit', H(1)], ['done', H(1), true]]);
  });

  it('counts a resend of unchanged bytes; changed bytes are a rewrite of the older holders', () => {
    const { events } = decodeAll([
      sub(1, 7, '0x7f0000010000', { fp: '0xaa', fz: 0 }),
      sub(2, 8, '0x7f0000010000', { fp: '0xaa', fz: 0 }), // the same bytes again: a resend
      sub(3, 9, '0x7f0000018000', { fp: '0xbb', fz: 0 }), // overlaps 7 and 8 partly: counted, not compared
      sub(4, 10, '0x7f0000040000', { fp: '0xcc', fz: 0, pid: 43 }), // another process
      sub(5, 11, '0x7f0000010000', { fp: '0xdd', fz: 0 }), // changed under 7 and 8
    ]);
    expect(evs(events)).toEqual([
      ['submit', H(7)], ['submit', H(8)], ['submit', H(9)], ['submit', H(10)],
      ['free', H(7), 'rewrite'], ['free', H(8), 'rewrite'], ['submit', H(11)],
    ]);
    expect(events.filter((e) => e.resend).map((e) => e.obj)).toEqual([H(8), H(9)]);
    // the window: since the last time the bytes were seen unchanged (8's send at t=2)
    expect(events.filter((e) => e.ev === 'free').map((e) => [e.since, e.unsure])).toEqual([[2, undefined], [2, undefined]]);
  });

  it('a change seen against an all-zero sample is uncertain; no fingerprint is no comparison', () => {
    const { events } = decodeAll([
      sub(1, 7, '0x7f0000010000', { fp: '0xaa', fz: 0 }),
      sub(2, 8, '0x7f0000010000', { fp: '0x00', fz: 1 }),
      sub(3, 9, '0x7f0000050000'), // a capture made before fingerprints
      sub(4, 10, '0x7f0000050000'),
    ]);
    expect(evs(events)).toEqual([['submit', H(7)], ['free', H(7), 'rewrite'], ['submit', H(8)], ['submit', H(9)], ['submit', H(10)]]);
    expect(events[1].unsure).toMatch(/all zero/);
    expect(events.filter((e) => e.resend).map((e) => e.obj)).toEqual([H(10)]);
  });

  it('frees on the kernel\'s rewrite line and on a write into the buffer, not after the completion', () => {
    const { events } = decodeAll([
      sub(1, 7, '0x7f0000010000', { fp: '0xaa', fz: 0 }),
      sub(2, 8, '0x7f0000030000', { fp: '0xbb', fz: 0 }),
      sub(3, 9, '0x7f0000050000', { fp: '0xcc', fz: 0 }),
      line('rewrite', 10, { obj: H(7), fp: '0xaa', now: '0x11', fz: 0, at: 'done', pid: 42, comm: 'tgt' }),
      line('write', 20, { dt: 5, pid: 42, addr: '0x7f0000031000', len: 4096, addr1: '0x0', len1: 0, call: 'tracepoint:syscalls:sys_exit_read', comm: 'tgt' }),
      line('write', 21, { dt: 19, pid: 42, addr: '0x7f0000050000', len: 10, addr1: '0x0', len1: 0, call: 'tracepoint:syscalls:sys_exit_recvmsg', comm: 'tgt' }),
      line('zcdone', 22, { sk: SK, lo: 7, hi: 9, copied: 0, checked: 3, pid: 42, comm: 'tgt' }),
      line('write', 23, { dt: 1, pid: 42, addr: '0x7f0000010000', len: 4096, call: 'tracepoint:syscalls:sys_exit_read', comm: 'tgt' }),
    ]);
    expect(evs(events)).toEqual([
      ['submit', H(7)], ['submit', H(8)], ['submit', H(9)],
      ['free', H(7), 'rewrite'], ['free', H(8), 'read'], ['free', H(9), 'recvmsg'],
      ['done', H(7), false], ['done', H(8), false], ['done', H(9), false],
    ]);
    const frees = events.filter((e) => e.ev === 'free');
    expect(frees.map((e) => [e.since, e.unsure === undefined])).toEqual([[1, true], [15, true], [2, false]]);
    expect(frees[2].unsure).toMatch(/recvmsg ran while this send was made/);
  });

  it('watches every iovec of a sendmsg, clipped to the bytes sent', () => {
    const f = new Map(Object.entries({
      addr: '0x1000', len: '100', addr1: '0x9000', len1: '4096', addr2: '0x20000', len2: '4096', addr3: '0x0', len3: '0',
    }));
    expect(sentRanges(f, 1000)).toEqual([[0x1000n, 100n], [0x9000n, 900n]]);
    expect(sentRanges(f, undefined)).toEqual([[0x1000n, 100n], [0x9000n, 4096n], [0x20000n, 4096n]]);
    const { events } = decodeAll([
      sub(1, 0, '0x7f0000001000', { niov: 2, len: 512, addr1: '0x7f0000100000', len1: 65536, addr2: '0x0', len2: 0, addr3: '0x0', len3: 0, bytes: 1024 }),
      unmap(2, '0x7f0000100000', 4096),
    ]);
    expect(evs(events)).toEqual([['submit', H(0)], ['free', H(0), 'unmap']]);
  });

  it('closes the holders still in flight when their socket goes away, and starts afresh after', () => {
    const { events } = decodeAll([
      sub(1, 0, '0x7f0000010000'),
      sub(2, 1, '0x7f0000020000'),
      sub(3, 2, '0x7f0000030000'),
      zcdone(4, 1, 1),
      line('close', 5, { sk: SK, how: 'close', pid: 42, comm: 'tgt' }),
      unmap(7, '0x7f0000010000', 65536), // nothing left to free
      sub(8, 0, '0x7f0000010000'),     // a new socket at the same address: ids restart
      line('close', 9, { sk: SK, how: 'destroy' }),
    ]);
    expect(evs(events)).toEqual([
      ['submit', H(0)], ['submit', H(1)], ['submit', H(2)], ['done', H(1), true],
      ['close', H(0)], ['close', H(2)], ['submit', H(0)], ['close', H(0)],
    ]);
    expect(events[4]).toEqual({ t: 5, ev: 'close', obj: H(0), sock: SOCK });
  });

  it('forgets the buffers of a process that exited (its pid may be reused)', () => {
    const { events } = decodeAll([
      sub(1, 0, '0x7f0000010000'),
      line('exit', 2, { pid: 42, comm: 'tgt' }),
      unmap(3, '0x7f0000010000', 65536),
      zcdone(4, 0, 0),
    ]);
    expect(evs(events)).toEqual([['submit', H(0)], ['done', H(0), true]]);
  });

  it('passes ENOBUFS on as send_error, naming the socket', () => {
    const { events } = decodeAll([line('send_error', 3, { obj: `sk:${SK}`, errno: 'ENOBUFS', pid: 42, sock: SOCK, comm: 'tgt' })]);
    expect(events).toEqual([{ t: 3, ev: 'send_error', obj: `sk:${SK}`, errno: 'ENOBUFS', pid: 42, sock: SOCK, comm: 'tgt' }]);
  });

  it('expands a submits range (sendmmsg messages past the 16th) and keeps IPv6 sockets as printed', () => {
    const v6 = '[::1]:40000>[::1]:45611';
    const { events } = decodeAll([
      sub(1, 15, '0x7f0000010000', { sock: v6 }),
      line('submits', 1, { sk: SK, lo: 16, hi: 18, pid: 42, comm: 'tgt' }),
      zcdone(2, 15, 18),
    ]);
    expect(events.slice(0, 4)).toEqual([15, 16, 17, 18].map((id) => ({
      t: 1, ev: 'submit', obj: H(id), pid: 42, sock: v6, comm: 'tgt', ...(id === 15 ? { bytes: 65536 } : {}),
    })));
    expect(evs(events.slice(4))).toEqual([15, 16, 17, 18].map((id) => ['done', H(id), true]));
  });

  it('stays bounded: a socket keeps at most maxIntervals gaps, and says how many ids it dropped', () => {
    const s = new IdSet(3);
    expect([0, 2, 4].map((id) => s.add(id))).toEqual([0, 0, 0]);
    expect(s.add(5)).toBe(0); // extends [4, 4]
    expect(s.add(9)).toBe(1); // a fourth interval: [0, 0] goes
    expect(s.count).toBe(4);
    expect(s.take(0, 100)).toEqual([[2, 2], [4, 5], [9, 9]]);
    expect(s.count).toBe(0);
    const lines: ProbeLine[] = [];
    for (let k = 0; k < 4097; k++) lines.push(sub(k + 1, 2 * k, '0x7f0000010000', { pid: 1000 + k }));
    const { events } = decodeAll(lines);
    expect(events.filter((e) => e.ev === 'lost')).toEqual([{ t: 4097, ev: 'lost', n: 1 }]);
  });

  it('refuses unknown kinds and malformed lines', () => {
    const { events, unknown } = decodeAll([
      line('get', 1, { obj: 'x' }),
      line('ready', 1, {}),
      line('submit', 2, { bytes: 1 }),
      line('submit', 2, { obj: 'ring:0x1#2', bytes: 1 }),
      line('zcdone', 3, { sk: SK, lo: 'abc', hi: 1 }),
      line('unmap', 4, { pid: 1, addr: 'nothex', len: 1 }),
      line('close', 5, {}),
      line('send_error', 6, { errno: 'ENOBUFS' }),
    ]);
    expect(unknown).toBe(8);
    expect(events).toEqual([]);
  });

  it('describes itself', () => {
    expect(msgzcSyscalls.name).toBe('msgzc-syscalls');
    const bt = readFileSync(join(root, 'probes', msgzcSyscalls.file), 'utf8');
    for (const r of msgzcSyscalls.requires) {
      if (r.kind !== 'tracepoint') continue;
      const [sys, tp] = r.name.split(':');
      expect(bt, r.name).toContain(`tracepoint:${sys}:${tp}`);
    }
    expect(msgzcSyscalls.blindSpots.length).toBeGreaterThan(3);
  });
});

// ---- real captures -------------------------------------------------------------------------

interface Accounting {
  pid: number; sends: number; bytes: number; completions: number; copied: number; enobufs: number;
  sock: string; faulted_ids: number[]; fault: string;
  /** Sends made while an earlier send of the same buffer had its completion unread. */
  resends?: number;
  read_call?: string | null;
}

/** Decodes a raw capture through the real parser and engine (leak threshold 1 s). */
function replay(text: string) {
  const rawLines = text.split('\n');
  const ready = rawLines.find((l) => l.startsWith('ready\t'));
  const t0 = BigInt(ready ? ready.split('\t')[1] : 0);
  const events: ZcEvent[] = [];
  const records: EngineRecord[] = [];
  const bad: string[] = [];
  const engine = new Engine({ leakAfterNs: 1e9, onRecord: (r) => records.push(r) });
  const parser = new ProbeParser(msgzcSyscalls.createDecoder(), t0, {
    emit: (e) => { events.push(e); engine.push(e); },
    ready: () => {},
    message: (m) => bad.push(m),
    bad: (n, why, l) => bad.push(`${n}: ${why}: ${l}`),
  });
  for (const l of rawLines) parser.line(l);
  parser.finish();
  engine.end();
  return { rawLines, events, records, bad, engine };
}

/**
 * Matching mode (the program given a leak threshold): the kernel counted the clean sends, so
 * the check is on totals and on the findings, which must be streaming's, holder for holder.
 */
function checkMatch(text: string, acct: Accounting): void {
  const { rawLines, events, records, bad, engine } = replay(text);
  expect(bad).toEqual([]);
  expect(rawLines.some((l) => l.startsWith('match\t'))).toBe(true);
  expect(rawLines.filter((l) => l.startsWith('submit\t'))).toEqual([]); // no line per send
  const st = engine.stats;
  expect(st.lost).toBe(0);
  expect(st.started).toBe(acct.sends);
  if (acct.fault !== 'leak') expect(st.doneLifetimes + st.earlyFreed - events.filter((e) => e.ev === 'free' && !events.some((d) => d.ev === 'done' && d.obj === e.obj)).length).toBe(acct.completions);
  const sk = rawLines.find((l) => l.startsWith('sock\t'))!.split('\t').find((f) => f.startsWith('sk='))!.slice(3);
  const findings = records.filter((r): r is Finding => r.type === 'finding' && !['copy_fallback', 'enobufs'].includes(r.kind));
  const want = faultKind(acct.fault);
  expect(findings.map((f) => [f.kind, f.obj]).sort()).toEqual(want ? acct.faulted_ids.map((id) => [want, `sk:${sk}#${id}`]).sort() : []);
  expect(findings.filter((f) => f.uncertain)).toEqual([]);
  // loopback copies every send: counted in the kernel for the clean ones (matching.ts splits
  // them out of the bytes' total), from their done events for the others, but for those a
  // free ended first (their completion comes after their lifetime, as in streaming)
  if (acct.fault !== 'leak') expect(st.copiedLifetimes).toBe(acct.copied - st.earlyFreed);
  const reason = freeReason(acct);
  expect(events.filter((e) => e.ev === 'free').map((e) => [e.obj, e.reason]).sort()).toEqual(reason ? acct.faulted_ids.map((id) => [`sk:${sk}#${id}`, reason]).sort() : []);
  if (acct.resends !== undefined) {
    const rewrites = acct.fault === 'reuse' || acct.fault === 'rewrite' ? acct.faulted_ids.length : 0;
    expect(st.resends).toBe(acct.resends - rewrites);
  }
}

/** What the trace says must equal what the workload says it did. `firstId`: attached mid-run. */
function checkCapture(text: string, acct: Accounting, firstId = 0): void {
  const { rawLines, events, records, bad } = replay(text);
  expect(bad).toEqual([]);
  const field = (l: string, k: string) => l.split('\t').find((f) => f.startsWith(`${k}=`))?.slice(k.length + 1);
  // raw lines: completed ids counted as the workload counts them (each id of a range once)
  let doneIds = 0;
  let copiedIds = 0;
  for (const l of rawLines.filter((x) => x.startsWith('zcdone\t'))) {
    const n = ((Number(field(l, 'hi')) - Number(field(l, 'lo'))) >>> 0) + 1;
    doneIds += n;
    if (field(l, 'copied') === '1') copiedIds += n;
  }
  const submits = events.filter((e) => e.ev === 'submit');
  const ids = submits.map((e) => Number(e.obj!.slice(e.obj!.lastIndexOf('#') + 1)));
  expect(ids).toEqual(Array.from({ length: acct.sends - firstId }, (_, k) => firstId + k));
  expect(new Set(submits.map((e) => `${e.pid}|${e.sock}|${e.comm}`))).toEqual(new Set([`${acct.pid}|${acct.sock}|msgzc`]));
  if (firstId === 0) {
    expect(doneIds).toBe(acct.completions);
    expect(copiedIds).toBe(acct.copied);
    // `submits` range lines (sendmmsg past 16 messages) carry no byte counts
    const bytes = submits.reduce((s, e) => s + (e.bytes ?? 0), 0);
    if (submits.every((e) => e.bytes !== undefined)) expect(bytes).toBe(acct.bytes);
    else expect(bytes).toBeLessThan(acct.bytes);
  }
  const dones = events.filter((e) => e.ev === 'done');
  expect(dones.length).toBe(acct.completions - firstId);
  expect(events.filter((e) => e.ev === 'send_error').length).toBe(acct.enobufs);

  // the findings land on the holders the workload faulted
  const sk = submits[0].obj!.slice(0, submits[0].obj!.lastIndexOf('#'));
  const findings = records.filter((r): r is Finding => r.type === 'finding' && !['copy_fallback', 'enobufs'].includes(r.kind));
  const faulted = acct.faulted_ids.filter((id) => id >= firstId);
  const want = faultKind(acct.fault);
  expect(findings.map((f) => [f.kind, f.obj]).sort()).toEqual(want ? faulted.map((id) => [want, `${sk}#${id}`]).sort() : []);
  expect(findings.filter((f) => f.uncertain)).toEqual([]);
  const reason = freeReason(acct);
  expect(events.filter((e) => e.ev === 'free').map((e) => [e.obj, e.reason])).toEqual(reason ? faulted.map((id) => [`${sk}#${id}`, reason]) : []);
  // a resend of unchanged bytes is counted, never freed; the rewrite's own resend is a rewrite
  if (acct.resends !== undefined && firstId === 0) {
    const rewrites = acct.fault === 'reuse' || acct.fault === 'rewrite' ? faulted.length : 0;
    expect(submits.filter((e) => e.resend === true)).toHaveLength(acct.resends - rewrites);
  }
  expect(records.some((r) => r.type === 'finding' && r.kind === 'enobufs')).toBe(acct.enobufs > 0);
}

const captures = readdirSync(fixtures).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4));
const readAcct = (name: string) => JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8')) as Accounting;

describe('msgzc-syscalls captures', () => {
  it('has one capture per fault, IPv4 and IPv6, an ENOBUFS one and a mid-run attach', () => {
    for (const f of ['none', 'leak', 'early-free', 'reuse']) {
      expect(captures).toContain(f);
      expect(captures).toContain(`${f}-ipv6`);
    }
    for (const f of ['resend', 'rewrite-quiet', 'read-into', 'leak-cycle']) expect(captures).toContain(f);
    expect(captures).toContain('leak-enobufs');
    expect(captures).toContain('midrun');
  });

  for (const name of captures.filter((c) => c !== 'midrun')) {
    it(`${name}: the trace agrees with the workload's accounting`, () => {
      checkCapture(readFileSync(join(fixtures, `${name}.txt`), 'utf8'), readAcct(name));
    });
  }

  it('midrun: attached to a running sender, the ids are the kernel\'s absolute ones', () => {
    const text = readFileSync(join(fixtures, 'midrun.txt'), 'utf8');
    const first = text.split('\n').find((l) => l.startsWith('submit\t'))!;
    const id = Number(first.split('\t')[2].split('#')[1]);
    const addr = first.split('\t').find((f) => f.startsWith('addr='))!.slice(5);
    expect(id).toBeGreaterThan(0);
    // the workload's own log names the same id at the same buffer address
    expect(readFileSync(join(fixtures, 'midrun.log'), 'utf8')).toContain(`send i=${id} id=${id} addr=${addr} `);
    checkCapture(text, readAcct('midrun'), id);
  });

  it("the .bt header's Example lines appear verbatim in a capture", () => {
    const bt = readFileSync(join(root, 'probes/msgzc-syscalls.bt'), 'utf8');
    const examples = headerExampleLines(bt);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const all = captures.map((c) => readFileSync(join(fixtures, `${c}.txt`), 'utf8').split('\n'));
    expect(all.some((capLines) => examples.every((ex) => capLines.includes(ex)))).toBe(true);
  });
});

// ---- live: the real program against the real workload ---------------------------------------

/** Why the live tests cannot run here, or null. */
function liveSkip(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to load BPF programs';
  for (const [cmd, arg] of [['bpftrace', '--version'], ['gcc', '--version']]) {
    try {
      execFileSync(cmd, [arg], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed`;
    }
  }
  if (!existsSync('/sys/kernel/tracing/events/syscalls')) return 'tracefs is not mounted (mount -t tracefs nodev /sys/kernel/tracing)';
  return null;
}
const skip = liveSkip();

/** Runs bpftrace (port filter), then the workload once attached; returns stdout and the JSON. */
async function traceRun(bin: string, port: number, args: string[], leakMs?: number): Promise<{ out: string; acct: Accounting }> {
  // zctrace's own buffer sizes (src/probes/runner.ts): a full-speed run then fits in the ring
  const env = { ...process.env, BPFTRACE_PERF_RB_PAGES: '256', BPFTRACE_MAP_KEYS_MAX: '16384' };
  const params = ['0', String(port), '', ...(leakMs !== undefined ? [String(leakMs)] : [])];
  const bt = spawn('bpftrace', [join(root, 'probes/msgzc-syscalls.bt'), ...params], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  let err = '';
  bt.stderr.on('data', (d: Buffer) => { err += d.toString(); });
  const exited = new Promise<void>((res) => bt.on('exit', () => res()));
  await new Promise<void>((res, rej) => {
    bt.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (/^ready\t/m.test(out)) res();
    });
    void exited.then(() => rej(new Error(`bpftrace ended before attaching: ${err}`)));
  });
  const json = execFileSync(bin, [...args, '--port', String(port)], { encoding: 'utf8', timeout: 60_000 });
  await new Promise((r) => setTimeout(r, 1000));
  await stopChild(bt, exited);
  return { out, acct: JSON.parse(json.trim().split('\n').at(-1)!) as Accounting };
}

describe.skipIf(skip !== null)(`msgzc-syscalls live${skip ? ` (skipped: ${skip})` : ''}`, () => {
  let bin = '';
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), 'zctrace-msgzc-')), 'msgzc');
    execFileSync('gcc', ['-O2', '-Wall', '-o', bin, join(root, 'workloads/msgzc.c')]);
  });

  const runs: [string, string[]][] = [
    ['early-free', ['--slow-receiver', '--fault-every', '8']],
    ['reuse', ['--ipv6', '--sendmmsg', '--slow-receiver', '--fault-every', '8']],
    ['leak', ['--duration', '1.5']],
    ['leak', ['--count', '40', '--buffers', '16', '--duration', '1.5']], // cycles over 16: 40 leaks
    ['resend', ['--count', '1000', '--buffers', '2']], // full speed, unchanged bytes: no finding
    ['resend', ['--count', '1000', '--buffers', '2', '--ipv6', '--sendmmsg']],
    ['rewrite', ['--slow-receiver', '--fault-every', '8']],
    ['rewrite-quiet', ['--slow-receiver', '--fault-every', '8', '--ipv6']],
    // every buffer holds the same bytes: the completion check must read each buffer, not reuse
    // the reading of another one with an equal fingerprint (probes/msgzc-syscalls.bt, $ck)
    ['rewrite-quiet', ['--slow-receiver', '--fault-every', '8', '--same-bytes']],
    ['read-into', ['--slow-receiver', '--fault-every', '8']],
    ['read-into', ['--slow-receiver', '--fault-every', '8', '--read-call', 'readv', '--ipv6']],
    ['read-into', ['--slow-receiver', '--fault-every', '8', '--read-call', 'pread', '--sendmmsg']],
    ['read-into', ['--slow-receiver', '--fault-every', '8', '--read-call', 'recvfrom']],
  ];
  runs.forEach(([fault, extra], k) => {
    it(`${[fault, ...extra].join(' ')}: the trace agrees with the workload`, async () => {
      const { out, acct } = await traceRun(bin, 45690 + k, ['--fault', fault, '--count', '24', ...extra]);
      checkCapture(out, acct);
    });
    // the same workload, matched in the kernel: the same findings on the same holders
    it(`matching mode, ${[fault, ...extra].join(' ')}: the same findings, every send counted`, async () => {
      const { out, acct } = await traceRun(bin, 45720 + k, ['--fault', fault, '--count', '24', ...extra], 1000);
      checkMatch(out, acct);
    });
  });
});
