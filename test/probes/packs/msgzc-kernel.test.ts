// The msgzc-kernel pack: decoder units (each line kind, the lifetime model, reordering),
// variant choice, and the engine's verdict on small synthetic stories.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.js';
import type { EngineRecord, Finding, ZcEvent } from '../../../src/engine/types.js';
import type { HostFacts } from '../../../src/probes/host.js';
import type { ProbeLine } from '../../../src/probes/pack.js';
import { chooseVariant, msgzcKernel } from '../../../src/probes/packs/msgzc-kernel.js';
import { MsgzcKernelDecoder } from '../../../src/probes/packs/msgzc-kernel-decoder.js';
import { sentRanges } from '../../../src/probes/fields.js';
import { parsePages } from '../../../src/probes/packs/msgzc-kernel-lines.js';
import { ProbeParser } from '../../../src/probes/parse.js';
import { Reorder } from '../../../src/probes/reorder.js';
import { decodeWith, probeLine } from '../../helpers/pack-lines.js';

const U = '0xffff888005207e28';
const U2 = '0xffff88807dd77528';
const SK = '0xffff888006554800';
const SOCK = '127.0.0.1:45116>127.0.0.1:38267';

const line = probeLine;

const submit = (t: number, obj: string, extra: Record<string, string | number> = {}) => line('submit', t, {
  obj, new: 1, id: 0, n: 1, bytes: 65536, ref: 1, pid: 42, sock: SOCK, sk: SK, niov: 1,
  addr: '0x7f0000010000', len: 65536, addr1: '0x0', len1: 0, ...extra, comm: 'msgzc',
});
const put = (t: number, obj: string, ref: number, ok = 1) => line('put', t, { obj, ref, ok });
const done = (t: number, obj: string, fate: string, extra: Record<string, string | number> = {}) =>
  line('done', t, { obj, sk: SK, lo: 0, hi: 0, copied: 1, fate, into: '0x0', ...extra });
const read = (t: number, obj: string, lo = 0, hi = 0) => line('read', t, { obj, sk: SK, lo, hi, copied: 1, pid: 42, comm: 'msgzc' });

/** Decodes with no reordering delay unless asked, and returns the events. */
function decodeAll(lines: ProbeLine[], windowNs = 0): { events: ZcEvent[]; unknown: number; d: MsgzcKernelDecoder } {
  return decodeWith(new MsgzcKernelDecoder(windowNs), lines);
}

function findings(events: ZcEvent[], end = true): Finding[] {
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs: 1e9, onRecord: (r) => records.push(r) });
  for (const e of events) engine.push(e);
  if (end) engine.end();
  return records.filter((r): r is Finding => r.type === 'finding' && r.kind !== 'copy_fallback');
}

