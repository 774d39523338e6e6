// The table panels' common part: a contrib table whose columns are fitted to the panel's
// width on every redraw (columns are dropped by priority when it is narrow, one column takes
// the slack), a selection that follows its row across redraws, and rows coloured by state.
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import { cell } from '../../../util/format.js';
import { cutMiddle, Panel, type Geometry } from './panel.js';

/** One column: its header, its widths, and its priority (1 = dropped last). */
export interface Column {
  header: string;
  /** Preferred width. */
  width: number;
  /** Narrowest it may be squeezed to (default: its width). */
  min?: number;
  /** The one column that grows into the space left (up to maxWidth). */
  flex?: boolean;
  maxWidth?: number;
  priority: number;
  right?: boolean;
  /** Cut long values in the middle (sockets) rather than at the end. */
  middle?: boolean;
}

/** A row: its cells, a key to keep the selection on it, and a colour (an ANSI SGR code). */
export interface Row {
  key: string;
  cells: string[];
  sgr?: number;
}

const SPACING = 2; // contrib pads each cell to width + spacing - 1: one blank between columns

/**
 * Which columns fit in `inner` cells, and their widths (in the columns' own order). By
 * priority, columns are taken at their minimum width until one does not fit; what is left
 * widens them towards their preferred width, in priority order. While the flex column is
 * short of its preferred width, lower-priority columns are dropped to make room (a state
 * column must not squeeze the socket to a stub). The flex column takes whatever remains.
 */
export function fitColumns(cols: Column[], inner: number): { index: number[]; widths: number[] } {
  const order = cols.map((c, i) => ({ c, i })).sort((a, b) => a.c.priority - b.c.priority);
  let taken = 0;
  let used = 0;
  while (taken < order.length && used + (order[taken].c.min ?? order[taken].c.width) + SPACING - 1 <= inner) {
    used += (order[taken].c.min ?? order[taken].c.width) + SPACING - 1;
    taken++;
  }
  for (;;) {
    const widths = order.slice(0, taken).map(({ c }) => c.min ?? c.width);
    let left = inner - widths.reduce((a, w) => a + w + SPACING - 1, 0);
    widths.forEach((w, k) => {
      const grow = Math.min(order[k].c.width - w, left);
      widths[k] += grow;
      left -= grow;
    });
    const short = widths.findIndex((w, k) => w < order[k].c.width && order[k].c.flex === true);
    if (short >= 0 && short < taken - 1) {
      taken--;
      continue;
    }
    const index = order.slice(0, taken).map(({ i }) => i).sort((a, b) => a - b);
    const byIndex = new Map(order.slice(0, taken).map(({ i }, k) => [i, widths[k]]));
    const out = index.map((i) => byIndex.get(i) as number);
    const flex = index.findIndex((i) => cols[i].flex === true);
    if (flex >= 0) out[flex] = Math.min(cols[index[flex]].maxWidth ?? Infinity, out[flex] + left);
    return { index, widths: out };
  }
}

/** A panel showing rows in a fitted, selectable table. */
export abstract class TablePanel extends Panel {
  override readonly focusable = true;
  protected rowKeys: string[] = [];
  private selectedKey: string | undefined;
  private sortedBy: string | undefined;

  protected abstract columns(): Column[];

  protected override build(g: Geometry): Widgets.BoxElement {
    const t = contrib.table({
      ...this.boxOptions(g, 'table'), columnWidth: [10], columnSpacing: SPACING, interactive: true, keys: false, mouse: false,
      fg: 'white', selectedFg: 'black', selectedBg: 'white',
    });
    t.rows.left = 0; // contrib indents the rows by one: keep them under their headers
    return t;
  }

  /** Fills the table; the selection stays on the same row key when that row is still there. */
  protected fill(rows: Row[], sortedBy?: string): void {
    const g = this.geometry;
    const t = this.element as ReturnType<typeof contrib.table> | undefined;
    if (t === undefined || g === undefined) return;
    const cols = this.columns();
    const { index, widths } = fitColumns(cols, g.width - 3);
    t.options.columnWidth = widths;
    const headers = index.map((i, k) => {
      const h = cols[i].header + (cols[i].header === sortedBy ? '▼' : '');
      return cell(h, widths[k], cols[i].right);
    });
    // Cells are cut to width before colouring: contrib would cut an escape sequence in half.
    const data = rows.map((r) => index.map((i, k) => {
      const v = r.cells[i] ?? '';
      const text = cell(cols[i].middle ? cutMiddle(v, widths[k]) : v, widths[k], cols[i].right);
      return r.sgr === undefined ? text : `\x1b[${r.sgr}m${text}\x1b[39m`;
    }));
    // A new order starts at the top; otherwise the selection stays on its row.
    const prev = sortedBy === this.sortedBy ? this.selectedKey : undefined;
    this.sortedBy = sortedBy;
    this.rowKeys = rows.map((r) => r.key);
    t.setData({ headers, data });
    const at = prev === undefined ? 0 : Math.max(0, this.rowKeys.indexOf(prev));
    t.rows.select(Math.min(at, Math.max(0, rows.length - 1)));
    this.selectedKey = this.rowKeys[t.rows.selected];
  }

  override move(delta: number): void {
    const t = this.element as ReturnType<typeof contrib.table> | undefined;
    if (t === undefined || this.rowKeys.length === 0) return;
    const i = Math.min(this.rowKeys.length - 1, Math.max(0, t.rows.selected + delta));
    t.rows.select(i);
    this.selectedKey = this.rowKeys[i];
  }

  /** The key of the selected row. */
  protected selected(): string | undefined {
    return this.selectedKey;
  }
}
