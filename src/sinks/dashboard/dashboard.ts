// The dashboard: wires a layout's panels, the status bar, the keys (controls.ts) and the
// scheduler to a source (live or replay). It reads the engine only through snapshots taken by
// the scheduler at the layout's rate, so the engine runs at full speed whatever happens on
// screen. The terminal is given back by close(), which every way out calls (quit, the end of
// the run, an error in drawing or in a key handler, an uncaught exception).
import blessed, { type Widgets } from 'blessed';
import { snapshot, type Snapshot } from '../../engine/snapshot.js';
import { Controls } from './controls.js';
import { matches, NO_FILTER } from './filter.js';
import type { KeyInfo } from './keys.js';
import { place, type Layout } from './layout.js';
import { createPanel } from './panels/index.js';
import type { Panel } from './panels/panel.js';
import { Scheduler } from './scheduler.js';
import type { DashboardSource } from './source.js';
import { StatusBar } from './statusbar.js';
import { checkTerminal, processIO, StderrHold, type Instead, type TerminalIO } from './terminal.js';

/** How to open a dashboard. */
export interface DashboardOptions {
  layout: Layout;
  source: DashboardSource;
  /** Suggestions when the terminal cannot show it. */
  instead: Instead;
  /** The terminal (default: this process's stdin/stdout). */
  io?: TerminalIO;
  /** Rows the tables may list (default 50: a list item is a blessed element, and costs frame time). */
  top?: number;
}

const STATUS_LINES = 2;
const MESSAGE_MS = 6000;

/** One dashboard on one terminal: open(), then `closed` resolves when the user quits. */
export class Dashboard {
  /** Resolves when the user quits; rejects if drawing fails (the terminal is restored first). */
  readonly closed: Promise<void>;
  /** The scheduler, once open (tests and the bench read its render count). */
  scheduler: Scheduler | undefined;
  private resolveClosed!: () => void;
  private rejectClosed!: (err: unknown) => void;
  private screen: Widgets.Screen | undefined;
  private grid: Widgets.BoxElement | undefined;
  private small: Widgets.BoxElement | undefined;
  private status: StatusBar | undefined;
  private panels: Panel[] = [];
  private controls: Controls | undefined;
  private snap: Snapshot | undefined;
  private rate = { events: 0, at: 0, value: 0 };
  private message: { text: string; until: number } | undefined;
  private stderr: StderrHold | undefined;
  private done = false;
  private readonly crash = (err: unknown): void => this.fail(err);

  constructor(private readonly o: DashboardOptions) {
    this.closed = new Promise((res, rej) => {
      this.resolveClosed = res;
      this.rejectClosed = rej;
    });
    this.closed.catch(() => {}); // the owner awaits it; an unobserved rejection must not crash
  }

  /** Takes over the terminal; throws UsageError (nothing changed) if it cannot. */
  open(): void {
    const io = this.o.io ?? processIO();
    checkTerminal(io, this.o.layout, this.o.instead);
    const screen = openScreen(io);
    this.screen = screen;
    process.on('uncaughtException', this.crash);
    if (io.output === process.stdout && process.stderr.isTTY) this.stderr = new StderrHold((l) => this.notify(l));
    const grid = blessed.box({ top: 0, left: 0, width: '100%', height: `100%-${STATUS_LINES}` });
    this.grid = grid;
    screen.append(grid);
    this.status = new StatusBar(screen);
    this.panels = this.o.layout.panels.map((spec) => createPanel(spec, grid));
    this.layoutPanels();
    this.controls = new Controls({
      screen, panels: this.panels, source: this.o.source, layout: this.o.layout,
      soon: (fresh) => this.scheduler?.soon(fresh), notify: (t) => this.notify(t), quit: () => this.close(),
    });
    screen.on('keypress', (ch: string | undefined, key: KeyInfo) => this.guard(() => this.done || this.controls?.onKey(ch, key ?? {})));
    screen.on('resize', () => this.guard(() => this.layoutPanels()));
    this.scheduler = new Scheduler(screen, this.o.layout.refreshMs, (fresh) => this.draw(fresh), (err) => this.fail(err));
    this.scheduler.start();
  }

  /** A line in the status bar for a few seconds (a warning, a bad filter). */
  notify(text: string, ms = MESSAGE_MS): void {
    this.message = { text, until: Date.now() + ms };
    this.scheduler?.soon(false);
  }

