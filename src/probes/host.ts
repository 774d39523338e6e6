// What this host offers for tracing, found by looking (files in /sys, tracefs) and, for the
// program types, by trying: a kernel can list kprobe functions and still refuse to load a
// kprobe program (lockdown, no CONFIG_KPROBES), so doctor loads one of each and reports what
// bpftrace said. Collected once per command.
import { execa } from 'execa';
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import { classifyStderr, isNoise } from './bpftrace-errors.js';
import { bpftraceBin } from './runner.js';
import { Btf } from './btf.js';

export interface Check {
  ok: boolean;
  detail: string;
  fix?: string;
}

export interface HostFacts {
  kernel: string;
  root: boolean;
  bpftrace: Check & { path?: string; version?: string };
  tracefs: Check & { dir?: string };
  btf: Check;
  lockdown: Check;
  /** A tracepoint program loads and attaches. */
  tracepointProgs: Check;
  kprobes: Check;
  kfunc: Check;
  /** Tracepoint names present ("category:name"). */
  hasTracepoint(name: string): boolean;
  /** Kernel function traceable by kprobes (available_filter_functions, or kallsyms). */
  hasFunction(name: string): boolean;
  /** A struct member present in the kernel's BTF. */
  hasBtfMember(struct: string, member: string): Promise<boolean>;
}

const TRACEFS = ['/sys/kernel/tracing', '/sys/kernel/debug/tracing'];

/** Tries a one-probe bpftrace program; ok when its BEGIN ran after attaching. */
async function tryProgram(bin: string, probe: string): Promise<Check> {
  const prog = `BEGIN { printf("ok\\n"); exit(); } ${probe} { }`;
  const r = await execa(bin, ['-e', prog], { reject: false, timeout: 60000, stdin: 'ignore' });
  const out = String(r.stdout);
  const errs = String(r.stderr).split('\n').filter((l) => !isNoise(l));
  if (r.exitCode === 0 && out.split('\n').includes('ok')) return { ok: true, detail: `${probe.split(':')[0]} program loaded and attached` };
  const c = classifyStderr(errs, 'stdin');
  return { ok: false, detail: c?.message ?? (errs.at(-1) || `bpftrace exited with ${r.exitCode}`), fix: c?.hint };
}

function readText(p: string): string | undefined {
  try {
    return readFileSync(p, 'utf8');
  } catch {
    return undefined;
  }
}

/** Which program types to try loading (each try costs a second or so). */
export type ProgramKind = 'tracepoint' | 'kprobe' | 'kfunc';

/** The kernel lockdown mode; securityfs is mounted for a moment if it is not (root only). */
async function readLockdown(root: boolean): Promise<Check> {
  const file = '/sys/kernel/security/lockdown';
  let text = readText(file);
  let note = '';
  if (text === undefined && root && !existsSync('/sys/kernel/security/lsm')) {
    const m = await execa('mount', ['-t', 'securityfs', 'securityfs', '/sys/kernel/security'], { reject: false });
    if (m.exitCode === 0) {
      text = readText(file);
      await execa('umount', ['/sys/kernel/security'], { reject: false });
      note = ' (securityfs mounted briefly to read it)';
    }
  }
  const mode = text?.match(/\[(\w+)\]/)?.[1];
  if (mode === undefined) return { ok: true, detail: 'unknown: no lockdown interface (/sys/kernel/security/lockdown)' };
  return {
    ok: mode !== 'confidentiality', detail: `${mode}${note}${mode === 'integrity' ? ': BPF may read kernel memory; kernel writes are refused' : ''}`,
    fix: mode === 'confidentiality' ? 'boot with lockdown=integrity or none: confidentiality forbids reading kernel memory from BPF' : undefined,
  };
}

export async function hostFacts(tryKinds: ProgramKind[] = ['tracepoint', 'kprobe', 'kfunc'], bin = bpftraceBin()): Promise<HostFacts> {
  const root = process.getuid?.() === 0;
  const which = await execa('sh', ['-c', `command -v ${bin}`], { reject: false });
  const path = which.exitCode === 0 ? String(which.stdout).trim() : undefined;
  const ver = path ? await execa(path, ['--version'], { reject: false }) : undefined;
  const bpftrace: HostFacts['bpftrace'] = path
    ? { ok: true, path, version: String(ver?.stdout ?? '').trim(), detail: `${String(ver?.stdout ?? '').trim()} at ${path}` }
    : { ok: false, detail: 'not installed', fix: 'apt-get install bpftrace' };
  const dir = TRACEFS.find((d) => existsSync(`${d}/events`));
  const tracefs: HostFacts['tracefs'] = dir
    ? { ok: true, dir, detail: `mounted at ${dir}` }
    : { ok: false, detail: 'not mounted: no tracepoint is visible', fix: 'mount -t tracefs nodev /sys/kernel/tracing' };
  const btf: Check = existsSync('/sys/kernel/btf/vmlinux')
    ? { ok: true, detail: '/sys/kernel/btf/vmlinux present' }
    : { ok: false, detail: 'no /sys/kernel/btf/vmlinux: struct fields cannot be read', fix: 'use a kernel built with CONFIG_DEBUG_INFO_BTF=y' };
  const lockdown = await readLockdown(root);
  const canTry = bpftrace.ok && root;
  const notTried: Check = { ok: false, detail: root ? 'not tried: bpftrace missing' : 'not tried: needs root', fix: root ? bpftrace.fix : 'run as root' };
  const skipped: Check = { ok: false, detail: 'not checked (not needed by the chosen pack)' };
  const attempt = (kind: ProgramKind, probe: string, pre?: Check): Promise<Check> => {
    if (!tryKinds.includes(kind)) return Promise.resolve(skipped);
    if (!canTry) return Promise.resolve(notTried);
    if (pre && !pre.ok) return Promise.resolve({ ...pre, ok: false });
    return tryProgram(path!, probe);
  };
  const [tracepointProgs, kprobes, kfunc] = await Promise.all([
    attempt('tracepoint', 'tracepoint:syscalls:sys_enter_getppid', tracefs),
    attempt('kprobe', 'kprobe:tcp_sendmsg'),
    attempt('kfunc', 'kfunc:tcp_sendmsg'),
  ]);

  let btfTypes: Btf | undefined;
  let functions: Set<string> | undefined;
  const loadFunctions = (): Set<string> => {
    if (functions) return functions;
    const text = (dir && readText(`${dir}/available_filter_functions`)) ?? readText('/proc/kallsyms') ?? '';
    functions = new Set(text.split('\n').map((l) => {
      const parts = l.trim().split(/\s+/);
      // available_filter_functions: "name [module]"; kallsyms: "addr type name [module]"
      return parts.length >= 3 && /^[0-9a-f]+$/.test(parts[0]) ? parts[2] : parts[0];
    }));
    return functions;
  };
  return {
    kernel: release(), root, bpftrace, tracefs, btf, lockdown, tracepointProgs, kprobes, kfunc,
    hasTracepoint: (name) => {
      const [cat, ev] = name.split(':');
      return dir !== undefined && existsSync(`${dir}/events/${cat}/${ev}`);
    },
    hasFunction: (name) => loadFunctions().has(name),
    hasBtfMember: async (struct, member) => {
      if (!btf.ok) return false;
      btfTypes ??= Btf.vmlinux();
      return btfTypes.hasMember(struct, member);
    },
  };
}
