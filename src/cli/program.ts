// The zctrace program: every command with its flags and help, built without running anything.
// main.ts runs it; test/cli/help-readme.test.ts holds each command's help to the README's table.
import { Command } from 'commander';
import { registerReplay } from './commands/replay.js';
import { registerSynth } from './commands/synth.js';
import { registerDoctor } from './commands/doctor.js';
import { registerProbes } from './commands/probes.js';
import { registerLive } from './commands/live.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { packageVersion } from '../util/paths.js';

/** A fresh program with every command registered. */
export function buildProgram(): Command {
  const program = new Command('zctrace')
    .description('Page reference counting in TCP zero-copy transmit: which buffers TCP still holds, for how long,\nand the buffers that leak or are freed while TCP still references them.')
    .version(packageVersion())
    .option('--debug', 'print stack traces of errors')
    .option('--log-level <level>', 'diagnostics of zctrace itself on stderr, as JSON (trace, debug, info, warn)')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  program.hook('preAction', async (cmd) => {
    const level = cmd.optsWithGlobals().logLevel as string | undefined;
    // The logger (pino) is loaded only when asked for here; the modules that log import it.
    if (level) (await import('../util/log.js')).setLogLevel(level);
  });

  registerDemo(program);
  registerDoctor(program);
  registerProbes(program);
  registerLive(program);
  registerReplay(program);
  registerSynth(program);
  registerExport(program);

  program.addHelpText('after', `
Exit status: 0 ok, 1 tracing failed (bpftrace died, pack unusable, disk full), 2 bad usage or input,
3 a finding of a --fail-on kind occurred.
Start with: zctrace demo        (or: zctrace replay examples/demo.trace.gz)`);
  return program;
}
