// doctor: the verdicts and the report people read, on made-up hosts; and `zctrace doctor` end to
// end with the fake bpftrace refusing trial loads, so its failure output is what is checked.
import { describe, expect, it } from 'vitest';
import { bestPack, diagnose, renderDoctor } from '../../src/probes/doctor.js';
import { zctrace } from '../helpers/cli.js';
import { fakeEnv } from '../helpers/fake-bpftrace.js';
import { fakePack, goodHost } from '../helpers/host.js';

const TP = { kind: 'tracepoint', name: 'net:zc' } as const;
const PACKS = [fakePack('low', [TP], 1), fakePack('high', [{ kind: 'kprobes' }], 5)];

describe('diagnose and renderDoctor', () => {
  it('everything usable: --pack auto takes the highest priority', async () => {
    const r = await diagnose(goodHost(), PACKS);
    expect(r.packs.map((p) => [p.pack, p.usable])).toEqual([['low', true], ['high', true]]);
    expect(bestPack(r)).toBe('high');
    expect(r.tracepoints).toEqual([{ name: 'net:zc', present: true }]);
    expect(renderDoctor(r)).toContain('--pack auto would use high');
  });

  it('a failed check: NO with its fix, the pack unusable with the reason, auto falls back', async () => {
    const r = await diagnose(goodHost({ kprobes: { ok: false, detail: 'kprobes are refused', fix: 'use a tracepoint pack' } }), PACKS);
    expect(bestPack(r)).toBe('low');
    const text = renderDoctor(r);
    expect(text).toMatch(/ {2}NO {2}kprobes {14}kprobes are refused\n {6} {20} fix: use a tracepoint pack\n/);
    expect(text).toContain('  unusable high             high for tests\n           - kprobes: kprobes are refused\n             fix: use a tracepoint pack\n');
    expect(text).toContain('--pack auto would use low');
  });

  it('nothing usable: says so, and lists the missing tracepoints', async () => {
    const r = await diagnose(goodHost({ root: false, hasTracepoint: () => false }), PACKS);
    expect(bestPack(r)).toBeUndefined();
    const text = renderDoctor(r);
    expect(text).toContain('  NO  root                 not root\n                           fix: run as root\n');
    expect(text).toContain('tracepoints the packs use: 0 of 1 present (missing: net:zc)');
    expect(text).toContain('no pack can run here: fix one of the reasons above');
  });
});

const root = process.getuid?.() === 0;

describe('zctrace doctor with trial loads refused (fake bpftrace)', () => {
  it('kprobe and kfunc refused: NO with bpftrace\'s reason and the fix; the kprobe packs unusable; exit 0', async () => {
    const r = await zctrace(['doctor'], { env: { ...fakeEnv('replay'), FAKE_BPFTRACE_REFUSE: 'kprobe,kfunc' } });
    if (!root) {
      // without root nothing is tried, and that is what it says
      expect(r.stdout).toContain('not tried: needs root');
      return;
    }
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/ {2}ok {2}tracepoint programs {2}tracepoint program loaded and attached\n/);
    expect(r.stdout).toMatch(/ {2}NO {2}kprobes {14}kprobes are not available here[^\n]*\n {27}fix: use a tracepoint pack/);
    expect(r.stdout).toMatch(/ {2}NO {2}kfunc \(fentry\) {7}this kernel cannot load kfunc \(fentry\/fexit\) programs\n/);
    expect(r.stdout).toMatch(/unusable msgzc-kernel[^\n]*\n {11}- kprobes: kprobes are not available here/);
    expect(r.stdout).toMatch(/--pack auto would use (msgzc-syscalls|iouring-sendzc)$/);
  });

  it('every trial refused: no pack can run, exit 1', async () => {
    const r = await zctrace(['doctor'], { env: { ...fakeEnv('replay'), FAKE_BPFTRACE_REFUSE: 'tracepoint,kprobe,kfunc' } });
    expect(r.exitCode).toBe(1);
    if (!root) return expect(r.stdout).toContain('not running as root');
    expect(r.stdout).toContain("NO  tracepoint programs  bpftrace: Error attaching probe: 'tracepoint:syscalls:sys_enter_getppid'");
    expect(r.stdout).toMatch(/unusable msgzc-syscalls[^\n]*\n {11}- tracepoint programs: bpftrace: Error attaching probe/);
    expect(r.stdout).toContain('no pack can run here: fix one of the reasons above');
  });
});
