// `zctrace replay FILE`: post-mortem analysis of a recorded (or synthetic) trace.
// What a replay runs is imported when it runs, not when the CLI starts (main.ts): a replay
// without --tui never loads the dashboard's modules (blessed, ajv for layouts).
import { type Command, Option } from 'commander';
import { UsageError } from '../../util/errors.js';
import { EXIT } from '../exit-codes.js';
import { parseChoice, parseDuration, parseSpeed } from '../options.js';
import { addAnalysisOptions, analysisOptions } from './common.js';

export function registerReplay(program: Command): void {
  const cmd = program.command('replay')
    .description('analyse a trace file: a report (default), NDJSON records (--json), or the dashboard (--tui)')
    .argument('<files...>', 'trace file (NDJSON, gzip when named *.gz); or the files, or the directory, of a rotated capture: read in order as one trace')
    .option('--json', 'NDJSON records on stdout (findings as they occur, a summary last)')
    .addOption(new Option('--on-bad-line <mode>', 'what to do with a malformed line: error, skip, warn').default('error'))
    .option('--time-tolerance <duration>', 'how far time may step back between lines before a line is bad', '1s')
    .option('--no-progress', 'no progress line on stderr')
    // the dashboard (--tui) and its pace
    .option('--tui', 'the terminal dashboard, replaying at --speed (keys: ? for help)')
    .option('--dashboard <name>', 'dashboard layout with --tui: default, compact (80x24), or a .json layout file')
    .option('--speed <speed>', 'with --tui: a factor of the trace\'s real time (1x, 10x, 0.5x) or max', '1x');
  addAnalysisOptions(cmd);
  cmd.action(async (files: string[], o: Record<string, string | boolean>) => {
    const file = files[0];
    if (o.tui === true) {
      if (files.length > 1) throw new UsageError('--tui replays one file', 'give one trace file');
      if (o.json === true) throw new UsageError('--tui and --json do not go together', 'drop one of them');
      // Loaded only here: blessed-contrib takes most of a second to import.
      const [{ replayTui }, { loadLayout }] = await Promise.all([import('../../run/tui-replay.js'), import('../../sinks/dashboard/layout.js')]);
      const r = await replayTui({
        file, ...analysisOptions(o),
        onBadLine: parseChoice('--on-bad-line', String(o.onBadLine), ['error', 'skip', 'warn'] as const),
        timeToleranceNs: parseDuration('--time-tolerance', String(o.timeTolerance)),
        layout: loadLayout(o.dashboard === undefined ? 'default' : String(o.dashboard)),
        speed: parseSpeed('--speed', String(o.speed)),
      });
      process.stdout.write(`${r.summary}\n`);
      process.exitCode = r.failHit ? EXIT.findings : EXIT.ok;
      return;
    }
    if (o.dashboard !== undefined) throw new UsageError('--dashboard needs --tui');
    if (cmd.getOptionValueSource('speed') === 'cli') throw new UsageError('--speed needs --tui');
    const { replayFile } = await import('../../run/replay.js');
    const { failHit } = await replayFile(files, {
      ...analysisOptions(o),
      json: o.json === true,
      onBadLine: parseChoice('--on-bad-line', String(o.onBadLine), ['error', 'skip', 'warn'] as const),
      timeToleranceNs: parseDuration('--time-tolerance', String(o.timeTolerance)),
      progress: o.progress !== false && o.json !== true,
    });
    process.exitCode = failHit ? EXIT.findings : EXIT.ok;
  });
}
