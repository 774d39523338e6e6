// The iouring-sendzc pack: decoder units, and real captures checked against the workload's
// own accounting (test/fixtures/iouring-sendzc/README.md says how they were made).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { errnoName, iouringSendzc } from '../../../src/probes/packs/iouring-sendzc.js';
import {
  type Accounting, checkCapture, checkMatch, decodeAll, liveUnavailable, root, traceRun,
} from '../../helpers/iouring-capture.js';
import { headerExampleLines, probeLine } from '../../helpers/pack-lines.js';

const fixtures = join(root, 'test/fixtures/iouring-sendzc');
const R = 'ring:0xffff888100c62800';

/** A line as the generic parser would hand it over (t already rebased). */
const line = probeLine;

const sub = (t: number, ud: number, addr: string, extra: Record<string, string | number> = {}) =>
  line('submit', t, {
    obj: `${R}#${ud}`, bytes: 65536, pid: 42, sock: '127.0.0.1:1>127.0.0.1:2', addr, len: 65536,
    op: 'SEND_ZC', ...extra, comm: 'tgt',
  });

describe('iouring-sendzc decoder', () => {
  it('maps submit and done, dropping an unknown socket', () => {
    const { events } = decodeAll([
      sub(1, 1, '0x7f0000010000'),
      sub(2, 2, '0x7f0000020000', { sock: '-' }),
      line('done', 3, { obj: `${R}#1`, copied: 1 }),
      line('done', 4, { obj: `${R}#2` }),
    ]);
    expect(events).toEqual([
      { t: 1, ev: 'submit', obj: `${R}#1`, bytes: 65536, pid: 42, sock: '127.0.0.1:1>127.0.0.1:2', comm: 'tgt' },
      { t: 2, ev: 'submit', obj: `${R}#2`, bytes: 65536, pid: 42, comm: 'tgt' },
      { t: 3, ev: 'done', obj: `${R}#1`, copied: true },
      { t: 4, ev: 'done', obj: `${R}#2` },
    ]);
  });

  it('frees an in-flight holder whose buffer is unmapped (page-rounded), once', () => {
    const { events } = decodeAll([
      sub(1, 1, '0x7f0000010100'),
      sub(2, 2, '0x7f0000030000'),
      line('unmap', 3, { pid: 42, addr: '0x7f0000020000', len: 100, reason: 'unmap', comm: 'tgt' }), // 1's last page
      line('unmap', 4, { pid: 42, addr: '0x7f0000020000', len: 4096, reason: 'unmap', comm: 'tgt' }),
      line('unmap', 5, { pid: 43, addr: '0x7f0000030000', len: 4096, reason: 'unmap', comm: 'x' }), // other pid
      line('unmap', 6, { pid: 42, addr: '0x7f0000040000', len: 4096, reason: 'unmap', comm: 'tgt' }), // past 2's end
      line('unmap', 7, { pid: 42, addr: '0x7f0000030000', len: 8192, reason: 'madvise', comm: 'tgt' }),
    ]);
    expect(events.filter((e) => e.ev === 'free')).toEqual([
      { t: 3, ev: 'free', obj: `${R}#1`, reason: 'unmap', pid: 42 },
      { t: 7, ev: 'free', obj: `${R}#2`, reason: 'madvise', pid: 42 },
    ]);
  });

  it('does not free a holder after its notification', () => {
    const { events } = decodeAll([
      sub(1, 1, '0x7f0000010000'),
      line('done', 2, { obj: `${R}#1`, copied: 0 }),
      line('unmap', 3, { pid: 42, addr: '0x7f0000010000', len: 65536, reason: 'unmap', comm: 'tgt' }),
    ]);
    expect(events.map((e) => e.ev)).toEqual(['submit', 'done']);
  });

  it('counts a resend of unchanged bytes; changed bytes or a read into the buffer free it', () => {
    const { events } = decodeAll([
      sub(1, 7, '0x7f0000010000', { fp: '0xaa', fz: 0 }),
      sub(2, 8, '0x7f0000010000', { fp: '0xaa', fz: 0, sock: '127.0.0.1:1>127.0.0.1:3' }), // same bytes, another socket
      sub(3, 9, '0x7f0000030000', { fp: '0xbb', fz: 0 }),
      sub(4, 10, '0x7f0000010000', { fp: '0xcc', fz: 0 }), // changed under 7 and 8
      line('rewrite', 5, { obj: `${R}#9`, fp: '0xbb', now: '0x11', fz: 0, at: 'done', pid: 42, comm: 'tgt' }),
      line('write', 6, { dt: 2, pid: 42, addr: '0x7f0000010000', len: 4096, call: 'io_uring_READ' }),
    ]);
    expect(events.map((e) => [e.ev, e.obj, e.reason])).toEqual([
      ['submit', `${R}#7`, undefined],
      ['submit', `${R}#8`, undefined],
      ['submit', `${R}#9`, undefined],
      ['free', `${R}#7`, 'rewrite'],
      ['free', `${R}#8`, 'rewrite'],
      ['submit', `${R}#10`, undefined],
      ['free', `${R}#9`, 'rewrite'],
      ['free', `${R}#10`, 'io_uring_READ'],
    ]);
    expect(events.filter((e) => e.resend).map((e) => e.obj)).toEqual([`${R}#8`]);
  });

  it('turns a failed first CQE into send_error, and no-MORE into done', () => {
    const { events } = decodeAll([
      sub(1, 1, '0x7f0000010000'),
      line('result', 2, { obj: `${R}#1`, res: -32, more: 1 }),
      line('done', 3, { obj: `${R}#1` }),
      line('result', 4, { obj: `${R}#2`, res: -22, more: 0 }),
    ]);
    expect(events.slice(1)).toEqual([
      { t: 2, ev: 'send_error', obj: `${R}#1`, errno: 'EPIPE', pid: 42, sock: '127.0.0.1:1>127.0.0.1:2' },
      { t: 3, ev: 'done', obj: `${R}#1` },
      { t: 4, ev: 'send_error', obj: `${R}#2`, errno: 'EINVAL' },
      { t: 4, ev: 'done', obj: `${R}#2` },
    ]);
    expect(errnoName(105)).toBe('ENOBUFS');
    expect(errnoName(9999)).toBe('ERRNO_9999');
  });

  it('refuses unknown kinds and malformed lines', () => {
    const { events, unknown } = decodeAll([
      line('get', 1, { obj: 'x' }),
      line('ready', 1, {}), // the program's attach signal: for the runner, not an event
      line('submit', 2, { bytes: 1 }),
      line('result', 3, { obj: 'x', res: 'abc', more: 1 }),
      line('unmap', 4, { pid: 1, addr: 'nothex', len: 1 }),
    ]);
    expect(unknown).toBe(5);
    expect(events).toEqual([]);
  });

  it('describes itself', () => {
    expect(iouringSendzc.name).toBe('iouring-sendzc');
    expect(iouringSendzc.file).toBe('iouring-sendzc.bt');
    expect(iouringSendzc.requires).toContainEqual({ kind: 'tracepoint', name: 'io_uring:io_uring_complete' });
    expect(iouringSendzc.blindSpots.length).toBeGreaterThan(3);
  });
});

