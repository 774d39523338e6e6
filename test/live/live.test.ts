// Live tests: real bpftrace on this kernel, real zero-copy traffic on loopback, through the
// whole of `zctrace live`. For each tracepoint pack and each fault: the fault is found on the
// holder the workload says it injected it on, nothing else is reported for `none`, and
// zctrace's submits and completions equal the workload's own accounting. The run is also
// recorded, and the recording replays to the same findings.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';
import { liveAttached, records, ROOT, stopLive, zctrace } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';
import { workloadAs } from '../helpers/workload.js';

interface Case {
  pack: string;
  /** match: sends matched in the kernel (only what needs judging reaches zctrace). */
  mode: 'stream' | 'match';
  workload: string;
  /** The holder the workload names by its id (zero-copy id, or io_uring user_data). */
  holder: (submits: string[], id: number) => string;
  faulted: (acct: Record<string, any>) => number[];
  args: string[];
}

const CASES: Case[] = [
  ...(['stream', 'match'] as const).map((mode) => ({
    pack: 'iouring-sendzc', mode, workload: 'iouring_zc', args: ['--count', '16'],
    holder: (submits: string[], id: number) => `${submits[0].replace(/#\d+$/, '')}#${id}`,
    faulted: (a: Record<string, any>) => a.faulted as number[],
  })),
  ...(['stream', 'match'] as const).map((mode) => ({
    pack: 'msgzc-syscalls', mode, workload: 'msgzc', args: ['--count', '48'],
    holder: (submits: string[], id: number) => `${submits[0].replace(/#\d+$/, '')}#${id}`,
    faulted: (a: Record<string, any>) => a.faulted_ids as number[],
  })),
];
const FAULTS = ['none', 'leak', 'early-free', 'reuse'] as const;
const EXPECTED: Record<(typeof FAULTS)[number], string | undefined> = { none: undefined, leak: 'leak', 'early-free': 'early_free', reuse: 'early_free' };

const dir = mkdtempSync(join(tmpdir(), 'zctrace-livetest-'));

/** Runs zctrace live (recording), then the workload once it is attached; stops zctrace after. */
async function traced(c: Case, fault: string, extra: string[] = []) {
  const trace = join(dir, `${c.pack}-${c.mode}-${fault}-${extra.join('')}.trace`);
  // The workload under a name of its own (its comm), so that whatever else runs the bundled
  // workloads on this machine (another test run) is not traced with it and counted.
  const comm = `lt${process.pid % 100000}${c.workload === 'msgzc' ? 'm' : 'u'}`;
  const bin = workloadAs(c.workload, comm);
  const { z } = await liveAttached(['--pack', c.pack, '--mode', c.mode, '--comm', comm, '--leak-after', '1s',
    '--interval', '300ms', '--record', trace, '--force', '--attach-timeout', '60s']);
  // leak: the workload keeps its socket open that long after sending (matching mode: long
  // enough for the scan, 32 sends per socket and second, to report all 64 before the close)
  const hold = fault === 'leak' ? ['--duration', c.mode === 'match' ? '5' : '3'] : [];
  const w = await execa(bin, ['--fault', fault, ...c.args, ...hold, ...extra], { reject: false, timeout: 120_000 });
  const acct = JSON.parse(String(w.stdout).trim().split('\n').at(-1)!);
  const recs = await stopLive(z, 1500);
  // Count from the recording, for the workload's own process only (a concurrent run of the same
  // binary elsewhere on the machine must not change the verdict).
  const lines = readFileSync(trace, 'utf8').trim().split('\n').slice(1).map((l) => JSON.parse(l));
  const mine = new Set(lines.filter((e) => e.ev === 'submit' && e.pid === acct.pid).map((e) => e.obj as string));
  return { acct, recs, lines, mine, trace };
}

const skip = liveSkipReason();

