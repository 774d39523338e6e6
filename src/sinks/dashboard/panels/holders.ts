// The oldest open holders (or the most referenced, or the largest: `s` cycles the sort), the
// filter applied over all open holders by the snapshot, not only over the rows shown.
import { fmtBytes, fmtCount, fmtNs } from '../../../util/format.js';
import type { Frame, StoryTarget } from './panel.js';
import { TablePanel, type Column, type Row } from './table.js';

// Widths fit "0xffff8880a1b26c00 #1", "999.999 ms", "1023.9 KiB", "10.0.0.1:3260>10.0.0.2:51234".
const COLUMNS: Column[] = [
  { header: 'holder', width: 21, maxWidth: 34, priority: 1 },
  { header: 'age', width: 10, priority: 2, right: true },
  { header: 'refs', width: 5, priority: 3, right: true },
  { header: 'bytes', width: 10, min: 8, priority: 4, right: true },
  { header: 'pid/comm', width: 14, min: 10, priority: 5 },
  { header: 'socket', width: 28, min: 13, flex: true, maxWidth: 46, priority: 6, middle: true },
  { header: 'state', width: 9, priority: 7 },
];

const RED = 31;
const DIM = 90; // bright black: uncertain (open across lost events)

/** Open holders, one row per lifetime. */
export class HoldersPanel extends TablePanel {
  protected columns(): Column[] {
    return COLUMNS;
  }

  update(f: Frame): void {
    const s = f.snap;
    const rows: Row[] = s.oldest.map((h) => ({
      key: `${h.obj} #${h.seq}`,
      cells: [
        `${h.obj} #${h.seq}`, fmtNs(h.age), String(h.refs), fmtBytes(h.bytes), `${h.pid ?? '?'}/${h.comm ?? '?'}`,
        h.sock ?? '-', h.leaked ? 'LEAKED' : h.uncertain ? 'uncertain' : h.freed ? 'freed' : h.done ? 'done' : 'open',
      ],
      sgr: h.leaked ? RED : h.uncertain ? DIM : undefined,
    }));
    this.fill(rows, f.sort);
    const shown = s.matching > s.oldest.length ? `, ${fmtCount(s.oldest.length)} shown` : '';
    const what = f.filter.terms.length > 0 ? `${fmtCount(s.matching)} of ${fmtCount(s.open)} open match` : `${fmtCount(s.open)} open`;
    this.setTitle(`holders by ${f.sort === 'age' ? 'age (oldest first)' : `${f.sort} (largest first)`}: ${what}${shown}, ${fmtCount(s.open - s.inFlight)} leaked`);
  }

  override target(): StoryTarget | undefined {
    const key = this.selected();
    if (key === undefined) return undefined;
    const i = key.lastIndexOf(' #');
    return { kind: 'holder', obj: key.slice(0, i), seq: Number(key.slice(i + 2)) };
  }
}
