// The netpriv pack live, inside the kernel lab on the patched kernel (npm run test:lab): one
// guest boot (test/lab/guest/netpriv.sh) checks that `zctrace live --pack netpriv` refuses to
// run while no owner has registered callbacks and that doctor recognises the patch, then runs
// `zctrace live --pack netpriv` once per zcsim fault (none, leak, underflow, early_free) on
// loopback as is, and once more, clean, with lo made NIC-like (MTU 1500, no offloads, netem loss
// and delay) to measure references per page. Each fault must be found on the command zcsim
// faulted, nothing on the clean runs, every callback call must be seen (zcsim counts them
// itself), and the recorded trace must replay to the same findings.
// Skipped, with the reason, when the lab or the lab kernel is not available here.
// ZCTRACE_NETPRIV_FIXTURES=DIR copies each run's capture, trace and /proc/zcsim there
// (test/fixtures/netpriv was made that way).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Finding } from '../../src/engine/types.js';
import { describe as dist, judgeCounts, judgeFindings, lineCounts, pageStats, parseProc, parseProgs, progFor, replayRaw, type ProgStats } from './netpriv-check.js';
import { labUnavailable, root, runInLab, type LabResult } from './lab.js';

const MODES = ['none', 'leak', 'underflow', 'early_free'] as const;
const LEAK_AFTER_NS = 5e9; // netpriv.sh runs zctrace with --leak-after 5s

/** LAB_KERNEL and ZCSIM_KO from the build cache, or why not (never starts a kernel build). */
function labKernel(): { kernel: string; ko: string } | string {
  if (!existsSync(join(root, 'dist', 'probes', 'packs', 'netpriv.js'))) return 'no dist/ with the netpriv pack: run `npm run build` first';
  try {
    const env = execFileSync(join(root, 'lab/kernel/build.sh'), ['--env', '--cached'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    const v = (k: string): string | undefined => new RegExp(`^${k}=(.*)$`, 'm').exec(env)?.[1];
    const kernel = v('LAB_KERNEL');
    const ko = v('ZCSIM_KO');
    return kernel && ko ? { kernel, ko } : 'lab/kernel/build.sh --env printed no LAB_KERNEL/ZCSIM_KO';
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    return `the patched lab kernel is not available: ${(err.stderr ?? err.message).trim().split('\n').at(-1)}`;
  }
}

const unavailable = labUnavailable();
const kernel = unavailable === null ? labKernel() : unavailable;
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

describe.skipIf(skip !== null)(`netpriv pack in the lab (patched 6.1 + zcsim)${skip ? ` — skipped: ${skip}` : ''}`, () => {
  let dir = '';
  let lab: LabResult;
  const runs = new Map<string, Run>();

  beforeAll(async () => {
    const k = kernel as { kernel: string; ko: string };
    dir = mkdtempSync(join(tmpdir(), 'zctrace-netpriv-lab-'));
    // One vCPU: under TCG with two, lines of one vCPU's perf ring silently stop arriving
    // (seen here: 66 of 729 get lines missing, no "Lost" message; test/lab/lab.ts says the same).
    lab = await runInLab(['--kernel', k.kernel, '--smp', '1', '--timeout', '1700', '--rw', dir],
      [join(root, 'test/lab/guest/netpriv.sh'), dir, k.ko, ...MODES, 'netem'], 1_800_000);
    for (const m of [...MODES, 'netem']) if (existsSync(join(dir, `${m}.proc`))) runs.set(m, readRun(dir, m));
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
    expect([...runs.keys()]).toEqual([...MODES, 'netem']);
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

  for (const mode of [...MODES, 'netem'] as const) {
    it(`${mode}: ${mode === 'none' || mode === 'netem' ? 'nothing found' : 'the fault found on the faulted command, and nothing else'}; every callback seen`, () => {
      const r = runs.get(mode)!;
      expect(r.proc.fault).toBe(mode === 'netem' ? 'none' : mode);
      // every program run reached zctrace; on loopback as is every callback ran its program;
      // on the lossy path a few gets from softirq can find the CPU busy in another BPF program
      // and are skipped by the kernel (2% seen): the owner's count covers for them
      expect(judgeCounts(r.proc, lineCounts(r.raw), r.progs, mode === 'netem' ? 0.05 : 0)).toEqual([]);
      expect(judgeFindings(r.proc, r.findings)).toEqual([]);
      // the decoder replayed from the raw lines agrees with what zctrace live reported
      const replay = replayRaw(r.raw, LEAK_AFTER_NS);
      expect(replay.bad).toEqual([]);
      expect(replay.findings.map((f) => `${f.kind} ${f.obj}`).sort()).toEqual(r.findings.map((f) => `${f.kind} ${f.obj}`).sort());
      expect(r.summary?.eventsByKind.done).toBe(r.proc.done);
    });
  }

  it('the recorded traces replay to the same findings', () => {
    for (const mode of [...MODES, 'netem']) {
      const out = execFileSync(process.execPath, [join(root, 'bin/zctrace.js'), 'replay', '--json', '--leak-after', '5s', join(dir, `${mode}.trace`)], { encoding: 'utf8' });
      const found = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Finding).filter((r) => (r as { type: string }).type === 'finding');
      expect(found.map((f) => `${f.kind} ${f.obj}`).sort(), mode).toEqual(runs.get(mode)!.findings.map((f) => `${f.kind} ${f.obj}`).sort());
    }
  });

  it('overhead: BPF run time per call of each program (TCG: emulated, far slower than native)', () => {
    const lines: string[] = [];
    for (const mode of [...MODES, 'netem']) {
      const r = runs.get(mode)!;
      const per = (fn: string): string => {
        const p = progFor(r.progs, fn);
        return p && p.runs > 0 ? `${(p.runTimeNs / p.runs / 1000).toFixed(1)} us x ${p.runs}` : 'n/a';
      };
      lines.push(`${mode}: get ${per('zcsim_get_page_callback')}, put ${per('zcsim_put_page_callback')}, free ${per('zcsim_cmnd_done')}`);
      expect(progFor(r.progs, 'zcsim_get_page_callback')?.runs).toBeGreaterThan(0);
    }
    process.stdout.write(`netpriv BPF run time per call:\n  ${lines.join('\n  ')}\n`);
  });

  it('references per page: reported, loopback vs NIC-like lo', () => {
    const lines: string[] = [];
    for (const mode of ['none', 'netem']) {
      const r = runs.get(mode)!;
      const rpp = r.summary?.refsPerPage as { count: number; p50: number; mean: number; max: number };
      const ps = pageStats(r.raw);
      lines.push(`${mode}: refsPerPage count ${rpp.count} p50 ${rpp.p50} mean ${rpp.mean.toFixed(2)} max ${rpp.max}; gets per page ${dist(ps.gets)}; peak page refcount ${dist(ps.peak)}`);
      expect(rpp.count).toBeGreaterThan(0);
    }
    process.stdout.write(`netpriv references per page (the seed estimated about 20):\n  ${lines.join('\n  ')}\n`);
    // retransmissions, splits and clones on a lossy, segmenting path take more references per page
    expect(runs.get('netem')!.summary?.refsPerPage.mean).toBeGreaterThan(runs.get('none')!.summary?.refsPerPage.mean);
  });
});
