// Matching mode's printed maps (lines as bpftrace 0.17 printed them on this machine, from a run
// of probes/msgzc-syscalls.bt with $4 = 30000 under the kernel's msg_zerocopy selftest).
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../../src/engine/types.js';
import { Engine } from '../../../src/engine/engine.js';
import type { EngineRecord } from '../../../src/engine/types.js';
import { bucketTop, MatchMaps, skHex } from '../../../src/probes/packs/matching.js';
import { iouringSendzc } from '../../../src/probes/packs/iouring-sendzc.js';
import { msgzcSyscalls } from '../../../src/probes/packs/msgzc-syscalls.js';
import { decodeWith, probeLine } from '../../helpers/pack-lines.js';

const fields = (o: Record<string, string>) => new Map(Object.entries(o));

describe('matching mode: printed maps', () => {
  it('reads kernel addresses printed as signed decimal keys, and histogram bounds', () => {
    expect(skHex('-131386071802944')).toBe('0xffff88814bdc9bc0');
    expect(skHex('x')).toBeUndefined();
    expect(bucketTop('[16K, 32K)             3 |                    |')).toBe(32768);
    expect(bucketTop('[4M, 8M)              65 |                    |')).toBe(8 * 1024 * 1024);
    expect(bucketTop('[1]                    2 |@@                  |')).toBe(2);
  });

  it('turns counters into count events of their socket, rows into lifetimes, a full map into lost', () => {
    const m = new MatchMaps();
    expect(m.start(fields({ leak_ms: '30000' }))).toBe(true);
    expect(m.leakNs).toBe(30e9);
    const out: ZcEvent[] = [];
    const sock = { sock: '127.0.0.1:42806>127.0.0.1:41739', pid: 27016, comm: 'msg_zerocopy' };
    expect(m.sock(fields({ sk: '0xffff88814bdc9bc0', pid: '27016', sock: sock.sock, comm: sock.comm }))).toEqual({ sk: '0xffff88814bdc9bc0', s: sock });
    for (const l of [
      '@m1_done[-131386071802944]: 22107', '@m1_bytes[-131386071802944]: 1446571545', '@m0_resend[-131386071802944]: 22130',
      '@m1_life: ', '[64K, 128K)         1014 |@@@@@                                               |', '[1M, 2M)            1758 |@@@@@@@@@                                           |',
      '@m0_full: 0', '@m1_full: 3',
    ]) m.line(l, 5, (e) => out.push(e));
    expect(out).toEqual([
      { t: 5, ev: 'count', counter: 'done', n: 22107, ...sock },
      { t: 5, ev: 'count', counter: 'bytes', n: 1446571545, ...sock },
      { t: 5, ev: 'count', counter: 'resends', n: 22130, ...sock },
      { t: 5, ev: 'count', counter: 'life', n: 1014, bucket: 131072 },
      { t: 5, ev: 'count', counter: 'life', n: 1758, bucket: 2097152 },
      { t: 5, ev: 'lost', n: 3 },
    ]);
  });
});

describe('stats() counters', () => {
  it("reads a socket's completions and bytes from one stats() map, as bpftrace 0.17 prints it", () => {
    const m = new MatchMaps();
    const out: ZcEvent[] = [];
    const sock = { sock: '127.0.0.1:42806>127.0.0.1:41739', pid: 27016, comm: 'msg_zerocopy' };
    m.sock(fields({ sk: '0xffff88814bdc9bc0', pid: '27016', sock: sock.sock, comm: sock.comm }));
    // the line format as printed by bpftrace 0.17 for `@s[k] = stats(v)`: checked on this machine
    for (const l of ['@m1_bytes[-131386071802944]: count 22107, average 65435, total 1446571545', '@m0_bytes[-131386071802944]: count 0, average 0, total 0']) {
      m.line(l, 7, (e) => out.push(e));
    }
    expect(out).toEqual([
      { t: 7, ev: 'count', counter: 'done', n: 22107, ...sock },
      { t: 7, ev: 'count', counter: 'bytes', n: 1446571545, ...sock },
    ]);
  });

  it('splits the total into bytes (its low 40 bits) and copied completions (above), past 2^53', () => {
    const m = new MatchMaps();
    const out: ZcEvent[] = [];
    m.sock(fields({ sk: '0xffff88814bdc9bc0', pid: '27016', sock: 's', comm: 'c' }));
    // 22107 completions of 1446571545 bytes in all, every one copied: 1446571545 + 22107 * 2^40
    m.line('@m0_bytes[-131386071802944]: count 22107, average 1099511693311, total 24306905001815577', 7, (e) => out.push(e));
    expect(out.map((e) => [e.counter, e.n])).toEqual([['done', 22107], ['bytes', 1446571545], ['copied', 22107]]);
  });
});

