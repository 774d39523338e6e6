// Host facts and pack descriptors made up for the tests of requirements, doctor and select:
// a host where everything works, changed one fact at a time.
import type { Check, HostFacts } from '../../src/probes/host.js';
import type { PackDescriptor, Requirement } from '../../src/probes/pack.js';

const ok = (detail: string): Check => ({ ok: true, detail });

/** A host where every check passes and every tracepoint, function and BTF member exists. */
export function goodHost(over: Partial<HostFacts> = {}): HostFacts {
  return {
    kernel: '6.1.0-test', root: true,
    bpftrace: { ...ok('bpftrace v0.17.0 at /usr/bin/bpftrace'), path: '/usr/bin/bpftrace', version: 'bpftrace v0.17.0' },
    tracefs: { ...ok('mounted at /sys/kernel/tracing'), dir: '/sys/kernel/tracing' },
    btf: ok('/sys/kernel/btf/vmlinux present'), lockdown: ok('none'),
    tracepointProgs: ok('tracepoint program loaded and attached'), kprobes: ok('kprobe program loaded and attached'),
    kfunc: ok('kfunc program loaded and attached'),
    hasTracepoint: () => true, hasFunction: () => true, hasBtfMember: async () => true,
    ...over,
  };
}

/** A pack descriptor with these requirements (nothing is ever run from it). */
export function fakePack(name: string, requires: Requirement[], priority = 1): PackDescriptor {
  return {
    name, description: `${name} for tests`, holder: 'h', file: `${name}.bt`, requires, priority, blindSpots: [],
    createDecoder: () => { throw new Error('not run in these tests'); },
  };
}
