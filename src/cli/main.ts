// The zctrace command line: builds the commands, runs one, and is the one place that turns an
// error into a message and an exit status (exit-codes.ts). Everything else only throws.
import { Command, CommanderError } from 'commander';
import { ZctraceError } from '../util/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { registerReplay } from './commands/replay.js';
import { registerSynth } from './commands/synth.js';
import { registerDoctor } from './commands/doctor.js';
import { registerProbes } from './commands/probes.js';
import { registerLive } from './commands/live.js';
import { registerDemo } from './commands/demo.js';
import { registerExport } from './commands/export.js';
import { packageVersion } from '../util/paths.js';

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

async function main(): Promise<void> {
  try {
    await program.parseAsync(process.argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // commander has printed its message (or the help) already.
      process.exitCode = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0 ? EXIT.ok : EXIT.usage;
      return;
    }
    const debug = program.opts().debug === true;
    if (err instanceof ZctraceError) {
      process.stderr.write(`zctrace: ${err.message}\n`);
      if (err.hint) process.stderr.write(`  hint: ${err.hint}\n`);
      if (debug) process.stderr.write(`${err.stack}\n`);
    } else {
      const e = err as Error;
      process.stderr.write(`zctrace: internal error: ${e?.message ?? String(err)}\n`);
      process.stderr.write(debug ? `${e?.stack}\n` : '  (run with --debug for the stack trace)\n');
    }
    process.exitCode = exitCodeFor(err);
  }
}

await main();
