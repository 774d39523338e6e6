// `zctrace live` and `zctrace record`: trace this host now.
// The tracing modules are imported when a command runs, not when the CLI starts (main.ts).
import { type Command, Option } from 'commander';
import type { Selected } from '../../probes/select.js';
import type { ProbeFilters } from '../../probes/pack.js';
import { EXIT } from '../exit-codes.js';
import { parseComm, parseDuration, parseIntIn, parseListen, parseSize } from '../options.js';
import type { Rotation } from '../../util/segmented-file.js';
import { addAnalysisOptions, analysisOptions } from './common.js';
import type { PackOptions } from '../../probes/pack.js';
import { UsageError } from '../../util/errors.js';

/** The options that choose and shape the probe program, shared by live and record. */
function addProgramOptions(cmd: Command, aggregateHelp: string): Command {
  return cmd
    .option('--attach-timeout <duration>', 'how long bpftrace may take to attach its probes', '60s')
    .option('--aggregate', aggregateHelp)
    .option('--free-fn <symbol>', 'netpriv pack: the owner\'s command-release function, first argument = the command (default: the known owner\'s, e.g. cmnd_done for iscsi_scst)');
}

/** The pack for this run, and its attach timeout (ms); --free-fn checked (netpriv only). */
async function programFromOptions(o: Record<string, unknown>): Promise<{ sel: Selected; attachTimeoutMs: number }> {
  const attach = parseDuration('--attach-timeout', String(o.attachTimeout));
  const [{ parseFreeFn }, { selectPack }] = await Promise.all([import('../../probes/packs/netpriv.js'), import('../../probes/select.js')]);
  const popts: PackOptions = o.freeFn === undefined ? {} : { freeFn: parseFreeFn('--free-fn', String(o.freeFn)) };
  const sel = await selectPack(String(o.pack), o.aggregate === true, popts);
  if (popts.freeFn !== undefined && sel.pack.name !== 'netpriv') {
    throw new UsageError(`--free-fn applies to the netpriv pack only (this run uses ${sel.pack.name})`, 'add --pack netpriv, or drop --free-fn');
  }
  return { sel, attachTimeoutMs: attach / 1e6 };
}

/** --pid/--port/--comm, shared by live, record and demo. */
export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--pid <pid>', 'only this process')
    .option('--port <port>', 'only TCP connections with this local or remote port')
    .option('--comm <name>', 'only processes with this name (1-15 characters: A-Z a-z 0-9 _ . : -)');
}

export function filters(o: Record<string, unknown>): ProbeFilters {
  return {
    pid: o.pid === undefined ? undefined : parseIntIn('--pid', String(o.pid), 1, 4194304),
    port: o.port === undefined ? undefined : parseIntIn('--port', String(o.port), 1, 65535),
    comm: o.comm === undefined ? undefined : parseComm('--comm', String(o.comm)),
  };
}

/** The rotation policy of --record or --output from their -max-size/-max-age/-keep flags (none without a size or age). */
function rotation(o: Record<string, unknown>, which: 'record' | 'output'): Rotation | undefined {
  const size = o[`${which}MaxSize`], age = o[`${which}MaxAge`];
  const keep = parseIntIn(`--${which}-keep`, String(o[`${which}Keep`]), 1, 100000);
  if (size === undefined && age === undefined) {
    if (o[`${which}Keep`] !== '10') throw new UsageError(`--${which}-keep needs --${which}-max-size or --${which}-max-age`);
    return undefined;
  }
  if (o[which] === undefined) throw new UsageError(`--${which}-max-size and --${which}-max-age need --${which} FILE`);
  return {
    maxBytes: size === undefined ? undefined : parseSize(`--${which}-max-size`, String(size)),
    maxAgeMs: age === undefined ? undefined : parseDuration(`--${which}-max-age`, String(age)) / 1e6,
    keep,
  };
}

/** --metrics-per socket,process. */
function metricsPer(v: unknown): { socket?: boolean; process?: boolean } {
  if (v === undefined) return {};
  const out: { socket?: boolean; process?: boolean } = {};
  for (const w of String(v).split(',').map((x) => x.trim()).filter(Boolean)) {
    if (w === 'socket' || w === 'sock') out.socket = true;
    else if (w === 'process' || w === 'proc') out.process = true;
    else throw new UsageError(`--metrics-per: unknown table "${w}"`, 'use socket, process, or socket,process');
  }
  return out;
}

