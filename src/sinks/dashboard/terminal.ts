// The terminal the dashboard takes over: whether it can (a terminal, big enough), and stderr
// held while the screen is up (warnings would scribble over it; they are written out after
// the restore). Free of blessed, so commands can check before loading the dashboard.
import type { Readable, Writable } from 'node:stream';
import { UsageError } from '../../util/errors.js';
import type { Layout } from './layout.js';

/** The streams the dashboard draws on and reads keys from (tests pass fakes). */
export interface TerminalIO {
  input: Readable & { isTTY?: boolean };
  output: Writable & { isTTY?: boolean; columns?: number; rows?: number };
}

/** The process's own terminal. */
export function processIO(): TerminalIO {
  return { input: process.stdin, output: process.stdout };
}

/** What to suggest instead of the dashboard (a mode's headless equivalent). */
export interface Instead {
  /** e.g. "use --headless for NDJSON records" */
  headless: string;
}

/** Throws UsageError with a clear message when this terminal cannot show the layout. */
export function checkTerminal(io: TerminalIO, layout: Layout, instead: Instead): void {
  const which = io.output.isTTY !== true ? 'stdout' : io.input.isTTY !== true ? 'stdin' : undefined;
  if (which !== undefined) {
    throw new UsageError(`the dashboard needs a terminal, and ${which} is not one`, instead.headless);
  }
  const cols = io.output.columns ?? 0;
  const rows = io.output.rows ?? 0;
  if (cols < layout.minSize.cols || rows < layout.minSize.rows) {
    throw new UsageError(
      `the terminal is ${cols}x${rows}; the "${layout.name}" dashboard needs at least ${layout.minSize.cols}x${layout.minSize.rows}`,
      `enlarge the terminal${layout.name === 'compact' ? '' : ', or use --dashboard compact (80x24)'}; or ${instead.headless}`,
    );
  }
}

/** Holds stderr while the screen is up and gives it back (with what was held) on release. */
export class StderrHold {
  readonly held: string[] = [];
  private readonly original = process.stderr.write;

  constructor(private readonly onLine: (line: string) => void) {
    const hold = (chunk: unknown, ...rest: unknown[]): boolean => {
      const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString();
      if (this.held.length < 500) this.held.push(text);
      const last = text.trim().split('\n').at(-1);
      if (last) this.onLine(last);
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
    process.stderr.write = hold as typeof process.stderr.write;
  }

  /** Restores stderr and writes out what was held. */
  release(): void {
    if (process.stderr.write === this.original) return;
    process.stderr.write = this.original;
    for (const t of this.held) process.stderr.write(t);
    this.held.length = 0;
  }
}
