// The view the keys change (mode, filter, sort, frozen display, focus, the open overlay) and
// the key handler that changes it. The dashboard reads this state when it draws; keys only
// ever ask the scheduler for a redraw, they never render.
import blessed, { type Widgets } from 'blessed';
import { NO_FILTER, parseFilter, type Filter } from './filter.js';
import { actionFor, editLine, helpText, type Action, type KeyInfo, type Mode } from './keys.js';
import type { Layout } from './layout.js';
import type { Panel, SortKey } from './panels/panel.js';
import { SocketsPanel } from './panels/sockets.js';
import type { DashboardSource } from './source.js';
import { StoryView } from './story.js';

const SORTS: SortKey[] = ['age', 'refs', 'bytes'];

/** What the controls act on. */
export interface ControlsHost {
  readonly screen: Widgets.Screen;
  readonly panels: Panel[];
  readonly source: DashboardSource;
  readonly layout: Layout;
  /** A redraw soon; `fresh` takes a new snapshot first. */
  soon(fresh: boolean): void;
  notify(text: string): void;
  quit(): void;
}

/** The dashboard's view state and its keys. */
export class Controls {
  mode: Mode = 'main';
  filter: Filter = NO_FILTER;
  /** The filter line while it is typed. */
  editing = '';
  sort: SortKey;
  /** Live only: the display is paused (tracing goes on). */
  frozen = false;
  /** The filter or sort changed since the last snapshot (a frozen display takes a new one). */
  queryChanged = false;
  story: StoryView | undefined;
  private help: Widgets.BoxElement | undefined;
  private focus: number;

  constructor(private readonly host: ControlsHost) {
    this.sort = host.layout.panels.find((p) => p.type === 'holders')?.options.sort ?? 'age';
    this.focus = host.panels.findIndex((p) => p.focusable);
    host.panels[this.focus]?.setFocus(true);
  }

  /** One keypress, as blessed reports it. */
  onKey(ch: string | undefined, key: KeyInfo): void {
    if (this.mode === 'filter' && key.full !== 'C-c') {
      const r = editLine(this.editing, ch, key);
      this.editing = r.text;
      if (r.done === 'apply') this.applyFilter(this.editing);
      if (r.done !== undefined) this.mode = 'main';
      this.host.soon(r.done === 'apply');
      return;
    }
    const action = actionFor(this.mode, this.host.source.mode === 'replay', ch, key);
    if (action !== undefined) this.act(action);
  }

  private act(a: Action): void {
    const replay = this.host.source.replay;
    const panel = this.host.panels[this.focus];
    const page = Math.max(1, ((panel?.element?.height as number) ?? 10) - 4);
    const move = (d: number): void => (this.mode === 'story' ? this.story?.scroll(d) : panel?.move(d));
    let fresh = false;
    switch (a) {
      case 'quit': this.host.quit(); return;
      case 'pause':
        if (replay) replay.togglePause();
        else this.frozen = !this.frozen;
        fresh = true;
        break;
      case 'filter': this.mode = 'filter'; this.editing = this.filter.text; break;
      case 'clearFilter': fresh = this.filter.terms.length > 0; this.filter = NO_FILTER; this.queryChanged ||= fresh; break;
      case 'sort': this.sort = SORTS[(SORTS.indexOf(this.sort) + 1) % SORTS.length]; fresh = true; this.queryChanged = true; break;
      case 'open': fresh = this.openSelected(panel); break;
      case 'help':
        this.mode = 'help';
        this.help = helpBox(this.host.screen, helpText(replay !== undefined, this.host.layout.name, this.host.layout.refreshMs));
        break;
      case 'close':
        this.story?.destroy();
        this.help?.destroy();
        this.story = undefined;
        this.help = undefined;
        this.mode = 'main';
        break;
      case 'up': move(-1); break;
      case 'down': move(1); break;
      case 'pageUp': move(-page); break;
      case 'pageDown': move(page); break;
      case 'home': move(-Infinity); break;
      case 'end': move(Infinity); break;
      case 'focusNext': case 'focusPrev': this.cycleFocus(a === 'focusNext' ? 1 : -1); break;
      case 'faster': replay?.faster(); fresh = true; break;
      case 'slower': replay?.slower(); fresh = true; break;
      case 'step': replay?.step(); fresh = true; break;
      case 'nextFinding': replay?.nextFinding(); fresh = true; break;
    }
    this.host.soon(fresh);
  }

  // Enter: a story for holders and findings; on a socket row, a filter by that socket.
  private openSelected(panel: Panel | undefined): boolean {
    if (panel instanceof SocketsPanel) {
      const term = panel.filterTerm();
      if (term !== undefined) this.applyFilter(term);
      return term !== undefined;
    }
    const target = panel?.target();
    if (target === undefined) return false;
    this.story = new StoryView(this.host.screen, target);
    this.mode = 'story';
    this.story.update(this.host.source.engine);
    return false;
  }

  private applyFilter(text: string): void {
    try {
      this.filter = parseFilter(text);
      this.queryChanged = true;
    } catch (err) {
      this.host.notify(err instanceof Error ? err.message : String(err));
    }
  }

  private cycleFocus(d: number): void {
    const panels = this.host.panels;
    const n = panels.length;
    for (let k = 1; k <= n; k++) {
      const i = (((this.focus + d * k) % n) + n) % n;
      if (!panels[i].focusable) continue;
      panels[this.focus]?.setFocus(false);
      this.focus = i;
      panels[i].setFocus(true);
      return;
    }
  }
}

/** The help overlay; the controls destroy it on the next key. */
function helpBox(parent: Widgets.Screen, lines: string[]): Widgets.BoxElement {
  return blessed.box({
    parent, top: 'center', left: 'center', width: '90%', height: Math.min(lines.length + 2, 40), border: { type: 'line' }, tags: true,
    label: ' help ', content: lines.join('\n'), style: { border: { fg: 'white' }, bg: 'black' },
  });
}
