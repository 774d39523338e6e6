// Holders in flight and bytes pinned over trace time: a line chart of one series, or, where
// there is little room, both series as one-line text sparklines.
import blessed, { type Widgets } from 'blessed';
import contrib from 'blessed-contrib';
import type { InflightPoint } from '../../../engine/stats.js';
import { fmtBytes, fmtCount } from '../../../util/format.js';
import { Panel, shortNs, type Frame, type Geometry } from './panel.js';

const SPARKS = '▁▂▃▄▅▆▇█';

/** The in-flight level over time. */
export class InflightPanel extends Panel {
  private get sparkline(): boolean {
    return this.spec.options.style === 'sparkline';
  }

  private get metric(): 'holders' | 'bytes' {
    return this.spec.options.metric ?? 'holders';
  }

  protected override build(g: Geometry): Widgets.BoxElement {
    const title = this.sparkline ? 'in flight' : this.metric === 'holders' ? 'holders in flight' : 'bytes pinned';
    if (this.sparkline) return blessed.box(this.boxOptions(g, title));
    return contrib.line({
      ...this.boxOptions(g, title), minY: 0, xPadding: 3, xLabelPadding: 3, numYLabels: 4, wholeNumbersOnly: false,
      style: { line: this.metric === 'holders' ? 'yellow' : 'green', text: 'white', baseline: 'white', border: { fg: 'cyan' } },
    });
  }

  protected override rebuildOnResize(): boolean {
    return !this.sparkline;
  }

  update(f: Frame): void {
    const el = this.element;
    const g = this.geometry;
    if (el === undefined || g === undefined) return;
    const s = f.snap;
    if (this.sparkline) {
      const width = Math.max(4, g.width - 24);
      const pts = window(s.series, width);
      el.setContent([
        ` holders ${fmtCount(s.open).padStart(9)}  ${spark(pts.map((p) => p.holders))}`,
        ` pinned  ${fmtBytes(s.bytesInFlight).padStart(9)}  ${spark(pts.map((p) => p.bytes))}`,
        ` in flight ${fmtCount(s.inFlight)}, leaked ${fmtCount(s.open - s.inFlight)}`,
      ].join('\n'));
      return;
    }
    // One point per character column: the chart draws two braille dots per cell.
    const pts = window(s.series, Math.max(2, g.width - 10));
    const base = s.first;
    const x = pts.map((p) => shortNs(p.t - base));
    let y: number[];
    let title: string;
    if (this.metric === 'holders') {
      y = pts.map((p) => p.holders);
      title = `holders in flight: ${fmtCount(s.open)} now, peak ${fmtCount(Math.max(0, ...y))}`;
    } else {
      const peak = Math.max(0, ...pts.map((p) => p.bytes));
      const [unit, div] = peak >= 1 << 30 ? ['GiB', 1 << 30] : peak >= 1 << 20 ? ['MiB', 1 << 20] : ['KiB', 1024];
      y = pts.map((p) => p.bytes / div);
      title = `bytes pinned (${unit}): ${fmtBytes(s.bytesInFlight)} now`;
    }
    if (y.length === 0) {
      x.push('0s');
      y.push(0);
    }
    const chart = el as ReturnType<typeof contrib.line>;
    // contrib divides by its max: an all-zero series would draw NaN, so the axis has a floor.
    chart.options.maxY = Math.max(1, ...y) * 1.2;
    chart.setData([{ title, x, y }]);
    this.setTitle(title);
  }
}

/** The last `n` points; older ones are still summarised by the engine's halving series. */
function window(series: InflightPoint[], n: number): InflightPoint[] {
  return series.length <= n ? series : series.slice(series.length - n);
}

/** ▁▂▃▅▇ for a series, scaled to its own maximum. */
export function spark(values: number[]): string {
  const max = Math.max(0, ...values);
  if (max === 0) return values.map(() => SPARKS[0]).join('');
  return values.map((v) => SPARKS[Math.min(SPARKS.length - 1, Math.floor((v / max) * (SPARKS.length - 1)))]).join('');
}
