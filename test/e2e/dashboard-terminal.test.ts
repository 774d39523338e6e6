// The terminal rules, end to end: a terminal too small for the layout gets a message naming
// both sizes and what to do instead (before anything is drawn), the compact layout fits 80x24,
// shrinking the window while running shows a message until it is big enough again, and no
// terminal at all (a pipe) is refused with the headless alternatives.
import { afterEach, describe, expect, it } from 'vitest';
import { zctrace } from '../helpers/cli.js';
import { TmuxSession, tmuxAvailable } from './tmux.js';

const tmux = tmuxAvailable();
let session: TmuxSession | undefined;
afterEach(() => session?.kill());

describe.skipIf(!tmux.ok)(`terminal size in tmux${tmux.ok ? '' : ` (skipped: ${tmux.reason})`}`, () => {
  it('too small for the layout: a clear message, exit 2, the terminal untouched', async () => {
    session = new TmuxSession().start('node bin/zctrace.js replay examples/demo.trace.gz --tui --speed max', 90, 24);
    const screen = await session.waitFor('[exit 2]');
    expect(screen).toContain('zctrace: the terminal is 90x24; the "default" dashboard needs at least 100x30');
    expect(screen).toContain('hint: enlarge the terminal, or use --dashboard compact (80x24); or drop --tui for a report, or use --json for NDJSON records');
    expect(session.alternateScreen()).toBe(false);
  });

  it('the compact layout in 80x24 shows the findings, the holders and the counts', async () => {
    session = new TmuxSession().start('node bin/zctrace.js replay examples/demo.trace.gz --tui --speed max --dashboard compact', 80, 24);
    const screen = await session.waitFor('end of trace');
    expect(screen).toMatch(/LEAK\s+0xffff8880a1b26c00 #1/);
    expect(screen).toMatch(/0xffff8880a1b26c00 #1\s+28\.467 s/);
    expect(screen).toContain('findings: leak 1 early_free 1 use_after_free 1 underflow 1 copy_fallback 1');
    expect(screen).toMatch(/held p50 1\.567 s, p99 3\.391 s/);
    expect(screen.split('\n').every((l) => l.length <= 80)).toBe(true);
  });

  it('shrunk below the minimum while running: a message instead of panels; enlarged: the panels again', async () => {
    session = new TmuxSession().start('node bin/zctrace.js replay examples/demo.trace.gz --tui --speed max', 120, 40);
    await session.waitFor('end of trace');
    session.resize(70, 20);
    const small = await session.waitFor('terminal too small: 70x20, the "default" dashboard needs 100x30');
    expect(small).toContain('--dashboard compact');
    expect(small).not.toContain('holders by age');
    session.resize(110, 35);
    const big = await session.waitFor(/^(?![\s\S]*terminal too small)[\s\S]*holders by age/);
    expect(big).toMatch(/LEAK\s+0xffff8880a1b26c00 #1/);
    session.keys('q');
    await session.waitFor('[exit 0]');
    expect(session.alternateScreen()).toBe(false);
  });
});

describe('not a terminal', () => {
  it('replay --tui with stdout piped: refused, with the headless alternatives', async () => {
    const r = await zctrace(['replay', 'examples/demo.trace.gz', '--tui']);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('zctrace: the dashboard needs a terminal, and stdout is not one\n  hint: drop --tui for a report, or use --json for NDJSON records');
  });

  it('dashboard flags without --tui, or with --json, are usage errors', async () => {
    expect((await zctrace(['replay', 'examples/demo.trace.gz', '--speed', '10x'])).stderr).toContain('--speed needs --tui');
    expect((await zctrace(['replay', 'examples/demo.trace.gz', '--dashboard', 'compact'])).stderr).toContain('--dashboard needs --tui');
    const both = await zctrace(['replay', 'examples/demo.trace.gz', '--tui', '--json']);
    expect(both.exitCode).toBe(2);
    expect(both.stderr).toContain('--tui and --json do not go together');
    const bad = await zctrace(['replay', 'examples/demo.trace.gz', '--tui', '--dashboard', 'nope']);
    expect(bad.stderr).toMatch(/no layout named "nope"\n  hint: available: compact, default/);
  });
});
