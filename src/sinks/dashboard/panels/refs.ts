// References taken per page per lifetime, as bars (the kernel patch zctrace grew from expected
// about 20: far more points at a path taking and dropping references in a loop).
import { REFS_BUCKETS } from '../../../engine/stats.js';
import { fmtCount } from '../../../util/format.js';
import { BarPanel, toBars, type Bars } from './bars.js';
import type { Frame } from './panel.js';

/** How many references each page took. */
export class RefsPanel extends BarPanel {
  // Narrow bars, room for a range under each ("16-23").
  protected override readonly barWidth = 2;
  protected override readonly barSpacing = 6;

  protected defaultTitle(): string {
    return 'references per page';
  }

  protected bars(f: Frame, max: number): Bars {
    // Bucket n counts pages that took n references; the last one, that many or more.
    return toBars(f.snap.refsBuckets, max, (i, g) => (i === REFS_BUCKETS - 1 ? `${i}+` : g === 1 ? String(i) : `${i}-${Math.min(i + g - 1, REFS_BUCKETS - 1)}`));
  }

  protected title(f: Frame): string {
    const d = f.snap.refsPerPage;
    if (d.count === 0) return 'refs/page: no page-level events';
    return `refs/page: p50 ${d.p50}, p99 ${d.p99} (${fmtCount(d.count)} pages)`;
  }
}
