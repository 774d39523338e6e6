// What a netpriv run must show for one zcsim run, judged against zcsim's own accounting
// (/proc/zcsim: its callback counters and the command each fault was injected on). Used by the
// lab test (zctrace live in a guest) and by the replay tests of the committed captures
// (test/fixtures/netpriv), so both hold the pack to the same standard.
import { Engine } from '../../src/engine/engine.js';
import type { EngineRecord, Finding, ZcEvent } from '../../src/engine/types.js';
import { ProbeParser } from '../../src/probes/parse.js';
import { NetprivDecoder } from '../../src/probes/packs/netpriv-decoder.js';

/** The fault modes of zcsim (lab/kernel/zcsim) and zctarget (lab/kernel/zctarget: early_release). */
export type Mode = 'none' | 'leak' | 'underflow' | 'early_free' | 'early_release';

/** What /proc/zcsim (or /proc/zctarget) said after the run. */
export interface ZcsimProc {
  fault: Mode;
  gets: number;
  puts: number;
  created: number;
  /** Commands finished: zcsim's done, zctarget's released (what the free function saw). */
  done: number;
  underflows: number;
  /** The faulted commands: kind and address (as the probes print it). */
  faults: { kind: string; ptr: string }[];
}

/** Parses /proc/zcsim or /proc/zctarget. */
export function parseProc(text: string): ZcsimProc {
  const num = (re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN);
  const faults = [...text.matchAll(/^(leak|underflow|early_free|early_release) (?:cmd|itt)=\d+ ptr=(0x[0-9a-f]+)/gm)].map((m) => ({ kind: m[1], ptr: m[2] }));
  return {
    fault: (/params: .*fault=(\w+)/.exec(text)?.[1] ?? 'none') as Mode,
    gets: num(/callbacks: gets=(\d+)/), puts: num(/callbacks: gets=\d+ puts=(\d+)/),
    created: num(/commands: created=(\d+)/), done: num(/commands: created=\d+ (?:done|released)=(\d+)/),
    underflows: num(/anomalies: underflows=(\d+)/), faults,
  };
}

/** Counts of the program's event lines in a raw capture. */
export function lineCounts(raw: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of raw.split('\n')) {
    const tab = l.indexOf('\t');
    if (tab > 0) out[l.slice(0, tab)] = (out[l.slice(0, tab)] ?? 0) + 1;
  }
  return out;
}

/** The finding each fault must produce, and the kinds it may bring along on the same command. */
const EXPECTED: Record<Exclude<Mode, 'none'>, { kind: string; allowed: string[] }> = {
  leak: { kind: 'leak', allowed: ['leak'] },
  underflow: { kind: 'underflow', allowed: ['underflow'] },
  // the stack's puts after the early free land on the freed command: use after free, same command
  early_free: { kind: 'early_free', allowed: ['early_free', 'use_after_free'] },
  // zctarget: released while TCP still holds a page; it cleared net_priv at its (early) zero, so
  // the stack's last puts call no callback: the references seen taken stay open, a leak too
  early_release: { kind: 'early_free', allowed: ['early_free', 'leak', 'use_after_free'] },
};

/** What is wrong with the findings of one run (empty: all good). */
export function judgeFindings(proc: ZcsimProc, findings: { kind: string; obj: string; uncertain?: boolean }[]): string[] {
  const problems: string[] = [];
  const got = findings.map((f) => `${f.kind} ${f.obj}${f.uncertain === true ? ' (uncertain)' : ''}`);
  // an uncertain finding claims nothing (without the owner's count, a callback the kernel
  // skipped looks like a double put): only certain ones may not be wrong
  const certain = findings.filter((f) => f.uncertain !== true);
  if (proc.fault === 'none') {
    if (certain.length > 0) problems.push(`clean run, yet findings: ${got.join('; ')}`);
    return problems;
  }
  const exp = EXPECTED[proc.fault];
  if (proc.faults.length !== 1) return [`zcsim lists ${proc.faults.length} faulted commands, expected 1`];
  const ptr = proc.faults[0].ptr;
  if (!findings.some((f) => f.kind === exp.kind && f.obj === ptr)) problems.push(`no ${exp.kind} on the faulted command ${ptr} (found: ${got.join('; ') || 'nothing'})`);
  for (const f of certain) {
    if (f.obj !== ptr || !exp.allowed.includes(f.kind)) problems.push(`unexpected finding ${f.kind} on ${f.obj} (the fault was ${proc.fault} on ${ptr})`);
  }
  return problems;
}

/** A loaded BPF program's statistics (`bpftool -j prog show` with kernel.bpf_stats_enabled=1). */
export interface ProgStats {
  name: string;
  runs: number;
  runTimeNs: number;
}

/** The kprobe programs of a `bpftool -j prog show` dump. */
export function parseProgs(json: string): ProgStats[] {
  const progs = JSON.parse(json) as { type: string; name?: string; run_cnt?: number; run_time_ns?: number }[];
  return progs.filter((p) => p.type === 'kprobe').map((p) => ({ name: p.name ?? '', runs: p.run_cnt ?? 0, runTimeNs: p.run_time_ns ?? 0 }));
}