describe('msgzc-kernel decoder', () => {
  it('follows one ubuf: submit, puts with the kernel count, pages, queued, read', () => {
    const { events } = decodeAll([
      submit(1, U),
      line('copy', 2, { obj: U, ref: 2, n: 2, pages: '0xffffea0000010000:1,0xffffea0000010040:1,0x0:0' }),
      put(3, U, 2, 0),
      line('frags', 4, { obj: U, ref: 2, n: 1, pages: '0xffffea0000010000:0,0x0:0' }),
      put(5, U, 1),
      put(6, U, 0),
      done(7, U, 'queue'),
      read(8, U),
    ]);
    expect(events).toEqual([
      { t: 1, ev: 'submit', obj: U, bytes: 65536, pid: 42, comm: 'msgzc', sock: SOCK },
      { t: 2, ev: 'put', obj: U, page: '0xffffea0000010000', ref: 2, pageRef: 1, reason: 'copy' },
      { t: 2, ev: 'put', obj: U, page: '0xffffea0000010040', ref: 2, pageRef: 1, reason: 'copy' },
      { t: 3, ev: 'put', obj: U, ref: 2, reason: 'copy' },
      { t: 4, ev: 'put', obj: U, page: '0xffffea0000010000', ref: 2, pageRef: 0 },
      { t: 5, ev: 'put', obj: U, ref: 1 },
      { t: 6, ev: 'put', obj: U, ref: 0 },
      { t: 7, ev: 'get', obj: U, ref: 1, reason: 'notification' },
      { t: 7, ev: 'done', obj: U, copied: true },
      { t: 8, ev: 'put', obj: U, ref: 0, reason: 'read' },
    ]);
    expect(findings(events)).toEqual([]);
  });

  it('ends a merged or dropped ubuf at its done; the queued one waits for the read', () => {
    const { events, d } = decodeAll([
      submit(1, U), put(2, U, 0), done(3, U, 'queue'),
      submit(4, U2, { id: 1 }), put(5, U2, 0), done(6, U2, 'merge', { lo: 1, hi: 1, into: U }),
      read(7, U, 0, 1),
    ]);
    expect(events.filter((e) => e.obj === U2).map((e) => e.ev)).toEqual(['submit', 'put', 'done']);
    expect(events.at(-1)).toEqual({ t: 7, ev: 'put', obj: U, ref: 0, reason: 'read' });
    expect(d.stats.doneIds).toBe(2);
    expect(d.stats.readIds).toBe(2);
    expect(findings(events)).toEqual([]);
  });

  it('an unread notification is a leak on the queued ubuf, closed when the socket goes', () => {
    const lines = [
      submit(1, U), put(2, U, 0), done(3, U, 'queue'),
      submit(4, U2, { id: 1 }), put(5, U2, 0), done(6, U2, 'merge', { lo: 1, hi: 1, into: U }),
      line('hb', 3e9),
    ];
    const { events } = decodeAll([...lines, line('skfree', 3e9 + 1, { sk: SK })]);
    expect(events.at(-1)).toEqual({ t: 3e9 + 1, ev: 'close', obj: U });
    const f = findings(events);
    expect(f.map((x) => [x.kind, x.obj, x.refs])).toEqual([['leak', U, 1]]);
  });

  it('a new allocation at the same address ends a lifetime whose end was not seen', () => {
    const { events } = decodeAll([
      submit(1, U), put(2, U, 0), done(3, U, 'queue'),
      submit(4, U, { id: 5, addr: '0x7f0000020000' }), // the notification skb was freed unseen (e.g. lost lines)
      submit(5, U2, { addr: '0x7f0000030000' }), // open, then its done is lost
      submit(6, U2, { id: 9, addr: '0x7f0000040000' }),
    ]);
    expect(events.map((e) => [e.t, e.ev, e.obj, e.reason])).toEqual([
      [1, 'submit', U, undefined], [2, 'put', U, undefined], [3, 'get', U, 'notification'], [3, 'done', U, undefined],
      [4, 'put', U, 'released'], [4, 'submit', U, undefined],
      [5, 'submit', U2, undefined], [6, 'close', U2, undefined], [6, 'submit', U2, undefined],
    ]);
  });

  it('frees an in-flight ubuf whose buffer is unmapped, not one the kernel completed', () => {
    const { events } = decodeAll([
      submit(1, U, { addr: '0x7f0000010000' }),
      submit(2, U2, { addr: '0x7f0000030000', id: 1 }),
      put(3, U2, 0), done(4, U2, 'queue', { lo: 1, hi: 1 }),
      line('unmap', 5, { pid: 42, addr: '0x7f0000020000', len: 4096, reason: 'unmap', comm: 'msgzc' }), // past U
      line('unmap', 6, { pid: 43, addr: '0x7f0000010000', len: 4096, reason: 'unmap', comm: 'x' }), // another pid
      line('unmap', 7, { pid: 42, addr: '0x7f000001f000', len: 100, reason: 'madvise', comm: 'msgzc' }), // U's last page
      line('unmap', 8, { pid: 42, addr: '0x7f0000030000', len: 65536, reason: 'unmap', comm: 'msgzc' }), // U2: done
      put(9, U, 1), put(10, U, 0), done(11, U, 'queue'),
    ]);
    expect(events.filter((e) => e.ev === 'free')).toEqual([{ t: 7, ev: 'free', obj: U, reason: 'madvise', pid: 42 }]);
    const f = findings(events);
    // (the unread notifications are younger than the leak threshold: in flight, not leaks)
    expect(f.map((x) => [x.kind, x.obj])).toEqual([['early_free', U], ['use_after_free', U]]);
  });

  it('a resend of unchanged bytes is counted; changed bytes free the in-flight ubufs (rewrite)', () => {
    const U3 = '0xffff888100000300';
    const { events } = decodeAll([
      submit(1, U, { addr: '0x7f0000010000', fp: '0xaa', fz: 0 }),
      submit(2, U, { new: 0, id: 1, n: 2, addr: '0x7f0000010000', ref: 3, fp: '0xaa', fz: 0 }), // the same ubuf grows
      submit(3, U2, { id: 2, addr: '0x7f0000010000', fp: '0xaa', fz: 0, sk: '0xffff888000000001', sock: '127.0.0.1:1>127.0.0.1:2' }),
      submit(4, U3, { id: 3, addr: '0x7f0000010000', fp: '0xbb', fz: 0 }),
    ]);
    expect(events.map((e) => [e.t, e.ev, e.obj, e.reason])).toEqual([
      [1, 'submit', U, undefined], [2, 'submit', U, undefined], [3, 'submit', U2, undefined],
      [4, 'free', U, 'rewrite'], [4, 'free', U2, 'rewrite'], [4, 'submit', U3, undefined],
    ]);
    expect(events.filter((e) => e.resend).map((e) => [e.t, e.obj])).toEqual([[2, U], [3, U2]]);
    expect(events.filter((e) => e.ev === 'free').map((e) => e.since)).toEqual([2, 3]);
  });

  it('a rewrite seen at the next send frees the ubuf only while the kernel holds it', () => {
    const { events } = decodeAll([
      submit(1, U, { addr: '0x7f0000010000', fp: '0xaa', fz: 0 }),
      submit(2, U2, { id: 1, addr: '0x7f0000030000', fp: '0xbb', fz: 0 }),
      line('rewrite', 3, { obj: U, fp: '0xaa', now: '0xcc', fz: 0, at: 'send', pid: 42, comm: 'msgzc' }),
      done(4, U2, 'drop'),
      line('rewrite', 5, { obj: U2, fp: '0xbb', now: '0xdd', fz: 0, at: 'send', pid: 42, comm: 'msgzc' }), // after its done: harmless
    ]);
    expect(events.filter((e) => e.ev === 'free').map((e) => [e.t, e.obj, e.reason, e.since])).toEqual([[3, U, 'rewrite', 1]]);
  });

  it('a read into an in-flight buffer frees its ubuf (uncertain when the send came during the read)', () => {
    const { events } = decodeAll([
      submit(1, U, { addr: '0x7f0000010000', fp: '0xaa', fz: 0 }),
      submit(5, U2, { id: 1, addr: '0x7f0000030000', fp: '0xbb', fz: 0 }),
      line('write', 6, { dt: 2, pid: 42, addr: '0x7f0000011000', len: 4096, addr1: '0x0', len1: 0, call: 'tracepoint:syscalls:sys_exit_read', comm: 'msgzc' }),
      line('write', 7, { dt: 3, pid: 42, addr: '0x7f0000030000', len: 10, addr1: '0x0', len1: 0, call: 'tracepoint:syscalls:sys_exit_recvfrom', comm: 'msgzc' }),
    ]);
    const frees = events.filter((e) => e.ev === 'free');
    expect(frees.map((e) => [e.t, e.obj, e.reason, e.unsure === undefined])).toEqual([[6, U, 'read', true], [7, U2, 'recvfrom', false]]);
  });

  it('an exit frees what the process still had in flight', () => {
    const { events } = decodeAll([submit(1, U), line('exit', 2, { pid: 42, comm: 'msgzc' }), line('exit', 3, { pid: 42, comm: 'msgzc' })]);
    expect(events.filter((e) => e.ev === 'free')).toEqual([{ t: 2, ev: 'free', obj: U, reason: 'exit', pid: 42 }]);
  });

  it('corrects a count two racing puts both read, at done', () => {
    const { events } = decodeAll([submit(1, U), put(2, U, 1), put(3, U, 1), done(4, U, 'merge', { into: U2 })]);
    expect(events.slice(3).map((e) => [e.ev, e.ref, e.reason])).toEqual([['put', 0, 'sync'], ['done', undefined, undefined]]);
    expect(findings(events)).toEqual([]);
  });

  it('a read ends the ubufs whose ids it covers, when their done line is missing or late', () => {
    // U took ids 0-1 and was queued, U2 took 2 and was merged into it: both done lines come
    // after the read and the exit (another CPU's buffer drained late), or never
    const U3 = '0xffff888100000300';
    const { events, d } = decodeAll([
      submit(1, U), submit(2, U, { new: 0, id: 1, n: 2 }), submit(3, U2, { id: 2, addr: '0x7f0000030000' }),
      submit(4, U3, { id: 3, addr: '0x7f0000050000' }), // not read: still in flight at the exit
      put(5, U, 0), put(6, U2, 0),
      read(7, U, 0, 2),
      line('exit', 8, { pid: 42, comm: 'msgzc' }),
      done(5, U, 'queue', { lo: 0, hi: 1 }), done(6, U2, 'merge', { lo: 2, hi: 2, into: U }), put(6, U2, 0),
    ]);
    expect(events.filter((e) => e.t >= 7).map((e) => [e.t, e.ev, e.obj, e.reason])).toEqual([
      [7, 'put', U, 'derived'], [7, 'get', U, 'notification'], [7, 'done', U, undefined], [7, 'put', U, 'read'],
      [7, 'put', U2, 'derived'], [7, 'done', U2, undefined],
      [8, 'free', U3, 'exit'],
      [8, 'lost', undefined, undefined], // lines older than one decoded: said once, as a loss of none
    ]);
    expect(events.find((e) => e.ev === 'lost')?.n).toBe(0);
    expect(d.stats.derived).toBe(2);
    expect(d.stats.stale).toBe(3);
    expect(d.stats.disorder).toBe(3);
    expect(findings(events).map((f) => [f.kind, f.obj])).toEqual([['early_free', U3]]);
  });

  it('a notification said queued but merged by the kernel ends when a read covers its ids', () => {
    // the program read the error queue's tail just before another CPU queued the one it merged into
    const { events } = decodeAll([
      submit(1, U), put(2, U, 0), done(3, U, 'queue', { lo: 0, hi: 0 }),
      submit(4, U2, { id: 1, addr: '0x7f0000030000' }), put(5, U2, 0), done(6, U2, 'queue', { lo: 1, hi: 1 }),
      read(7, U, 0, 1), // U's notification carried U2's id: U2's skb was freed, never read
      line('hb', 3e9),
    ]);
    expect(events.filter((e) => e.t === 7).map((e) => [e.ev, e.obj, e.reason])).toEqual([['put', U, 'read'], ['put', U2, 'released']]);
    expect(findings(events)).toEqual([]);
  });

  it('the socket\'s destruction ends its ubufs whose done never came', () => {
    const { events } = decodeAll([
      submit(1, U), put(2, U, 1),
      line('skfree', 3, { sk: SK }), // each ubuf holds its socket: all of them were done
      line('exit', 4, { pid: 42, comm: 'msgzc' }),
      line('hb', 3e9),
    ]);
    expect(events.filter((e) => e.t === 3).map((e) => [e.ev, e.ref, e.reason])).toEqual([['put', 0, 'derived'], ['done', undefined, undefined]]);
    expect(findings(events)).toEqual([]);
  });

  it('a loss makes the findings of lifetimes open across it uncertain, in the parser\'s order', () => {
    // the decoder holds no line back, so the engine sees the lost event after the lines before it
    const records: EngineRecord[] = [];
    const engine = new Engine({ leakAfterNs: 1e9, onRecord: (r) => records.push(r) });
    const p = new ProbeParser(new MsgzcKernelDecoder(), 0n, { emit: (e) => engine.push(e), ready() {}, message() {}, bad() {} });
    const raw = (kind: string, t: number, f: Record<string, string | number>) =>
      [kind, String(t), ...Object.entries(f).map(([k, v]) => `${k}=${v}`)].join('\t');
    p.line(raw('submit', 1000, { obj: U, new: 1, id: 0, n: 1, bytes: 65536, ref: 1, pid: 42, sock: SOCK, sk: SK, niov: 1, addr: '0x7f0000010000', len: 65536, addr1: '0x0', len1: 0, comm: 'msgzc' }));
    p.line(raw('put', 2000, { obj: U, ref: 1, ok: 1 }));
    p.line('Lost 12 events'); // its done and the owner's read were among them
    p.line(raw('exit', 3000, { pid: 42, comm: 'msgzc' }));
    p.finish();
    engine.end();
    const f = records.filter((r): r is Finding => r.type === 'finding' && r.kind !== 'copy_fallback');
    expect(f.map((x) => [x.kind, x.uncertain])).toEqual([['early_free', true]]);
  });

  it('puts lines back in time order within the window', () => {
    // the done of U (CPU 1) arrives after the next submit at the same address (CPU 0)
    const lines = [submit(1000, U), put(2000, U, 0), submit(4000, U, { id: 1 }), done(3000, U, 'drop'), line('hb', 1e9)];
    const ordered = decodeAll(lines, 100_000_000);
    expect(ordered.events.map((e) => [e.t, e.ev])).toEqual([[1000, 'submit'], [2000, 'put'], [3000, 'done'], [4000, 'submit']]);
    const late = decodeAll(lines, 0);
    expect(late.d.stats.late).toBe(1);
  });

  it('sums the --aggregate histograms and takes its done totals', () => {
    const { events, d } = decodeAll([
      submit(1, U),
      done(2, U, 'drop', { puts: 3, pages: 16, copies: 1 }),
      line('hist', 3, { name: 'page_refs', b0: 1, b1: 15, b2: 0, b3: 0, b4: 0 }),
      line('hist', 4, { name: 'page_refs', b0: 2, b1: 1, b2: 0, b3: 0, b4: 0 }),
    ]);
    expect(events.map((e) => e.ev)).toEqual(['submit', 'done']);
    expect(d.histograms.get('page_refs')).toEqual([3, 16, 0, 0, 0]);
  });

  it('refuses unknown kinds and malformed lines', () => {
    const { unknown, events } = decodeAll([
      line('get', 1, { obj: U }),
      line('submit', 2, { obj: U }),
      line('done', 3, { obj: U, sk: SK, lo: 0, hi: 0, copied: 1, fate: 'lost' }),
      line('put', 4, { obj: U, ref: 'x' }),
      line('unmap', 5, { pid: 1, addr: 'nothex', len: 1 }),
    ]);
    expect(unknown).toBe(5);
    expect(events).toEqual([]);
  });

  it('parses pages and clips ranges', () => {
    expect(parsePages('0xa:1,0xb:0,0x0:0', 2)).toEqual([{ page: '0xa', count: 1 }, { page: '0xb', count: 0 }]);
    const f = new Map([['addr', '0x1000'], ['len', '100'], ['addr1', '0x9000'], ['len1', '100']]);
    expect(sentRanges(f, 150, 2)).toEqual([[0x1000n, 100n], [0x9000n, 50n]]);
    expect(sentRanges(new Map([['addr', '0x0'], ['len', '0']]), 10, 2)).toEqual([]);
  });
});

