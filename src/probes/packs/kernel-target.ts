// The kernel-target pack: the storage targets inside the kernel, nvmet-tcp (the NVMe over TCP
// target) and LIO iSCSI (iscsi_target_mod), on kernels that hand pages to TCP with sendpage
// (Debian 12's 6.1). Holder = the target's command (struct nvmet_req; struct iscsit_cmd);
// probes/kernel-target.bt follows each data page from the moment it is handed to TCP to the
// moment its last reference is dropped, and the moment the target drops its own reference
// (nvmet_tcp_free_cmd_buffers → sgl_free, LIO's target_free_sgl → sgl_free_n_order: __free_pages).
//
// A use of a command (nvmet-tcp recycles its commands: the decoder numbers each use, obj=REQ#N)
// is one lifetime: submit/get at each page handed to TCP, a put when TCP holds the page no more
// (at the target's release when the page count says TCP is done, else at the page's free), done
// when every page handed to TCP is released by both. Then, when TCP let go first, `free`
// (reason release) follows: no finding.
//
// The target releasing a command while TCP still references its pages is the normal case on
// loopback (every command in the lab). nvmet-tcp frees those pages to the page allocator, whose
// count keeps them until TCP drops them: memory-safe, no pool recycles them, nothing rewrites
// them before a retransmission. So it is counted (stats.releasedHeld), never a finding: the
// `free` event is left out for such a use (it would make the engine report early_free).
// A page freed (count 0) while the target still had it (its release not seen) is an underflow:
// someone dropped a reference they did not own. A use never done is the engine's leak.
import { existsSync, readFileSync } from 'node:fs';
import { liveModuleMember } from '../btf.js';
import type { Check } from '../host.js';
import { int } from '../fields.js';
import type { Decoder, Emit, PackDescriptor, PackVariant, ProbeLine } from '../pack.js';

/** One use of a command. */
interface Use {
  id: string;
  /** Pages handed to TCP in this use → whether the target has released it, whether TCP let go. */
  pages: Map<string, { released: boolean; put: boolean }>;
  released: number;
  held: number;
  /** Pages still referenced by TCP when the target released them. */
  heldAtRelease: number;
  done: boolean;
}

/** Uses tracked at once; beyond, the oldest is dropped (and a `lost` event says so). */
const MAX_OPEN = 1 << 16;

/**
 * Why a leak here is never certain: a command held past the threshold may be the target's own
 * hold, which the pack cannot tell from TCP's (LIO keeps a session's last command and its pages
 * until the initiator acknowledges its status: a NOP-Out every 5 s with open-iscsi's defaults).
 */
export const TARGET_HOLD = 'the target may hold its command itself (LIO keeps the last one until the initiator acknowledges its status): this pack cannot tell its hold from TCP\'s';

/** Decodes the kernel-target lines (probes/kernel-target.bt gives the grammar). */
export class KernelTargetDecoder implements Decoder {
  /** What the decoder saw that the events do not show (tests, docs, the lab check read it). */
  readonly stats = {
    sends: 0,
    /** Uses of commands (lifetimes). */
    uses: 0,
    /** Uses the target released while TCP still referenced at least one of their pages (memory-safe). */
    releasedHeld: 0,
    /** Pages the target released while TCP still referenced them. */
    pagesHeldAtRelease: 0,
    /** Pages freed before the target released them (underflow). */
    freedUnderTarget: 0,
    /** prel/pfree lines for pages no use knows (handed to TCP before the trace began). */
    untracked: 0,
    /** Pages whose last free no line showed, seen handed to TCP again by another command (so
     *  freed meanwhile): their previous use let go of them then. */
    freesInferred: 0,
    /** TCP's references to a page when the target released it (count - 1) → pages. */
    refsAtRelease: new Map<number, number>(),
    /** kernel_sendpage calls per page per use → pages. */
    sendsPerPage: new Map<number, number>(),
  };
  /** The current use of each command address. */
  private readonly current = new Map<string, Use>();
  /** Page → the use that handed it to TCP and has not seen it let go. */
  private readonly pageUse = new Map<string, Use>();
  private readonly seq = new Map<string, number>();
  private readonly sendCount = new Map<string, number>();

