import { describe, expect, it } from 'vitest';
import { ByteLineSplitter, LineSplitter } from '../../src/util/lines.js';

// One splitter, two ways to receive a line: both must number, join and drop the same lines.
function split(chunks: string[], maxLine = 16): { lines: [string, number][]; overlong: [number, number][]; rest?: { line: string; lineNo: number } } {
  const lines: [string, number][] = [];
  const overlong: [number, number][] = [];
  const s = new LineSplitter((l, n) => lines.push([l, n]), (n, b) => overlong.push([n, b]), maxLine);
  for (const c of chunks) s.push(Buffer.from(c));
  return { lines, overlong, rest: s.end() };
}

describe('line splitting', () => {
  it('numbers lines, drops a CR before the newline, joins a line across chunks', () => {
    expect(split(['a\r\nb', 'c\n', '\nd'])).toEqual({ lines: [['a', 1], ['bc', 2], ['', 3]], overlong: [], rest: { line: 'd', lineNo: 4 } });
  });

  it('reports an overlong line by its number and length, never buffering it, and goes on', () => {
    const r = split(['0123456789', '0123456789\nok\n', 'x'.repeat(20), '\n'], 16);
    expect(r.lines).toEqual([['ok', 2]]);
    expect(r.overlong).toEqual([[1, 20], [3, 20]]);
    expect(r.rest).toBeUndefined();
  });

  it('hands the bytes of the chunk over, the same lines as the string form', () => {
    const got: string[] = [];
    const b = new ByteLineSplitter((buf, s, e, n) => got.push(`${n}:${buf.toString('utf8', s, e)}`), () => {});
    for (const c of ['é1\r\n', 'é', '2\n']) b.push(Buffer.from(c));
    expect(got).toEqual(['1:é1', '2:é2']);
  });
});
