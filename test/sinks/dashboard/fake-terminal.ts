// A terminal for unit tests: blessed draws on a PassThrough that says it is a TTY of a given
// size; keys are written to the input as a terminal would send them.
import { PassThrough } from 'node:stream';
import type { TerminalIO } from '../../../src/sinks/dashboard/terminal.js';
import { Engine } from '../../../src/engine/engine.js';
import type { ZcEvent } from '../../../src/engine/types.js';
import { checkLayout, loadLayout, type Layout } from '../../../src/sinks/dashboard/layout.js';
import type { DashboardSource, SourceFacts } from '../../../src/sinks/dashboard/source.js';

/** Escape sequences of the keys the tests press. */
export const KEY = { enter: '\r', escape: '\x1b', up: '\x1b[A', down: '\x1b[B', tab: '\t', ctrlC: '\x03' };

/** A fake terminal; `output` collects nothing (blessed's escape sequences are dropped). */
export interface FakeTerminal extends TerminalIO {
  type(keys: string): void;
  resize(cols: number, rows: number): void;
  /** Bytes blessed wrote so far. */
  written(): number;
}

/** A `cols` x `rows` terminal (`tty` false: a pipe, for the not-a-terminal rules). */
export function fakeTerminal(cols: number, rows: number, tty = true): FakeTerminal {
  const output = Object.assign(new PassThrough(), { isTTY: tty, columns: cols, rows });
  let bytes = 0;
  output.on('data', (d: Buffer) => { bytes += d.length; });
  const input = Object.assign(new PassThrough(), { isTTY: tty, setRawMode: () => input, isRaw: false });
  return {
    input, output,
    // One write per key: blessed parses a burst of bytes as a single (unknown) sequence.
    type: (keys) => input.write(keys),
    resize: (c, r) => {
      output.columns = c;
      output.rows = r;
      output.emit('resize');
    },
    written: () => bytes,
  };
}

/** A bundled layout redrawn every `ms` (tests do not wait a second per frame). */
export function fastLayout(name: string, ms = 100): Layout {
  const { file, ...rest } = loadLayout(name);
  return checkLayout({ ...structuredClone(rest), refreshMs: ms }, file);
}

/** A source over an engine, with fixed facts. */
export function engineSource(engine: Engine, extra: Partial<DashboardSource> = {}): DashboardSource {
  const facts: SourceFacts = { source: 'test', pack: 'synthetic', kernel: 'none', clock: 'at 0', state: 'testing' };
  return { engine, mode: 'live', facts: () => ({ ...facts }), ...extra };
}

/** An engine fed with `events`. */
export function engineWith(events: ZcEvent[], leakAfterNs = 10e9): Engine {
  const e = new Engine({ leakAfterNs, onRecord: () => {} });
  for (const ev of events) e.push(ev);
  return e;
}

/** Waits `ms` of real time (the scheduler's timers run). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls the dashboard's screen until `want` is on it (a string or a pattern); returns the
 * screen. On timeout it fails with the screen as it was, which is what one needs to see.
 */
export async function screenWith(dash: { screenshot(): string }, want: string | RegExp, timeoutMs = 8000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    const text = dash.screenshot();
    if (typeof want === 'string' ? text.includes(want) : want.test(text)) return text;
    if (Date.now() - t0 > timeoutMs) throw new Error(`screen never showed ${String(want)}; it shows:\n${text}`);
    await sleep(50);
  }
}