  decode(line: ProbeLine, emit: Emit): boolean {
    switch (line.kind) {
      case 'send': return this.send(line, emit);
      case 'prel': return this.release(line, emit);
      case 'pfree': return this.pageFree(line, emit);
      default: return false;
    }
  }

  private send(line: ProbeLine, emit: Emit): boolean {
    const req = line.fields.get('obj');
    const page = line.fields.get('page');
    const bytes = int(line.fields.get('bytes'));
    if (!req || !page || bytes === undefined) return false;
    this.stats.sends++;
    let use = this.current.get(req);
    // a command used again: its previous use has been released by the target (its pages may
    // still be held by TCP: that use stays open on its own id)
    let fresh = false;
    if (use === undefined || (use.pages.size > 0 && use.released === use.pages.size)) {
      fresh = true;
      const n = (this.seq.get(req) ?? 0) + 1;
      this.seq.set(req, n);
      use = { id: `${req}#${n}`, pages: new Map(), released: 0, held: 0, heldAtRelease: 0, done: false };
      this.current.set(req, use);
      this.stats.uses++;
      if (this.current.size > MAX_OPEN) {
        const oldest = this.current.keys().next().value as string;
        this.current.delete(oldest);
        emit({ t: line.t, ev: 'lost', n: 1 });
      }
    }
    // the reason and the connection once, on the use's first submit: the engine keeps them
    // with the lifetime (captures from before the sock field have none)
    if (fresh) {
      const sock = line.fields.get('sock');
      emit(sock === undefined ? { t: line.t, ev: 'submit', obj: use.id, bytes, unsure: TARGET_HOLD } : { t: line.t, ev: 'submit', obj: use.id, bytes, sock, unsure: TARGET_HOLD });
    } else {
      emit({ t: line.t, ev: 'submit', obj: use.id, bytes });
    }
    const key = `${use.id} ${page}`;
    this.sendCount.set(key, (this.sendCount.get(key) ?? 0) + 1);
    const prev = this.pageUse.get(page);
    if (prev !== undefined && prev !== use) {
      // The page is in another command's data now: it was freed and allocated again, so every
      // reference of its previous use was dropped, though no line said so (the kernel skips a
      // kprobe's program that fires while another BPF program runs on that CPU, as a softirq
      // freeing an skb inside one; 6.1 does not count those misses). Let go at the latest now.
      this.stats.freesInferred++;
      const p = prev.pages.get(page);
      if (p !== undefined && !p.released) { p.released = true; prev.released++; }
      this.put(prev, page, line.t, emit);
      this.maybeDone(prev, line.t, emit);
    }
    if (!use.pages.has(page)) {
      use.pages.set(page, { released: false, put: false });
      use.held++;
      this.pageUse.set(page, use);
      emit({ t: line.t, ev: 'get', obj: use.id, page, ref: use.held });
    }
    return true;
  }

  /** The target drops its reference to a page (prel): TCP too when the count was 1. */
  private release(line: ProbeLine, emit: Emit): boolean {
    const page = line.fields.get('page');
    const ref = int(line.fields.get('ref'));
    if (!page || ref === undefined) return false;
    const use = this.pageUse.get(page);
    const p = use?.pages.get(page);
    if (use === undefined || p === undefined || p.released) {
      this.stats.untracked++;
      return true;
    }
    p.released = true;
    use.released++;
    const tcp = Math.max(0, ref - 1);
    this.stats.refsAtRelease.set(tcp, (this.stats.refsAtRelease.get(tcp) ?? 0) + 1);
    if (tcp > 0) {
      use.heldAtRelease++;
      this.stats.pagesHeldAtRelease++;
      if (use.heldAtRelease === 1) this.stats.releasedHeld++;
    } else {
      this.put(use, page, line.t, emit);
    }
    this.maybeDone(use, line.t, emit);
    return true;
  }

