// The story view: every event the engine kept of one lifetime, times relative to its start,
// above what is known of the holder. A holder's story follows the engine while the lifetime
// is open; a finding's is the lifetime as the finding saw it, or its current one if longer.
import blessed, { type Widgets } from 'blessed';
import type { Engine } from '../../engine/engine.js';
import type { Finding, LifetimeView } from '../../engine/types.js';
import { STORY_HEAD, STORY_TAIL } from '../../engine/lifetime.js';
import { fmtBytes, fmtNs } from '../../util/format.js';
import { storyLine } from '../report.js';
import { esc, KIND_COLOUR, type StoryTarget } from './panels/panel.js';

/** A lifetime as the story view knows it (an engine view, maybe with open/leaked flags). */
export type StoryLifetime = LifetimeView & { open?: boolean; leaked?: boolean };

/** The text of a story (gets < 0: not known, the view came from a finding) (blessed tags), for a lifetime and, when opened from one, its finding. */
export function storyText(lt: StoryLifetime, now: number, finding?: Finding): string[] {
  const state = lt.open === false
    ? `ended (${lt.done ? 'completed' : lt.freed ? 'freed before completion' : 'socket closed'})`
    : `open${lt.leaked ? ', {red-fg}LEAKED{/red-fg}' : ''}${lt.done ? ', done' : ''}${lt.freed ? ', freed' : ''}`;
  const out = [`{bold}holder ${esc(lt.obj)} #${lt.seq}{/bold}: ${state}${lt.uncertain ? ' {grey-fg}(open across lost events: uncertain){/grey-fg}' : ''}`];
  if (finding !== undefined) {
    out.push(`{${KIND_COLOUR[finding.kind]}-fg}{bold}${finding.kind.toUpperCase()}{/bold}{/${KIND_COLOUR[finding.kind]}-fg} at ${fmtNs(finding.t)}: ${esc(finding.detail)}`);
  }
  const age = lt.open === false ? '' : `, age ${fmtNs(now - lt.start)}`;
  const moves = lt.gets < 0 ? '' : `, gets ${lt.gets}, puts ${lt.puts}`;
  out.push(`started at ${fmtNs(lt.start)}${age}; refs ${lt.refs}, ${fmtBytes(lt.bytes)}${moves}${lt.pages ? `, ${lt.pages} page(s)` : ''}`);
  out.push(`socket ${esc(lt.sock ?? '-')}   pid ${lt.pid ?? '?'} comm ${esc(lt.comm ?? '?')}`);
  out.push('', `{bold}events{/bold} (times relative to the start of this lifetime):`);
  // The engine keeps the first and last events of a lifetime, so memory stays bounded (and
  // only the last few once it has ended): say where the cut is and how much it hides, rather
  // than showing a story with a silent hole.
  const cutAt = lt.storyDropped === 0 ? -1 : lt.story.length >= STORY_HEAD ? STORY_HEAD : 0;
  const cut = cutAt === 0
    ? `… ${lt.storyDropped} earlier event(s) no longer kept (the lifetime has ended)`
    : `… ${lt.storyDropped} event(s) in the middle not kept (the first ${STORY_HEAD} and last ${STORY_TAIL} are)`;
  lt.story.forEach((e, i) => {
    if (i === cutAt) out.push(`      {yellow-fg}${cut}{/yellow-fg}`);
    out.push(`  ${esc(storyLine(e))}`);
  });
  return out;
}

/** The overlay box showing one story, refreshed from the engine each frame. */
export class StoryView {
  readonly box: Widgets.BoxElement;
  private last: StoryLifetime | undefined;

  constructor(parent: Widgets.Node, private readonly target: StoryTarget) {
    this.box = blessed.box({
      top: 1, left: 2, width: '100%-4', height: '100%-4', border: { type: 'line' }, tags: true,
      label: ' story (Esc closes, arrows scroll) ', scrollable: true, alwaysScroll: true, keys: false, mouse: false,
      style: { border: { fg: 'white' }, bg: 'black' }, scrollbar: { ch: ' ', style: { bg: 'white' } },
    });
    parent.append(this.box);
  }

  /** Re-reads the lifetime from the engine (it may have grown or ended) and sets the text. */
  update(engine: Engine): void {
    const t = this.target;
    const obj = t.kind === 'holder' ? t.obj : t.finding.obj;
    const seq = t.kind === 'holder' ? t.seq : t.finding.seq;
    const cur = engine.lifetimeOf(obj);
    if (cur !== undefined && cur.seq === seq) {
      // A closed lifetime keeps only its last events: keep the fuller story seen while it was open.
      this.last = !cur.open && this.last !== undefined && this.last.story.length > cur.story.length
        ? { ...this.last, open: false, done: cur.done, freed: cur.freed, refs: cur.refs }
        : cur;
    }
    let lt = this.last;
    if (t.kind === 'finding' && (lt === undefined || lt.story.length < t.finding.story.length)) {
      lt = { ...fromFinding(t.finding), ...(lt ? { open: lt.open, leaked: lt.leaked, done: lt.done, freed: lt.freed } : {}) };
    }
    if (lt === undefined) {
      this.box.setContent(`holder ${esc(obj)} #${seq}: no longer known to the engine (its lifetime ended and left the cache)`);
      return;
    }
    const lines = storyText(lt, engine.now, t.kind === 'finding' ? t.finding : undefined);
    if (cur !== undefined && cur.seq > seq) lines.push('', `(the holder id has since been reused: lifetime #${cur.seq} is open now)`);
    this.box.setContent(lines.join('\n'));
  }

  /** Scrolls by lines (negative: up); Infinity goes to an end. */
  scroll(delta: number): void {
    if (delta === Infinity) this.box.setScrollPerc(100);
    else if (delta === -Infinity) this.box.setScroll(0);
    else this.box.scroll(delta);
  }

  destroy(): void {
    this.box.detach();
    this.box.destroy();
  }
}

function fromFinding(f: Finding): StoryLifetime {
  return {
    obj: f.obj, seq: f.seq, start: f.start, refs: f.refs, bytes: f.bytes, sock: f.sock, pid: f.pid, comm: f.comm,
    done: false, freed: false, uncertain: f.uncertain === true, gets: -1, puts: -1, pages: 0, story: f.story, storyDropped: f.storyDropped,
  };
}
