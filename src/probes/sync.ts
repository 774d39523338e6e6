// Stopping without losing what was traced. bpftrace 0.17 drops, without a `Lost` line, every
// event still in its perf buffers when it gets SIGINT while behind (measured on this machine:
// 50,000 events, a reader 10 s late, SIGINT 1 s after the last event: 16,377 lines delivered,
// no loss reported; the same run stopped once the reader caught up: 50,000). It falls behind
// whenever zctrace reads slower than the kernel produces (a burst, a slow guest), so a stop
// right after the traffic silently cut its tail off (a CI lab run lost 45 of 256 nvmet commands).
//
// So every bundled program has one more probe, SYNC_PROBE: a kill(2) with signal 0 to a pid
// above any real one (SYNC_BASE + token) prints `sync T token=N cpu=C`. Before SIGINT, zctrace
// makes that call on every online CPU (taskset) and waits for the lines: bpftrace reads each
// CPU's buffer in order, so once CPU C's sync line is out, everything traced on C before the
// stop was delivered. The call fails with ESRCH and signals nobody; the probe's filter makes
// every other kill(2) cost one comparison.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** kill(SYNC_BASE + token, 0): above the kernel's PID_MAX_LIMIT (2^22), so never a process. */
export const SYNC_BASE = 1 << 30;

/** The probe every bundled program carries (test/probes/sync.test.ts checks each has it). */
export const SYNC_PROBE = String.raw`/* zctrace's stop: it calls kill(2^30 + token, 0) on each CPU and waits for these lines
 * before SIGINT, so that nothing traced before the stop is still in bpftrace's buffers
 * (bpftrace drops those at exit without saying so) */
tracepoint:syscalls:sys_enter_kill
/args->sig == 0 && args->pid >= ${SYNC_BASE}/
{
	printf("sync\t%llu\ttoken=%d\tcpu=%u\n", nsecs, args->pid - ${SYNC_BASE}, cpu);
}
`;

/** The online CPUs, from /sys/devices/system/cpu/online ("0-3,6"); [] when unreadable. */
export function onlineCpus(text?: string): number[] {
  let s = text;
  if (s === undefined) {
    try {
      s = readFileSync('/sys/devices/system/cpu/online', 'utf8');
    } catch {
      return [];
    }
  }
  const cpus: number[] = [];
  for (const part of s.trim().split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return [];
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let c = lo; c <= hi && cpus.length < 4096; c++) cpus.push(c);
  }
  return cpus;
}

/** The sync line's token and CPU (`sync T token=N cpu=C`), or undefined when it is not one. */
export function parseSync(line: string): { token: number; cpu: number } | undefined {
  const m = /^sync\t\d+\ttoken=(\d+)\tcpu=(\d+)$/.exec(line);
  return m ? { token: Number(m[1]), cpu: Number(m[2]) } : undefined;
}

/**
 * Makes the sync call on each CPU: `taskset -c C` runs it there (util-linux; dash's `kill` is
 * the call). Resolves with the CPUs where it ran. Without taskset (or for a CPU it refuses),
 * zctrace's own call covers the CPU it runs on, which the caller learns from the line.
 */
export function requestSync(token: number, cpus: number[]): Promise<number[]> {
  const pid = String(SYNC_BASE + token);
  try {
    process.kill(SYNC_BASE + token, 0);
  } catch {
    // ESRCH: expected, nobody has that pid; the probe saw the call
  }
  return Promise.all(cpus.map((c) => new Promise<number | undefined>((resolve) => {
    execFile('taskset', ['-c', String(c), 'sh', '-c', `kill -0 ${pid} 2>/dev/null; exit 0`], { timeout: 5000 }, (err) => resolve(err ? undefined : c));
  }))).then((r) => r.filter((c): c is number => c !== undefined));
}
