// Layouts as data: the bundled ones are valid, a user's is found by name or path, and a wrong
// one fails with a message that names the file and the panel at fault.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { checkLayout, layoutNames, loadLayout, place, readLayout, type Layout } from '../../../src/sinks/dashboard/layout.js';
import { UsageError } from '../../../src/util/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'zctrace-layouts-'));
const base = { name: 'mine', grid: { rows: 2, cols: 2 }, minSize: { cols: 80, rows: 24 } };
afterEach(() => { delete process.env.ZCTRACE_DASHBOARDS; });

function bad(v: unknown): string {
  try {
    checkLayout(v, 'x.json');
  } catch (e) {
    expect(e).toBeInstanceOf(UsageError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

describe('bundled layouts', () => {
  it('default and compact load, with the sizes they promise', () => {
    expect(layoutNames()).toEqual(expect.arrayContaining(['default', 'compact']));
    const d = loadLayout('default');
    const c = loadLayout('compact');
    expect(d.minSize).toEqual({ cols: 100, rows: 30 });
    expect(c.minSize).toEqual({ cols: 80, rows: 24 });
    expect(d.refreshMs).toBe(1000);
    // The panels docs/dashboard.md describes are all in the default layout.
    expect(new Set(d.panels.map((p) => p.type))).toEqual(new Set(['inflight', 'lifetimes', 'refs', 'findings', 'holders', 'sockets']));
  });
});

describe('finding a layout', () => {
  it('by path, and by name in $ZCTRACE_DASHBOARDS (which may shadow a bundled one)', () => {
    const file = join(dir, 'mine.json');
    writeFileSync(file, JSON.stringify({ ...base, panels: [{ type: 'findings', row: 0, col: 0, rowSpan: 2, colSpan: 2 }] }));
    expect(loadLayout(file).name).toBe('mine');
    process.env.ZCTRACE_DASHBOARDS = dir;
    expect(loadLayout('mine').file).toBe(file);
    expect(layoutNames()).toContain('mine');
  });

  it('an unknown name lists the ones there are', () => {
    expect(() => loadLayout('nope')).toThrow('--dashboard: no layout named "nope"');
    try { loadLayout('nope'); } catch (e) { expect((e as UsageError).hint).toMatch(/available: .*compact.*default/); }
    expect(() => loadLayout('../etc')).toThrow(/cannot read|not a layout name/);
  });

  it('a file that is not JSON says so', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{ "name": ');
    expect(() => readLayout(file)).toThrow(`${file}: not JSON`);
  });
});

describe('rejected layouts', () => {
  it('an unknown panel type names the field and the valid types', () => {
    expect(bad({ ...base, panels: [{ type: 'pie', row: 0, col: 0, rowSpan: 1, colSpan: 1 }] }))
      .toBe('x.json: /panels/0/type must be one of inflight, lifetimes, refs, findings, holders, sockets, summary');
  });

  it('an unknown field, a missing one, a refresh rate out of range', () => {
    expect(bad({ ...base, colour: 'red', panels: [] })).toContain('unknown field "colour"');
    expect(bad({ name: 'x', grid: base.grid, panels: [] })).toContain('is missing "minSize"');
    expect(bad({ ...base, refreshMs: 5, panels: [{ type: 'findings', row: 0, col: 0, rowSpan: 1, colSpan: 1 }] })).toContain('/refreshMs must be >= 100');
    expect(bad({ ...base, panels: [{ type: 'holders', row: 0, col: 0, rowSpan: 1, colSpan: 1, options: { sort: 'size' } }] })).toContain('/panels/0/options/sort must be one of age, refs, bytes');
  });

  it('a panel outside the grid, and two overlapping panels', () => {
    expect(bad({ ...base, panels: [{ type: 'findings', row: 1, col: 0, rowSpan: 2, colSpan: 1 }] }))
      .toBe('x.json: panel 0 (findings) spans rows 1-2, cols 0-0, outside the 2x2 grid');
    expect(bad({ ...base, panels: [
      { type: 'findings', row: 0, col: 0, rowSpan: 2, colSpan: 1 },
      { type: 'holders', row: 1, col: 0, rowSpan: 1, colSpan: 2 },
    ] })).toBe('x.json: panel 1 (holders) overlaps panel 0 (findings) at row 1, col 0');
  });
});

describe('placing panels', () => {
  it('panels tile the area exactly, whatever its size: no gaps, no overlaps', () => {
    const l: Layout = loadLayout('default');
    fc.assert(fc.property(fc.integer({ min: 40, max: 400 }), fc.integer({ min: 10, max: 200 }), (w, h) => {
      const cells = new Uint8Array(w * h);
      for (const p of l.panels) {
        const g = place(p, l.grid, w, h);
        for (let y = g.top; y < g.top + g.height; y++) for (let x = g.left; x < g.left + g.width; x++) cells[y * w + x]++;
      }
      // The default layout covers its whole grid, so every cell is drawn by exactly one panel.
      return cells.every((c) => c === 1);
    }));
  });
});
