// bench/live-overhead: (1) the zero-copy workload's throughput with and without `zctrace live`
// attached, and traced with the content fingerprint switched off (bench/no-fingerprint-bpftrace),
// alternated in one run, as ratios, with node's and bpftrace's CPU per event carried (utime +
// stime from /proc, from attach to stop: idle time between events is included); (2) the highest event rate the pipeline carries without
// `lost` events, found by pacing the workload at rising rates.
// Usage: npm run bench:live [-- --pack msgzc-syscalls --count 20000 --rounds 3 --no-pacing]
//        npm run bench:live -- --selftest [--seconds 3]  (the kernel's own sender instead)
//        --only-match: bare and matching mode only (quicker, when working on the programs)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { arg, bpftracePid, envLine } from './lib.js';

const pack = arg('pack', 'msgzc-syscalls');
const count = Number(arg('count', '20000'));
const rounds = Number(arg('rounds', '3'));
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'zctrace.js');
const workload = join(root, 'workloads', pack === 'iouring-sendzc' ? 'iouring_zc' : 'msgzc');
const selftest = process.argv.includes('--selftest');
const onlyMatch = process.argv.includes('--only-match');
const seconds = Number(arg('seconds', '3'));
const outside = pack === 'iouring-sendzc' ? 'io_uring_zerocopy_tx' : 'msg_zerocopy';
const comm = selftest ? outside.slice(0, 15) : pack === 'iouring-sendzc' ? 'iouring_zc' : 'msgzc';
if (selftest) execFileSync('bash', [join(root, 'scripts', 'outside-senders.sh')], { stdio: 'ignore' });
execFileSync('make', ['-s', '-C', join(root, 'workloads')]);

/**
 * Starts zctrace live and resolves once its probes are attached. The subprocess is returned
 * wrapped: it is a thenable, which an async function would otherwise wait for.
 */
async function attach(fingerprint = true, mode: 'match' | 'stream' = 'stream'): Promise<{ z: ResultPromise }> {
  const env = fingerprint ? {} : { ZCTRACE_BPFTRACE: join(root, 'bench', 'no-fingerprint-bpftrace') };
  const z = execa(process.execPath, [bin, 'live', '--pack', pack, '--mode', mode, '--headless', '--comm', comm, '--interval', '200ms', '--leak-after', '1h'], { reject: false, cwd: root, env });
  await new Promise<void>((res, rej) => {
    z.stdout!.on('data', (d: Buffer) => { if (d.includes('"type":"stats"')) res(); });
    void z.then((r) => rej(new Error(`zctrace ended: ${String(r.stderr)}`)));
  });
  return { z };
}

/**
 * Runs the workload; its sends per second (wall clock, from the workload's own count). With
 * --selftest, the kernel's own sender instead (msg_zerocopy or io_uring_zerocopy_tx, 64 KiB,
 * full speed, for --seconds; scripts/outside-run.sh): its sends over its send loop's length.
 */
async function runWorkload(args: string[]): Promise<{ rate: number; acct: Record<string, number> }> {
  if (selftest) {
    const r = await execa('bash', [join(root, 'scripts', 'outside-run.sh'), outside, '4', String(seconds)], { timeout: 600_000 });
    const acct = JSON.parse(String(r.stdout).trim().split('\n').at(-1)!);
    return { rate: acct.sends_per_s, acct };
  }
  const t = process.hrtime.bigint();
  const r = await execa(workload, ['--fault', 'none', '--size', '65536', ...args], { timeout: 600_000 });
  const s = Number(process.hrtime.bigint() - t) / 1e9;
  const acct = JSON.parse(String(r.stdout).trim().split('\n').at(-1)!);
  return { rate: acct.sends / s, acct };
}

/** CPU seconds (utime + stime, from /proc) of a process, or 0 when it is gone. */
function cpuOf(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / 100; // clock ticks, 100 a second
  } catch {
    return 0;
  }
}


/** CPU of node and of bpftrace between two points, per event carried. */
function cpuPerEvent(before: { node: number; bt: number }, events: number): string {
  const nodeUs = (after.node - before.node) * 1e6 / Math.max(1, events);
  const btUs = (after.bt - before.bt) * 1e6 / Math.max(1, events);
  return `node ${nodeUs.toFixed(1)} µs, bpftrace ${btUs.toFixed(1)} µs of CPU per event`;
}
let after = { node: 0, bt: 0 };

