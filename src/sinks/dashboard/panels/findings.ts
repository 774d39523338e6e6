// The findings log: newest first, one line each, coloured by kind; the counts per kind in the
// title are the engine's exact totals (the log keeps the last RECENT_RECORDS). Enter opens the
// story the finding carries: the lifetime as it was when the finding was made.
import blessed, { type Widgets } from 'blessed';
import { FINDING_KINDS, type EngineRecord, type Finding } from '../../../engine/types.js';
import { fmtNs } from '../../../util/format.js';
import { matches } from '../filter.js';
import { esc, KIND_COLOUR, Panel, type Frame, type Geometry, type StoryTarget } from './panel.js';

/** One log line for a record (blessed tags for colour). */
export function findingLine(r: EngineRecord): string {
  const when = fmtNs(r.t).padStart(11);
  if (r.type === 'leak_resolved') {
    return `${when} {green-fg}RESOLVED{/green-fg}       ${esc(r.obj)} #${r.seq} completed after ${fmtNs(r.duration)} (a stall, not a leak)`;
  }
  const c = KIND_COLOUR[r.kind];
  const kind = r.kind.toUpperCase().padEnd(14);
  const where = [r.sock, r.pid !== undefined || r.comm ? `${r.pid ?? '?'}/${r.comm ?? '?'}` : undefined].filter(Boolean).join(' ');
  const unc = r.uncertain ? ' {grey-fg}(uncertain: lost events){/grey-fg}' : '';
  return `${when} {${c}-fg}{bold}${kind}{/bold}{/${c}-fg} ${esc(r.obj)} #${r.seq}: ${esc(r.detail)}${unc}${where ? `  [${esc(where)}]` : ''}`;
}

/** The newest findings, filtered like the rest of the dashboard. */
export class FindingsPanel extends Panel {
  override readonly focusable = true;
  private shown: EngineRecord[] = [];
  private selectedKey: string | undefined;

  protected override build(g: Geometry): Widgets.BoxElement {
    return blessed.list({
      ...this.boxOptions(g, 'findings'), interactive: true, keys: false, mouse: false,
      style: { border: { fg: 'cyan' }, selected: { inverse: true } },
    });
  }

  update(f: Frame): void {
    const list = this.element as Widgets.ListElement & { selected: number } | undefined;
    if (list === undefined) return;
    this.shown = f.snap.recent.filter((r) => matches(f.filter, r));
    const prev = this.selectedKey;
    list.setItems(this.shown.map(findingLine) as unknown as Widgets.BlessedElement[]);
    const at = prev === undefined ? 0 : Math.max(0, this.shown.findIndex((r) => key(r) === prev));
    list.select(Math.min(at, Math.max(0, this.shown.length - 1)));
    this.selectedKey = this.shown[list.selected] ? key(this.shown[list.selected]) : undefined;
    const s = f.snap;
    const counts = FINDING_KINDS.filter((k) => s.findings[k] + s.uncertain[k] > 0).map((k) => `${k} ${s.findings[k] + s.uncertain[k]}`);
    const none = this.shown.length === 0 ? (f.filter.terms.length > 0 ? ' (none match the filter)' : ' none yet') : '';
    this.setTitle(`findings, newest first: ${counts.join(', ') || 'none'}${counts.length > 0 ? none : ''}`);
    if (this.shown.length === 0) list.setItems([`  ${none.trim() || 'no findings yet'}`] as unknown as Widgets.BlessedElement[]);
  }

  override move(delta: number): void {
    const list = this.element as Widgets.ListElement & { selected: number } | undefined;
    if (list === undefined || this.shown.length === 0) return;
    const i = Math.min(this.shown.length - 1, Math.max(0, list.selected + delta));
    list.select(i);
    this.selectedKey = key(this.shown[i]);
  }

  override target(): StoryTarget | undefined {
    const r = this.shown.find((x) => key(x) === this.selectedKey);
    return r?.type === 'finding' ? { kind: 'finding', finding: r as Finding } : undefined;
  }
}

function key(r: EngineRecord): string {
  return `${r.type === 'finding' ? r.kind : r.type} ${r.obj} #${r.seq} ${r.t}`;
}