describe.skipIf(skip !== null)(`live tracing on this kernel${skip ? ` (skipped: ${skip})` : ''}`, () => {
  beforeAll(() => {
    execFileSync('make', ['-s', '-C', join(ROOT, 'workloads')]);
  });

  for (const c of CASES) {
    for (const fault of FAULTS) {
      it(`${c.pack} (${c.mode}), fault ${fault}: found on the faulted holder, counts equal the workload's`, async () => {
        const { acct, recs, lines, mine, trace } = await traced(c, fault);
        const submits = [...mine];
        const summary = recs.at(-1)!;
        expect(summary.type).toBe('summary');
        if (c.mode === 'stream') {
          expect(recs.find((r) => r.type === 'start')?.mode).toBe('streaming');
          expect(summary.lifetimes).toBe(acct.sends);
          expect(submits.length).toBe(acct.sends);
          const done = lines.filter((e) => e.ev === 'done' && mine.has(e.obj));
          // With --fault leak the io_uring notifications held back arrive when the workload exits,
          // after it counted: zctrace sees every send's; msgzc never reads its error queue, so
          // msgzc-syscalls (which reads completions there) sees none, as the workload counted.
          if (fault === 'leak' && c.pack === 'iouring-sendzc') expect(done.length).toBe(acct.sends);
          else expect(done.length).toBe(acct.completions);
          // every completion the workload saw copied (loopback) zctrace saw copied, and the ones
          // released at exit may say so too
          expect(done.filter((e) => e.copied).length).toBeGreaterThanOrEqual(acct.copied);
        } else {
          // matching: the kernel counted the clean sends; only the faulted ones (and the first
          // copied one) came as events. Every send is one lifetime all the same.
          expect(summary.lifetimes).toBe(acct.sends);
          expect(summary.lost).toBe(0);
          if (fault !== 'leak') expect(summary.open).toBe(0);
          if (fault !== 'leak') expect(submits.length).toBeLessThan(acct.sends);
          expect(recs.find((r) => r.type === 'start')?.mode).toBe('matching');
          // what the kernel counted is in the recording, for replay (no clean send with leak)
          if (fault !== 'leak') expect(lines.some((e) => e.ev === 'count' && e.counter === 'done')).toBe(true);
        }

        const kind = EXPECTED[fault];
        const findings = recs.filter((x) => x.type === 'finding' && mine.has(x.obj) && !['copy_fallback', 'enobufs'].includes(x.kind));
        const want = kind ? c.faulted(acct).map((id) => [kind, c.holder(submits, id)]) : [];
        expect(findings.map((f) => [f.kind, f.obj]).sort()).toEqual(want.sort());
        for (const f of findings) expect(f.uncertain).toBeUndefined();
        // matching mode: the program's scan reports a leak within a second or two of the threshold
        // (1 s), not when the workload lets go of its socket 5 s after sending
        if (fault === 'leak' && c.mode === 'match') for (const f of findings) expect(f.age, f.obj).toBeLessThan(4.5e9);
        if (fault === 'reuse') for (const f of findings) expect(f.detail).toMatch(/^bytes rewritten in place while in flight \(changed between (\+|the send)/);
        if (fault === 'early-free') for (const f of findings) expect(f.detail).toMatch(/\((unmap|madvise)\)/);

        // The recording replays to the same findings.
        const back = await zctrace(['replay', '--json', '--leak-after', '1s', trace]);
        expect(back.exitCode).toBe(0);
        const replayed = records(back.stdout).filter((x) => x.type === 'finding' && mine.has(x.obj) && !['copy_fallback', 'enobufs'].includes(x.kind));
        expect(replayed.map((f) => [f.kind, f.obj]).sort()).toEqual(want.sort());
      });
    }
  }

  it('msgzc-syscalls over IPv6: completions arrive as IPV6_RECVERR and are all counted', async () => {
    const { acct, lines, mine } = await traced(CASES.find((c) => c.pack === 'msgzc-syscalls' && c.mode === 'stream')!, 'none', ['--ipv6']);
    expect(String(acct.sock)).toContain('[::1]');
    expect(lines.filter((e) => e.ev === 'done' && mine.has(e.obj)).length).toBe(acct.completions);
  });
});
