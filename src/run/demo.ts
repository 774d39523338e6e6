// `zctrace demo`: a bundled zero-copy sender and receiver on loopback, traced live with the
// best pack this kernel can run, with an optional injected fault. The workload starts only
// once the probes are attached, so everything it does is seen; at the end its own
// accounting is set beside what zctrace counted.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FindingKind } from '../engine/types.js';
import type { Selected } from '../probes/select.js';
import type { Layout } from '../sinks/dashboard/layout.js';
import { WorkloadError } from '../util/errors.js';
import { packageRoot } from '../util/paths.js';
import { runLive, type LiveResult } from './live.js';

/** The workloads' fault modes (workloads/*.c); `reuse` is the older name of `rewrite`. */
export const FAULTS = ['none', 'leak', 'early-free', 'resend', 'rewrite', 'rewrite-quiet', 'read-into', 'reuse'] as const;
export type Fault = (typeof FAULTS)[number];

/** Which bundled workload exercises which pack (the binary's name is also its comm). */
const WORKLOAD_FOR_PACK: Record<string, string> = {
  'msgzc-syscalls': 'msgzc',
  'msgzc-kernel': 'msgzc',
  'iouring-sendzc': 'iouring_zc',
};

export interface DemoOptions {
  selected: Selected;
  fault: Fault;
  count: number;
  output: 'json' | 'status' | 'dashboard';
  /** The layout, with output 'dashboard'. */
  dashboard?: Layout;
  leakAfterNs: number;
  failOn?: Set<FindingKind>;
  /** Upper bound on the whole run (ns). */
  durationNs?: number;
  slowReceiver: boolean;
  attachTimeoutMs?: number;
}

/**
 * Where a workload is built: never inside the package (an installed one may be read-only or
 * shared), but in the user's cache, in a folder named after the sources' hash so that a changed
 * workload is built again (npm gives installed files an old mtime, which make would trust); a
 * temporary folder where the cache cannot be written.
 */
function buildDir(src: string, name: string): string {
  const hash = createHash('sha256');
  for (const f of ['Makefile', `${name}.c`]) hash.update(readFileSync(join(src, f)));
  const dir = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'zctrace', `workloads-${hash.digest('hex').slice(0, 12)}`);
  try {
    mkdirSync(dir, { recursive: true });
    return dir;
  } catch {
    return mkdtempSync(join(tmpdir(), 'zctrace-workloads-'));
  }
}

/** The workload binary for a pack, built from the package's workloads/ on first use. */
export async function workloadFor(pack: string): Promise<string> {
  const name = WORKLOAD_FOR_PACK[pack];
  if (name === undefined) throw new WorkloadError(`the demo has no workload for pack ${pack}`, `use --pack with one of: ${Object.keys(WORKLOAD_FOR_PACK).join(', ')}`);
  const src = join(packageRoot, 'workloads');
  const dir = buildDir(src, name);
  const bin = join(dir, name);
  if (!existsSync(bin)) {
    // make in the build folder with the package's Makefile (which reads the sources beside it)
    const r = await execa('make', ['-s', '-C', dir, '-f', join(src, 'Makefile'), name], { reject: false, all: true });
    if (r.exitCode !== 0) {
      throw new WorkloadError(`building the demo workload ${name} failed: ${String(r.all).trim().split('\n').slice(-3).join(' | ')}`,
        'install a C compiler and liburing: apt-get install gcc make liburing-dev');
    }
  }
  return bin;
}

/** Runs the demo; resolves with the live result and the workload's own accounting. */
export async function runDemo(o: DemoOptions): Promise<{ live: LiveResult; workload: Record<string, unknown> | undefined }> {
  const bin = await workloadFor(o.selected.pack.name);
  const comm = WORKLOAD_FOR_PACK[o.selected.pack.name];
  // A leak is only a leak once it is older than the threshold: hold the buffers past it.
  const holdS = o.fault === 'leak' ? Math.ceil(o.leakAfterNs / 1e9) + 2 : 1;
  const args = ['--fault', o.fault, '--count', String(o.count), '--duration', String(holdS)];
  if (o.slowReceiver) args.push('--slow-receiver');
  let accounting: Record<string, unknown> | undefined;
  const live = await runLive({
    pack: o.selected.pack, file: o.selected.file, filters: { comm }, output: o.output, dashboard: o.dashboard, leakAfterNs: o.leakAfterNs,
    failOn: o.failOn, durationNs: o.durationNs, intervalNs: 5e9, attachTimeoutMs: o.attachTimeoutMs,
    whileAttached: async () => {
      const r = await execa(bin, args, { reject: false, stdin: 'ignore', timeout: 600_000 });
      const last = String(r.stdout).trim().split('\n').at(-1) ?? '';
      try {
        accounting = JSON.parse(last) as Record<string, unknown>;
      } catch {
        throw new WorkloadError(`the demo workload failed (status ${r.exitCode}): ${String(r.stderr).trim().split('\n').at(-1) ?? ''}`);
      }
    },
    settleMs: 1500,
  });
  return { live, workload: accounting };
}