describe('Reorder', () => {
  it('releases in time order, ties in arrival order, only past the window', () => {
    const r = new Reorder<{ t: number; id: string }>(10);
    const out: string[] = [];
    for (const [t, id] of [[5, 'a'], [3, 'b'], [5, 'c'], [16, 'd']] as [number, string][]) r.push({ t, id }, (x) => out.push(x.id));
    expect(out).toEqual(['b', 'a', 'c']);
    r.drain((x) => out.push(x.id));
    expect(out).toEqual(['b', 'a', 'c', 'd']);
  });
});

/** HostFacts with only what chooseVariant asks. */
function facts(members: string[], functions: string[]): HostFacts {
  return {
    hasBtfMember: async (s: string, m: string) => members.includes(`${s}.${m}`),
    hasFunction: (f: string) => functions.includes(f),
  } as unknown as HostFacts;
}

describe('msgzc-kernel variants', () => {
  it('picks the program from the BTF layout and the traceable functions', async () => {
    const v61 = await chooseVariant(facts(['ubuf_info_msgzc.bytelen'], ['msg_zerocopy_callback', '__msg_zerocopy_callback']));
    expect([v61.name, v61.file, v61.aggregateFile]).toEqual(['callback', 'msgzc-kernel.bt', 'msgzc-kernel-agg.bt']);
    const v61i = await chooseVariant(facts(['ubuf_info_msgzc.bytelen'], ['msg_zerocopy_callback']));
    expect([v61i.name, v61i.file]).toEqual(['callback-inline', 'msgzc-kernel-inline.bt']);
    const v612 = await chooseVariant(facts(['ubuf_info.ops', 'ubuf_info_msgzc.bytelen', 'skb_frag.netmem'], ['msg_zerocopy_complete', '__msg_zerocopy_callback']));
    expect([v612.name, v612.file, v612.aggregateFile]).toEqual(['ops', 'msgzc-kernel-ops.bt', 'msgzc-kernel-ops-agg.bt']);
    const v515 = await chooseVariant(facts(['ubuf_info.bytelen', 'ubuf_info.flags'], ['msg_zerocopy_callback']));
    expect([v515.name, v515.file]).toEqual(['v5-inline', 'msgzc-kernel-5x.bt']);
    expect(v515.notes.join(' ')).toMatch(/inlined/);
    const v69 = await chooseVariant(facts(['ubuf_info_msgzc.bytelen', 'skb_frag.netmem'], ['msg_zerocopy_callback']));
    expect(v69.name).toBe('unsupported');
    expect(v69.notes[0]).toMatch(/no program for this kernel/);
  });

  it('describes itself', () => {
    expect(msgzcKernel.name).toBe('msgzc-kernel');
    expect(msgzcKernel.requires).toContainEqual({ kind: 'kprobes' });
    expect(msgzcKernel.requires).toContainEqual({ kind: 'function', name: 'msg_zerocopy_realloc' });
    expect(msgzcKernel.aggregateFile).toMatch(/^msgzc-kernel(-\w+)*-agg\.bt$/);
    expect(msgzcKernel.blindSpots.length).toBeGreaterThan(5);
  });
});
