// Whether real live tests can run here, and if not, the reason the skip message gives.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function liveSkipReason(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to load BPF programs';
  try {
    execFileSync('bpftrace', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'bpftrace is not installed (scripts/setup.sh installs it)';
  }
  if (!existsSync('/sys/kernel/tracing/events/syscalls')) return 'tracefs is not mounted (scripts/setup.sh mounts it)';
  if (!existsSync('/usr/include/liburing.h')) return 'liburing-dev is not installed (the io_uring workload needs it)';
  return null;
}