describe('the engine and what the kernel counted', () => {
  it('adds counted lifetimes to the totals and a dated-back submit starts its lifetime then', () => {
    const recs: unknown[] = [];
    const e = new Engine({ leakAfterNs: 1000, onRecord: (r) => recs.push(r) });
    e.push({ t: 10, ev: 'count', counter: 'done', n: 5, sock: 's', pid: 1, comm: 'c' });
    e.push({ t: 10, ev: 'count', counter: 'life', n: 5, bucket: 4096 });
    e.push({ t: 10, ev: 'count', counter: 'abandoned', n: 2 });
    expect(e.stats.started).toBe(7);
    expect(e.stats.completed).toBe(5);
    expect(e.stats.abandoned).toBe(2);
    expect(e.stats.durations.totalCount).toBe(5);
    expect(e.stats.bySock.get('s')?.lifetimes).toBe(5);
    // handed over already past the threshold: a leak at once, aged from its real start
    e.push({ t: 5000, ev: 'submit', obj: 'sk:1#0', start: 100 });
    expect(recs).toMatchObject([{ type: 'finding', kind: 'leak', obj: 'sk:1#0', start: 100 }]);
  });
});

// The scan's `late` lines (the first lines are from a run of msgzc-syscalls.bt and
// iouring-sendzc.bt with $4 = 1000 under the bundled workloads' --fault leak).
describe('a send the kernel reports in flight past the threshold (late)', () => {
  const line = probeLine;
  const held = { fp: '0x1', fz: 0, rwat: 0, abs: 0, now: '0x0', nz: 2, copied: 0 };

  it('msgzc-syscalls: a submit dated back (a leak now), one only; its late completion ends it', () => {
    const sk = '0xffff8881099fa500';
    const { events, unknown } = decodeWith(msgzcSyscalls.createDecoder(), [
      line('match', 0, { leak_ms: 1000 }),
      line('sock', 10, { sk, pid: 16099, sock: '127.0.0.1:46108>127.0.0.1:33305', comm: 'msgzc' }),
      line('late', 2_000_000_000, { obj: `sk:${sk}#0`, age: 1_300_452_488, bytes: 65536, pid: 16099 }),
      line('gone', 2_500_000_000, { obj: `sk:${sk}#0`, age: 1_800_000_000, bytes: 65536 }),
      line('held', 3_000_000_000, { obj: `sk:${sk}#0`, age: 2_300_000_000, bytes: 65536, pid: 16099, addr: '0x7f0000000000', len: 65536, addr1: '0x0', len1: 0, ...held }),
    ]);
    expect(unknown).toBe(0);
    expect(events.map((e) => [e.ev, e.obj, e.start, e.pid, e.sock])).toEqual([
      ['submit', `sk:${sk}#0`, 2_000_000_000 - 1_300_452_488, 16099, '127.0.0.1:46108>127.0.0.1:33305'],
      ['done', `sk:${sk}#0`, undefined, undefined, undefined],
    ]);
    const recs: EngineRecord[] = [];
    const eng = new Engine({ leakAfterNs: 1e9, onRecord: (r) => recs.push(r) });
    events.forEach((e) => eng.push(e));
    expect(recs.map((r) => [r.type, 'kind' in r ? r.kind : undefined])).toEqual([['finding', 'leak'], ['leak_resolved', undefined]]);
  });

  it('iouring-sendzc: the same, found again by its notification (nf)', () => {
    const sk = '0xffff88814bdcb780';
    const nf = '0xffff88810854aa00';
    const obj = 'ring:0xffff88811ccfa000#61';
    const { events, unknown } = decodeWith(iouringSendzc.createDecoder(), [
      line('match', 0, { leak_ms: 1000 }),
      line('sock', 10, { sk, pid: 31272, sock: '127.0.0.1:58172>127.0.0.1:43271', comm: 'iouring_zc' }),
      line('late', 2_000_000_000, { obj, nf, age: 1_958_724_943, bytes: 65536, pid: 31272, sk }),
      line('late', 2_100_000_000, { obj, nf, age: 2_058_724_943, bytes: 65536, pid: 31272, sk }),
      line('held', 4_000_000_000, { obj, nf, age: 3_958_724_943, bytes: 65536, pid: 31272, addr: '0x7f0000000000', len: 65536, ...held, sk }),
    ]);
    expect(unknown).toBe(0);
    expect(events.map((e) => [e.ev, e.obj, e.start, e.pid, e.sock])).toEqual([
      ['submit', obj, 2_000_000_000 - 1_958_724_943, 31272, '127.0.0.1:58172>127.0.0.1:43271'],
      ['done', obj, undefined, undefined, undefined],
    ]);
  });
});
