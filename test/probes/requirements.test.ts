// judge(): whether a pack can run on a host, every reason with its fix, and what only degrades it.
import { describe, expect, it } from 'vitest';
import { judge } from '../../src/probes/requirements.js';
import { fakePack, goodHost } from '../helpers/host.js';

const TP = { kind: 'tracepoint', name: 'syscalls:sys_enter_sendmsg' } as const;

describe('judge', () => {
  it('a host with everything: usable, no reasons', async () => {
    const v = await judge(fakePack('p', [TP, { kind: 'kprobes' }, { kind: 'btf' }, { kind: 'function', name: 'f' }]), goodHost());
    expect(v).toEqual({ pack: 'p', usable: true, reasons: [], degraded: [] });
  });

  it('root and bpftrace are needed by every pack, whatever it requires', async () => {
    const v = await judge(fakePack('p', []), goodHost({ root: false, bpftrace: { ok: false, detail: 'not installed', fix: 'apt-get install bpftrace' } }));
    expect(v.usable).toBe(false);
    expect(v.reasons).toEqual([
      { what: 'not running as root', fix: 'run as root' },
      { what: 'bpftrace is not installed', fix: 'apt-get install bpftrace' },
    ]);
  });

  it('a missing tracepoint: its name, and mounting tracefs when that is why', async () => {
    const absent = goodHost({ hasTracepoint: () => false });
    expect((await judge(fakePack('p', [TP]), absent)).reasons).toEqual([
      { what: 'tracepoint syscalls:sys_enter_sendmsg is missing', fix: 'a newer kernel (or one built with that subsystem)' },
    ]);
    const noTracefs = goodHost({ hasTracepoint: () => false, tracefs: { ok: false, detail: 'not mounted', fix: 'mount -t tracefs nodev /sys/kernel/tracing' } });
    expect((await judge(fakePack('p', [TP]), noTracefs)).reasons[0].fix).toBe('mount -t tracefs nodev /sys/kernel/tracing');
  });

  it('a tracepoint program that does not load rules out the tracepoint packs only', async () => {
    const h = goodHost({ tracepointProgs: { ok: false, detail: 'bpftrace: Error attaching probe', fix: 'x' } });
    expect((await judge(fakePack('tp', [TP]), h)).reasons).toEqual([{ what: 'tracepoint programs: bpftrace: Error attaching probe', fix: 'x' }]);
    expect((await judge(fakePack('kp', [{ kind: 'kprobes' }]), h)).usable).toBe(true);
    // not tried (a live run of a kprobe pack tries only kprobes): no verdict from it
    const notTried = goodHost({ tracepointProgs: { ok: false, detail: 'not checked (not needed by the chosen pack)' } });
    expect((await judge(fakePack('tp', [TP]), notTried)).usable).toBe(true);
  });

  it('kprobes, kfunc, BTF and struct members: each missing one is a reason with the check\'s own words', async () => {
    const h = goodHost({
      kprobes: { ok: false, detail: 'refused', fix: 'use a tracepoint pack' }, kfunc: { ok: false, detail: 'no trampolines' },
      btf: { ok: false, detail: 'no BTF', fix: 'CONFIG_DEBUG_INFO_BTF=y' }, hasBtfMember: async () => false,
    });
    const v = await judge(fakePack('p', [{ kind: 'kprobes' }, { kind: 'kfunc' }, { kind: 'btf' }, { kind: 'btf_member', struct: 'page', member: 'net_priv' }]), h);
    expect(v.reasons).toEqual([
      { what: 'kprobes: refused', fix: 'use a tracepoint pack' },
      { what: 'kfunc: no trampolines', fix: undefined },
      { what: 'no BTF', fix: 'CONFIG_DEBUG_INFO_BTF=y' },
      { what: 'struct page has no net_priv in BTF', fix: 'a kernel with that field (see the pack description)' },
    ]);
  });

  it('a missing optional function only degrades the pack; a required one rules it out', async () => {
    const h = goodHost({ hasFunction: (n) => n !== 'gone' });
    const opt = await judge(fakePack('p', [{ kind: 'function', name: 'gone', optional: true }]), h);
    expect(opt).toEqual({ pack: 'p', usable: true, reasons: [], degraded: ['kernel function gone is not traceable here (absent or inlined)'] });
    const req = await judge(fakePack('p', [{ kind: 'function', name: 'gone' }]), h);
    expect(req.usable).toBe(false);
    expect(req.degraded).toEqual([]);
  });
});
