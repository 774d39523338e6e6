// Which get/put callbacks a module registered with net_set_get_put_page_callbacks() on a kernel
// with the TCP zero-copy completion notification patch, resolved to symbols and their module.
//
// Why this is done before the program exists: the stack calls the owner's callbacks through two
// global function pointers (net_get_page_callback, net_put_page_callback), and bpftrace cannot
// attach to "whatever a pointer points to" from inside a program; probe names cannot come from
// positional parameters either (bpftrace 0.17). So zctrace reads the two pointers first (a
// constant one-line BEGIN program: no user input in it), maps each address to its symbol with
// /proc/kallsyms (exact address, text symbol, name unique so `kprobe:NAME` is unambiguous), and
// only names that pass SYMBOL_RE and exist are ever written into a generated program.
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { classifyStderr, isNoise } from '../bpftrace-errors.js';

/** What a kernel symbol name may look like before it is written into a program. */
export const SYMBOL_RE = /^[A-Za-z_][A-Za-z0-9_.]{0,127}$/;

/** One text symbol of /proc/kallsyms. */
export interface KSym {
  name: string;
  /** Lowercase hex, no 0x, no leading zeros. */
  addr: string;
  /** The module it belongs to ([module] in kallsyms); absent for the kernel image. */
  module?: string;
}

/** The parts of /proc/kallsyms the pack needs. */
export interface Kallsyms {
  /** Text symbols (t/T) by address. */
  textByAddr: Map<string, KSym[]>;
  /** How many text symbols carry each name (a name given twice cannot be attached by name). */
  textCount: Map<string, number>;
  /** Every symbol name (data ones too: net_get_page_callback is a D symbol). */
  names: Set<string>;
  /** False when every address reads 0 (not root, or kptr_restrict): names only. */
  addresses: boolean;
}

/** Parses /proc/kallsyms: "ffffffffc02b1090 t zcsim_get_page_callback\t[zcsim]". */
export function parseKallsyms(text: string): Kallsyms {
  const textByAddr = new Map<string, KSym[]>();
  const textCount = new Map<string, number>();
  const names = new Set<string>();
  let addresses = false;
  for (const line of text.split('\n')) {
    const sp1 = line.indexOf(' ');
    const sp2 = line.indexOf(' ', sp1 + 1);
    if (sp1 <= 0 || sp2 <= 0) continue;
    const type = line.slice(sp1 + 1, sp2);
    const rest = line.slice(sp2 + 1);
    const tab = rest.indexOf('\t');
    const name = tab < 0 ? rest.trim() : rest.slice(0, tab);
    names.add(name);
    if (type !== 't' && type !== 'T') continue;
    const addr = line.slice(0, sp1).replace(/^0+/, '') || '0';
    if (addr !== '0') addresses = true;
    const mod = tab < 0 ? undefined : /^\[([^\]]+)\]/.exec(rest.slice(tab + 1))?.[1];
    const sym: KSym = mod === undefined ? { name, addr } : { name, addr, module: mod };
    const at = textByAddr.get(addr);
    if (at) at.push(sym);
    else textByAddr.set(addr, [sym]);
    textCount.set(name, (textCount.get(name) ?? 0) + 1);
  }
  return { textByAddr, textCount, names, addresses };
}

let kallsymsCache: Kallsyms | undefined;

/** /proc/kallsyms of the running kernel, read once per process. */
export function kallsyms(path = '/proc/kallsyms'): Kallsyms {
  kallsymsCache ??= parseKallsyms(readFileSync(path, 'latin1'));
  return kallsymsCache;
}

/** Why `name` cannot be attached as `kprobe:NAME`, or null when it can be (syntax, existence, uniqueness, traceability). */
export function symbolProblem(name: string, ks: Kallsyms, traceable: (n: string) => boolean): string | null {
  if (!SYMBOL_RE.test(name)) return `"${name}" is not a kernel symbol name (A-Z a-z 0-9 _ . only, starting with a letter or _, at most 128)`;
  const n = ks.textCount.get(name) ?? 0;
  if (n === 0) return `no function ${name} in /proc/kallsyms`;
  if (n > 1) return `${name} names ${n} functions in /proc/kallsyms: kprobe:${name} would be ambiguous`;
  if (!traceable(name)) return `${name} is not traceable (not in available_filter_functions: notrace or blacklisted)`;
  return null;
}

