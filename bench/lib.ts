// Shared by the benchmarks: run a child and measure its wall time and peak memory, and the
// one environment line every benchmark prints (numbers from a shared machine mean little
// without it; the ratios are what to compare).
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface ChildRun {
  seconds: number;
  /** Peak resident set (VmHWM), MiB. */
  peakMiB: number;
  cpuSeconds: number;
  code: number | null;
}

/** Runs a command with stdout discarded; samples its peak RSS from /proc. */
export function measure(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'], env });
    let peak = 0;
    let cpu = 0;
    const poll = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peak = Math.max(peak, Number(m[1]) / 1024);
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        cpu = (Number(stat[11]) + Number(stat[12])) / 100; // utime + stime, in clock ticks (100/s)
      } catch {
        // the child just exited
      }
    }, 25);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearInterval(poll);
      resolve({ seconds: Number(process.hrtime.bigint() - start) / 1e9, peakMiB: peak, cpuSeconds: cpu, code });
    });
  });
}

/** The value after `--name` on the command line, or `dflt`. */
export function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
}

/** "env: node v20…, 2 x CPU model, kernel …". */
export function envLine(): string {
  const c = cpus();
  return `env: node ${process.version}, ${c.length} x ${c[0]?.model ?? '?'}, kernel ${release()}`;
}

/** The bpftrace child of zctrace's node process (its process group leader). */
export function bpftracePid(nodePid: number | undefined): number | undefined {
  if (nodePid === undefined) return undefined;
  try {
    const kids = readFileSync(`/proc/${nodePid}/task/${nodePid}/children`, 'utf8').trim().split(/\s+/).map(Number);
    return kids.find((k) => readFileSync(`/proc/${k}/comm`, 'utf8').trim() === 'bpftrace');
  } catch {
    return undefined;
  }
}

/** The kernel selftest sender a tracepoint pack is benchmarked with. */
export function senderOf(pack: string): string {
  return pack === 'iouring-sendzc' ? 'io_uring_zerocopy_tx' : 'msg_zerocopy';
}

/**
 * Records a pack's raw bpftrace output (streaming: a line per event) while the kernel's selftest
 * sender runs at full speed for `seconds`; returns the file (in `dir`). The input of the benches
 * that measure Node's side alone (bench/firehose-bpftrace, bench/decode.ts).
 */
export async function captureRaw(pack: string, seconds: number, dir: string): Promise<string> {
  const root = join(import.meta.dirname, '..');
  const out = join(dir, `${pack}.txt`);
  const bt = execa('bpftrace', [join(root, 'probes', `${pack}.bt`), '0', '0', senderOf(pack)], { reject: false, buffer: true, env: { BPFTRACE_PERF_RB_PAGES: '256', BPFTRACE_MAP_KEYS_MAX: '16384' } });
  await new Promise<void>((res) => bt.stdout!.on('data', (d: Buffer) => { if (d.includes('ready\t')) res(); }));
  await execa('bash', [join(root, 'scripts', 'outside-run.sh'), senderOf(pack), '4', String(seconds)]);
  await new Promise((r) => setTimeout(r, 1000));
  bt.kill('SIGINT');
  const r = await bt;
  writeFileSync(out, String(r.stdout));
  return out;
}
