// `zctrace live` under the dashboard in a real terminal (tmux), fed by the fake bpftrace
// replaying a real capture of the io_uring pack with four leaked sends (so no kernel is
// needed), then by `zctrace demo --fault leak` with real bpftrace when this machine can.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, zctrace } from '../helpers/cli.js';
import { fakeEnv, replayLines } from '../helpers/fake-bpftrace.js';
import { TmuxSession, tmuxAvailable } from './tmux.js';

const CAPTURE = join(ROOT, 'test', 'fixtures', 'iouring-sendzc', 'leak.txt');
// The capture's workload held these four sends past the threshold (leak.json: faulted 9-12).
const LEAKED = [9, 10, 11, 12].map((n) => `ring:0xffff8881043d2000#${n} #1`);
const tmux = tmuxAvailable();
const root = process.getuid?.() === 0;
const why = !tmux.ok ? tmux.reason : !root ? 'pack selection needs root' : '';
let session: TmuxSession | undefined;
afterEach(() => session?.kill());

/** The fake bpftrace's settings, for the command line in tmux. */
function fake(): Record<string, string> {
  const env = fakeEnv('replay', replayLines(CAPTURE));
  return Object.fromEntries(['ZCTRACE_BPFTRACE', 'FAKE_BPFTRACE_MODE', 'FAKE_BPFTRACE_LINES', 'FAKE_BPFTRACE_TAIL'].map((k) => [k, String(env[k])]));
}

describe.skipIf(why !== '')(`live dashboard with a fake bpftrace${why ? ` (skipped: ${why})` : ''}`, () => {
  it('shows the leaks as they are found, on their holders; q stops, restores the terminal, prints the report', async () => {
    session = new TmuxSession().start('node bin/zctrace.js live --pack iouring-sendzc --mode stream --leak-after 1s', 120, 40, fake());
    let screen = await session.waitFor(/LEAK\s+ring:0xffff8881043d2000#12 #1/, 90_000);
    expect(screen).toMatch(/zctrace live \S tracing \S up [0-9.]+ m?s/);
    expect(screen).toContain('pack iouring-sendzc, streaming');
    for (const h of LEAKED) expect(screen).toMatch(new RegExp(`LEAK\\s+${h.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not`));
    expect(screen).toMatch(/COPY_FALLBACK\s+ring:0xffff8881043d2000#1 #1/);
    // The capture goes on to complete them late: each leak becomes a stall.
    screen = await session.waitFor(/RESOLVED\s+ring:0xffff8881043d2000#12 #1 completed/);
    expect(screen).toMatch(/findings: leak 4 copy_fallback 1/);
    session.keys('q');
    await session.waitFor('[exit 0]', 60_000);
    screen = session.transcript();
    expect(screen).toContain('zctrace live, pack iouring-sendzc, streaming (leak threshold 1 s): quit');
    expect(screen).toContain('LEAK: held longer than the leak threshold (4)');
    expect(screen).toContain('4 leak(s) completed later (stalls, not leaks)');
    expect(session.alternateScreen()).toBe(false);
  });

  it('a run that ends by itself (--duration) stays on screen, saying so, until q', async () => {
    session = new TmuxSession().start('node bin/zctrace.js live --pack iouring-sendzc --mode stream --leak-after 1s --duration 3s --dashboard compact', 80, 24, fake());
    const screen = await session.waitFor('ended: duration reached (q quits)', 90_000);
    expect(screen).toMatch(/LEAK\s+ring:0xffff8881043d2000#\d+ #1/);
    expect(session.alternateScreen()).toBe(true);
    session.keys('q');
    await session.waitFor('[exit 0]', 30_000);
    expect(session.transcript()).toContain('zctrace live, pack iouring-sendzc, streaming (leak threshold 1 s): duration reached');
  });

  it('stdout not a terminal: status lines and the report, with a sentence saying why there is no dashboard', async () => {
    const env = fakeEnv('replay', replayLines(CAPTURE));
    const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--leak-after', '1s', '--duration', '3s'], { env });
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toContain('zctrace: stdout is not a terminal, so no dashboard: status lines, then a report (--headless for NDJSON records)');
    expect(r.stdout).toMatch(/ev\/s \| in flight/);
    expect(r.stdout).toContain('LEAK: held longer than the leak threshold');
  });
});

// ---- the demo, traced live by real bpftrace ------------------------------------------------

function demoUnavailable(): string {
  if (why) return why;
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'bpftrace is not installed';
  }
  return '';
}
const demoWhy = demoUnavailable();

describe.skipIf(demoWhy !== '')(`demo --fault leak under the dashboard${demoWhy ? ` (skipped: ${demoWhy})` : ''}`, () => {
  it('shows the leak on the leaked holders, and the same holders are in the report after q', async () => {
    // 8 sends: every one leaks, and the report keeps the first 10 of a kind, so all are in it.
    session = new TmuxSession().start('node bin/zctrace.js demo --fault leak --count 8', 120, 40);
    const screen = await session.waitFor(/LEAK\s+\S+ #\d+: not/, 120_000);
    const shown = [...screen.matchAll(/LEAK\s+(\S+ #\d+): not/g)].map((m) => m[1]);
    expect(shown.length).toBeGreaterThan(0);
    expect(screen).toMatch(/findings: leak [1-9]/);
    expect(screen).toMatch(/zctrace live/);
    await session.waitFor('(q quits)', 120_000); // the workload finished: the last state stays up
    session.keys('q');
    await session.waitFor('[exit ', 60_000);
    const after = session.transcript();
    expect(after).toContain('LEAK: held longer than the leak threshold');
    for (const h of shown) expect(after).toContain(h);
  });
});