export function registerLive(program: Command): void {
  const live = program.command('live')
    .description('trace this host now: the dashboard on a terminal (else status lines), a report at the end; or NDJSON records (--headless)')
    .addOption(new Option('--pack <name>', 'probe pack, or auto: the best one this kernel can run (see doctor)').default('auto'))
    .option('--headless', 'NDJSON records on stdout: findings as they occur, stats every --interval, a summary last')
    .option('--dashboard <name>', 'dashboard layout (the default output on a terminal): default, compact (80x24), or a .json layout file')
    .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)')
    .option('--interval <duration>', 'period of stats records with --headless', '10s')
    .option('--record <file>', 'also record the events to a trace file (replay reads it)')
    .option('--force', 'overwrite the --record and --output files (not needed when they rotate: an existing file becomes a segment)')
    .option('--record-max-size <size>', 'rotate the --record file before it passes this size (e.g. 100MB): a new file, with the header, keeps the trace going')
    .option('--record-max-age <duration>', 'rotate the --record file when it is this old (e.g. 1h)')
    .option('--record-keep <n>', 'with rotation: files of the recording kept, the active one included; the oldest go', '10')
    .option('--output <file>', 'write the NDJSON records (as --headless) to this file instead of stdout, for a log shipper (*.gz to compress)')
    .option('--output-max-size <size>', 'rotate the --output file before it passes this size')
    .option('--output-max-age <duration>', 'rotate the --output file when it is this old')
    .option('--output-keep <n>', 'with rotation: --output files kept, the active one included', '10')
    .option('--metrics <[host:]port>', 'serve Prometheus metrics at http://HOST:PORT/metrics (a bare port listens on 127.0.0.1 only)')
    .option('--metrics-per <tables>', 'also export per-socket and/or per-process series: socket, process, or socket,process (bounded to 1024 rows each; process labels carry pids)')
    .addOption(new Option('--mode <mode>', 'match: sends are matched to their completions in the kernel, only what needs judging (and counts each second) reaches zctrace, for packs that can (msgzc-syscalls); stream: one line per event (debugging, full-fidelity --record)').choices(['match', 'stream']).default('match'));
  addProgramOptions(live, 'count references in BPF maps and send only lifetime edges (heavy traffic; packs that have it)');
  addFilterOptions(live);
  addAnalysisOptions(live);
  live.action(async (o: Record<string, unknown>) => {
    const [{ runLive }, { chooseLiveOutput }] = await Promise.all([import('../../run/live.js'), import('../../sinks/dashboard/choose.js')]);
    const a = analysisOptions(o);
    const f = filters(o);
    // Decided (and the terminal checked) before bpftrace starts: a bad terminal costs nothing.
    const out = chooseLiveOutput(o.headless === true || o.output !== undefined, o.dashboard === undefined ? undefined : String(o.dashboard));
    const duration = o.duration === undefined ? undefined : parseDuration('--duration', String(o.duration));
    const interval = parseDuration('--interval', String(o.interval));
    // checked before bpftrace or the pack selection: a bad flag costs nothing
    const recordRotate = rotation(o, 'record');
    const outputRotate = rotation(o, 'output');
    if (o.metrics === undefined && o.metricsPer !== undefined) throw new UsageError('--metrics-per needs --metrics');
    const metrics = o.metrics === undefined ? undefined : { ...parseListen('--metrics', String(o.metrics)), per: metricsPer(o.metricsPer) };
    const { sel, attachTimeoutMs } = await programFromOptions(o);
    const r = await runLive({
      ...a, pack: sel.pack, file: sel.file, filters: f, output: out.output, dashboard: out.layout, durationNs: duration, intervalNs: interval,
      attachTimeoutMs, mode: o.mode === 'stream' ? 'stream' : 'match',
      record: o.record ? { path: String(o.record), force: o.force === true, command: `zctrace ${process.argv.slice(2).join(' ')}`, rotate: recordRotate } : undefined,
      recordsFile: o.output ? { path: String(o.output), force: o.force === true, rotate: outputRotate } : undefined,
      metrics,
    });
    process.exitCode = r.failHit ? EXIT.findings : EXIT.ok;
  });

  const record = program.command('record')
    .description('capture events to a trace file for later `replay` (a status line while it runs)')
    .requiredOption('--pack <name>', 'probe pack (or auto)')
    .requiredOption('-o, --output <file>', 'trace file (*.gz to compress)')
    .option('--duration <duration>', 'stop after this long (default: until Ctrl-C)')
    .option('--force', 'overwrite the output file');
  addProgramOptions(record, 'record lifetime edges counted in BPF maps instead of every reference (packs that have it)');
  addFilterOptions(record);
  record.action(async (o: Record<string, unknown>) => {
    const { runLive } = await import('../../run/live.js');
    const f = filters(o);
    const duration = o.duration === undefined ? undefined : parseDuration('--duration', String(o.duration));
    const { sel, attachTimeoutMs } = await programFromOptions(o);
    await runLive({
      leakAfterNs: 10e9, pack: sel.pack, file: sel.file, filters: f, output: 'quiet', durationNs: duration, intervalNs: 10e9, attachTimeoutMs,
      record: { path: String(o.output), force: o.force === true, command: `zctrace ${process.argv.slice(2).join(' ')}` },
    });
    process.exitCode = EXIT.ok;
  });
}
