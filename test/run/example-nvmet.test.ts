// The recorded storage-target example (examples/nvmet-tcp.trace.gz, examples/README.md says how
// it was made: the lab's nvmet-tcp run traced by the kernel-target pack): replayed headless it
// gives every read command of fio as a lifetime that ended, no finding, TCP's references per
// page, and the bytes on the target's one connection; under the dashboard the sockets panel
// names that connection.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replayTui } from '../../src/run/tui-replay.js';
import { assertRecord, records, ROOT, zctrace } from '../helpers/cli.js';
import { fakeTerminal, fastLayout, screenWith } from '../sinks/dashboard/fake-terminal.js';

const EXAMPLE = join(ROOT, 'examples', 'nvmet-tcp.trace.gz');
const READS = 256; // fio: 16 MiB in 64 KiB reads

describe('the recorded nvmet-tcp example', () => {
  it('--json: 256 read commands, each a lifetime that ended, no finding, 16 MiB on one connection', async () => {
    const r = await zctrace(['replay', '--json', EXAMPLE]);
    expect(r.exitCode).toBe(0);
    const recs = records(r.stdout);
    recs.forEach(assertRecord);
    expect(recs.filter((x) => x.type === 'finding')).toEqual([]);
    const s = recs.at(-1)!;
    expect(s.type).toBe('summary');
    expect([s.lifetimes, s.completed, s.open]).toEqual([READS, READS, 0]);
    expect(s.bySock.map((b: { key: string; lifetimes: number; bytes: number }) => [b.key.replace(/:\d+$/, ':*'), b.lifetimes, b.bytes])).toEqual([['127.0.0.1:4420>127.0.0.1:*', READS, 16 << 20]]);
    expect(s.refsPerPage.count).toBeGreaterThan(0);
  });

  it('the dashboard: the connection in the sockets panel, every lifetime done, no finding', async () => {
    const term = fakeTerminal(120, 40);
    let opened!: (d: Parameters<NonNullable<Parameters<typeof replayTui>[0]['onOpen']>>[0]) => void;
    const dash = new Promise<Parameters<typeof opened>[0]>((res) => { opened = res; });
    const done = replayTui({
      file: EXAMPLE, leakAfterNs: 10e9, onBadLine: 'error', timeToleranceNs: 1e9, layout: fastLayout('default'),
      speed: 'max', io: term, onOpen: opened,
    });
    const text = await screenWith(await dash, 'end of trace (q quits)', 20_000);
    expect(text).toMatch(/127\.0\.0\.1:4420>127\.0\.0\.1:\d+/);
    term.type('q');
    const r = await done;
    expect(r.summary).toContain(`${READS} lifetimes`);
    expect(r.summary).toMatch(/findings: none$/);
  });
});
