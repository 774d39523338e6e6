// A stop delivers everything traced before it (src/probes/sync.ts): every bundled program carries
// the sync probe; the runner waits for each CPU's sync line before SIGINT; against real
// bpftrace, a reader far behind at the stop still gets every event, where the same stop without
// the wait loses most of them (bpftrace 0.17 drops its buffers at exit, saying nothing).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { generateProgram, REFERENCE_SPEC } from '../../src/probes/packs/netpriv-program.js';
import { BpftraceRunner } from '../../src/probes/runner.js';
import { onlineCpus, parseSync, SYNC_PROBE } from '../../src/probes/sync.js';
import { probePath } from '../../src/util/paths.js';
import { fakeEnv, linesFile } from '../helpers/fake-bpftrace.js';
import { liveSkipReason } from '../helpers/live.js';

const saved = { ...process.env };
afterEach(() => { process.env = { ...saved }; });

describe('sync lines and CPUs', () => {
  it('reads the online CPU list the kernel prints', () => {
    expect(onlineCpus('0-3,6\n')).toEqual([0, 1, 2, 3, 6]);
    expect(onlineCpus('0\n')).toEqual([0]);
    expect(onlineCpus('garbage')).toEqual([]);
    expect(onlineCpus().length).toBeGreaterThan(0);
  });

  it('parses a sync line and nothing else', () => {
    expect(parseSync('sync\t123\ttoken=77\tcpu=1')).toEqual({ token: 77, cpu: 1 });
    expect(parseSync('send\t123\ttoken=77\tcpu=1')).toBeUndefined();
    expect(parseSync('sync\t123\ttoken=x\tcpu=1')).toBeUndefined();
  });

  it('every bundled program, and netpriv\'s generated ones, carries the sync probe', () => {
    const files = readdirSync(probePath('.')).filter((f) => f.endsWith('.bt'));
    expect(files.length).toBeGreaterThanOrEqual(14);
    for (const f of files) expect(readFileSync(probePath(f), 'utf8'), f).toContain(SYNC_PROBE);
    expect(generateProgram({ ...REFERENCE_SPEC, get: 'my_get', put: 'my_put' })).toContain(SYNC_PROBE);
  });
});

describe('the runner waits for the sync lines before SIGINT (fake bpftrace)', () => {
  const run = async (env: NodeJS.ProcessEnv, drainTimeoutMs: number, program = 'probes/x.bt') => {
    Object.assign(process.env, env);
    const got: string[] = [];
    const r = new BpftraceRunner({
      program, params: [], drainTimeoutMs,
      onLine: (l) => { got.push(l); if (l.startsWith('ready')) r.ready(); },
    });
    await r.start();
    const t0 = Date.now();
    const how = await r.stop();
    return { how, got, ms: Date.now() - t0 };
  };

  it('answered from every CPU: drained, and no sync line reaches the parser', async () => {
    const { how, got } = await run(fakeEnv('replay', linesFile(['ready\t+0', 'get\t+10\tobj=0xa'])), 10000);
    expect(how).toEqual({ drained: true, missing: [] });
    expect(got.filter((l) => l.startsWith('sync'))).toEqual([]);
  });

  it('never answered: gives up at the timeout and says which CPUs did not answer', async () => {
    const { how, ms } = await run({ ...fakeEnv('replay', linesFile(['ready\t+0'])), FAKE_BPFTRACE_NOSYNC: '1' }, 1500);
    expect(how.drained).toBe(false);
    expect(how.missing).toEqual(onlineCpus());
    expect(ms).toBeGreaterThanOrEqual(1400);
  });

  it('a program without the sync probe (an older or hand-made one): no wait, drained unknown', async () => {
    const old = join(mkdtempSync(join(tmpdir(), 'zctrace-nosync-')), 'old.bt');
    writeFileSync(old, 'BEGIN { printf("ready\\t%llu\\n", nsecs); }\n');
    const { how, ms } = await run({ ...fakeEnv('replay', linesFile(['ready\t+0'])), FAKE_BPFTRACE_NOSYNC: '1' }, 10000, old);
    expect(how.drained).toBeUndefined();
    expect(ms).toBeLessThan(5000);
  });
});

const skip = liveSkipReason();

describe.skipIf(skip !== null)(`real bpftrace stopped while far behind${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const N = 20000;
  const dir = mkdtempSync(join(tmpdir(), 'zctrace-sync-'));
  const program = join(dir, 'burst.bt');
  // one line per getppid() of the burst below (python3 run through a link named zcsyncburst: the
  // kernel's comm is the name it was run by), and the sync probe
  writeFileSync(program, `BEGIN { printf("ready\\t%llu\\n", nsecs); }
tracepoint:syscalls:sys_enter_getppid /comm == "zcsyncburst"/ { printf("ev\\t%llu\\n", nsecs); }
${SYNC_PROBE}`);
  const burst = join(dir, 'burst.py');
  writeFileSync(burst, `import os\nfor i in range(${N}): os.getppid()\n`);
  symlinkSync("/usr/bin/python3", join(dir, "zcsyncburst")); // not a pyenv shim: the real binary

  /** The burst while the reader spends ~100 µs on each line (2 s behind at the end), then a stop. */
  const traced = async (drainTimeoutMs: number): Promise<{ events: number; drained: boolean | undefined }> => {
    let events = 0;
    const r = new BpftraceRunner({
      program, params: [], drainTimeoutMs, attachTimeoutMs: 60000,
      onLine: (l) => {
        if (l.startsWith('ready')) r.ready();
        if (!l.startsWith('ev\t')) return;
        events++;
        const until = process.hrtime.bigint() + 100_000n;
        while (process.hrtime.bigint() < until) { /* a slow consumer */ }
      },
    });
    await r.start();
    // synchronous: zctrace's loop reads nothing meanwhile, so bpftrace falls behind at once
    execFileSync(join(dir, 'zcsyncburst'), [burst]);
    const how = await r.stop();
    return { events, drained: how.drained };
  };

  it(`delivers all ${N} events traced before the stop, where a stop without the wait loses some`, async () => {
    const withWait = await traced(60000);
    expect(withWait.drained).toBe(true);
    expect(withWait.events).toBe(N);
    const without = await traced(0);
    expect(without.drained).toBe(false);
    expect(without.events).toBeLessThan(N);
  }, 180000);
});
