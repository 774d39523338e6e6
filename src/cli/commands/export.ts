// `zctrace export --format perfetto TRACE...`: a timeline for ui.perfetto.dev.
import { type Command, Option } from 'commander';
import { EXIT } from '../exit-codes.js';
import { parseDuration } from '../options.js';

export function registerExport(program: Command): void {
  program.command('export')
    .description('write a trace as a timeline: Chrome trace-event JSON that ui.perfetto.dev opens (a track per socket, a slice per holder lifetime, findings as instants, bytes in flight as a counter)')
    .argument('<files...>', 'trace file, or the files or directory of a rotated capture')
    .addOption(new Option('--format <format>', 'output format').choices(['perfetto']).makeOptionMandatory())
    .option('-o, --output <file>', 'output file (default: stdout)')
    .option('--force', 'overwrite the output file')
    .option('--leak-after <duration>', 'age at which an open lifetime is a leak (as in replay)', '10s')
    .action(async (files: string[], o: Record<string, unknown>) => {
      const { exportPerfetto } = await import('../../run/export.js');
      const r = await exportPerfetto(files, {
        leakAfterNs: parseDuration('--leak-after', String(o.leakAfter)),
        output: o.output === undefined ? undefined : String(o.output), force: o.force === true,
      });
      if (o.output !== undefined && o.output !== '-') {
        process.stderr.write(`zctrace: wrote ${o.output}: ${r.lifetimes} lifetimes, ${r.findings} findings from ${r.events} events; open it in ui.perfetto.dev\n`);
      }
      process.exitCode = EXIT.ok;
    });
}
