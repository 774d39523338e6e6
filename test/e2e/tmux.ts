// Drives a real terminal for end-to-end dashboard tests: zctrace runs in a detached tmux
// session of a chosen size on a private tmux server (its own socket, no user config), keys go
// in with send-keys, and the screen comes back with capture-pane. The pane stays after the
// command exits, so the output printed after the terminal is restored can be read too.
import { execFileSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { ROOT } from '../helpers/cli.js';

/** Whether tmux can be used here, and why not. */
export function tmuxAvailable(): { ok: boolean; reason: string } {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'pipe' });
    return { ok: true, reason: '' };
  } catch {
    return { ok: false, reason: 'tmux is not installed (apt-get install tmux; scripts/setup.sh does it)' };
  }
}

let sessions = 0;

/** One tmux session running one command. */
export class TmuxSession {
  readonly socket = `zctrace-test-${process.pid}-${sessions++}`;
  private started = false;

  /** Starts `command` (a shell line, run from the repository root) in a cols x rows terminal. */
  start(command: string, cols: number, rows: number, env: Record<string, string> = {}): this {
    const vars = Object.entries({ LANG: 'C.UTF-8', ...env }).map(([k, v]) => `${k}=${shellQuote(v)}`).join(' ');
    const line = `cd ${shellQuote(ROOT)} && env ${vars} ${command}; echo "[exit $?]"; sleep 3600`;
    this.tmux('-f', '/dev/null', 'new-session', '-d', '-s', 'zt', '-x', String(cols), '-y', String(rows), line);
    this.started = true;
    return this;
  }

  /** The screen as text, one line per terminal row (wrapped output lines joined). */
  screen(): string {
    return this.tmux('capture-pane', '-p', '-J', '-t', 'zt'); // -J: a wrapped line comes back whole
  }

  /** Everything the terminal kept: its scrollback and the screen (a long report after exit). */
  transcript(): string {
    return this.tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'zt');
  }

  /** Waits until the screen shows `want`; on timeout, fails showing the screen as it was. */
  async waitFor(want: string | RegExp, timeoutMs = 30_000): Promise<string> {
    const t0 = Date.now();
    for (;;) {
      const text = this.screen();
      if (typeof want === 'string' ? text.includes(want) : want.test(text)) return text;
      if (Date.now() - t0 > timeoutMs) throw new Error(`the terminal never showed ${String(want)} in ${timeoutMs} ms; it shows:\n${text}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  }

  /** Presses keys by tmux name (Enter, Escape, Up, q, C-c...), one send-keys each. */
  keys(...keys: string[]): void {
    for (const k of keys) this.tmux('send-keys', '-t', 'zt', k);
  }

  /** Types text literally. */
  type(text: string): void {
    this.tmux('send-keys', '-t', 'zt', '-l', text);
  }

  /** Resizes the terminal (the program gets SIGWINCH). */
  resize(cols: number, rows: number): void {
    this.tmux('resize-window', '-t', 'zt', '-x', String(cols), '-y', String(rows));
  }

  /** True while a program has the alternate screen (the dashboard is up, or never restored it). */
  alternateScreen(): boolean {
    return this.tmux('display-message', '-p', '-t', 'zt', '#{alternate_on}').trim() === '1';
  }

  /** Ends this session's tmux server (only ours: its own socket) and removes its socket file. */
  kill(): void {
    if (!this.started) return;
    this.started = false;
    let socket = '';
    try {
      socket = this.tmux('display-message', '-p', '#{socket_path}').trim();
      this.tmux('kill-server');
    } catch {
      // already gone
    }
    if (socket.includes('zctrace-test-')) rmSync(socket, { force: true });
  }

  private tmux(...args: string[]): string {
    return execFileSync('tmux', ['-L', this.socket, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
