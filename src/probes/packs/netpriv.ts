// The netpriv pack: a kernel with the TCP zero-copy completion notification patch (the 2008
// iSCSI-SCST patch; the lab's port in lab/kernel). Holder = page->net_priv, the owner's command.
// The owner module registers a get and a put callback that the stack calls on every frag page
// reference it takes or drops for a page whose net_priv is set; the pack attaches to those
// callbacks (found at run time: netpriv-callbacks.ts), to the owner's command-release function
// (`--free-fn`, or the known owner's default) and reads the owner's own count where it knows the
// owner's struct layout (OWNERS + the module's BTF), to reconstruct the references no callback
// sees (netpriv-decoder.ts). The program is generated for those names (netpriv-program.ts).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { UsageError } from '../../util/errors.js';
import { probePath } from '../../util/paths.js';
import type { Check, HostFacts } from '../host.js';
import type { PackDescriptor, PackOptions, PackVariant } from '../pack.js';
import { bpftraceBin } from '../runner.js';
import { liveModuleMember } from '../btf.js';
import { kallsyms, registeredCallbacks, SYMBOL_RE, symbolProblem, type Kallsyms } from './netpriv-callbacks.js';
import { NetprivDecoder } from './netpriv-decoder.js';
import { generateProgram, REFERENCE_FILE, type CountSpec, type ProgramSpec } from './netpriv-program.js';

/** An owner module zctrace knows: where its command keeps its count, and what finishes a command. */
export interface OwnerProfile {
  /** The command struct (page->net_priv points to one) and its atomic_t count of net references. */
  struct: string;
  member: string;
  /** Default free function: first argument = the command. */
  freeFn: string;
}

/** Known owners, by module name. iSCSI-SCST: iscsi-scst/kernel/iscsi.h (struct iscsi_cmnd.net_ref_cnt, cmnd_done()). */
export const OWNERS: Readonly<Record<string, OwnerProfile>> = {
  iscsi_scst: { struct: 'iscsi_cmnd', member: 'net_ref_cnt', freeFn: 'cmnd_done' },
  zcsim: { struct: 'zcsim_cmd', member: 'net_ref_cnt', freeFn: 'zcsim_cmnd_done' },
};

/** `--free-fn` as typed: a symbol name, or a usage error that says what one looks like. */
export function parseFreeFn(flag: string, v: string): string {
  if (!SYMBOL_RE.test(v)) throw new UsageError(`${flag}: "${v}" is not a kernel function name`, 'letters, digits, _ and . only, starting with a letter or _ (at most 128)');
  return v;
}

let programDir: string | undefined;

