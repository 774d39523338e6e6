// bench/tracepoint-floor: how much of a tracepoint pack's cost to the kernel's own zero-copy
// sender is the attachment itself, before any work in the programs. Alternated in one run, as
// ratios to the untraced sender (median of the rounds):
//   floor  one empty program on each tracepoint the pack's program uses (BEGIN prints `ready`);
//   pack   the pack's program itself, in matching mode (leak threshold 1 s), run by bpftrace
//          directly: Node's side (0.3-0.6 µs per send in matching mode, bench:live) is left out.
// The floor bounds what any program on those tracepoints can keep of the sender's throughput:
// when it is below a goal, no cut inside the programs reaches that goal.
//   against  with --against FILE: another version of the pack's program, in the same rounds.
// Usage: npm run bench:tracepoint-floor [-- --pack msgzc-syscalls|iouring-sendzc --rounds 5 --seconds 3 --against FILE]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { arg, envLine } from './lib.js';

const pack = arg('pack', 'msgzc-syscalls');
const rounds = Number(arg('rounds', '5'));
const seconds = arg('seconds', '3');
const against = arg('against', '');
const root = join(import.meta.dirname, '..');
const outside = pack === 'iouring-sendzc' ? 'io_uring_zerocopy_tx' : 'msg_zerocopy';
const packFile = join(root, 'probes', `${pack}.bt`);
execFileSync('bash', [join(root, 'scripts', 'outside-senders.sh')], { stdio: 'ignore' });

/** The tracepoints a program attaches to, once each (a probe list may span lines). */
function tracepointsOf(program: string): string[] {
  const names = new Set<string>();
  for (const m of program.matchAll(/^(tracepoint:[a-z0-9_]+:[a-z0-9_]+)/gm)) names.add(m[1]);
  return [...names];
}

const tps = tracepointsOf(readFileSync(packFile, 'utf8'));
const dir = mkdtempSync(join(tmpdir(), 'zctrace-floor-'));
const floorFile = join(dir, 'floor.bt');
// One program per tracepoint: two programs on one tracepoint hung bpftrace 0.17 here.
writeFileSync(floorFile, `BEGIN { printf("ready\\t%llu\\n", nsecs); }\n${tps.map((t) => `${t} { }`).join('\n')}\n`);

/** Starts bpftrace on a program and resolves once its BEGIN printed `ready`. */
async function attach(file: string): Promise<ChildProcess> {
  const bt = spawn('bpftrace', [file, '0', '0', outside.slice(0, 15), '1000'], {
    stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, BPFTRACE_MAP_KEYS_MAX: '16384', BPFTRACE_PERF_RB_PAGES: '256' },
  });
  let err = '';
  bt.stderr!.on('data', (d: Buffer) => { err += d.toString(); });
  await new Promise<void>((res, rej) => {
    bt.stdout!.on('data', (d: Buffer) => { if (d.includes('ready\t')) res(); });
    bt.on('exit', () => rej(new Error(`bpftrace ${file} ended before it attached: ${err}`)));
  });
  bt.stdout!.resume();
  return bt;
}

/** bpftrace 0.17 sometimes ignores a SIGINT: killed after 4 s. */
async function detach(bt: ChildProcess): Promise<void> {
  const exited = new Promise((r) => bt.on('exit', r));
  bt.kill('SIGINT');
  const k = setTimeout(() => bt.kill('SIGKILL'), 4000);
  await exited;
  clearTimeout(k);
}

/** The selftest's sends per second (scripts/outside-run.sh, IPv4 loopback, 64 KiB, full speed). */
function sendRate(): number {
  const out = execFileSync('bash', [join(root, 'scripts', 'outside-run.sh'), outside, '4', seconds], { stdio: ['ignore', 'pipe', 'ignore'] });
  return JSON.parse(out.toString().trim().split('\n').at(-1)!).sends_per_s as number;
}

console.log(`pack ${pack}: ${tps.length} tracepoints (${tps.join(', ')}); the kernel's ${outside}, ${seconds} s per run, ${rounds} alternated rounds`);
const variants: [string, string][] = [['bare', ''], ['floor', floorFile], ['pack', packFile]];
if (against) variants.push(['against', against]);
const runs: Record<string, number[]> = Object.fromEntries(variants.map(([name]) => [name, []]));
for (let i = 0; i < rounds; i++) {
  for (const [name, file] of variants) {
    const bt = file === '' ? undefined : await attach(file);
    runs[name].push(sendRate());
    if (bt) await detach(bt);
  }
  console.log(`  round ${i + 1}: ${Object.entries(runs).map(([n, r]) => `${n} ${r[i].toFixed(0)}`).join(', ')} sends/s`);
}
const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`RESULT ${pack} traced/bare: floor (empty programs) ${(med(runs.floor) / med(runs.bare)).toFixed(2)}, ` +
  `pack program (matching) ${(med(runs.pack) / med(runs.bare)).toFixed(2)} (medians ${med(runs.bare).toFixed(0)}, ${med(runs.floor).toFixed(0)}, ${med(runs.pack).toFixed(0)} sends/s)` +
  (against ? `; ${against} ${(med(runs.against) / med(runs.bare)).toFixed(2)} (${med(runs.against).toFixed(0)} sends/s)` : ''));
console.log(envLine());
