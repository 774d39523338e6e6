// The netpriv pack live, inside the kernel lab on the patched kernel (npm run test:lab): one
// guest boot (test/lab/guest/netpriv.sh) checks that `zctrace live --pack netpriv` refuses to
// run while no owner has registered callbacks and that doctor recognises the patch, then runs
// `zctrace live --pack netpriv` once per zcsim fault (none, leak, underflow, early_free) on
// loopback as is, once more, clean, with lo made NIC-like (MTU 1500, no offloads, netem loss
// and delay), and once per fault again over a real driver: zcsim sends through a virtio-net NIC
// (eth0, netem loss, delay and reordering) to a receiver behind a second NIC in its own network
// namespace (lab/run --nics 2), so pages wait in the driver's transmit ring until the device has
// sent them. Each fault must be found on the command zcsim faulted, nothing on the clean runs,
// every callback call must be seen (zcsim counts them itself), and the recorded trace must
// replay to the same findings. References per page are reported for the clean runs.
// Skipped, with the reason, when the lab or the lab kernel is not available here (a failure where
// ZCTRACE_LAB_REQUIRED=1, as in CI, which builds the kernel first).
// ZCTRACE_NETPRIV_FIXTURES=DIR copies each run's capture, trace and /proc/zcsim there
// (test/fixtures/netpriv was made that way). ZCTRACE_NETPRIV_MODES="none nic-none ..." runs a
// subset of the modes; ZCTRACE_NETPRIV_REUSE=DIR judges an earlier run's outputs, booting nothing.
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/types.js';
import { describe as dist, judgeCounts, judgeFindings, lineCounts, pageStats, parseProc, parseProgs, progFor, replayRaw, type ProgStats } from './netpriv-check.js';
import { labUnavailable, root, runInLab, type LabResult } from './lab.js';
import { labDescribe } from './suite.js';

const MODES = ['none', 'leak', 'underflow', 'early_free'] as const;
/** The same faults over the virtio-net path (netpriv.sh: nic-MODE). */
const NIC_MODES = MODES.map((m) => `nic-${m}` as const);
/** The second owner, lab/kernel/zctarget (iSCSI-SCST-like; zctrace knows it only through --free-fn). */
const TARGET_MODES = ['zctarget-none', 'zctarget-leak', 'zctarget-early_release', 'zctarget-nic-none'] as const;
/** Every mode, in the guest's order; ZCTRACE_NETPRIV_MODES (space-separated) runs a subset. */
const ALL: readonly string[] = process.env.ZCTRACE_NETPRIV_MODES?.split(/\s+/).filter(Boolean) ?? [...MODES, 'netem', ...NIC_MODES, 'nic-notso', ...TARGET_MODES];
/** The owner module of a mode. */
const ownerOf = (mode: string): string => (mode.startsWith('zctarget-') ? 'zctarget' : 'zcsim');
/** The owner's fault in a mode. */
const faultOf = (mode: string): string => (['netem', 'nic-notso'].includes(mode) ? 'none' : mode.replace(/^zctarget-/, '').replace(/^nic-/, ''));
const LEAK_AFTER_NS = 5e9; // netpriv.sh runs zctrace with --leak-after 5s

