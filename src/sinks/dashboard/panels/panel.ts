// What every panel is: a widget in a grid cell that only sets its data from the frame (an
// immutable snapshot plus the view's filter and sort). Panels never call screen.render():
// the scheduler does, at the layout's rate.
import type { Widgets } from 'blessed';
import type { Snapshot } from '../../../engine/snapshot.js';
import type { Finding, FindingKind } from '../../../engine/types.js';
import type { Filter } from '../filter.js';
import type { PanelSpec } from '../layout.js';
import { cell } from '../../../util/format.js';

/** How the holders table is ordered. */
export type SortKey = 'age' | 'refs' | 'bytes';

/** What one redraw draws from. */
export interface Frame {
  snap: Snapshot;
  filter: Filter;
  sort: SortKey;
}

/** A panel's box on screen, in cells. */
export interface Geometry {
  top: number;
  left: number;
  width: number;
  height: number;
}

/** What Enter opens: a holder's current lifetime, or the lifetime as a finding saw it. */
export type StoryTarget = { kind: 'holder'; obj: string; seq: number } | { kind: 'finding'; finding: Finding };

/** Base of all panels: owns its widget, knows its cell, can be focused. */
export abstract class Panel {
  element: Widgets.BoxElement | undefined;
  focused = false;
  /** Takes arrow keys and Enter (tables and lists). */
  readonly focusable: boolean = false;
  protected geometry: Geometry | undefined;

  constructor(readonly spec: PanelSpec, protected readonly parent: Widgets.Node) {}

  /** Creates the widget, or moves it after a resize (canvas panels re-create theirs). */
  place(g: Geometry): void {
    const resized = this.geometry === undefined || this.geometry.width !== g.width || this.geometry.height !== g.height;
    this.geometry = g;
    if (this.element !== undefined && (!resized || !this.rebuildOnResize())) {
      const el = this.element;
      el.top = g.top;
      el.left = g.left;
      el.width = g.width;
      el.height = g.height;
      return;
    }
    if (this.element !== undefined) this.element.detach();
    this.element = this.build(g);
    this.parent.append(this.element);
    this.styleFocus();
  }

  /** Sets the widget's data from the frame. */
  abstract update(f: Frame): void;

  /** Moves the selection (focusable panels). */
  move(_delta: number): void {}

  /** What Enter opens on the selected row, if anything. */
  target(): StoryTarget | undefined {
    return undefined;
  }

  /** Highlights the border of the focused panel. */
  setFocus(on: boolean): void {
    this.focused = on;
    this.styleFocus();
  }

  protected abstract build(g: Geometry): Widgets.BoxElement;

  /** Canvas widgets size their canvas once, when attached: they must be re-created. */
  protected rebuildOnResize(): boolean {
    return false;
  }

  /** Box options shared by all panels: the cell, a border, the title. */
  protected boxOptions(g: Geometry, title: string): Widgets.BoxOptions {
    return {
      ...g, label: ` ${this.spec.title ?? title} `, tags: true,
      border: { type: 'line' }, style: { border: { fg: 'cyan' }, label: { fg: 'white' } },
    };
  }

  /** Sets the title, cut to the border's width (blessed wraps a longer label into the panel). */
  protected setTitle(title: string): void {
    const room = Math.max(4, (this.geometry?.width ?? 80) - 4);
    this.element?.setLabel(` ${cell(this.spec.title ?? title, room - 2).trimEnd()} `);
  }

  private styleFocus(): void {
    const style = this.element?.style as { border?: { fg?: string } } | undefined;
    if (style?.border) style.border.fg = this.focused ? 'white' : 'cyan';
  }
}

/** The colour of each finding kind in the log and tables (blessed tag names). */
export const KIND_COLOUR: Record<FindingKind | 'leak_resolved', string> = {
  leak: 'red', early_free: 'magenta', use_after_free: 'magenta', underflow: 'yellow',
  copy_fallback: 'cyan', enobufs: 'yellow', leak_resolved: 'green',
};

/** Cuts `s` to `w` characters keeping both ends ("10.0.0.1:3260>…0.2:51234"): sockets differ at either end. */
export function cutMiddle(s: string, w: number): string {
  if (s.length <= w) return s;
  if (w < 5) return s.slice(0, w);
  const head = Math.ceil((w - 1) / 2);
  return `${s.slice(0, head)}…${s.slice(s.length - (w - 1 - head))}`;
}

/** Blessed tags are literal braces: escape text that comes from the trace. */
export function esc(s: string): string {
  return s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
}

/** 1.2k / 3.4M: counts under bars and in narrow cells. */
export function compact(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** 2µs / 33ms / 1s: short durations for axis labels. */
export function shortNs(ns: number): string {
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${Math.round(ns)}ns`;
  if (ns < 1e6) return `${Math.round(ns / 1e3)}µs`;
  if (ns < 1e9) return `${Math.round(ns / 1e6)}ms`;
  if (ns < 60e9) return `${Math.round(ns / 1e9)}s`;
  return `${Math.round(ns / 60e9)}m`;
}
