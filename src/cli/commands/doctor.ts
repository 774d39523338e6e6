// `zctrace doctor`: what this kernel supports for zero-copy tracing, and each pack's verdict.
// The probing modules are imported when the command runs, not when the CLI starts (main.ts).
import type { Command } from 'commander';
import { EXIT } from '../exit-codes.js';

export function registerDoctor(program: Command): void {
  program.command('doctor')
    .description('check what this kernel supports (BTF, kprobes, tracepoints, bpftrace, privileges) and which packs can run')
    .option('--json', 'one JSON object instead of the report')
    .action(async (o: { json?: boolean }) => {
      const [{ diagnose, renderDoctor }, { hostFacts }] = await Promise.all([import('../../probes/doctor.js'), import('../../probes/host.js')]);
      const report = await diagnose(await hostFacts());
      process.stdout.write(o.json ? JSON.stringify(report, null, 2) + '\n' : renderDoctor(report));
      // Scripts can ask "can anything run here?": 0 when at least one pack is usable.
      process.exitCode = report.packs.some((p) => p.usable) ? EXIT.ok : EXIT.failure;
    });
}
