// Per-socket (or per-process) aggregates: lifetimes finished, open now, bytes, findings.
// Enter on a row filters the dashboard by that socket or process.
import type { Breakdown } from '../../../engine/stats.js';
import { fmtBytes, fmtCount } from '../../../util/format.js';
import { matchesKey } from '../filter.js';
import type { Frame } from './panel.js';
import { TablePanel, type Column, type Row } from './table.js';

const COLUMNS: Column[] = [
  { header: 'socket', width: 28, min: 14, flex: true, maxWidth: 46, priority: 1, middle: true },
  { header: 'open', width: 6, priority: 2, right: true },
  { header: 'findings', width: 8, priority: 3, right: true },
  { header: 'lifetimes', width: 9, priority: 4, right: true },
  { header: 'bytes', width: 9, priority: 5, right: true },
];

/** One row per socket (options.by = socket) or per pid/comm (by = process). */
export class SocketsPanel extends TablePanel {
  private get by(): 'socket' | 'process' {
    return this.spec.options.by ?? 'socket';
  }

  protected columns(): Column[] {
    return this.by === 'socket' ? COLUMNS : [{ ...COLUMNS[0], header: 'pid/comm' }, ...COLUMNS.slice(1)];
  }

  update(f: Frame): void {
    const all: Breakdown[] = this.by === 'socket' ? f.snap.bySock : f.snap.byProc;
    const rows: Row[] = all.filter((r) => matchesKey(f.filter, this.by, r.key)).map((r) => ({
      key: r.key,
      cells: [r.key, fmtCount(r.open), fmtCount(r.findings), fmtCount(r.lifetimes), fmtBytes(r.bytes)],
      sgr: r.findings > 0 ? 33 : undefined,
    }));
    this.fill(rows);
    this.setTitle(`${this.by === 'socket' ? 'sockets' : 'processes'}: ${fmtCount(rows.length)}${rows.length < all.length ? ` of ${fmtCount(all.length)}` : ''} (Enter filters)`);
  }

  /** The filter term Enter applies: this row's socket, or its pid. */
  filterTerm(): string | undefined {
    const key = this.selected();
    if (key === undefined || key.startsWith('(')) return undefined;
    return this.by === 'socket' ? `sock:${key}` : `pid:${key.slice(0, key.indexOf('/'))}`;
  }
}
