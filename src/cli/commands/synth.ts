// `zctrace synth`: writes a synthetic trace with chosen faults (examples, benchmarks, trying
// the tool without a kernel). The header says it is synthetic and how it was made.
import type { Command } from 'commander';
import type { SynthFault } from '../../trace/synthetic.js';
import { UsageError } from '../../util/errors.js';
import { parseIntIn, parseKinds } from '../options.js';

export function registerSynth(program: Command): void {
  program.command('synth')
    .description('write a synthetic trace with injected faults (for trying zctrace without a kernel)')
    .requiredOption('-o, --output <file>', 'trace file to write (*.gz to compress)')
    .option('--events <n>', 'about how many events', '10000')
    .option('--faults <kinds>', 'faults to inject, one holder each (leak, early_free, use_after_free, underflow, copy_fallback)', '')
    .option('--seed <n>', 'random seed (same seed, same trace)', '1')
    .option('--rate <n>', 'events per second of trace time', '1000')
    .option('--concurrency <n>', 'holders in flight at once', '32')
    .option('--lost-at <percent>', 'insert a lost-events record at this point of the trace (0-100)')
    .option('--force', 'overwrite the output file')
    .action(async (o: Record<string, string | boolean>) => {
      // Imported here, not when the CLI starts (main.ts).
      const [{ newHeader }, { synthesize }, { TraceWriter }] = await Promise.all([
        import('../../trace/header.js'), import('../../trace/synthetic.js'), import('../../trace/writer.js'),
      ]);
      const faults: SynthFault[] = [];
      if (o.faults) {
        for (const k of String(o.faults).split(',')) {
          const [kind] = [...parseKinds('--faults', k)];
          if (kind === 'enobufs') throw new UsageError('--faults: enobufs cannot be synthesized');
          faults.push(kind as SynthFault);
        }
      }
      const opts = {
        events: parseIntIn('--events', String(o.events), 1, 1e9),
        seed: parseIntIn('--seed', String(o.seed), 0, 2 ** 31),
        rate: parseIntIn('--rate', String(o.rate), 1, 1e9),
        concurrency: parseIntIn('--concurrency', String(o.concurrency), 1, 100000),
        faults,
        lostAt: o.lostAt === undefined ? 0 : parseIntIn('--lost-at', String(o.lostAt), 0, 100) / 100,
      };
      const args = process.argv.slice(2).filter((a) => a !== '--force').join(' ');
      const file = String(o.output);
      const w = TraceWriter.create(file, newHeader({ pack: 'synthetic', generated: `zctrace ${args}`, t0: '0', host: undefined, kernel: undefined }), { force: o.force === true });
      const injected = synthesize(opts, (e) => w.write(e));
      w.close();
      if (w.failed) throw w.failed;
      process.stdout.write(JSON.stringify({ file, events: w.events, injected }) + '\n');
    });
}
