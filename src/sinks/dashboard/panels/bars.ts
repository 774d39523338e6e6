// The bar-chart panels' common part: a contrib bar chart over a run of histogram buckets,
// trimmed to the buckets in use and merged in pairs until they fit the panel's width.
import type { Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import { compact, Panel, type Frame, type Geometry } from './panel.js';

/** Bars a chart shows: a title under each, the count it stands for. */
export interface Bars {
  titles: string[];
  counts: number[];
}


/**
 * Buckets [lo, hi] of the non-zero range, merged `g` at a time so at most `max` bars remain;
 * `title(i, g)` names a bar by its first bucket.
 */
export function toBars(buckets: number[], max: number, title: (first: number, group: number) => string): Bars {
  let lo = buckets.findIndex((n) => n > 0);
  if (lo < 0) return { titles: [], counts: [] };
  let hi = buckets.length - 1;
  while (buckets[hi] === 0) hi--;
  let g = 1;
  while (Math.ceil((hi - lo + 1) / g) > Math.max(1, max)) g *= 2;
  lo -= lo % g; // align groups so the same bucket always lands in the same bar
  const out: Bars = { titles: [], counts: [] };
  for (let i = lo; i <= hi; i += g) {
    let n = 0;
    for (let j = i; j < Math.min(i + g, buckets.length); j++) n += buckets[j];
    out.titles.push(title(i, g));
    out.counts.push(n);
  }
  return out;
}

// contrib prints data[i].toString() under a bar: a Number whose toString is short ("1.2k")
// keeps the text inside its bar, while the chart's arithmetic still sees the real count.
function shown(n: number): number {
  const v = new Number(n) as number & { toString(): string };
  v.toString = () => compact(n);
  return v;
}

/** A panel drawing one histogram as bars, titled with its percentiles. */
export abstract class BarPanel extends Panel {
  /** Bar width and the step between bars (contrib wants at least 3 more than the width). */
  protected readonly barWidth: number = 4;
  protected readonly barSpacing: number = 6;

  protected override build(g: Geometry): Widgets.BoxElement {
    return contrib.bar({
      ...this.boxOptions(g, this.defaultTitle()), barWidth: this.barWidth, barSpacing: this.barSpacing, xOffset: 1, maxHeight: 1,
      barBgColor: 'blue', barFgColor: 'white', labelColor: 'white',
    });
  }

  protected override rebuildOnResize(): boolean {
    return true;
  }

  update(f: Frame): void {
    const g = this.geometry;
    if (this.element === undefined || g === undefined) return;
    const bars = this.bars(f, Math.floor((g.width - 3) / this.barSpacing));
    (this.element as ReturnType<typeof contrib.bar>).setData({ titles: bars.titles, data: bars.counts.map(shown) });
    this.setTitle(this.title(f));
  }

  protected abstract defaultTitle(): string;
  /** The bars for the frame, at most `max`. */
  protected abstract bars(f: Frame, max: number): Bars;
  /** The title with the numbers that matter (percentiles, how many). */
  protected abstract title(f: Frame): string;
}
