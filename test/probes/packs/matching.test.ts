// Matching mode's printed maps (lines as bpftrace 0.17 printed them on this machine, from a run
// of probes/msgzc-syscalls.bt with $4 = 30000 under the kernel's msg_zerocopy selftest).
import { describe, expect, it } from 'vitest';
import type { ZcEvent } from '../../../src/engine/types.js';
import { Engine } from '../../../src/engine/engine.js';
import { bucketTop, MatchMaps, skHex } from '../../../src/probes/packs/matching.js';

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
