// The numbers, as text, for layouts without room for charts: lifetimes, percentiles,
// copy fallback, losses.
import blessed, { type Widgets } from 'blessed';
import { fmtCount, fmtNs } from '../../../util/format.js';
import { Panel, type Frame, type Geometry } from './panel.js';

/** A few lines of totals and percentiles. */
export class SummaryPanel extends Panel {
  protected override build(g: Geometry): Widgets.BoxElement {
    return blessed.box(this.boxOptions(g, 'summary'));
  }

  update(f: Frame): void {
    const s = f.snap;
    const d = s.duration;
    const r = s.refsPerPage;
    this.element?.setContent([
      ` lifetimes ${fmtCount(s.lifetimes)}, done ${fmtCount(s.completed)}`,
      ` held p50 ${d.count ? fmtNs(d.p50) : '-'}, p99 ${d.count ? fmtNs(d.p99) : '-'}`,
      ` refs/page p50 ${r.count ? r.p50 : '-'}, p99 ${r.count ? r.p99 : '-'}`,
      ` copied ${Math.round(s.copiedRatio * 100)}%, lost ${fmtCount(s.lost)}`,
    ].join('\n'));
  }
}
