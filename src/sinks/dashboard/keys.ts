// Keys → actions, per mode, as a table; the help screen is written from the same table, so
// help and behaviour cannot drift apart.
// One keypress listener on the screen dispatches everything: no widget handles keys itself,
// so no widget renders on its own and a key never means two things at once.

/** What the dashboard is showing, which decides what a key does. */
export type Mode = 'main' | 'filter' | 'story' | 'help';

/** What a key can ask for. */
export type Action =
  | 'quit' | 'pause' | 'filter' | 'clearFilter' | 'sort' | 'open' | 'help' | 'close'
  | 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'focusNext' | 'focusPrev'
  | 'faster' | 'slower' | 'step' | 'nextFinding';

/** blessed's key description (the part used here). */
export interface KeyInfo {
  name?: string;
  full?: string;
  ctrl?: boolean;
  shift?: boolean;
}

/** One binding: keys (blessed names, or the character typed), the action, and its help text. */
export interface Binding {
  keys: string[];
  action: Action;
  help: string;
  /** Only in replay. */
  replay?: boolean;
}

/** The main screen's keys, in the order the help screen lists them. */
export const MAIN_KEYS: Binding[] = [
  { keys: ['q', 'C-c'], action: 'quit', help: 'quit (the terminal is restored; live mode then prints its report)' },
  { keys: ['p', 'space'], action: 'pause', help: 'pause / resume (live: freezes the display, tracing goes on)' },
  { keys: ['/'], action: 'filter', help: 'filter by sock:TEXT pid:N comm:TEXT holder:TEXT, or any word' },
  { keys: ['escape'], action: 'clearFilter', help: 'clear the filter' },
  { keys: ['s'], action: 'sort', help: 'sort the holders: age, refs, bytes' },
  { keys: ['enter'], action: 'open', help: "open the selected holder's or finding's story (sockets: filter by it)" },
  { keys: ['tab'], action: 'focusNext', help: 'next table (holders, findings, sockets)' },
  { keys: ['S-tab'], action: 'focusPrev', help: 'previous table' },
  { keys: ['up', 'k'], action: 'up', help: 'move the selection' },
  { keys: ['down', 'j'], action: 'down', help: '' },
  { keys: ['pageup'], action: 'pageUp', help: '' },
  { keys: ['pagedown'], action: 'pageDown', help: '' },
  { keys: ['home', 'g'], action: 'home', help: '' },
  { keys: ['end', 'G'], action: 'end', help: '' },
  { keys: ['+', '='], action: 'faster', help: 'replay faster (x2; up to max)', replay: true },
  { keys: ['-', '_'], action: 'slower', help: 'replay slower (/2)', replay: true },
  { keys: ['n', '.'], action: 'step', help: 'step one event (pauses)', replay: true },
  { keys: ['f'], action: 'nextFinding', help: 'run to the next finding, then pause', replay: true },
  { keys: ['?', 'h'], action: 'help', help: 'this help' },
];

const STORY_KEYS: Binding[] = [
  { keys: ['escape', 'q', 'enter', 'backspace'], action: 'close', help: 'close' },
  { keys: ['C-c'], action: 'quit', help: 'quit' },
  { keys: ['up', 'k'], action: 'up', help: 'scroll' },
  { keys: ['down', 'j'], action: 'down', help: '' },
  { keys: ['pageup'], action: 'pageUp', help: '' },
  { keys: ['pagedown', 'space'], action: 'pageDown', help: '' },
  { keys: ['home', 'g'], action: 'home', help: '' },
  { keys: ['end', 'G'], action: 'end', help: '' },
];

// A printable key is matched by the character typed ("G", not its name "g" with shift);
// the others by blessed's full name ("enter", "S-tab", "C-c").
function names(ch: string | undefined, key: KeyInfo): string[] {
  const out: string[] = [];
  if (ch !== undefined && ch.length === 1 && ch > ' ' && ch !== '\x7f') out.push(ch);
  if (key.full) out.push(key.full);
  return out;
}

/** The action for a key in a mode, or undefined (filter mode edits text instead). */
export function actionFor(mode: Mode, replay: boolean, ch: string | undefined, key: KeyInfo): Action | undefined {
  if (mode === 'filter') return key.full === 'C-c' ? 'quit' : undefined;
  if (mode === 'help') return key.full === 'C-c' ? 'quit' : 'close'; // any key leaves the help
  const table = mode === 'story' ? STORY_KEYS : MAIN_KEYS;
  const typed = names(ch, key);
  for (const b of table) {
    if (b.replay && !replay) continue;
    if (b.keys.some((k) => typed.includes(k))) return b.action;
  }
  return undefined;
}

/** Filter-line editing: the new text, and whether Enter applied it or Esc cancelled. */
export function editLine(text: string, ch: string | undefined, key: KeyInfo): { text: string; done?: 'apply' | 'cancel' } {
  // blessed sends Enter twice ('enter', then 'return'): only the first counts.
  if (key.name === 'enter') return { text, done: 'apply' };
  if (key.name === 'escape') return { text, done: 'cancel' };
  if (key.name === 'backspace') return { text: text.slice(0, -1) };
  if (key.full === 'C-u') return { text: '' };
  // Printable characters only: the filter is matched as text, never evaluated.
  if (ch !== undefined && ch.length === 1 && ch >= ' ' && ch !== '\x7f' && !key.ctrl && text.length < 200) return { text: text + ch };
  return { text };
}

/** The help lines for a mode (replay adds the pacing keys), with blessed tags. */
export function helpText(replay: boolean, layoutName: string, refreshMs: number): string[] {
  const esc = (s: string): string => s.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'));
  const out = [`{bold}zctrace dashboard{/bold} (layout ${esc(layoutName)}, redrawn every ${refreshMs} ms; the engine runs at full speed)`, ''];
  const rows: { keys: string[]; help: string }[] = [];
  for (const b of MAIN_KEYS) {
    if (b.replay && !replay) continue;
    // A binding without text shares the line of the one before (down with up, and so on).
    if (b.help === '' && rows.length > 0) rows[rows.length - 1].keys.push(...b.keys);
    else rows.push({ keys: [...b.keys], help: b.help });
  }
  for (const r of rows) out.push(`  {bold}${esc(r.keys.join(' ').padEnd(28))}{/bold} ${esc(r.help)}`);
  out.push('', 'In a story: arrows/PgUp/PgDn scroll, Esc or q closes.', 'Any key closes this help.');
  return out;
}
