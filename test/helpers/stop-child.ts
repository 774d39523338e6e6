// Stops a bpftrace started by a test. bpftrace 0.17 sometimes ignores a signal that arrives
// while it is still setting up or draining its buffers (seen here: a capture hung past its
// 120 s test timeout waiting for an exit that never came), so ask up to three times, then kill.
import type { ChildProcess } from 'node:child_process';

export async function stopChild(child: ChildProcess, exited: Promise<unknown>, graceMs = 5000): Promise<void> {
  for (let k = 0; k < 3 && child.exitCode === null && child.signalCode === null; k++) {
    child.kill('SIGINT');
    await Promise.race([exited, new Promise((r) => setTimeout(r, graceMs))]);
  }
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  await exited;
}
