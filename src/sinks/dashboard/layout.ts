// Dashboard layouts are data (dashboards/*.json): which panels, where on a grid, how often to
// redraw, and the smallest terminal they are readable in. Validated by dashboards/layout.schema.json
// (ajv) and then by the rules a schema cannot say (panels inside the grid, no two overlapping),
// so a hand-written layout fails with a message naming its file and the offending panel.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { UsageError } from '../../util/errors.js';
import { dashboardPath } from '../../util/paths.js';

/** The panel kinds a layout may place (one file each under panels/). */
export const PANEL_TYPES = ['inflight', 'lifetimes', 'refs', 'findings', 'holders', 'sockets', 'summary'] as const;
export type PanelType = (typeof PANEL_TYPES)[number];

/** Per-panel options (each panel reads the ones it knows; the schema rejects unknown ones). */
export interface PanelOptions {
  metric?: 'holders' | 'bytes';
  style?: 'line' | 'sparkline';
  sort?: 'age' | 'refs' | 'bytes';
  by?: 'socket' | 'process';
}

/** One panel: its kind and its cell span on the grid. */
export interface PanelSpec {
  type: PanelType;
  row: number;
  col: number;
  rowSpan: number;
  colSpan: number;
  title?: string;
  options: PanelOptions;
}

/** A validated layout. */
export interface Layout {
  name: string;
  description?: string;
  refreshMs: number;
  grid: { rows: number; cols: number };
  minSize: { cols: number; rows: number };
  panels: PanelSpec[];
  /** Where it was read from (for messages). */
  file: string;
}

// Compiled on first use: every command imports this module, few load a layout, and the
// compile costs tens of milliseconds at start-up.
let compiled: ValidateFunction | undefined;
function validator(): ValidateFunction {
  compiled ??= new Ajv({ allErrors: false, strict: true, useDefaults: true }).compile(JSON.parse(readFileSync(dashboardPath('layout.schema.json'), 'utf8')));
  return compiled;
}
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,39}$/;

/** Where user layouts live: $ZCTRACE_DASHBOARDS, else ~/.config/zctrace/dashboards. */
export function userLayoutDir(): string {
  return process.env.ZCTRACE_DASHBOARDS ?? join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'zctrace', 'dashboards');
}

/** Layout names available: the user's first (they may shadow a bundled one), then bundled. */
export function layoutNames(): string[] {
  const names = new Set<string>();
  for (const dir of [userLayoutDir(), dashboardPath('')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (f.endsWith('.json') && !f.endsWith('.schema.json')) names.add(basename(f, '.json'));
  }
  return [...names].sort();
}

/**
 * `--dashboard NAME`: a path when it has a slash or ends in .json, else a name looked up in
 * the user's directory and then among the bundled layouts.
 */
export function loadLayout(nameOrPath = 'default'): Layout {
  if (nameOrPath.includes('/') || nameOrPath.endsWith('.json')) return readLayout(nameOrPath);
  if (!NAME.test(nameOrPath)) throw new UsageError(`--dashboard: "${nameOrPath}" is not a layout name or a .json file`);
  for (const dir of [userLayoutDir(), dashboardPath('')]) {
    const file = join(dir, `${nameOrPath}.json`);
    if (existsSync(file)) return readLayout(file);
  }
  throw new UsageError(`--dashboard: no layout named "${nameOrPath}"`, `available: ${layoutNames().join(', ')} (or give a path to a .json layout)`);
}

/** Reads and validates one layout file. */
export function readLayout(file: string): Layout {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--dashboard: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: not JSON (${(err as Error).message})`);
  }
  return checkLayout(v, file);
}

/** Validates a parsed layout (schema, then geometry); throws UsageError naming the problem. */
export function checkLayout(v: unknown, file: string): Layout {
  const validate = validator();
  if (!validate(v)) throw new UsageError(`${file}: ${explainLayout(validate.errors)}`, 'see dashboards/README.md and dashboards/layout.schema.json');
  const l = v as Omit<Layout, 'file'>;
  const taken = new Map<string, number>();
  l.panels.forEach((p, i) => {
    const where = `panel ${i} (${p.type})`;
    // Outside the grid a panel would be drawn off screen or squeezed to nothing: refuse it.
    if (p.row + p.rowSpan > l.grid.rows || p.col + p.colSpan > l.grid.cols) {
      throw new UsageError(`${file}: ${where} spans rows ${p.row}-${p.row + p.rowSpan - 1}, cols ${p.col}-${p.col + p.colSpan - 1}, outside the ${l.grid.rows}x${l.grid.cols} grid`);
    }
    // Overlapping panels hide each other without a sign: refuse that too.
    for (let r = p.row; r < p.row + p.rowSpan; r++) {
      for (let c = p.col; c < p.col + p.colSpan; c++) {
        const other = taken.get(`${r},${c}`);
        if (other !== undefined) throw new UsageError(`${file}: ${where} overlaps panel ${other} (${l.panels[other].type}) at row ${r}, col ${c}`);
        taken.set(`${r},${c}`, i);
      }
    }
  });
  return { ...l, refreshMs: l.refreshMs ?? 1000, file };
}

function explainLayout(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'invalid layout';
  const at = e.instancePath === '' ? 'the layout' : e.instancePath;
  if (e.keyword === 'enum') return `${at} must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (e.keyword === 'additionalProperties') return `${at} has an unknown field "${(e.params as { additionalProperty: string }).additionalProperty}"`;
  if (e.keyword === 'required') return `${at} is missing "${(e.params as { missingProperty: string }).missingProperty}"`;
  return `${at} ${e.message ?? 'is invalid'}`;
}

/**
 * A panel's box in cells, for an area of `w` x `h`. Edges are rounded from the grid lines, so
 * neighbouring panels meet exactly (percentages rounded one by one leave gaps); recomputed on resize.
 */
export function place(spec: PanelSpec, grid: Layout['grid'], w: number, h: number): { top: number; left: number; width: number; height: number } {
  const y = (r: number): number => Math.round((r * h) / grid.rows);
  const x = (c: number): number => Math.round((c * w) / grid.cols);
  const top = y(spec.row);
  const left = x(spec.col);
  return { top, left, width: x(spec.col + spec.colSpan) - left, height: y(spec.row + spec.rowSpan) - top };
}