/** Writes a generated program to a private temporary directory (removed at exit); returns its path relative to probes/. */
function writeProgram(text: string, name: string): string {
  if (programDir === undefined) {
    programDir = mkdtempSync(join(tmpdir(), 'zctrace-netpriv-')); // mode 0700: nobody else can swap the program
    const dir = programDir;
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  const file = join(programDir, `netpriv-${name.replace(/[^A-Za-z0-9_-]/g, '_')}.bt`);
  writeFileSync(file, text, { mode: 0o600 });
  return relative(probePath(''), file);
}

/** The holder count of a known owner, from its module's BTF; a note either way. */
function holderCount(module: string | undefined, note: (s: string) => void): CountSpec | undefined {
  const profile = module === undefined ? undefined : OWNERS[module];
  if (module === undefined || profile === undefined) {
    note(`holder count unknown (owner ${module ?? 'in the kernel image'} is not one zctrace knows: ${Object.keys(OWNERS).join(', ')}): references are counted from the callbacks, and done is the seen references reaching zero`);
    return undefined;
  }
  try {
    const m = liveModuleMember(module, profile.struct, profile.member);
    if (m !== undefined && (m.typeName === 'atomic_t' || m.intSize === 4)) {
      note(`holder count: struct ${profile.struct}.${profile.member} at +${m.offset} (/sys/kernel/btf/${module}): references no callback sees (a guard) are reconstructed from it`);
      return { struct: profile.struct, member: profile.member, offset: m.offset };
    }
    note(`holder count unknown: no 32-bit ${profile.struct}.${profile.member} in /sys/kernel/btf/${module}; references counted from the callbacks`);
  } catch (e) {
    note(`holder count unknown: cannot read the BTF of ${module} (${(e as Error).message}); references counted from the callbacks`);
  }
  return undefined;
}

/** The free function: --free-fn, else the known owner's default; with a note. */
function freeFunction(opts: PackOptions, module: string | undefined, ks: Kallsyms, traceable: (n: string) => boolean, note: (s: string) => void): { name?: string; bad?: string } {
  if (opts.freeFn !== undefined) {
    const bad = symbolProblem(opts.freeFn, ks, traceable);
    if (bad) return { bad: `--free-fn ${opts.freeFn}: ${bad}` };
    note(`free: ${opts.freeFn} (--free-fn; its first argument must be the command, page->net_priv)`);
    return { name: opts.freeFn };
  }
  const profile = module === undefined ? undefined : OWNERS[module];
  if (profile !== undefined) {
    const bad = symbolProblem(profile.freeFn, ks, traceable);
    if (bad === null) {
      note(`free: ${profile.freeFn}, ${module}'s command release (--free-fn to name another)`);
      return { name: profile.freeFn };
    }
    note(`no free probe: ${bad}; early frees are not seen (--free-fn names another function)`);
    return {};
  }
  note('no free probe: name the owner\'s command-release function with --free-fn to see early frees and use after free');
  return {};
}

/** Finds the registered callbacks and writes the program for them. */
export async function chooseVariant(h: HostFacts, opts: PackOptions = {}): Promise<PackVariant> {
  const out = (why: string, fix?: string): PackVariant => ({ file: REFERENCE_FILE, name: 'none', notes: [], unusable: { what: why, fix } });
  const cb = await registeredCallbacks(h.bpftrace.path ?? bpftraceBin());
  if (cb.state === 'none') {
    return out('no zero-copy owner has registered its callbacks (net_get_page_callback and net_put_page_callback are NULL)', 'load the owner module first (iscsi_scst; in the lab: insmod zcsim.ko)');
  }
  if (cb.state === 'unknown') return out(cb.why, cb.fix);
  const ks = kallsyms();
  const traceable = (n: string): boolean => h.hasFunction(n);
  for (const [what, sym] of [['get', cb.get], ['put', cb.put]] as const) {
    const bad = symbolProblem(sym.name, ks, traceable);
    if (bad) return out(`the registered ${what} callback cannot be probed: ${bad}`);
  }
  const module = cb.get.module;
  const notes = [`callbacks registered by ${module ? `module ${module}` : 'the kernel image'}: get ${cb.get.name}, put ${cb.put.name}${cb.put.module !== module ? ` (in ${cb.put.module ?? 'the kernel image'})` : ''}`];
  const note = (s: string): void => { notes.push(s); };
  const free = freeFunction(opts, module, ks, traceable, note);
  if (free.bad) return out(free.bad, 'name a traceable function of the owner whose first argument is the command (page->net_priv)');
  const spec: ProgramSpec = { get: cb.get.name, put: cb.put.name, free: free.name, count: holderCount(module, note) };
  return { file: writeProgram(generateProgram(spec), module ?? 'kernel'), name: module ?? 'kernel', notes };
}

/** Doctor's lines on the patch: struct page.net_priv and the symbols; then who registered callbacks. */
export async function patchChecks(h: HostFacts): Promise<Record<string, Check>> {
  const fix = 'a kernel with the TCP zero-copy completion notification patch (lab/kernel builds one) for the netpriv pack; the msgzc-* packs work without it';
  if (!(await h.hasBtfMember('page', 'net_priv'))) return { 'zc completion patch': { ok: false, detail: 'not patched: struct page has no net_priv in BTF (a mainline kernel)', fix } };
  let names: Set<string> | undefined;
  try {
    names = kallsyms().names;
  } catch {
    names = undefined;
  }
  const syms = ['net_get_page_callback', 'net_put_page_callback', 'net_set_get_put_page_callbacks'];
  const missing = names === undefined ? syms : syms.filter((s) => !names.has(s));
  if (missing.length > 0) return { 'zc completion patch': { ok: false, detail: `struct page has net_priv, but /proc/kallsyms lacks ${missing.join(', ')}`, fix: 'a kernel built with CONFIG_KALLSYMS_ALL (the callback pointers are data symbols)' } };
  const patch: Check = { ok: true, detail: 'patched: struct page.net_priv in BTF; net_{get,put}_page_callback, net_set_get_put_page_callbacks in kallsyms' };
  if (!h.root || !h.bpftrace.ok) return { 'zc completion patch': patch, 'zc callbacks': { ok: false, detail: 'not checked: reading the callback pointers needs root and bpftrace', fix: 'run as root' } };
  const cb = await registeredCallbacks(h.bpftrace.path ?? bpftraceBin());
  const callbacks: Check = cb.state === 'registered'
    ? { ok: true, detail: `registered by ${cb.get.module ? `module ${cb.get.module}` : 'the kernel image'}: get=${cb.get.name} put=${cb.put.name}` }
    : cb.state === 'none'
      ? { ok: false, detail: 'none registered: no zero-copy owner module is loaded', fix: 'load the owner module (iscsi_scst; in the lab: insmod zcsim.ko)' }
      : { ok: false, detail: cb.why, fix: cb.fix };
  return { 'zc completion patch': patch, 'zc callbacks': callbacks };
}

/** What this pack cannot see (doctor, `probes show`). */
const BLIND_SPOTS = [
  'references taken or dropped where no callback fires: the owner\'s own guard reference (reconstructed from its count when zctrace knows the owner: iscsi_scst, zcsim), and the frag sites the port leaves with plain get_page/put_page (a local receiver that splice()s, sockmap and software kTLS scatterlists: lab/kernel/PORT.md)',
  'no submit: a lifetime begins at its first get; bytes, socket, pid and comm are unknown (the callbacks run in softirq context as often as in the sender\'s), so --pid/--port/--comm are ignored',
  'done is the owner\'s count reaching zero when zctrace can read it; for an unknown owner it is the references seen reaching zero, so a command whose pages are sent in several bursts, all released in between, shows as two lifetimes',
  'early frees and use after free need a free function (--free-fn, or the known owner\'s default) whose first argument is the command',
  'holders with references in flight when the trace starts: their puts are untracked; the count is read as each callback starts, so two callbacks on two CPUs at the same instant can see the same count (a done then comes from the free function, or from the seen references)',
  'the callbacks are found when zctrace starts: an owner that unregisters and another that registers while tracing are not followed (restart zctrace); one owner per kernel (the patch allows one)',
];

/** The pack's descriptor, for registry.ts. */
export const netpriv: PackDescriptor = {
  name: 'netpriv',
  description: 'patched kernels (TCP zero-copy completion notification, the iSCSI-SCST patch): every page reference of each owner command through the registered callbacks, done, and the owner\'s free (kprobes + BTF)',
  holder: '<page->net_priv>: the owner\'s command (struct iscsi_cmnd for iSCSI-SCST, struct zcsim_cmd in the lab)',
  file: REFERENCE_FILE,
  requires: [
    { kind: 'kprobes' },
    { kind: 'btf' },
    { kind: 'btf_member', struct: 'page', member: 'net_priv' },
  ],
  priority: 70,
  blindSpots: BLIND_SPOTS,
  createDecoder: () => new NetprivDecoder(),
  variant: chooseVariant,
  hostChecks: patchChecks,
};
