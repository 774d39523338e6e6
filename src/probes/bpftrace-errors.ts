// What bpftrace's stderr means, as messages that say what to do. Patterns seen from bpftrace
// 0.17 on this machine (a missing tracepoint, no kprobes, no kfunc, not root, a syntax error).

export interface Classified {
  message: string;
  hint?: string;
}

/** Lines bpftrace prints that are not problems (0.17 warns about RLIMIT_MEMLOCK and then works). */
export function isNoise(line: string): boolean {
  return line.includes("couldn't set RLIMIT_MEMLOCK") || line.trim() === '';
}

type Rule = [RegExp, (m: RegExpMatchArray, program: string) => Classified];

const RULES: Rule[] = [
  [/currently only supports running as the root user|must be run as root/i, () => ({
    message: 'bpftrace needs root', hint: 'run zctrace as root (sudo zctrace …)',
  })],
  [/tracepoint not found: (\S+)/, (m) => ({
    message: `this kernel has no tracepoint ${m[1]}`,
    hint: 'run `zctrace doctor`; if tracefs is not mounted: mount -t tracefs nodev /sys/kernel/tracing',
  })],
  [/kfunc\/kretfunc not available|fentry.*not (available|supported)/i, () => ({
    message: 'this kernel cannot load kfunc (fentry/fexit) programs',
    hint: 'use a tracepoint pack (zctrace doctor lists the usable ones)',
  })],
  [/kprobe_events\): No such file|Error attaching probe: '?k(ret)?probe:([^' ]+)/, (m) => ({
    message: `kprobes are not available here${m[2] ? ` (attaching ${m[2]} failed)` : ''}: the kernel lacks CONFIG_KPROBES or the function is not traceable`,
    hint: 'use a tracepoint pack (zctrace doctor lists the usable ones)',
  })],
  [/Operation not permitted|EPERM|Permission denied/, () => ({
    message: 'the kernel refused to load the BPF program (permission denied)',
    hint: 'run as root; check kernel lockdown (/sys/kernel/security/lockdown) and kernel.unprivileged_bpf_disabled',
  })],
  [/^([^:\s]+\.bt):(\d+):[\d-]+: ERROR: (.*)$/, (m) => ({
    message: `bpftrace could not compile ${m[1]} (line ${m[2]}): ${m[3]}`,
    hint: 'the probe program does not fit this kernel or bpftrace version; run `zctrace doctor`',
  })],
  [/^(stdin|[^:\s]+):\d+:[\d-]+: ERROR: (.*)$/, (m) => ({ message: `bpftrace: ${m[2]}` })],
  [/^ERROR: (.*)$/, (m) => ({ message: `bpftrace: ${m[1]}` })],
];

/** The first rule that matches a stderr line, in rule order (most specific first). */
export function classifyStderr(lines: string[], program: string): Classified | undefined {
  for (const [re, build] of RULES) {
    for (const line of lines) {
      const m = line.match(re);
      if (m) return build(m, program);
    }
  }
  return undefined;
}
