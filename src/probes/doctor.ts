// `zctrace doctor`: what this kernel and host support, and for each pack whether it can run,
// why not, and the fix. The same verdicts decide `--pack auto`.
import type { Check, HostFacts } from './host.js';
import { PACKS } from './registry.js';
import { probePath } from '../util/paths.js';
import { judge, type Verdict } from './requirements.js';
import type { PackDescriptor, PackOptions } from './pack.js';

export interface DoctorReport {
  kernel: string;
  checks: Record<string, Check>;
  tracepoints: { name: string; present: boolean }[];
  packs: (Verdict & { description: string; priority: number; variant?: { name: string; file: string; notes: string[]; aggregateFile?: string } })[];
}

export async function diagnose(h: HostFacts, packs: readonly PackDescriptor[] = PACKS, opts: PackOptions = {}): Promise<DoctorReport> {
  const names = new Set<string>();
  for (const p of packs) for (const r of p.requires) if (r.kind === 'tracepoint') names.add(r.name);
  const verdicts = [];
  const packChecks: Record<string, Check> = {};
  for (const p of packs) {
    const v = await judge(p, h);
    if (p.hostChecks) Object.assign(packChecks, await p.hostChecks(h));
    const variant = v.usable && p.variant ? await p.variant(h, opts) : undefined;
    // A variant can rule the pack out from the kernel's state (netpriv: no callbacks registered).
    if (variant?.unusable) verdicts.push({ ...v, usable: false, reasons: [...v.reasons, variant.unusable], description: p.description, priority: p.priority });
    else verdicts.push({ ...v, description: p.description, priority: p.priority, variant });
  }
  return {
    kernel: h.kernel,
    checks: {
      root: h.root ? { ok: true, detail: 'running as root' } : { ok: false, detail: 'not root', fix: 'run as root' },
      bpftrace: h.bpftrace, tracefs: h.tracefs, btf: h.btf, lockdown: h.lockdown,
      'tracepoint programs': h.tracepointProgs, kprobes: h.kprobes, 'kfunc (fentry)': h.kfunc,
      ...packChecks,
    },
    tracepoints: [...names].sort().map((name) => ({ name, present: h.hasTracepoint(name) })),
    packs: verdicts,
  };
}

/** The usable pack `--pack auto` picks: the highest priority. */
export function bestPack(report: DoctorReport): string | undefined {
  return report.packs.filter((p) => p.usable).sort((a, b) => b.priority - a.priority)[0]?.pack;
}

/** The report for people. */
export function renderDoctor(r: DoctorReport): string {
  const mark = (ok: boolean): string => (ok ? 'ok ' : 'NO ');
  const out = [`zctrace doctor: kernel ${r.kernel}`, ''];
  for (const [name, c] of Object.entries(r.checks)) {
    out.push(`  ${mark(c.ok)} ${name.padEnd(20)} ${c.detail}`);
    if (!c.ok && c.fix) out.push(`      ${''.padEnd(20)} fix: ${c.fix}`);
  }
  const missing = r.tracepoints.filter((t) => !t.present);
  out.push('', `  tracepoints the packs use: ${r.tracepoints.length - missing.length} of ${r.tracepoints.length} present` +
    (missing.length ? ` (missing: ${missing.map((t) => t.name).join(', ')})` : ''));
  out.push('', 'packs:');
  for (const p of r.packs) {
    out.push(`  ${p.usable ? 'usable  ' : 'unusable'} ${p.pack.padEnd(16)} ${p.description}`);
    for (const why of p.reasons) out.push(`           - ${why.what}${why.fix ? `\n             fix: ${why.fix}` : ''}`);
    if (p.variant) {
      // a generated program lives outside probes/ (its path is relative to it)
      const file = p.variant.file.startsWith('..') ? probePath(p.variant.file) : `probes/${p.variant.file}`;
      out.push(`           variant ${p.variant.name} (${file})`);
      for (const n of p.variant.notes) out.push(`           ~ ${n}`);
    }
    for (const d of p.degraded) out.push(`           ~ runs, but: ${d}`);
  }
  const best = bestPack(r);
  out.push('', best ? `--pack auto would use ${best}` : 'no pack can run here: fix one of the reasons above');
  return out.join('\n') + '\n';
}
