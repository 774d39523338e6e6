// bpftrace 0.17's messages (captured on this machine) → what zctrace tells the user.
import { describe, expect, it } from 'vitest';
import { classifyStderr, isNoise } from '../../src/probes/bpftrace-errors.js';

const MEMLOCK = 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If your program is not loading, you can try "ulimit -l 8192" to fix the problem';

describe('bpftrace stderr', () => {
  it('the RLIMIT_MEMLOCK warning is noise', () => {
    expect(isNoise(MEMLOCK)).toBe(true);
  });
  const cases: [string, string[], RegExp, RegExp | undefined][] = [
    ['a missing tracepoint', ['stdin:1:1-39: ERROR: tracepoint not found: syscalls:sys_enter_nonexist'], /no tracepoint syscalls:sys_enter_nonexist/, /tracefs/],
    ['no kprobes', ['create_probe_event: open(/sys/kernel/tracing/kprobe_events): No such file or directory', "ERROR: Error attaching probe: 'kprobe:vfs_read'"], /kprobes are not available/, /tracepoint pack/],
    ['no kfunc', ['stdin:1:1-15: ERROR: kfunc/kretfunc not available for your kernel version.'], /cannot load kfunc/, /tracepoint pack/],
    ['not root', ['ERROR: bpftrace currently only supports running as the root user.'], /needs root/, /sudo/],
    ['a syntax error', ['probes/x.bt:1:29-30: ERROR: syntax error, unexpected )'], /could not compile probes\/x.bt \(line 1\): syntax error/, /doctor/],
  ];
  for (const [name, lines, msg, hint] of cases) {
    it(name, () => {
      const c = classifyStderr(lines.filter((l) => !isNoise(l)), 'probes/x.bt');
      expect(c?.message).toMatch(msg);
      if (hint) expect(c?.hint).toMatch(hint);
    });
  }
});