/** What the two callback pointers hold. */
export type Callbacks =
  | { state: 'registered'; get: KSym; put: KSym }
  | { state: 'none' }
  | { state: 'unknown'; why: string; fix?: string };

/** The constant program that prints both pointers (no input of any kind is part of it). */
export const READ_POINTERS = 'BEGIN { printf("netpriv-callbacks\\t%lx\\t%lx\\n", *(uint64 *)kaddr("net_get_page_callback"), *(uint64 *)kaddr("net_put_page_callback")); exit(); }';

/** Parses READ_POINTERS' output: [get, put] as lowercase hex, or undefined. */
export function parsePointers(stdout: string): [string, string] | undefined {
  for (const line of stdout.split('\n')) {
    const f = line.split('\t');
    if (f[0] === 'netpriv-callbacks' && f.length === 3 && /^[0-9a-f]+$/.test(f[1]) && /^[0-9a-f]+$/.test(f[2])) {
      return [f[1].replace(/^0+/, '') || '0', f[2].replace(/^0+/, '') || '0'];
    }
  }
  return undefined;
}

/** The symbol at exactly `addr` (prefix aliases such as __pfx_/__cfi_ skipped). */
export function symbolAt(addr: string, ks: Kallsyms): KSym | undefined {
  const at = (ks.textByAddr.get(addr) ?? []).filter((s) => !/^__(pfx|cfi)_/.test(s.name));
  return at.find((s) => (ks.textCount.get(s.name) ?? 0) === 1) ?? at[0];
}

/** Resolves the two pointer values to symbols. */
export function resolveCallbacks(get: string, put: string, ks: Kallsyms): Callbacks {
  if (get === '0' && put === '0') return { state: 'none' };
  if (get === '0' || put === '0') {
    return { state: 'unknown', why: `only one callback is registered (get=0x${get}, put=0x${put}): not the patch's contract` };
  }
  if (!ks.addresses) return { state: 'unknown', why: '/proc/kallsyms shows no addresses (not root, or kernel.kptr_restrict=2)', fix: 'run as root' };
  const g = symbolAt(get, ks);
  const p = symbolAt(put, ks);
  if (g === undefined || p === undefined) {
    return { state: 'unknown', why: `no function at ${g === undefined ? `0x${get} (get)` : `0x${put} (put)`} in /proc/kallsyms` };
  }
  return { state: 'registered', get: g, put: p };
}

const memo = new Map<string, Promise<Callbacks>>();

/** Reads and resolves the registered callbacks once per process (doctor and the variant both ask). */
export function registeredCallbacks(bin: string): Promise<Callbacks> {
  let p = memo.get(bin);
  if (p === undefined) {
    p = readCallbacks(bin);
    memo.set(bin, p);
  }
  return p;
}

async function readCallbacks(bin: string): Promise<Callbacks> {
  const r = await execa(bin, ['-e', READ_POINTERS], { reject: false, timeout: 180_000, stdin: 'ignore' });
  const ptrs = parsePointers(String(r.stdout));
  if (ptrs === undefined) {
    const errs = String(r.stderr).split('\n').filter((l) => !isNoise(l));
    const c = classifyStderr(errs, 'stdin');
    return { state: 'unknown', why: `cannot read net_get_page_callback/net_put_page_callback: ${c?.message ?? errs.at(-1) ?? `bpftrace exited with ${r.exitCode}`}`, fix: c?.hint };
  }
  let ks: Kallsyms;
  try {
    ks = kallsyms();
  } catch (e) {
    return { state: 'unknown', why: `cannot read /proc/kallsyms: ${(e as Error).message}` };
  }
  return resolveCallbacks(ptrs[0], ptrs[1], ks);
}
