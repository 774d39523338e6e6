// `zctrace live` and `record` end to end with a fake bpftrace replaying a real capture, for the
// failures real bpftrace cannot be made to produce on demand: dying mid-run, a compile error,
// Ctrl-C at a chosen moment, a disk filling up. Real-kernel runs are in test/live/.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { assertRecord, BIN, records, ROOT, zctrace } from '../helpers/cli.js';
import { canMountTmpfs } from '../helpers/capabilities.js';
import { fakeEnv, replayLines } from '../helpers/fake-bpftrace.js';

const CAPTURE = join(ROOT, 'test', 'fixtures', 'iouring-sendzc', 'early-free.txt');
const dir = mkdtempSync(join(tmpdir(), 'zctrace-live-'));
// The sends of the capture's workload (its own accounting): each replay of the capture feeds them in.
const SUBMITS = (JSON.parse(readFileSync(CAPTURE.replace(/\.txt$/, '.json'), 'utf8')) as { sends: number }).sends;
const root = process.getuid?.() === 0;
const why = root ? '' : ' (skipped: pack selection needs root)';

describe.skipIf(!root)(`live with a fake bpftrace${why}`, () => {
  it('--headless: the capture replayed gives schema-valid records and the early free on the faulted request', async () => {
    const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--headless', '--duration', '2s', '--interval', '500ms'], { env: fakeEnv('replay', replayLines(CAPTURE)) });
    expect(r.exitCode).toBe(0);
    const recs = records(r.stdout);
    recs.forEach(assertRecord);
    // first, once attached: what runs, on what, filtered how; and a line on stderr
    expect(recs[0]).toMatchObject({ type: 'start', pack: 'iouring-sendzc', program: 'iouring-sendzc.bt', mode: 'streaming', filters: {} });
    expect(recs.filter((x) => x.type === 'start')).toHaveLength(1);
    expect(r.stderr).toMatch(/zctrace: probes attached \(pack iouring-sendzc, iouring-sendzc.bt, streaming\); tracing/);
    const f = recs.filter((x) => x.type === 'finding');
    // The faulted request, as the capture's workload accounting names it.
    const acct = JSON.parse(readFileSync(CAPTURE.replace(/\.txt$/, '.json'), 'utf8'));
    const ring = /obj=(ring:0x[0-9a-f]+)#/.exec(readFileSync(CAPTURE, 'utf8'))![1];
    expect(f.filter((x) => x.kind === 'early_free').map((x) => x.obj)).toEqual(acct.faulted.map((ud: number) => `${ring}#${ud}`));
    expect(recs.filter((x) => x.type === 'stats').length).toBeGreaterThanOrEqual(2);
    const summary = recs.at(-1)!;
    expect(summary).toMatchObject({ type: 'summary', ended: 'duration reached', source: 'pack iouring-sendzc' });
    expect(summary.eventsByKind.submit).toBe(SUBMITS);
  });

  it('Ctrl-C: bpftrace is stopped and drained, the trace is valid, the summary says interrupted', async () => {
    const trace = join(dir, 'int.trace.gz');
    const child = execa(process.execPath, [BIN, 'live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--headless', '--interval', '200ms', '--record', trace], {
      env: fakeEnv('replay', replayLines(CAPTURE), replayLines(CAPTURE)), reject: false, cwd: ROOT,
    });
    // Signal once it is tracing (its first stats record), as a user pressing Ctrl-C would.
    await new Promise<void>((res) => child.stdout!.on('data', (d: Buffer) => { if (d.includes('"type":"stats"')) res(); }));
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode).toBe(0);
    const summary = records(String(r.stdout)).at(-1)!;
    expect(summary.ended).toBe('interrupted (SIGINT)');
    // The drained tail (the capture again) arrived after the signal and was counted.
    expect(summary.eventsByKind.submit).toBe(2 * SUBMITS);
    const back = await zctrace(['replay', '--json', trace]);
    expect(back.exitCode).toBe(0);
    expect(records(back.stdout).at(-1)!.eventsByKind.submit).toBe(2 * SUBMITS);
    expect(execFileSync('sh', ['-c', 'pgrep -f [f]ake-bpftrace/bpftrace || true']).toString().trim()).toBe('');
  });

  it('bpftrace dying: exit 1, a message that says so, and the summary still written', async () => {
    const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--headless', '--duration', '20s'], { env: fakeEnv('die', replayLines(CAPTURE)) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/bpftrace died while tracing: .*No buffer space available/);
    expect(records(r.stdout).at(-1)).toMatchObject({ type: 'summary', ended: 'bpftrace died' });
  });

  it('a compile error: exit 1 with the program and line', async () => {
    const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', '--headless'], { env: fakeEnv('compile') });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/could not compile .*iouring-sendzc.bt \(line 12\)/);
  });

  it('bad filter values never reach bpftrace', async () => {
    for (const [flag, v, re] of [['--pid', '12;rm', /not a whole number/], ['--comm', 'a b', /not an accepted process name/], ['--port', '70000', /out of range/]]) {
      const r = await zctrace(['live', '--pack', 'iouring-sendzc', '--mode', 'stream', String(flag), String(v)], { env: fakeEnv('compile') });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toMatch(re as RegExp);
    }
  });

  it('--free-fn: a name that is not a symbol never reaches a program; on another pack it is refused', async () => {
    const bad = await zctrace(['live', '--pack', 'netpriv', '--free-fn', 'cmnd_done);system("id'], { env: fakeEnv('compile') });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/--free-fn: .* is not a kernel function name/);
    const other = await zctrace(['record', '--pack', 'iouring-sendzc', '-o', join(dir, 'ff.trace'), '--free-fn', 'cmnd_done'], { env: fakeEnv('compile') });
    expect(other.exitCode).toBe(2);
    expect(other.stderr).toMatch(/--free-fn applies to the netpriv pack only \(this run uses iouring-sendzc\)/);
  });
});

const tmpfs = canMountTmpfs();
const mnt = join(dir, 'small');
afterAll(() => {
  if (tmpfs.ok) {
    try { execFileSync('umount', [mnt]); } catch { /* not mounted */ }
  }
});

describe.skipIf(!root || !tmpfs.ok)(`record onto a full disk${tmpfs.ok ? '' : ` (skipped: ${tmpfs.reason})`}`, () => {
  it('stops with exit 1, says how much the file holds, and the file replays', async () => {
    mkdirSync(mnt, { recursive: true });
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k', 'zctrace-full', mnt]);
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) lines.push(`done\t+${i * 1000}\tobj=ring:0xffff1#${i}\tcopied=1`);
    const big = replayLines(CAPTURE, lines);
    const trace = join(mnt, 'full.trace');
    const r = await zctrace(['record', '--pack', 'iouring-sendzc', '-o', trace, '--duration', '10s'], { env: fakeEnv('replay', big) });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/disk full.*holds the \d+ events before the failure/);
    const back = await zctrace(['replay', '--json', trace]);
    expect(back.exitCode).toBe(0);
    expect(records(back.stdout).at(-1)!.events).toBeGreaterThan(5);
  });
});
