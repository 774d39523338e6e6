// The kernel-target pack on the host: the decoder on a capture of nvmet-tcp in the lab
// (test/fixtures/kernel-target/README.md says how it was made) and on hand-written lines for the
// cases a clean run never shows (marked as such), and the descriptor's registration.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findPack } from '../../../src/probes/registry.js';
import { kernelTarget, targetsCheck } from '../../../src/probes/packs/kernel-target.js';
import { percentiles, rawStats, replayRaw } from '../../lab/storage-check.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const capture = readFileSync(join(root, 'test/fixtures/kernel-target/nvmet-loopback.txt'), 'utf8');

describe('kernel-target pack', () => {
  it('is registered, never chosen by --pack auto over the sender packs, and names what it probes', () => {
    expect(findPack('kernel-target')).toBe(kernelTarget);
    expect(kernelTarget.priority).toBeLessThan(40);
    const program = readFileSync(join(root, 'probes', kernelTarget.file), 'utf8');
    for (const r of kernelTarget.requires) if (r.kind === 'function') expect(program).toMatch(new RegExp(`^kprobe:${r.name}\\*?$`, 'm'));
  });

  it('the lab capture: 32 read commands, 16 pages each, every one a lifetime that ends, no finding', () => {
    const s = rawStats(capture);
    expect(s).toMatchObject({ pages: 512, released: 512, ended: 512, freedUnder: 0 });
    const r = replayRaw(capture, 5e9);
    expect(r.bad).toEqual([]);
    expect(r.findings).toEqual([]);
    expect(r.decoder.stats.uses).toBe(32);
    expect(r.events.filter((e) => e.ev === 'done').length).toBe(32);
    expect(r.events.filter((e) => e.ev === 'get').length).toBe(512);
    // on loopback the target releases every read while TCP (the initiator's receive queue)
    // still holds its pages: counted, memory-safe, never a finding
    expect(r.decoder.stats.releasedHeld).toBe(32);
    expect(r.decoder.stats.pagesHeldAtRelease).toBe(512);
    expect(percentiles(s.tcpRefsAtRelease).p50).toBe(1);
    expect(r.decoder.stats.sendsPerPage.get(1)).toBe(512);
  });

  it('doctor: names the storage targets loaded, from /proc/modules', () => {
    // lines as /proc/modules prints them (hand-written)
    const mods = ['nvmet_tcp 32768 1 - Live 0xffffffffc0a60000', 'nvmet 143360 7 nvmet_tcp, Live 0xffffffffc0a20000', 'iscsi_target_mod 364544 0 - Live 0x0'].join('\n');
    expect(targetsCheck(mods)).toEqual({ ok: true, detail: 'NVMe/TCP target (nvmet_tcp): followed by kernel-target; LIO iSCSI target (iscsi_target_mod): followed by kernel-target' });
    expect(targetsCheck('nvmet 143360 0 - Live 0x0\n')).toMatchObject({ ok: false, detail: 'none loaded (nvmet_tcp, iscsi_target_mod)' });
  });

  // hand-written lines (not from a run): the cases a clean run never shows
  const T = 1_000_000_000;
  const lines = (...l: string[]): string => ['ready\t1000', ...l].join('\n');
  it('a command whose pages TCP let go before the release: done, then its free, no finding', () => {
    const r = replayRaw(lines(`send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1`, `prel\t${T + 10}\tobj=0xa\tpage=0xp1\tref=1`), 5e9);
    expect(r.findings).toEqual([]);
    expect(r.events.map((e) => e.ev)).toEqual(['submit', 'get', 'put', 'done', 'free']);
  });

  it('a page TCP never lets go: a leak past the threshold, uncertain (a target may hold its own command)', () => {
    const r = replayRaw(lines(`send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1`, `prel\t${T + 10}\tobj=0xa\tpage=0xp1\tref=2`), 5e9);
    expect(r.findings.map((f) => [f.kind, f.obj, f.uncertain ?? false])).toEqual([['leak', '0xa#1', true]]);
    expect(r.findings[0].detail).toContain('uncertain: the target may hold its command itself');
  });

  it('a page freed while the target still had it: an underflow on that command', () => {
    const r = replayRaw(lines(`send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1`, `pfree\t${T + 10}\tobj=0xa\tpage=0xp1\trel=0`), 5e9);
    expect(r.findings.map((f) => [f.kind, f.obj])).toEqual([['underflow', '0xa#1']]);
    expect(r.decoder.stats.freedUnderTarget).toBe(1);
  });

  it('a command reused while TCP still holds the pages of its previous use: two lifetimes', () => {
    const r = replayRaw(lines(
      `send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1`,
      `prel\t${T + 10}\tobj=0xa\tpage=0xp1\tref=2`,
      `send\t${T + 20}\tobj=0xa\tpage=0xp2\tbytes=4096\tref=1`,
      `pfree\t${T + 30}\tobj=0xa\tpage=0xp1\trel=1`,
      `prel\t${T + 40}\tobj=0xa\tpage=0xp2\tref=1`,
    ), 5e9);
    expect(r.findings).toEqual([]);
    expect(r.events.filter((e) => e.ev === 'done').map((e) => e.obj)).toEqual(['0xa#1', '0xa#2']);
  });

  it('each use carries its connection (the send lines\' sock), once, on its first submit', () => {
    const a = 'sock=127.0.0.1:4420>127.0.0.1:40000';
    const b = 'sock=[::1]:3260>[::1]:50000';
    const r = replayRaw(lines(
      `send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1\t${a}`,
      `send\t${T + 5}\tobj=0xa\tpage=0xp2\tbytes=4096\tref=1\t${a}`,
      `send\t${T + 10}\tobj=0xb\tpage=0xp3\tbytes=8192\tref=1\t${b}`,
      `prel\t${T + 20}\tobj=0xa\tpage=0xp1\tref=1`,
      `prel\t${T + 21}\tobj=0xa\tpage=0xp2\tref=1`,
      `prel\t${T + 30}\tobj=0xb\tpage=0xp3\tref=1`,
    ), 5e9);
    expect(r.findings).toEqual([]);
    expect(r.events.filter((e) => e.ev === 'submit').map((e) => e.sock)).toEqual([a.slice(5), undefined, b.slice(5)]);
    expect(r.bySock.map((x) => [x.key, x.lifetimes, x.bytes]).sort()).toEqual([[b.slice(5), 1, 8192], [a.slice(5), 1, 8192]].sort());
  });

  it('a page whose last free no line showed, seen in another command: its previous use ends there, no finding', () => {
    // (the kernel skipped the free's program; what the lab saw under netem)
    const r = replayRaw(lines(
      `send\t${T}\tobj=0xa\tpage=0xp1\tbytes=4096\tref=1`,
      `prel\t${T + 10}\tobj=0xa\tpage=0xp1\tref=2`,
      `send\t${T + 2 * T}\tobj=0xb\tpage=0xp1\tbytes=4096\tref=1`,
      `prel\t${T + 2 * T + 10}\tobj=0xb\tpage=0xp1\tref=1`,
    ), 5e9);
    expect(r.findings).toEqual([]);
    expect(r.events.filter((e) => e.ev === 'done').map((e) => [e.obj, e.t + 1000 - T])).toEqual([['0xa#1', 2 * T], ['0xb#1', 2 * T + 10]]);
    expect(r.decoder.stats.freesInferred).toBe(1);
    expect(rawStats(['ready\t1000', `send\t${T}\tobj=0xa\tpage=0xp1`, `prel\t${T + 10}\tobj=0xa\tpage=0xp1\tref=2`, `send\t${T + 20}\tobj=0xb\tpage=0xp1`].join('\n'))).toMatchObject({ pages: 2, ended: 1, inferred: 1 });
  });
});
