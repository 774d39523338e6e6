// `zctrace probes list|show NAME`: the bundled packs and what each one traces.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../../util/errors.js';
import { probePath } from '../../util/paths.js';

/** The program's header: its leading comment block. */
export function programHeader(file: string): string {
  const lines = readFileSync(probePath(file), 'utf8').split('\n');
  const out: string[] = [];
  for (const l of lines) {
    if (l.startsWith('#!')) continue;
    if (!/^\s*(\/\/|\/\*|\*)/.test(l) && l.trim() !== '') break;
    out.push(l.replace(/^\s*(\/\/ ?|\/\*+ ?|\*\/|\* ?)/, ''));
  }
  return out.join('\n').trim();
}

export function registerProbes(program: Command): void {
  const probes = program.command('probes').description('list the bundled probe packs, or show one');
  probes.command('list')
    .description('one line per pack')
    .action(async () => {
      // Imported here, not when the CLI starts (main.ts).
      const { PACKS } = await import('../../probes/registry.js');
      for (const p of PACKS) process.stdout.write(`${p.name.padEnd(16)} ${p.description}\n${''.padEnd(16)} holder: ${p.holder}\n`);
    });
  probes.command('show')
    .description("a pack's program header, requirements and blind spots")
    .argument('<name>', 'pack name (see probes list)')
    .action(async (name: string) => {
      const { findPack, PACKS } = await import('../../probes/registry.js');
      const p = findPack(name);
      if (!p) throw new UsageError(`no pack named "${name}"`, `packs: ${PACKS.map((x) => x.name).join(', ')}`);
      const req = p.requires.map((r) => ('name' in r ? `${r.kind} ${r.name}` : r.kind === 'btf_member' ? `BTF ${r.struct}.${r.member}` : r.kind)).join(', ');
      process.stdout.write(`${p.name}: ${p.description}\nholder: ${p.holder}\nprogram: probes/${p.file}\nrequires: ${req}\n` +
        `cannot see:\n${p.blindSpots.map((b) => `  - ${b}`).join('\n')}\n\n${programHeader(p.file)}\n`);
    });
}