// ---- real captures -------------------------------------------------------------------------

const captures = readdirSync(fixtures).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4));

describe('iouring-sendzc captures', () => {
  it('has one capture per fault, IPv4 and IPv6', () => {
    for (const f of ['none', 'leak', 'early-free', 'reuse']) {
      expect(captures).toContain(f);
      expect(captures).toContain(`${f}-ipv6`);
    }
    for (const f of ['resend', 'rewrite-quiet', 'read-into', 'read-into-uring']) expect(captures).toContain(f);
  });

  for (const name of captures) {
    it(`${name}: the trace agrees with the workload's accounting`, () => {
      const acct = JSON.parse(readFileSync(join(fixtures, `${name}.json`), 'utf8')) as Accounting;
      checkCapture(readFileSync(join(fixtures, `${name}.txt`), 'utf8'), acct);
    });
  }

  it("the .bt header's Example lines appear verbatim in a capture", () => {
    const bt = readFileSync(join(root, 'probes/iouring-sendzc.bt'), 'utf8');
    const examples = headerExampleLines(bt);
    expect(examples.length).toBeGreaterThanOrEqual(3);
    const all = captures.map((c) => readFileSync(join(fixtures, `${c}.txt`), 'utf8').split('\n'));
    expect(all.some((capLines) => examples.every((ex) => capLines.includes(ex)))).toBe(true);
  });
});

// ---- live: real bpftrace against the real workload (root, bpftrace, gcc, liburing) ----------

const unavailable = liveUnavailable();

describe.skipIf(unavailable !== null)(`iouring-sendzc live${unavailable ? ` (skipped: ${unavailable})` : ''}`, () => {
  let bin = '';
  beforeAll(() => {
    bin = join(mkdtempSync(join(tmpdir(), 'zctrace-iouring-')), 'iouring_zc');
    execFileSync('gcc', ['-O2', '-Wall', '-o', bin, join(root, 'workloads/iouring_zc.c'), '-luring', '-lpthread']);
  });

  const runs: [string, string[]][] = [
    ['early-free', []],
    ['reuse', ['--ipv6']],
    ['leak', ['--duration', '1', '--sendmsg-zc']],
    ['resend', ['--count', '1000']], // full speed, unchanged bytes: no finding
    ['resend', ['--count', '1000', '--ipv6', '--sendmsg-zc']],
    ['rewrite', ['--sendmsg-zc']],
    ['rewrite-quiet', ['--ipv6']],
    ['read-into', []],
    ['read-into', ['--read-call', 'uring-read', '--ipv6']],
    ['read-into', ['--read-call', 'uring-recv', '--sendmsg-zc']],
  ];
  for (const [fault, extra] of runs) {
    it(`${[fault, ...extra].join(' ')}: the trace agrees with the workload`, async () => {
      const { out, json } = await traceRun(bin, ['--fault', fault, '--count', '12', ...extra]);
      checkCapture(out, JSON.parse(json) as Accounting);
    });
    // the same workload, matched in the kernel: the same findings on the same holders
    it(`matching mode, ${[fault, ...extra].join(' ')}: the same findings, every request counted`, async () => {
      const { out, json } = await traceRun(bin, ['--fault', fault, '--count', '12', ...extra], 1000);
      checkMatch(out, JSON.parse(json) as Accounting);
    });
  }
});
