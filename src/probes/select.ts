// Picks the pack a live run uses: a named one if this host can run it, or with `auto` the
// usable pack of highest priority; otherwise an error that says why and what would fix it.
import { ProbeUnusableError, UsageError } from '../util/errors.js';
import { bestPack, diagnose } from './doctor.js';
import { hostFacts, type ProgramKind } from './host.js';
import type { PackDescriptor, PackOptions } from './pack.js';
import { findPack, PACKS } from './registry.js';

/**
 * The program types worth a trial load before choosing: kprobes and kfunc, which decide between
 * packs. A tracepoint program that cannot load is reported clearly by bpftrace itself, so it
 * is not tried first (each trial costs seconds on a busy host; doctor still tries all).
 */
function kindsFor(packs: readonly PackDescriptor[]): ProgramKind[] {
  const k = new Set<ProgramKind>();
  for (const p of packs) {
    for (const r of p.requires) {
      if (r.kind === 'kprobes') k.add('kprobe');
      if (r.kind === 'kfunc') k.add('kfunc');
    }
  }
  return [...k];
}

/** The chosen pack and the program file to run. */
export interface Selected {
  pack: PackDescriptor;
  file: string;
  variant?: string;
}

export async function selectPack(name: string, aggregate = false, opts: PackOptions = {}): Promise<Selected> {
  const candidates = name === 'auto' ? PACKS : [findPack(name)].filter((p): p is PackDescriptor => p !== undefined);
  if (candidates.length === 0) {
    throw new UsageError(`--pack: no pack named "${name}"`, `packs: ${PACKS.map((p) => p.name).join(', ')}, or auto`);
  }
  const facts = await hostFacts(kindsFor(candidates));
  const report = await diagnose(facts, aggregate ? candidates.filter((p) => p.aggregateFile) : candidates, opts);
  if (aggregate && report.packs.length === 0) {
    throw new UsageError('--aggregate: no such pack has an in-kernel aggregation program', `packs with one: ${PACKS.filter((p) => p.aggregateFile).map((p) => p.name).join(', ') || 'none'}`);
  }
  const chosen = name === 'auto' ? bestPack(report) : report.packs[0].usable ? name : undefined;
  if (chosen !== undefined) {
    const pack = findPack(chosen)!;
    const v = report.packs.find((p) => p.pack === chosen)?.variant;
    if (aggregate) return { pack, file: v?.aggregateFile ?? pack.aggregateFile!, variant: 'aggregate' };
    return { pack, file: v?.file ?? pack.file, variant: v?.name };
  }
  const first = report.packs[0];
  if (name === 'auto') {
    throw new ProbeUnusableError('auto', `no pack can run here (${report.packs.map((p) => `${p.pack}: ${p.reasons[0]?.what}`).join('; ')})`, 'run `zctrace doctor` for every reason and fix');
  }
  throw new ProbeUnusableError(name, first.reasons.map((r) => r.what).join('; '), first.reasons.find((r) => r.fix)?.fix ?? 'run `zctrace doctor`');
}
