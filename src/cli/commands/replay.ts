// `zctrace replay FILE`: post-mortem analysis of a recorded (or synthetic) trace.
import { type Command, Option } from 'commander';
import { replayFile } from '../../run/replay.js';
import { EXIT } from '../exit-codes.js';
import { parseChoice, parseDuration } from '../options.js';
import { addAnalysisOptions, analysisOptions } from './common.js';

export function registerReplay(program: Command): void {
  const cmd = program.command('replay')
    .description('analyse a trace file: a report (default) or NDJSON records (--json)')
    .argument('<file>', 'trace file (NDJSON, gzip when named *.gz)')
    .option('--json', 'NDJSON records on stdout (findings as they occur, a summary last)')
    .addOption(new Option('--on-bad-line <mode>', 'what to do with a malformed line: error, skip, warn').default('error'))
    .option('--time-tolerance <duration>', 'how far time may step back between lines before a line is bad', '1s')
    .option('--no-progress', 'no progress line on stderr');
  addAnalysisOptions(cmd);
  cmd.action(async (file: string, o: Record<string, string | boolean>) => {
    const { failHit } = await replayFile(file, {
      ...analysisOptions(o),
      json: o.json === true,
      onBadLine: parseChoice('--on-bad-line', String(o.onBadLine), ['error', 'skip', 'warn'] as const),
      timeToleranceNs: parseDuration('--time-tolerance', String(o.timeTolerance)),
      progress: o.progress !== false && o.json !== true,
    });
    process.exitCode = failHit ? EXIT.findings : EXIT.ok;
  });
}