  /** Redraws soon from a fresh snapshot (the source changed state: paused, finished). */
  refresh(): void {
    this.scheduler?.soon(true);
  }

  /** The screen as last rendered, as plain text (tests, and bug reports). */
  screenshot(): string {
    if (this.done) return '';
    // blessed's screenshot carries SGR colour codes; the text is what people read.
    return (this.screen?.screenshot() ?? '').replace(/\x1b\[[0-9;]*m/g, '');
  }

  /** Gives the terminal back; idempotent. Held stderr is written out after. */
  close(): void {
    if (this.done) return;
    this.done = true;
    this.scheduler?.stop();
    process.off('uncaughtException', this.crash);
    try {
      this.screen?.destroy();
    } finally {
      this.stderr?.release();
      this.resolveClosed();
    }
  }

  private fail(err: unknown): void {
    this.rejectClosed(err); // before close(), which would resolve it
    this.close();
  }

  // Errors in drawing or in a key handler end the dashboard with that error (not swallowed).
  private guard(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  private layoutPanels(): void {
    const screen = this.screen as Widgets.Screen;
    const small = tooSmall(screen, this.o.layout);
    (this.grid as Widgets.BoxElement).hidden = small;
    if (small) {
      this.small ??= blessed.box({ parent: screen, top: 'center', left: 'center', width: '100%', height: 3, align: 'center', tags: true });
      const m = this.o.layout.minSize;
      this.small.setContent(`terminal too small: ${screen.width}x${screen.height}, the "${this.o.layout.name}" dashboard needs ${m.cols}x${m.rows}\n` +
        `enlarge it, or quit (q) and use --dashboard compact or ${this.o.instead.headless.replace(/^use /, '')}`);
      this.small.show();
    } else {
      this.small?.hide();
      const h = Math.max(1, (screen.height as number) - STATUS_LINES);
      for (const p of this.panels) p.place(place(p.spec, this.o.layout.grid, screen.width as number, h));
    }
    this.scheduler?.soon(false);
  }

  private draw(fresh: boolean): void {
    const src = this.o.source;
    const c = this.controls;
    const filter = c?.filter;
    // A frozen display keeps its snapshot, except that a new filter or sort takes one.
    if (fresh && (!c?.frozen || c.queryChanged || this.snap === undefined)) {
      if (c) c.queryChanged = false;
      const match = filter !== undefined && filter.terms.length > 0 ? (h: Parameters<typeof matches>[1]) => matches(filter, h) : undefined;
      this.snap = snapshot(src.engine, this.o.top ?? 50, { match, sort: c?.sort });
      const now = Date.now();
      if (this.rate.at > 0 && now > this.rate.at) this.rate.value = ((this.snap.events - this.rate.events) * 1000) / (now - this.rate.at);
      this.rate = { events: this.snap.events, at: now, value: this.rate.value };
    }
    const snap = this.snap as Snapshot;
    const view = { snap, filter: c?.filter ?? NO_FILTER, sort: c?.sort ?? 'age' };
    if (!(this.grid as Widgets.BoxElement).hidden) for (const p of this.panels) p.update(view);
    c?.story?.update(src.engine);
    if (this.message && Date.now() > this.message.until) this.message = undefined;
    const facts = src.facts();
    if (c?.frozen) facts.state = 'display paused (tracing goes on)';
    this.status?.update(snap, {
      facts, rate: this.rate.value, sort: view.sort, filter: view.filter.text,
      editing: c?.mode === 'filter' ? c.editing : undefined, message: this.message?.text,
    }, (this.screen as Widgets.Screen).width as number);
  }
}

/** A screen on the given streams: the alternate buffer, no cursor, raw keys; destroy() restores it all. */
function openScreen(io: TerminalIO): Widgets.Screen {
  return blessed.screen({
    input: io.input, output: io.output, smartCSR: true, autoPadding: true, warnings: false,
    title: 'zctrace', dockBorders: false, fullUnicode: false, sendFocus: false,
  } as unknown as Widgets.IScreenOptions);
}

/** True when the screen is below the layout's minimum (checked again on every resize). */
function tooSmall(screen: Widgets.Screen, layout: Layout): boolean {
  return (screen.width as number) < layout.minSize.cols || (screen.height as number) < layout.minSize.rows;
}
