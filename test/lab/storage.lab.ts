// The kernel's own storage targets in the lab (npm run test:lab, issue 15): one guest boot on
// Debian's stock 6.1 runs test/lab/guest/storage.sh: the NVMe/TCP target (nvmet-tcp) with the
// kernel's nvme-tcp initiator, then the LIO iSCSI target (iscsi_target_mod) with open-iscsi, each
// exporting a brd RAM disk on loopback and traced by `zctrace live --pack kernel-target` while fio
// writes 16 MiB and reads it back with crc32c verification (the reads make the target hand its
// pages to TCP). Per target: every read fio issued must be one lifetime that ends, every page
// handed to TCP must be seen released by the target and let go by TCP, no certain finding, fio's
// verification must pass; references per page are reported; the raw lines replayed through the
// decoder must agree with what zctrace live reported.
// Skipped, with the reason, when the lab, nvme-cli, open-iscsi or fio is not available (a failure
// where ZCTRACE_LAB_REQUIRED=1, as in CI). ZCTRACE_STORAGE_REUSE=DIR judges an earlier run's outputs.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { labUnavailable, LAB_OPTS, root, runInLab, type LabResult } from './lab.js';
import { percentiles, rawStats, replayRaw } from './storage-check.js';
import { labDescribe } from './suite.js';

const TARGETS = [
  { name: 'nvmet', module: 'nvmet_tcp', what: 'NVMe/TCP target' },
  { name: 'iscsi', module: 'iscsi_target_mod', what: 'LIO iSCSI target' },
] as const;
const LEAK_AFTER_NS = 15e9; // storage.sh runs zctrace with --leak-after 15s

function why(): string | null {
  const lab = labUnavailable();
  if (lab !== null) return lab;
  if (!existsSync(join(root, 'dist', 'probes', 'packs', 'kernel-target.js'))) return 'no dist/ with the kernel-target pack: run `npm run build` first';
  for (const tool of ['nvme', 'fio', 'iscsiadm', 'iscsid']) {
    try {
      execFileSync('sh', ['-c', `command -v ${tool} || test -x /usr/sbin/${tool}`], { stdio: 'ignore' });
    } catch {
      return `no ${tool} on this host (the guest runs the host's; scripts/setup.sh installs it)`;
    }
  }
  return null;
}

const skip = process.env.ZCTRACE_STORAGE_REUSE ? null : why();

labDescribe('the kernel\'s storage targets traced by the kernel-target pack (Debian 6.1)', skip, () => {
  let dir = '';
  let lab: LabResult;
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8');
  const records = (t: string): Record<string, any>[] => read(`${t}.ndjson`).split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, any>);
  const readIos = (t: string): number => JSON.parse(read(`${t}-fio-read.json`)).jobs[0].read.total_ios as number;

  beforeAll(async () => {
    const reuse = process.env.ZCTRACE_STORAGE_REUSE;
    if (reuse) {
      dir = reuse;
      lab = { code: 0, stdout: '', stderr: '', seconds: 0 };
    } else {
      dir = mkdtempSync(join(tmpdir(), 'zctrace-storage-lab-'));
      lab = await runInLab([...LAB_OPTS, '--timeout', '1200', '--rw', dir], [join(root, 'test/lab/guest/storage.sh'), dir], 1_300_000);
    }
    process.stdout.write(`storage lab: guest ran ${lab.seconds.toFixed(0)} s (exit ${lab.code}); outputs in ${dir}\n${existsSync(join(dir, 'log')) ? read('log') : ''}`);
  });

  it('the guest ran every step', () => {
    expect(lab.code, lab.stderr.slice(-2000)).toBe(0);
    for (const t of TARGETS) expect(existsSync(join(dir, `${t.name}.ndjson`)), t.name).toBe(true);
  });

  for (const t of TARGETS) {
    it(`${t.name}: fio's verification of what it read passed`, () => {
      expect(read(`${t.name}.fio`).trim()).toBe('0');
      const job = JSON.parse(read(`${t.name}-fio-read.json`)).jobs[0];
      expect(job.error).toBe(0);
      expect(job.read.io_bytes).toBe(16 << 20);
      expect(readIos(t.name)).toBe(256); // 16 MiB in 64 KiB reads
    });

    it(`${t.name}: doctor names the ${t.what} and the pack is usable`, () => {
      const doctor = read(`${t.name}.doctor`);
      expect(doctor).toMatch(/usable +kernel-target/);
      expect(doctor).toContain(`ok  storage targets      ${t.what} (${t.module}): followed by kernel-target`);
    });

    it(`${t.name}: every read fio issued is one lifetime, and every one ended`, () => {
      const summary = records(t.name).find((r) => r.type === 'summary');
      expect(summary, read(`${t.name}.err`).slice(-2000)).toBeDefined();
      expect(summary!.source).toBe('pack kernel-target');
      expect(summary!.lost).toBe(0);
      expect(summary!.lifetimes).toBe(readIos(t.name));
      expect(summary!.completed).toBe(readIos(t.name));
      expect(summary!.open).toBe(0);
      expect(summary!.bySock[0].bytes).toBe(16 << 20);
    });

    it(`${t.name}: no certain finding (and none at all on this clean run)`, () => {
      const findings = records(t.name).filter((r) => r.type === 'finding');
      expect(findings.filter((f) => f.uncertain !== true)).toEqual([]);
      expect(findings).toEqual([]);
    });

    it(`${t.name}: every page handed to TCP is seen released by the target and let go by TCP; references per page reported`, () => {
      const s = rawStats(read(`${t.name}.raw`));
      expect(s.pages).toBe(readIos(t.name) * 16);
      expect(s.released).toBe(s.pages);
      expect(s.ended).toBe(s.pages);
      expect(s.freedUnder).toBe(0);
      expect(s.tcpRefsAtRelease.length).toBe(s.pages); // one reading per page, at its release
      const p = percentiles(s.tcpRefsAtRelease);
      process.stdout.write(`storage lab ${t.name}: ${s.sends} sends, ${s.pages} pages; TCP's references per page when the target released it: p50 ${p.p50}, p99 ${p.p99}, max ${p.max}\n`);
    });

    it(`${t.name}: the raw lines replayed through the decoder give the same lifetimes and no finding`, () => {
      const r = replayRaw(read(`${t.name}.raw`), LEAK_AFTER_NS);
      expect(r.bad).toEqual([]);
      expect(r.findings).toEqual([]);
      expect(r.decoder.stats.uses).toBe(readIos(t.name));
      expect(r.decoder.stats.freedUnderTarget).toBe(0);
      process.stdout.write(`storage lab ${t.name}: ${r.decoder.stats.releasedHeld} of ${r.decoder.stats.uses} commands released while TCP still held pages (${r.decoder.stats.pagesHeldAtRelease} pages; memory-safe: no finding)\n`);
    });
  }
});