/** The program attached to `fn` (bpftrace names it after the function, cut to 15 characters). */
export function progFor(progs: ProgStats[], fn: string): ProgStats | undefined {
  return progs.find((p) => p.name !== '' && fn.startsWith(p.name));
}

/**
 * Probe line counts against zcsim's own counters. With the programs' run counts: every run of a
 * program printed its line (nothing lost on the way to zctrace), and calls that ran no program
 * at all (the kernel skips a kprobe program while another BPF program runs on that CPU: 6.1
 * does not count these misses) are at most `maxSkipped` of them, rounded up (a CI run missed 1
 * of zctarget's 4 releases); without run counts, every call must have its line.
 */
export function judgeCounts(proc: ZcsimProc, counts: Record<string, number>, progs?: ProgStats[], maxSkipped = 0, owner = 'zcsim', freeFn = owner === 'zcsim' ? 'zcsim_cmnd_done' : `${owner}_cmnd_release`): string[] {
  const problems: string[] = [];
  const check = (kind: 'get' | 'put' | 'free', fn: string, calls: number, what: string): void => {
    const lines = counts[kind] ?? 0;
    const runs = progs === undefined ? undefined : progFor(progs, fn)?.runs;
    if (runs !== undefined && lines !== runs) problems.push(`${lines} ${kind} lines, but its program ran ${runs} times: lines lost`);
    const seen = runs ?? lines;
    if (seen > calls || calls - seen > Math.ceil(maxSkipped * calls)) problems.push(`${lines} ${kind} lines${runs !== undefined ? ` (${runs} program runs)` : ''}, ${owner} ${what.replace('N', String(calls))}`);
  };
  check('get', `${owner}_get_page_callback`, proc.gets, 'counted N get callbacks');
  check('put', `${owner}_put_page_callback`, proc.puts, 'counted N put callbacks');
  check('free', freeFn, proc.done, 'finished N commands');
  return problems;
}

/**
 * Decodes a raw capture and runs the engine over it, as `zctrace live` does (leak threshold in
 * ns). A capture has no clock of its own after its last line: the run is taken to stop
 * `stopAfterNs` later (a final tick), as the lab runs did (a leaked command outlives the threshold).
 */
export function replayRaw(raw: string, leakAfterNs: number, transform?: (line: string) => string, stopAfterNs = leakAfterNs + 1e9): { findings: Finding[]; events: ZcEvent[]; decoder: NetprivDecoder; bad: string[] } {
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs, onRecord: (r) => records.push(r) });
  const decoder = new NetprivDecoder();
  const events: ZcEvent[] = [];
  const bad: string[] = [];
  const lines = raw.split('\n');
  const first = lines.find((l) => /^(config|ready)\t\d+$|^(config|ready)\t\d+\t/.test(l));
  const t0 = BigInt(first?.split('\t')[1] ?? '0');
  const parser = new ProbeParser(decoder, t0, {
    emit: (e) => { events.push(e); engine.push(e); },
    ready: () => {},
    message: () => {},
    bad: (n, why, line) => { bad.push(`${n}: ${why}: ${line}`); },
  });
  for (const l of lines) parser.line(transform ? transform(l) : l);
  parser.finish();
  engine.push({ t: parser.lastT + stopAfterNs, ev: 'tick' });
  engine.end();
  return { findings: records.filter((r): r is Finding => r.type === 'finding'), events, decoder, bad };
}

/**
 * Per page of each command lifetime: references taken (get lines); per page address: the highest
 * page refcount seen (the stack's get included). A get after a free of its holder starts the
 * holder's next lifetime (zcsim reuses command and page addresses).
 */
export function pageStats(raw: string): { gets: number[]; peak: number[] } {
  const gets = new Map<string, number>();
  const peak = new Map<string, number>();
  const gen = new Map<string, number>();
  const freed = new Set<string>();
  for (const l of raw.split('\n')) {
    const f = new Map(l.split('\t').slice(2).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const obj = f.get('obj') ?? '';
    if (l.startsWith('free\t')) freed.add(obj);
    if (!l.startsWith('get\t')) continue;
    if (freed.delete(obj)) gen.set(obj, (gen.get(obj) ?? 0) + 1);
    const page = f.get('page')!;
    const key = `${obj}#${gen.get(obj) ?? 0}|${page}`;
    gets.set(key, (gets.get(key) ?? 0) + 1);
    peak.set(page, Math.max(peak.get(page) ?? 0, Number(f.get('pref')) + 1));
  }
  return { gets: [...gets.values()], peak: [...peak.values()] };
}

/** "min / median / mean / max over N" of a list of numbers. */
export function describe(v: number[]): string {
  if (v.length === 0) return 'none';
  const s = [...v].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return `min ${s[0]}, median ${s[Math.floor(s.length / 2)]}, mean ${mean.toFixed(1)}, max ${s[s.length - 1]} over ${s.length} pages`;
}