async function stop(z: ResultPromise): Promise<Record<string, any>> {
  // CPU read just before the stop (a process's /proc entry is gone once it exits)
  after = { node: cpuOf(z.pid), bt: cpuOf(bpftracePid(z.pid)) };
  z.kill('SIGINT');
  const r = await z;
  return JSON.parse(String(r.stdout).trim().split('\n').at(-1)!);
}

console.log(selftest
  ? `pack ${pack}, the kernel's ${outside} selftest: 64 KiB sends at full speed for ${seconds} s per run, ${rounds} alternated rounds`
  : `pack ${pack}, workload ${comm}: ${count} sends of 64 KiB per run, ${rounds} alternated rounds`);
const matching = pack === 'msgzc-syscalls' || pack === 'iouring-sendzc'; // the packs whose programs can match in the kernel
const bare: number[] = [];
const traced: number[] = [];
const matched: number[] = [];
const noFp: number[] = [];
const cpu: string[] = [];
for (let i = 0; i < rounds; i++) {
  bare.push((await runWorkload(['--count', String(count)])).rate);
  let m = '';
  if (matching) {
    const { z: zm } = await attach(true, 'match');
    const before = { node: cpuOf(zm.pid), bt: cpuOf(bpftracePid(zm.pid)) };
    matched.push((await runWorkload(['--count', String(count)])).rate);
    const sm = await stop(zm);
    m = `${matched[i].toFixed(0)} matched (${sm.lifetimes} lifetimes, ${sm.lost} lost; ${cpuPerEvent(before, sm.lifetimes).replace('per event', 'per send')}), `;
  }
  if (onlyMatch && matching) {
    console.log(`  round ${i + 1}: ${bare[i].toFixed(0)} sends/s bare, ${m.replace(/, $/, '')}`);
    continue;
  }
  const { z } = await attach();
  const before = { node: cpuOf(z.pid), bt: cpuOf(bpftracePid(z.pid)) };
  traced.push((await runWorkload(['--count', String(count)])).rate);
  const s = await stop(z);
  cpu.push(cpuPerEvent(before, s.events));
  const { z: z2 } = await attach(false);
  noFp.push((await runWorkload(['--count', String(count)])).rate);
  const s2 = await stop(z2);
  console.log(`  round ${i + 1}: ${bare[i].toFixed(0)} sends/s bare, ${m}${traced[i].toFixed(0)} streamed (${s.events} events, ${s.lost} lost), ` +
    `${noFp[i].toFixed(0)} streamed without fingerprint (${s2.events} events, ${s2.lost} lost); streamed: ${cpu[i]}`);
}
const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
if (matching) console.log(`RESULT matching mode throughput traced/bare: ${(med(matched) / med(bare)).toFixed(2)} (median of ${rounds}: ${med(matched).toFixed(0)} vs ${med(bare).toFixed(0)} sends/s)`);
if (onlyMatch && matching) process.exit(0);
console.log(`RESULT streaming throughput traced/bare: ${(med(traced) / med(bare)).toFixed(2)} (median of ${rounds}: ${med(traced).toFixed(0)} vs ${med(bare).toFixed(0)} sends/s)`);
console.log(`RESULT fingerprint cost (streaming), traced with/without it: ${(med(traced) / med(noFp)).toFixed(2)} (median ${med(traced).toFixed(0)} vs ${med(noFp).toFixed(0)} sends/s)`);

// The highest paced rate with no lost events. msgzc paces with --interval-us; the event rate is
// what zctrace counted per second of the workload's run.
if (comm === 'msgzc' && !process.argv.includes('--no-pacing')) {
  let best = 0;
  for (const interval of [400, 200, 100, 50, 25, 12, 0]) {
    const { z } = await attach();
    const t = process.hrtime.bigint();
    const n = interval === 0 ? count : Math.min(count, Math.round(3e6 / interval));
    await runWorkload(['--count', String(n), '--interval-us', String(interval)]);
    const secs = Number(process.hrtime.bigint() - t) / 1e9;
    const s = await stop(z);
    const rate = s.events / secs;
    console.log(`  paced every ${interval} µs: ${rate.toFixed(0)} events/s, ${s.lost} lost`);
    if (s.lost === 0) best = Math.max(best, rate);
    else break;
  }
  console.log(`RESULT highest event rate carried without lost events: ${best.toFixed(0)} events/s`);
}
console.log(envLine());
