// InflightRanges: overlap queries per process, removal, the size bound, wide ranges.
import { describe, expect, it } from 'vitest';
import { InflightRanges, pageSpan } from '../../../src/probes/packs/inflight-ranges.js';

const MiB = 1n << 20n;
const base = 0x7f0000000000n;

describe('InflightRanges', () => {
  it('finds holders of the same process whose range meets the query, oldest first', () => {
    const r = new InflightRanges();
    r.add(1, 'b', base + 8192n, 4096n);
    r.add(1, 'a', base, 4096n);
    r.add(2, 'c', base, 4096n);
    expect(r.overlapping(1, base, 16384n).map((x) => x.obj)).toEqual(['b', 'a']);
    expect(r.overlapping(1, base + 4096n, 4096n)).toEqual([]); // half-open: [base, base+4096)
    expect(r.overlapping(2, base + 4095n, 1n).map((x) => x.obj)).toEqual(['c']);
    expect(r.overlapping(3, base, 16384n)).toEqual([]);
  });

  it('answers across 2 MiB buckets, for huge ranges and huge queries', () => {
    const r = new InflightRanges();
    r.add(1, 'small', base + 3n * MiB - 10n, 20n); // straddles a bucket edge
    r.add(1, 'huge', base + 1024n * MiB, 512n * MiB); // more buckets than the index files
    expect(r.overlapping(1, base + 3n * MiB, 1n).map((x) => x.obj)).toEqual(['small']);
    expect(r.overlapping(1, base + 1400n * MiB, 4096n).map((x) => x.obj)).toEqual(['huge']);
    expect(r.overlapping(1, 0n, 1n << 47n).map((x) => x.obj)).toEqual(['small', 'huge']);
  });

  it('forgets a holder with all its ranges', () => {
    const r = new InflightRanges();
    r.add(1, 'a', base, 100n);
    r.add(1, 'a', base + 10n * MiB, 100n);
    expect(r.get('a')).toHaveLength(2);
    expect(r.remove('a')).toBe(true);
    expect(r.remove('a')).toBe(false);
    expect(r.overlapping(1, 0n, 1n << 47n)).toEqual([]);
    expect(r.size).toBe(0);
  });

  it('keeps at most maxEntries holders, dropping the oldest', () => {
    const r = new InflightRanges(2);
    r.add(1, 'a', base, 10n);
    r.add(1, 'b', base + 100n, 10n);
    r.add(1, 'c', base + 200n, 10n);
    expect(r.size).toBe(2);
    expect(r.evicted).toBe(1);
    expect(r.has('a')).toBe(false);
    expect(r.overlapping(1, base, 300n).map((x) => x.obj)).toEqual(['b', 'c']);
  });

  it('ignores empty ranges and rounds unmaps out to pages', () => {
    const r = new InflightRanges();
    r.add(1, 'a', base, 0n);
    expect(r.size).toBe(0);
    expect(pageSpan(base + 5n, 100n)).toEqual([base, base + 4096n]);
    expect(pageSpan(base, 4097n)).toEqual([base, base + 8192n]);
  });
});
