// Running commands in the kernel lab (lab/run) from tests and benchmarks, and saying why not
// when it cannot run here (never a silent pass).
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const LAB_RUN = join(root, 'lab', 'run');

/**
 * Options every lab run of the msgzc-kernel tests uses. One vCPU: under TCG with two, perf
 * ring wakeups of one vCPU stop reaching bpftrace after a while (its lines then arrive only at
 * exit, or never: seen on 6.1 and 6.12 guests); with one, every line arrives, in order.
 */
export const LAB_OPTS = ['--smp', '1'];

/** Why the lab cannot run here, or null. Checks what lab/run needs before it boots anything. */
export function labUnavailable(): string | null {
  if (process.env.ZCTRACE_SKIP_LAB) return `ZCTRACE_SKIP_LAB is set (${process.env.ZCTRACE_SKIP_LAB})`;
  if (process.getuid?.() !== 0) return 'lab/run needs root (apt-get, qemu with 9p security_model=none)';
  if (!existsSync(LAB_RUN)) return 'no lab/run in this checkout';
  if (!existsSync(join(root, 'dist', 'probes', 'packs', 'msgzc-kernel.js'))) return 'no dist/ with the msgzc-kernel pack: run `npm run build` first';
  for (const tool of ['gcc', 'bpftrace', 'node']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      return `no ${tool} on this host (the guest runs the host's)`;
    }
  }
  // Installs qemu and fetches the kernel when missing: slow the first time, then ~1 s.
  try {
    execFileSync(LAB_RUN, ['--setup'], { stdio: 'pipe', timeout: 600_000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    const why = (err.stderr?.toString() ?? err.message).trim().split('\n').filter(Boolean).at(-1);
    return `lab/run --setup failed: ${why}`;
  }
  return null;
}

/** The result of one lab run. */
export interface LabResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Runs COMMAND in a guest (lab/run [opts] -- command...), collecting its output. */
export function runInLab(opts: string[], command: string[], timeoutMs: number): Promise<LabResult> {
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(LAB_RUN, [...opts, '--', ...command], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => { stdout += b.toString(); });
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString(); });
    // lab/run kills its guest on SIGTERM; it has its own --timeout too
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}
