// bench/bpf-cost: what a pack's programs cost inside the kernel per send, from the kernel's own
// accounting (kernel.bpf_stats_enabled: run_time_ns and run_cnt per program, read with bpftool),
// while the kernel's own zero-copy selftest sends at full speed. Unlike a throughput ratio, this
// does not move when other work shares the machine's cores: it is the CPU the programs take from
// the threads that hit them. Prints each program's ns per run and runs per send, and the total
// ns per send, for each mode asked (alternated rounds, median).
// Usage: npm run bench:bpf-cost [-- --pack msgzc-syscalls|iouring-sendzc --modes match,stream --rounds 3 --seconds 3]
//        [--against FILE]: also FILE instead of the pack's program, in the same rounds (mode
//        names get "@FILE"), e.g. the last commit's: git show HEAD:probes/X.bt > /tmp/old.bt
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { arg, bpftracePid } from './lib.js';

const pack = arg('pack', 'msgzc-syscalls');
const modes = arg('modes', 'match').split(',');
const rounds = Number(arg('rounds', '3'));
const seconds = arg('seconds', '3');
const against = arg('against', '');
const root = join(import.meta.dirname, '..');
const outside = pack === 'iouring-sendzc' ? 'io_uring_zerocopy_tx' : 'msg_zerocopy';
execFileSync('bash', [join(root, 'scripts', 'outside-senders.sh')], { stdio: 'ignore' });
execFileSync('sysctl', ['-qw', 'kernel.bpf_stats_enabled=1']);

interface Prog { id: number; name: string; ns: number; runs: number }

/** The ids of the BPF programs a process holds open (its fds' fdinfo: Debian's bpftool lists no pids). */
function progIds(pid: number): Set<number> {
  const ids = new Set<number>();
  for (const fd of readdirSync(`/proc/${pid}/fdinfo`)) {
    try {
      const m = /^prog_id:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
      if (m) ids.add(Number(m[1]));
    } catch { /* closed meanwhile */ }
  }
  return ids;
}

/** The BPF programs a process holds, with the kernel's run counters. */
function progsOf(pid: number): Prog[] {
  const ids = progIds(pid);
  const all = JSON.parse(execFileSync('bpftool', ['-j', 'prog', 'show'], { encoding: 'utf8' })) as any[];
  return all
    .filter((p) => ids.has(p.id))
    .map((p) => ({ id: p.id, name: p.name, ns: p.run_time_ns ?? 0, runs: p.run_cnt ?? 0 }));
}

/** Starts zctrace live; resolves once attached. Wrapped: the subprocess is a thenable. */
async function attach(mode: string, program = ''): Promise<{ z: ResultPromise }> {
  const env = program ? { ZCTRACE_BPFTRACE: join(root, 'bench', 'swap-program-bpftrace'), ZCTRACE_BENCH_PROGRAM: program } : {};
  const z = execa(process.execPath, [join(root, 'bin', 'zctrace.js'), 'live', '--pack', pack, '--mode', mode, '--headless',
    '--comm', outside.slice(0, 15), '--leak-after', '1h'], { reject: false, cwd: root, env });
  await new Promise<void>((res, rej) => {
    z.stdout!.on('data', (d: Buffer) => { if (d.includes('"type":"start"')) res(); });
    void z.then((r) => rej(new Error(`zctrace ended: ${String(r.stderr)}`)));
  });
  return { z };
}


const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
const totals = new Map<string, number[]>();
console.log(`pack ${pack}, the kernel's ${outside} selftest (64 KiB, full speed, ${seconds} s a run), ${rounds} rounds of ${modes.join(', ')}`);
const runs = modes.flatMap((m) => (against ? [[m, ''], [m, against]] : [[m, '']]));
for (let r = 0; r < rounds; r++) {
  for (const [m, program] of runs) {
    const mode = program ? `${m}@${program}` : m;
    const { z } = await attach(m, program);
    const bt = bpftracePid(z.pid);
    if (bt === undefined) throw new Error('zctrace has no bpftrace child');
    const before = new Map(progsOf(bt).map((p) => [p.id, p]));
    const run = await execa('bash', [join(root, 'scripts', 'outside-run.sh'), outside, '4', seconds]);
    const acct = JSON.parse(String(run.stdout).trim().split('\n').at(-1)!);
    const after = progsOf(bt);
    z.kill('SIGINT');
    await z;
    let ns = 0;
    const rows: string[] = [];
    for (const p of after) {
      const b = before.get(p.id);
      const dns = p.ns - (b?.ns ?? 0);
      const druns = p.runs - (b?.runs ?? 0);
      ns += dns;
      if (druns > 0) rows.push(`    ${p.name.padEnd(16)} #${p.id}: ${(dns / druns).toFixed(0).padStart(6)} ns a run, ${(druns / acct.sends).toFixed(2)} runs a send`);
    }
    const per = ns / acct.sends;
    totals.set(mode, [...(totals.get(mode) ?? []), per]);
    console.log(`  round ${r + 1}, ${mode}: ${acct.sends} sends (${acct.sends_per_s}/s), ${per.toFixed(0)} ns of BPF a send`);
    if (r === 0) console.log(rows.join('\n'));
  }
}
for (const [mode, v] of totals) console.log(`RESULT ${pack} ${mode}: ${med(v).toFixed(0)} ns of BPF run time per send (median of ${v.length})`);