  /** A page handed to TCP reached count 0 outside the target's release. */
  private pageFree(line: ProbeLine, emit: Emit): boolean {
    const page = line.fields.get('page');
    if (!page) return false;
    const use = this.pageUse.get(page);
    const p = use?.pages.get(page);
    if (use === undefined || p === undefined) {
      this.stats.untracked++;
      return true;
    }
    if (!p.released) {
      // freed while the target still had it: a reference dropped by someone who did not own it
      this.stats.freedUnderTarget++;
      p.released = true;
      use.released++;
      p.put = true;
      this.pageUse.delete(page);
      use.held--;
      emit({ t: line.t, ev: 'put', obj: use.id, page, ref: -1 });
      use.held = Math.max(0, use.held);
    } else {
      this.put(use, page, line.t, emit);
    }
    this.maybeDone(use, line.t, emit);
    return true;
  }

  private put(use: Use, page: string, t: number, emit: Emit): void {
    const p = use.pages.get(page);
    if (p === undefined || p.put) return;
    p.put = true;
    use.held--;
    this.pageUse.delete(page);
    emit({ t, ev: 'put', obj: use.id, page, ref: use.held });
  }

  /** Every page handed to TCP released by the target and let go by TCP: the use is over. */
  private maybeDone(use: Use, t: number, emit: Emit): void {
    if (use.done || use.held > 0 || use.released < use.pages.size) return;
    use.done = true;
    emit({ t, ev: 'done', obj: use.id });
    // the target let go after TCP: its release is part of the story, and no finding
    if (use.heldAtRelease === 0) emit({ t, ev: 'free', obj: use.id, reason: 'release' });
    for (const page of use.pages.keys()) {
      const key = `${use.id} ${page}`;
      const n = this.sendCount.get(key) ?? 0;
      this.sendCount.delete(key);
      this.stats.sendsPerPage.set(n, (this.stats.sendsPerPage.get(n) ?? 0) + 1);
    }
    const req = use.id.slice(0, use.id.indexOf('#'));
    if (this.current.get(req) === use) this.current.delete(req);
  }
}

/** Kernel functions the program probes. */
const FUNCTIONS = ['kernel_sendpage', 'tcp_sendpage', '__free_pages', 'free_unref_page'];
/** The targets' own functions: traceable only while their module is loaded (the program probes
 *  them with wildcards, so it loads without them; without either it sees nothing). */
const TARGET_FUNCTIONS = ['nvmet_tcp_queue_response', 'iscsit_fe_sendpage_sg'];

/** In-kernel storage targets (module → what it is, and whether this pack follows it). */
export const TARGET_MODULES: readonly { module: string; what: string; followed: boolean }[] = [
  { module: 'nvmet_tcp', what: 'NVMe/TCP target', followed: true },
  { module: 'iscsi_target_mod', what: 'LIO iSCSI target', followed: true },
];

/** Which in-kernel storage targets are loaded, from the text of /proc/modules. */
export function targetsCheck(procModules: string): Check {
  const loaded = new Set(procModules.split('\n').map((l) => l.split(' ')[0]));
  const seen = TARGET_MODULES.filter((t) => loaded.has(t.module));
  if (seen.length === 0) {
    return { ok: false, detail: `none loaded (${TARGET_MODULES.map((t) => t.module).join(', ')})`, fix: 'the kernel-target pack follows nvmet-tcp once it is loaded and exports a namespace (modprobe nvmet-tcp; configfs or nvmetcli)' };
  }
  return { ok: true, detail: seen.map((t) => `${t.what} (${t.module})${t.followed ? ': followed by kernel-target' : ': not followed yet'}`).join('; ') };
}

/** Where probes/kernel-target.bt reads req->sg (it cannot name struct nvmet_req: that type
 *  exists only while nvmet is loaded). */
export const NVMET_REQ_SG_OFFSET = 40;

