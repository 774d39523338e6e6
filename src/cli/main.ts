// The zctrace command line: runs one command of program.ts, and is the one place that turns an
// error into a message and an exit status (exit-codes.ts). Everything else only throws.
import { CommanderError } from 'commander';
import { ZctraceError } from '../util/errors.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { buildProgram } from './program.js';

const program = buildProgram();

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
