// Whether a pack can run on this host, and if not, every reason with its fix (doctor prints
// them; `live` refuses an unusable pack with the first one).
import type { HostFacts } from './host.js';
import type { PackDescriptor, Requirement } from './pack.js';

export interface Verdict {
  pack: string;
  usable: boolean;
  reasons: { what: string; fix?: string }[];
  /** Optional requirements that are missing: the pack runs but sees less. */
  degraded: string[];
}

async function check(r: Requirement, h: HostFacts): Promise<{ ok: boolean; what: string; fix?: string }> {
  switch (r.kind) {
    case 'tracepoint':
      return h.hasTracepoint(r.name)
        ? { ok: true, what: '' }
        : { ok: false, what: `tracepoint ${r.name} is missing`, fix: h.tracefs.ok ? 'a newer kernel (or one built with that subsystem)' : h.tracefs.fix };
    case 'btf':
      return { ok: h.btf.ok, what: h.btf.detail, fix: h.btf.fix };
    case 'kprobes':
      return { ok: h.kprobes.ok, what: `kprobes: ${h.kprobes.detail}`, fix: h.kprobes.fix };
    case 'kfunc':
      return { ok: h.kfunc.ok, what: `kfunc: ${h.kfunc.detail}`, fix: h.kfunc.fix };
    case 'function':
      return h.hasFunction(r.name)
        ? { ok: true, what: '' }
        : { ok: false, what: `kernel function ${r.name} is not traceable here (absent or inlined)`, fix: 'a kernel where it exists (doctor shows which variant was chosen)' };
    case 'btf_member':
      return (await h.hasBtfMember(r.struct, r.member))
        ? { ok: true, what: '' }
        : { ok: false, what: `struct ${r.struct} has no ${r.member} in BTF`, fix: 'a kernel with that field (see the pack description)' };
  }
}

/** The verdict for one pack. Root and bpftrace are needed by every pack. */
export async function judge(pack: PackDescriptor, h: HostFacts): Promise<Verdict> {
  const reasons: Verdict['reasons'] = [];
  const degraded: string[] = [];
  if (!h.root) reasons.push({ what: 'not running as root', fix: 'run as root' });
  if (!h.bpftrace.ok) reasons.push({ what: 'bpftrace is not installed', fix: h.bpftrace.fix });
  const tried = !h.tracepointProgs.detail.startsWith('not checked');
  if (tried && !h.tracepointProgs.ok && pack.requires.some((r) => r.kind === 'tracepoint') && h.root && h.bpftrace.ok) {
    reasons.push({ what: `tracepoint programs: ${h.tracepointProgs.detail}`, fix: h.tracepointProgs.fix });
  }
  const results = await Promise.all(pack.requires.map((r) => check(r, h)));
  for (const [i, r] of pack.requires.entries()) {
    const c = results[i];
    if (c.ok) continue;
    if (r.kind === 'function' && r.optional) degraded.push(c.what);
    else reasons.push({ what: c.what, fix: c.fix });
  }
  return { pack: pack.name, usable: reasons.length === 0, reasons, degraded };
}
