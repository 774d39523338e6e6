// A real storage target in the lab (npm run test:lab, issue 15): one guest boot on Debian's stock
// 6.1 runs test/lab/guest/storage.sh: the kernel's NVMe/TCP target (nvmet-tcp, a brd RAM
// namespace) and initiator (nvme-tcp) on loopback, traced by `zctrace live --pack kernel-target`
// while fio writes 16 MiB and reads it back with crc32c verification (the reads make the target
// hand its pages to TCP). Every read fio issued must be one lifetime that ends, every page handed
// to TCP must be seen released by the target and let go by TCP, no certain finding, fio's
// verification must pass; references per page are reported. The raw lines replayed through the
// decoder must agree with what zctrace live reported.
// Skipped, with the reason, when the lab, nvme-cli or fio is not available (a failure where
// ZCTRACE_LAB_REQUIRED=1, as in CI). ZCTRACE_STORAGE_REUSE=DIR judges an earlier run's outputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { labUnavailable, LAB_OPTS, root, runInLab, type LabResult } from './lab.js';
import { percentiles, rawStats, replayRaw } from './storage-check.js';
import { labDescribe } from './suite.js';

function why(): string | null {
  const lab = labUnavailable();
  if (lab !== null) return lab;
  if (!existsSync(join(root, 'dist', 'probes', 'packs', 'kernel-target.js'))) return 'no dist/ with the kernel-target pack: run `npm run build` first';
  for (const tool of ['nvme', 'fio']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `no ${tool} on this host (the guest runs the host's; scripts/setup.sh installs it)`;
    }
  }
  return null;
}

const skip = process.env.ZCTRACE_STORAGE_REUSE ? null : why();

labDescribe('a real storage target: nvmet-tcp traced by the kernel-target pack (Debian 6.1)', skip, () => {
  let dir = '';
  let lab: LabResult;
  let records: Record<string, any>[] = [];
  let raw = '';
  let readIos = 0;

  beforeAll(async () => {
    const reuse = process.env.ZCTRACE_STORAGE_REUSE;
    if (reuse) {
      dir = reuse;
      lab = { code: 0, stdout: '', stderr: '', seconds: 0 };
    } else {
      dir = mkdtempSync(join(tmpdir(), 'zctrace-storage-lab-'));
      lab = await runInLab([...LAB_OPTS, '--timeout', '900', '--rw', dir], [join(root, 'test/lab/guest/storage.sh'), dir], 1_000_000);
    }
    records = readFileSync(join(dir, 'nvmet.ndjson'), 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
    raw = readFileSync(join(dir, 'nvmet.raw'), 'utf8');
    readIos = JSON.parse(readFileSync(join(dir, 'fio-read.json'), 'utf8')).jobs[0].read.total_ios as number;
    process.stdout.write(`storage lab: guest ran ${lab.seconds.toFixed(0)} s (exit ${lab.code}); outputs in ${dir}\n${readFileSync(join(dir, 'log'), 'utf8')}`);
  });

  it('the guest ran every step, and fio\'s verification of what it read passed', () => {
    expect(lab.code, lab.stderr.slice(-2000)).toBe(0);
    expect(readFileSync(join(dir, 'fio.status'), 'utf8').trim()).toBe('0');
    const read = JSON.parse(readFileSync(join(dir, 'fio-read.json'), 'utf8')).jobs[0];
    expect(read.error).toBe(0);
    expect(read.read.io_bytes).toBe(16 << 20);
    expect(readIos).toBe(256); // 16 MiB in 64 KiB reads
  });

  it('doctor: the kernel-target pack is usable and the target is named while nvmet_tcp is loaded', () => {
    const doctor = readFileSync(join(dir, 'doctor.txt'), 'utf8');
    expect(doctor).toMatch(/usable +kernel-target/);
    expect(doctor).toMatch(/ok {2}storage targets +NVMe\/TCP target \(nvmet_tcp\): followed by kernel-target/);
  });

  it('every read fio issued is one lifetime, and every one ended', () => {
    const summary = records.find((r) => r.type === 'summary');
    expect(summary, readFileSync(join(dir, 'nvmet.err'), 'utf8').slice(-2000)).toBeDefined();
    expect(summary!.source).toBe('pack kernel-target');
    expect(summary!.lost).toBe(0);
    expect(summary!.lifetimes).toBe(readIos);
    expect(summary!.completed).toBe(readIos);
    expect(summary!.open).toBe(0);
    expect(summary!.bySock[0].bytes).toBe(16 << 20);
  });

  it('no certain finding (and none at all on this clean run)', () => {
    const findings = records.filter((r) => r.type === 'finding');
    expect(findings.filter((f) => f.uncertain !== true)).toEqual([]);
    expect(findings).toEqual([]);
  });

  it('every page handed to TCP is seen released by the target and let go by TCP; references per page reported', () => {
    const s = rawStats(raw);
    expect(s.pages).toBe(readIos * 16);
    expect(s.released).toBe(s.pages);
    expect(s.ended).toBe(s.pages);
    expect(s.freedUnder).toBe(0);
    const p = percentiles(s.tcpRefsAtRelease);
    process.stdout.write(`storage lab: ${s.sends} sends, ${s.pages} pages; TCP's references per page when nvmet-tcp released it: p50 ${p.p50}, p99 ${p.p99}, max ${p.max}\n`);
    expect(s.tcpRefsAtRelease.length).toBe(s.pages); // one reading per page, at its release
  });

  it('the raw lines replayed through the decoder give the same lifetimes and no finding', () => {
    const r = replayRaw(raw, 5e9);
    expect(r.bad).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.decoder.stats.uses).toBe(readIos);
    expect(r.decoder.stats.freedUnderTarget).toBe(0);
    process.stdout.write(`storage lab: ${r.decoder.stats.releasedHeld} of ${r.decoder.stats.uses} commands released while TCP still held pages (${r.decoder.stats.pagesHeldAtRelease} pages; memory-safe: no finding)\n`);
  });
});
