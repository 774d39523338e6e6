// The two status lines under the panels: where the events come from and how fast (source,
// state, uptime or replay position, events/s, lost, pack, kernel), then what was found (the
// findings per kind, open and leaked holders), the view (filter, sort) and the keys.
// Segments are dropped from the right when the terminal is narrow, so they go by importance.
import blessed, { type Widgets } from 'blessed';
import type { Snapshot } from '../../engine/snapshot.js';
import { FINDING_KINDS } from '../../engine/types.js';
import { fmtCount } from '../../util/format.js';
import type { SortKey } from './panels/panel.js';
import { esc, KIND_COLOUR } from './panels/panel.js';
import type { SourceFacts } from './source.js';

/** What the status bar shows besides the snapshot. */
export interface StatusView {
  facts: SourceFacts;
  rate: number;
  sort: SortKey;
  filter: string;
  /** The filter line being typed, when in filter mode. */
  editing?: string;
  message?: string;
}

/** A segment: its plain text (for measuring) and its tagged text (for showing). */
type Segment = [string, string];

function seg(plain: string, tagged = esc(plain)): Segment {
  return [plain, tagged];
}

/** Joins segments with a separator while they fit in `width` columns. */
export function fit(segments: Segment[], width: number): string {
  let used = 0;
  const out: string[] = [];
  for (const [plain, tagged] of segments) {
    const w = plain.length + (out.length > 0 ? 3 : 0);
    if (used + w > width) break;
    out.push(tagged);
    used += w;
  }
  return out.join(' {cyan-fg}│{/cyan-fg} ');
}

/** The bar: two lines at the bottom of the screen. */
export class StatusBar {
  readonly box: Widgets.BoxElement;

  constructor(parent: Widgets.Node) {
    this.box = blessed.box({ bottom: 0, left: 0, width: '100%', height: 2, tags: true, style: { fg: 'white', bg: 'blue' } });
    parent.append(this.box);
  }

  update(s: Snapshot, v: StatusView, width: number): void {
    const f = v.facts;
    const line1: Segment[] = [
      seg(` zctrace ${f.source}`, ` {bold}zctrace ${esc(f.source)}{/bold}`),
      seg(f.state, `{bold}${esc(f.state)}{/bold}`),
      seg(f.clock),
      seg(`${fmtCount(v.rate)} ev/s`),
      seg(`lost ${fmtCount(s.lost)}`, s.lost > 0 ? `{yellow-fg}lost ${fmtCount(s.lost)}{/yellow-fg}` : undefined),
      seg(`${fmtCount(s.events)} events`), // ticks (the clock) are not counted
      seg(`pack ${f.pack}`),
      seg(`kernel ${f.kernel}`),
    ];
    if (v.message) line1.splice(2, 0, seg(v.message, `{yellow-fg}${esc(v.message)}{/yellow-fg}`));
    const kinds = FINDING_KINDS.filter((k) => s.findings[k] + s.uncertain[k] > 0);
    const n = (k: (typeof FINDING_KINDS)[number]): string => `${k} ${fmtCount(s.findings[k] + s.uncertain[k])}`;
    const line2: Segment[] = v.editing !== undefined
      ? [seg(` filter: ${v.editing}_  (Enter applies, Esc cancels; sock: pid: comm: holder:)`, ` {bold}filter:{/bold} ${esc(v.editing)}█  (Enter applies, Esc cancels; sock: pid: comm: holder:)`)]
      : [
        seg(` findings: ${kinds.map(n).join(' ') || 'none'}`, ` findings: ${kinds.map((k) => `{${KIND_COLOUR[k]}-fg}${n(k)}{/${KIND_COLOUR[k]}-fg}`).join(' ') || 'none'}`),
        seg(`open ${fmtCount(s.open)} (${fmtCount(s.open - s.inFlight)} leaked)`),
        ...(v.filter ? [seg(`filter ${v.filter}`, `{yellow-fg}filter ${esc(v.filter)}{/yellow-fg}`)] : []),
        seg('? help  q quit'),
        seg(`sort ${v.sort}`),
        seg(`${fmtCount(s.lifetimes)} lifetimes, ${fmtCount(s.completed)} done`),
      ];
    this.box.setContent(`${fit(line1, width - 1)}\n${fit(line2, width - 1)}`);
  }
}
