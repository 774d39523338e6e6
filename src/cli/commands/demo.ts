// `zctrace demo`: the first thing to run: a bundled zero-copy workload traced live.
// The run's modules are imported when the command runs, not when the CLI starts (main.ts).
import { type Command, Option } from 'commander';
import { EXIT } from '../exit-codes.js';
import { ProbeUnusableError } from '../../util/errors.js';
import { parseChoice, parseDuration, parseIntIn, parseKinds } from '../options.js';

export function registerDemo(program: Command): void {
  program.command('demo')
    .description('run a bundled zero-copy sender and receiver on loopback and trace them live (optionally with a fault)')
    .addOption(new Option('--fault <fault>', 'inject: none, leak (never reap completions), early-free (unmap before completion), rewrite (change the bytes and resend before completion; alias reuse), rewrite-quiet (change the bytes in place, never resend), read-into (read(2) into the in-flight buffer); resend (send unchanged bytes again while in flight: correct, no finding)').default('none'))
    .option('--headless', 'NDJSON records on stdout instead of the dashboard (or status lines) and the report')
    .option('--dashboard <name>', 'dashboard layout (the default output on a terminal): default, compact (80x24), or a .json layout file')
    .option('--duration <duration>', 'stop after this long even if the workload still runs')
    .option('--count <n>', 'zero-copy sends the workload makes', '64')
    .option('--slow-receiver', 'the receiver reads slowly, keeping buffers in flight')
    .addOption(new Option('--pack <name>', 'probe pack, or auto (the best this kernel can run)').default('auto'))
    .option('--leak-after <duration>', 'age at which an open lifetime is a leak', '3s')
    .option('--fail-on <kinds>', 'exit 3 if a finding of these kinds occurs')
    .option('--attach-timeout <duration>', 'how long bpftrace may take to attach its probes', '60s')
    .action(async (o: Record<string, unknown>) => {
      const [{ FAULTS, runDemo }, { selectPack }, { chooseLiveOutput }] = await Promise.all([
        import('../../run/demo.js'), import('../../probes/select.js'), import('../../sinks/dashboard/choose.js'),
      ]);
      const fault = parseChoice('--fault', String(o.fault), FAULTS);
      // Decided before bpftrace starts: a terminal too small costs nothing.
      const out = chooseLiveOutput(o.headless === true, o.dashboard === undefined ? undefined : String(o.dashboard));
      const leakAfterNs = parseDuration('--leak-after', String(o.leakAfter));
      const failOn = o.failOn === undefined ? undefined : parseKinds('--fail-on', String(o.failOn));
      const durationNs = o.duration === undefined ? undefined : parseDuration('--duration', String(o.duration));
      const count = parseIntIn('--count', String(o.count), 1, 1_000_000);
      const attach = parseDuration('--attach-timeout', String(o.attachTimeout));
      const selected = await selectPack(String(o.pack)).catch((err: unknown) => {
        // No live tracing here: point at what still works without a kernel.
        if (err instanceof ProbeUnusableError) {
          throw new ProbeUnusableError(err.pack, err.message.replace(/^pack [^:]+: /, ''),
            `${err.hint ?? 'run `zctrace doctor`'}; meanwhile \`zctrace replay examples/demo.trace.gz\` shows the analysis on a bundled trace`);
        }
        throw err;
      });
      const { live, workload } = await runDemo({
        selected, fault, count, output: out.output, dashboard: out.layout, leakAfterNs, failOn, durationNs,
        slowReceiver: o.slowReceiver === true, attachTimeoutMs: attach / 1e6,
      });
      if (workload) {
        // The workload's own accounting beside zctrace's (on stderr with --headless, so stdout stays NDJSON).
        const line = `demo: the workload counted ${String(workload.sends)} zero-copy sends and ${String(workload.completions)} completions; ` +
          `zctrace saw ${live.submits} submits and ${live.completions} completions` +
          `${Array.isArray(workload.faulted_ids ?? workload.faulted) ? `; faults injected on ${JSON.stringify(workload.faulted_ids ?? workload.faulted)}` : ''}\n` +
          `demo: workload accounting ${JSON.stringify(workload)}\n`;
        if (o.headless) process.stderr.write(line);
        else process.stdout.write(`\n${line}`);
      }
      process.exitCode = live.failHit ? EXIT.findings : EXIT.ok;
    });
}