/** The program, once the nvmet module's BTF (when loaded) confirms the offset it reads. */
async function chooseVariant(): Promise<PackVariant> {
  const v: PackVariant = { file: 'kernel-target.bt', name: 'sendpage', notes: [] };
  if (!existsSync('/sys/kernel/btf/nvmet')) {
    v.notes.push('nvmet not loaded: nvmet-tcp commands are followed once it is (the program probes it through a wildcard)');
    return v;
  }
  let off: number | undefined;
  try {
    off = liveModuleMember('nvmet', 'nvmet_req', 'sg')?.offset;
  } catch {
    off = undefined;
  }
  if (off !== NVMET_REQ_SG_OFFSET) {
    return { ...v, unusable: { what: `struct nvmet_req.sg is at ${off === undefined ? 'an unknown offset' : `+${off}`} in /sys/kernel/btf/nvmet, not the +${NVMET_REQ_SG_OFFSET} the program reads`, fix: 'a kernel whose nvmet matches 6.1\'s struct nvmet_req (or a program updated for it)' } };
  }
  v.notes.push(`struct nvmet_req.sg at +${off} (/sys/kernel/btf/nvmet), as the program reads it`);
  return v;
}

/** The pack's descriptor, for registry.ts. */
export const kernelTarget: PackDescriptor = {
  name: 'kernel-target',
  description: 'the kernel\'s storage targets (nvmet-tcp, LIO iSCSI) handing their commands\' data pages to TCP: each page from sendpage to its last reference, and the target\'s release (kprobes + BTF; 6.1)',
  holder: '<command address>#<use>: one use of a target command (struct nvmet_req for nvmet-tcp, struct iscsit_cmd for LIO iSCSI; both recycle their commands)',
  file: 'kernel-target.bt',
  requires: [
    { kind: 'kprobes' }, { kind: 'btf' },
    ...FUNCTIONS.map((name) => ({ kind: 'function' as const, name })),
    ...TARGET_FUNCTIONS.map((name) => ({ kind: 'function' as const, name, optional: true })),
  ],
  // never chosen by --pack auto over the packs that follow an application's sends
  priority: 10,
  blindSpots: [
    'nvmet-tcp and LIO iSCSI on kernels before 6.5, which hand pages to TCP with sendpage (from 6.5 both send with sendmsg(MSG_SPLICE_PAGES) and kernel_sendpage is gone)',
    'nvmet-tcp: a command\'s pages are learnt when its response is queued (nvmet_tcp_queue_response): the first 64 scatterlist entries (256 KiB of 4 KiB pages); commands queued before the trace began are not followed',
    'LIO iSCSI: a page is the command\'s when iscsit_fe_sendpage_sg sends it (tcp_sendpage in that call); DataIN sent with a data digest (kernel_sendmsg, a copy) is not zero-copy and not followed',
    'TCP\'s references are read from the page count when the target releases a page (count - 1), not followed one by one: skb clones, splits and the receiver\'s queue on loopback all count; a reference taken by something other than TCP counts as TCP\'s',
    'the target releasing a command while TCP still references its pages is counted, not reported: nvmet-tcp (sgl_free) and LIO (target_free_sgl) free them to the page allocator, whose count keeps them until TCP lets go (memory-safe; no target pool recycles them)',
    'LIO keeps a session\'s last command and its pages until the initiator acknowledges its status (its next command, or a NOP-Out: every 5 s when idle with open-iscsi\'s default): those pages are the target\'s, not TCP\'s, but look the same here: a --leak-after under that interval, or an initiator that never acknowledges, reports that command as a leak, which is why every leak of this pack is uncertain',
    'header and response PDUs (page_frag memory) and the data digest are not followed, only the command\'s data pages',
    'the process is not read (the targets send from kernel threads): lifetimes and bytes are reported per connection (local>remote), not per process',
    'BPF maps hold BPFTRACE_MAP_KEYS_MAX pages (4096 by default: 16 MiB in flight or queued)',
    'a page\'s last free that the kernel did not run the program for (a kprobe firing while another BPF program runs on that CPU, e.g. a softirq freeing an skb inside one; not counted on 6.1): its command stays open until the page is seen in another command (then it ends there), else it ends as an uncertain leak (seen under netem in the lab: 1-2 commands of 256)',
  ],
  createDecoder: () => new KernelTargetDecoder(),
  variant: chooseVariant,
  hostChecks: async () => {
    let text = '';
    try {
      text = readFileSync('/proc/modules', 'utf8');
    } catch {
      // no /proc/modules: a kernel without loadable modules (then none is loaded)
    }
    return { 'storage targets': targetsCheck(text) };
  },
};
