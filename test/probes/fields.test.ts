import { describe, expect, it } from 'vitest';
import { big, callName, int, sentRanges, writtenRanges } from '../../src/probes/fields.js';

const f = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));

describe('line fields', () => {
  it('int takes decimal integers only', () => {
    expect(int('42')).toBe(42);
    expect(int('-3')).toBe(-3);
    for (const v of [undefined, '', '4.5', 'abc', '1e400']) expect(int(v)).toBeUndefined();
  });

  it('big takes hex and decimal, nothing else', () => {
    expect(big('0xffff888005207e28')).toBe(0xffff888005207e28n);
    expect(big('65536')).toBe(65536n);
    for (const v of [undefined, '', '-1', '0x', '12a', ' 1']) expect(big(v)).toBeUndefined();
  });

  it('sentRanges clips to the bytes sent, stops at a missing or zero pair, skips empty ones', () => {
    expect(sentRanges(f({ addr: '0x1000', len: '100', addr1: '0x9000', len1: '100' }), 150)).toEqual([[0x1000n, 100n], [0x9000n, 50n]]);
    expect(sentRanges(f({ addr: '0x1000', len: '100', addr1: '0x0', len1: '0', addr2: '0x5000', len2: '8' }), undefined)).toEqual([[0x1000n, 100n]]);
    expect(sentRanges(f({ addr: '0x1000', len: '0', addr1: '0x2000', len1: '8' }), undefined)).toEqual([[0x2000n, 8n]]);
    expect(sentRanges(f({ addr: '0x0', len: '0' }), 10)).toEqual([]);
    expect(sentRanges(f({ len: '10' }), 10)).toEqual([]);
    // max: the pairs after it are not read
    expect(sentRanges(f({ addr: '0x1000', len: '1', addr1: '0x2000', len1: '1', addr2: '0x3000', len2: '1' }), undefined, 2)).toHaveLength(2);
  });

  it('sentRanges memo answers by the fields, not the first address alone', () => {
    const a = sentRanges(f({ addr: '0x1000', len: '100' }), 100);
    expect(sentRanges(f({ addr: '0x1000', len: '100' }), 100)).toBe(a);
    expect(sentRanges(f({ addr: '0x1000', len: '50' }), 100)).toEqual([[0x1000n, 50n]]);
    expect(sentRanges(f({ addr: '0x1000', len: '100' }), 60)).toEqual([[0x1000n, 60n]]);
  });

  it('writtenRanges reads two pairs; callName names the syscall', () => {
    expect(writtenRanges(f({ addr: '0x1000', len: '4', addr1: '0x2000', len1: '4', addr2: '0x3000', len2: '4' }))).toEqual([[0x1000n, 4n], [0x2000n, 4n]]);
    expect(callName('tracepoint:syscalls:sys_exit_pread64')).toBe('pread64');
    expect(callName('io_uring_read')).toBe('io_uring_read');
    expect(callName(undefined)).toBe('write');
  });
});
