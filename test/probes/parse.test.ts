// The probe line parser: one format for every pack, exact time rebasing, bpftrace's own lines.
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../src/engine/types.js';
import { ProbeParser } from '../../src/probes/parse.js';
import { decodeStandard } from '../../src/probes/standard.js';

function parse(lines: string[], t0 = 1_000_000_000n) {
  const events: ZcEvent[] = [];
  const bad: string[] = [];
  const messages: string[] = [];
  let ready = 0;
  const p = new ProbeParser({ decode: decodeStandard }, t0, {
    emit: (e) => events.push(e), ready: () => ready++, message: (m) => messages.push(m), bad: (n, why) => bad.push(`${n}: ${why}`),
  });
  for (const l of lines) p.line(l);
  p.finish();
  return { events, bad, messages, ready };
}

describe('probe lines', () => {
  it('maps standard kinds and fields to events, rebased on t0', () => {
    const r = parse([
      'submit\t1000001500\tobj=sk:0xffff8880a1b2c000#17\tbytes=65536\tpid=812\tsock=127.0.0.1:5000>127.0.0.1:6000\tcomm=tgt worker',
      'put\t1000002000\tobj=0xffff1\tpage=0xffffea00\tref=-1',
      'done\t1000003000\tobj=0xffff1\tcopied=1',
      'free\t1000004000\tobj=0xffff1\treason=unmap',
      'send_error\t1000005000\tsock=a>b\terrno=ENOBUFS\tpid=9',
    ]);
    expect(r.bad).toEqual([]);
    expect(r.events).toEqual([
      { t: 1500, ev: 'submit', obj: 'sk:0xffff8880a1b2c000#17', bytes: 65536, pid: 812, sock: '127.0.0.1:5000>127.0.0.1:6000', comm: 'tgt worker' },
      { t: 2000, ev: 'put', obj: '0xffff1', page: '0xffffea00', ref: -1 },
      { t: 3000, ev: 'done', obj: '0xffff1', copied: true },
      { t: 4000, ev: 'free', obj: '0xffff1', reason: 'unmap' },
      { t: 5000, ev: 'send_error', sock: 'a>b', errno: 'ENOBUFS', pid: 9 },
    ]);
  });

  it('rebases exactly past 2^53 ns of uptime (about 104 days)', () => {
    const t0 = 9_500_000_000_000_000n; // 110 days
    const r = parse([`get\t${t0 + 123456789n}\tobj=0xa`], t0);
    expect(r.events[0].t).toBe(123456789);
  });

  it('a `=` inside a value stays in the value (comm is free text)', () => {
    expect(parse(['submit\t1000000000\tobj=0xa\tcomm=a=b']).events[0].comm).toBe('a=b');
  });

  it("bpftrace's own lines: Attaching is ignored, Lost N events becomes a lost event, ready signals", () => {
    const r = parse(['Attaching 12 probes...', 'ready\t1000000000', 'get\t1000000500\tobj=0xa', 'Lost 427 events', 'something else']);
    expect(r.ready).toBe(1);
    expect(r.events).toEqual([{ t: 500, ev: 'get', obj: '0xa' }, { t: 500, ev: 'lost', n: 427 }]);
    expect(r.messages).toEqual(['something else']);
  });

  it('bad lines are reported with their number and never throw', () => {
    const r = parse(['get\tabc\tobj=0xa', 'get\t1000000001\tnoequals', 'zap\t1000000002\tobj=0xa', 'get\t\tobj=1']);
    expect(r.events).toEqual([]);
    // (an unknown kind is found when the line is decoded, after the reorder window)
    expect(r.bad.sort()).toEqual([
      '1: the time field is not a number', '2: field "noequals" has no "="', '3: unknown line kind "zap"', '4: the time field is not a number',
    ]);
  });
});

describe('reordering', () => {
  it('lines from different CPUs come out in time order, lost events in their place', () => {
    const r = parse(['get\t1000000300\tobj=0xa', 'submit\t1000000100\tobj=0xa', 'Lost 3 events', 'put\t1000000200\tobj=0xa']);
    expect(r.events.map((e) => [e.ev, e.t])).toEqual([['submit', 100], ['put', 200], ['get', 300], ['lost', 300]]);
  });

  it('a line waits only until the window behind the newest line, or behind the clock', () => {
    const events: ZcEvent[] = [];
    const p = new ProbeParser({ decode: decodeStandard }, 0n, { emit: (e) => events.push(e), ready: () => {}, message: () => {}, bad: () => {} }, 1000);
    p.line('get\t5000\tobj=0xa');
    expect(events).toHaveLength(0);
    p.line('get\t5500\tobj=0xb');
    expect(events).toHaveLength(0);
    p.line('get\t6200\tobj=0xc'); // 5000 is now more than 1000 behind the newest
    expect(events.map((e) => e.obj)).toEqual(['0xa']);
    p.flush(5600); // the clock moved on with no new line
    expect(events.map((e) => e.obj)).toEqual(['0xa', '0xb']);
    p.finish();
    expect(events.map((e) => e.obj)).toEqual(['0xa', '0xb', '0xc']);
  });
});