/** LAB_KERNEL, ZCSIM_KO and ZCTARGET_KO from the build cache, or why not (never starts a kernel build). */
function labKernel(): { kernel: string; ko: string; ko2: string } | string {
  if (!existsSync(join(root, 'dist', 'probes', 'packs', 'netpriv.js'))) return 'no dist/ with the netpriv pack: run `npm run build` first';
  try {
    const env = execFileSync(join(root, 'lab/kernel/build.sh'), ['--env', '--cached'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const v = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(env)?.[1];
    const kernel = v('LAB_KERNEL');
    const ko = v('ZCSIM_KO');
    const ko2 = v('ZCTARGET_KO');
    return kernel && ko && ko2 ? { kernel, ko, ko2 } : 'lab/kernel/build.sh --env printed no LAB_KERNEL/ZCSIM_KO/ZCTARGET_KO';
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return `the patched lab kernel is not available: ${(err.stderr ?? err.message).trim().split('\n').at(-1)}`;
  }
}

const unavailable = labUnavailable();
const kernel = unavailable !== null ? unavailable : process.env.ZCTRACE_NETPRIV_REUSE ? { kernel: '', ko: '', ko2: '' } : labKernel();
const skip = typeof kernel === 'string' ? kernel : null;

interface Run {
  raw: string;
  proc: ReturnType<typeof parseProc>;
  progs: ProgStats[];
  findings: Finding[];
  summary: Record<string, any> | undefined;
}

function readRun(dir: string, mode: string): Run {
  const recs = readFileSync(join(dir, `${mode}.ndjson`), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  return {
    raw: readFileSync(join(dir, `${mode}.raw`), 'utf8'),
    proc: parseProc(readFileSync(join(dir, `${mode}.proc`), 'utf8')),
    progs: parseProgs(readFileSync(join(dir, `${mode}.progs`), 'utf8')),
    findings: recs.filter((r) => r.type === 'finding') as unknown as Finding[],
    summary: recs.find((r) => r.type === 'summary'),
  };
}

labDescribe('netpriv pack in the lab (patched 6.1 + zcsim)', skip, () => {
  let dir = '';
  let lab: LabResult;
  const runs = new Map<string, Run>();

  beforeAll(async () => {
    const k = kernel as { kernel: string; ko: string; ko2: string };
    const reuse = process.env.ZCTRACE_NETPRIV_REUSE;
    if (reuse) {
      // judge the outputs of an earlier guest run again (no guest: e.g. after changing a check)
      dir = reuse;
      lab = { code: 0, stdout: '', stderr: '', seconds: 0 };
    } else {
      dir = mkdtempSync(join(tmpdir(), 'zctrace-netpriv-lab-'));
      // One vCPU: under TCG with two, lines of one vCPU's perf ring silently stop arriving
      // (seen here: 66 of 729 get lines missing, no "Lost" message; test/lab/lab.ts says the same).
      lab = await runInLab(['--kernel', k.kernel, '--smp', '1', '--nics', '2', '--timeout', '1700', '--rw', dir, '--env', `ZCTARGET_KO=${k.ko2}`],
        [join(root, 'test/lab/guest/netpriv.sh'), dir, k.ko, ...ALL], 1_800_000);
    }
    for (const m of ALL) if (existsSync(join(dir, `${m}.proc`))) runs.set(m, readRun(dir, m));
    const keep = process.env.ZCTRACE_NETPRIV_FIXTURES;
    if (keep) {
      mkdirSync(keep, { recursive: true });
      for (const m of runs.keys()) {
        copyFileSync(join(dir, `${m}.raw`), join(keep, `${m}.txt`));
        copyFileSync(join(dir, `${m}.trace`), join(keep, `${m}.trace`));
        copyFileSync(join(dir, `${m}.proc`), join(keep, `${m}.proc`));
        copyFileSync(join(dir, `${m}.progs`), join(keep, `${m}.progs`));
      }
    }
    process.stdout.write(`netpriv lab: guest ran ${lab.seconds.toFixed(0)} s (exit ${lab.code}); outputs in ${dir}\n${readFileSync(join(dir, 'log'), 'utf8')}`);
  });

  it('the guest ran every step', () => {
    expect(lab.code, lab.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(join(dir, 'uname'), 'utf8')).toMatch(/zctrace/);
    expect([...runs.keys()]).toEqual([...ALL]);
  });

  it('refuses to run while no owner has registered callbacks, and says why', () => {
    expect(readFileSync(join(dir, 'nocb.status'), 'utf8').trim()).toBe('1');
    expect(readFileSync(join(dir, 'nocb.err'), 'utf8')).toMatch(/pack netpriv: no zero-copy owner has registered its callbacks/);
  });

  it('doctor recognises the patched kernel and names the module that registered the callbacks', () => {
    const doctor = readFileSync(join(dir, 'doctor.txt'), 'utf8');
    expect(doctor).toMatch(/ok {2}zc completion patch +patched: struct page\.net_priv in BTF/);
    expect(doctor).toMatch(/ok {2}zc callbacks +registered by module zcsim: get=zcsim_get_page_callback put=zcsim_put_page_callback/);
    expect(doctor).toMatch(/usable +netpriv/);
    expect(doctor).toMatch(/holder count: struct zcsim_cmd\.net_ref_cnt at \+\d+/);
  });

  it('doctor names the second owner, zctarget, whose count zctrace does not know (callbacks alone)', () => {
    const doctor = readFileSync(join(dir, 'doctor-zctarget.txt'), 'utf8');
    expect(doctor).toMatch(/ok {2}zc callbacks +registered by module zctarget: get=zctarget_get_page_callback put=zctarget_put_page_callback/);
    expect(doctor).toMatch(/usable +netpriv/);
    expect(doctor).toMatch(/holder count unknown \(owner zctarget is not one zctrace knows/);
  });

  for (const mode of ALL) {
    it(`${mode}: ${faultOf(mode) === 'none' ? 'nothing found' : 'the fault found on the faulted command, and nothing certain else'}; every program run seen`, () => {
      const r = runs.get(mode)!;
      expect(r.proc.fault).toBe(faultOf(mode));
      // every program run reached zctrace; a callback from softirq can find the CPU busy in
      // another BPF program and is skipped by the kernel (kprobes do not nest: 2% seen on the
      // lossy path, 13 of 95 gets once with zctarget on loopback, on the one-vCPU TCG guest):
      // the owner's count covers for them, and without it the findings are uncertain
      expect(judgeCounts(r.proc, lineCounts(r.raw), r.progs, 0.2, ownerOf(mode))).toEqual([]);
      expect(judgeFindings(r.proc, r.findings)).toEqual([]);
      // the decoder replayed from the raw lines agrees with what zctrace live reported. The
      // replay also judges, past its end, lifetimes still open when live stopped: leaks live
      // had no time to judge (seen in CI: a zctarget command over the NIC whose put the kernel
      // skipped); those are left out, and there can be no more of them than live left open
      const replay = replayRaw(r.raw, LEAK_AFTER_NS);
      expect(replay.bad).toEqual([]);
      const live = r.findings.map((f) => `${f.kind} ${f.obj}`).sort();
      const replayed = replay.findings.map((f) => `${f.kind} ${f.obj}`);
      const lateLeaks = replayed.filter((k) => k.startsWith('leak ') && !live.includes(k));
      expect(replayed.filter((k) => !lateLeaks.includes(k)).sort()).toEqual(live);
      expect(lateLeaks.length).toBeLessThanOrEqual(r.summary?.open ?? 0);
      if (ownerOf(mode) === 'zcsim') {
        expect(r.summary?.eventsByKind.done).toBe(r.proc.done);
      } else {
        // zctarget: zctrace counts its references from the callbacks alone (no holder count), and
        // ACKs come back between two pages: a command can show as several lifetimes, each done
        expect(r.summary?.eventsByKind.done ?? 0).toBeGreaterThanOrEqual(r.proc.done - (faultOf(mode) === 'none' ? 0 : 1));
      }
    });
  }

  it('the recorded traces replay to the same findings', () => {
    for (const mode of ALL) {
      const out = execFileSync(process.execPath, [join(root, 'bin/zctrace.js'), 'replay', '--json', '--leak-after', '5s', join(dir, `${mode}.trace`)], { encoding: 'utf8' });
      const found = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Finding).filter((r) => (r as { type: string }).type === 'finding');
      expect(found.map((f) => `${f.kind} ${f.obj}`).sort(), mode).toEqual(runs.get(mode)!.findings.map((f) => `${f.kind} ${f.obj}`).sort());
    }
  });

  it('overhead: BPF run time per call of each program (TCG: emulated, far slower than native)', () => {
    const lines: string[] = [];
    for (const mode of ALL) {
      const r = runs.get(mode)!;
      const per = (fn: string): string => {
        const p = progFor(r.progs, fn);
        return p && p.runs > 0 ? `${(p.runTimeNs / p.runs / 1000).toFixed(1)} us x ${p.runs}` : 'n/a';
      };
      const o = ownerOf(mode);
      lines.push(`${mode}: get ${per(`${o}_get_page_callback`)}, put ${per(`${o}_put_page_callback`)}, free ${per(o === 'zcsim' ? 'zcsim_cmnd_done' : 'zctarget_cmnd_release')}`);
      expect(progFor(r.progs, `${o}_get_page_callback`)?.runs).toBeGreaterThan(0);
    }
    process.stdout.write(`netpriv BPF run time per call:\n  ${lines.join('\n  ')}\n`);
  });

  it('references per page: reported, loopback vs NIC-like lo vs the virtio-net path', () => {
    const lines: string[] = [];
    for (const mode of ['none', 'netem', 'nic-none', 'nic-notso', 'zctarget-none', 'zctarget-nic-none'].filter((m) => runs.has(m))) {
      const r = runs.get(mode)!;
      const rpp = r.summary?.refsPerPage as { count: number; p50: number; p99: number; mean: number; max: number };
      const ps = pageStats(r.raw);
      lines.push(`${mode}: refsPerPage count ${rpp.count} p50 ${rpp.p50} p99 ${rpp.p99} mean ${rpp.mean.toFixed(2)} max ${rpp.max}; gets per page ${dist(ps.gets)}; peak page refcount ${dist(ps.peak)}`);
      expect(rpp.count).toBeGreaterThan(0);
    }
    const offloads = join(dir, 'nic.offloads');
    if (existsSync(offloads)) lines.push(`eth0 offloads: ${readFileSync(offloads, 'utf8').split('\n').filter((l) => /^(scatter-gather|tcp-segmentation-offload|tx-checksumming|generic-segmentation-offload):/.test(l)).join(', ')}`);
    process.stdout.write(`netpriv references per page (the seed estimated about 20):\n  ${lines.join('\n  ')}\n`);
    // retransmissions, splits and clones on a lossy, segmenting path take more references per page
    if (runs.has('netem') && runs.has('none')) expect(runs.get('netem')!.summary?.refsPerPage.mean).toBeGreaterThan(runs.get('none')!.summary?.refsPerPage.mean);
  });
});
