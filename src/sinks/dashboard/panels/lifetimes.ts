// The lifetime histogram (submit/first get → done), log2 buckets of microseconds, with p50/p99.
import { DURATION_BUCKETS } from '../../../engine/stats.js';
import { fmtCount, fmtNs } from '../../../util/format.js';
import { BarPanel, toBars, type Bars } from './bars.js';
import { shortNs, type Frame } from './panel.js';

/** How long TCP held each completed holder. */
export class LifetimesPanel extends BarPanel {
  protected defaultTitle(): string {
    return 'lifetimes';
  }

  protected bars(f: Frame, max: number): Bars {
    // Bucket i holds lifetimes of [2^i, 2^(i+1)) µs; bucket 0 also holds everything under 2 µs.
    return toBars(f.snap.durationBuckets.slice(0, DURATION_BUCKETS), max, (i) => (i === 0 ? '<2µs' : shortNs(2 ** i * 1000)));
  }

  protected title(f: Frame): string {
    const d = f.snap.duration;
    if (d.count === 0) return 'lifetimes: none completed yet';
    return `lifetimes: p50 ${fmtNs(d.p50)}, p99 ${fmtNs(d.p99)} (${fmtCount(d.count)})`;
  }
}
