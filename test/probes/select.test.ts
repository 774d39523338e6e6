// selectPack: a named pack this host can run, or with auto the best usable one; otherwise an
// error that says why. Run with the fake bpftrace, refusing the trial loads the test names.
import { afterEach, describe, expect, it } from 'vitest';
import { selectPack } from '../../src/probes/select.js';
import { ProbeUnusableError, UsageError } from '../../src/util/errors.js';
import { FAKE } from '../helpers/fake-bpftrace.js';

const root = process.getuid?.() === 0;
const saved = { bin: process.env.ZCTRACE_BPFTRACE, refuse: process.env.FAKE_BPFTRACE_REFUSE };
function useFake(refuse: string): void {
  process.env.ZCTRACE_BPFTRACE = FAKE;
  process.env.FAKE_BPFTRACE_REFUSE = refuse;
}
afterEach(() => {
  for (const [k, v] of [['ZCTRACE_BPFTRACE', saved.bin], ['FAKE_BPFTRACE_REFUSE', saved.refuse]] as const) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
});

describe('selectPack', () => {
  it('an unknown name is a usage error listing the packs', async () => {
    await expect(selectPack('nope')).rejects.toThrow(UsageError);
    await expect(selectPack('nope')).rejects.toMatchObject({ hint: expect.stringMatching(/^packs: msgzc-syscalls, .*, or auto$/) });
  });

  it('a tracepoint pack by name: its program', async () => {
    useFake('kprobe,kfunc');
    if (!root) return expect(selectPack('iouring-sendzc')).rejects.toThrow('not running as root');
    const s = await selectPack('iouring-sendzc');
    expect(s.pack.name).toBe('iouring-sendzc');
    expect(s.file).toBe('iouring-sendzc.bt');
  });

  it('a kprobe pack where kprobes do not load: unusable, with bpftrace\'s reason', async () => {
    useFake('kprobe,kfunc');
    const e = await selectPack('msgzc-kernel').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(ProbeUnusableError);
    expect(String((e as Error).message)).toMatch(root ? /kprobes: kprobes are not available here/ : /not running as root/);
  });

  it('auto takes the best usable pack, never one whose programs do not load', async () => {
    useFake('kprobe,kfunc');
    if (!root) return expect(selectPack('auto')).rejects.toThrow(/no pack can run here/);
    const s = await selectPack('auto');
    expect(['msgzc-syscalls', 'iouring-sendzc']).toContain(s.pack.name);
    useFake('tracepoint,kprobe,kfunc');
    // trial loads of tracepoints are not made before choosing (bpftrace says clearly when one fails)
    expect((await selectPack('auto')).pack.name).toBe(s.pack.name);
  });
});
