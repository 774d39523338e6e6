// The demo's workload comes from the package itself (workloads/), is shipped by `npm pack`, and
// is built outside the package, so `zctrace demo` works from an installed, read-only copy.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { workloadFor } from '../../src/run/demo.js';
import { ROOT } from '../helpers/cli.js';
import { liveSkipReason } from '../helpers/live.js';

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((f) => join(dir, f)).filter((f) => statSync(f).isFile());
}

describe('the demo workload', () => {
  const saved = process.env.XDG_CACHE_HOME;
  afterEach(() => {
    if (saved === undefined) delete process.env.XDG_CACHE_HOME;
    else process.env.XDG_CACHE_HOME = saved;
  });

  it('is built from workloads/ into the user cache, not inside the package', async () => {
    const cache = mkdtempSync(join(tmpdir(), 'zctrace-cache-'));
    process.env.XDG_CACHE_HOME = cache;
    const bin = await workloadFor('msgzc-syscalls');
    expect(relative(cache, bin).startsWith('..')).toBe(false);
    expect(bin.endsWith('/msgzc')).toBe(true);
    accessSync(bin, constants.X_OK);
    expect(await workloadFor('msgzc-kernel')).toBe(bin); // built once, found again
  });

  it('ships with the package (npm pack), sources only', () => {
    const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const files = (JSON.parse(out) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
    const shipped = files.filter((f) => f.startsWith('workloads/')).sort();
    expect(shipped).toEqual(['workloads/Makefile', 'workloads/iouring_zc.c', 'workloads/msgzc.c']);
    expect(files.some((f) => f.startsWith('test/'))).toBe(false);
  });

  it('no product file (src/, bin/) imports or reads from test/', () => {
    // an import from test/, or a path built from a 'test' part (text that cites a fixture is fine)
    const reads = [/(from|import\()[ \t]*['"][^'"]*\btest\//, /\([ \t]*['"]test\//, /,[ \t]*['"]test['"/]/];
    const offenders = [...filesUnder(join(ROOT, 'src')), ...filesUnder(join(ROOT, 'bin'))]
      .filter((f) => reads.some((re) => re.test(readFileSync(f, 'utf8'))))
      .map((f) => relative(ROOT, f));
    expect(offenders).toEqual([]);
  });
});

// `npm pack` builds dist/ (prepack) and ships it; an install of that tarball, made read-only,
// runs the demo end to end with real bpftrace: the workload is compiled from the package's
// sources into the user cache, so nothing is written inside the package.
const liveSkip = liveSkipReason();
describe.skipIf(liveSkip !== null)(`zctrace demo from the packed tarball${liveSkip ? ` (skipped: ${liveSkip})` : ''}`, () => {
  it('installs with npm and finds every zero-copy send of the demo', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zctrace-pack-'));
    try {
      const out = execFileSync('npm', ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
      const tgz = join(dir, (JSON.parse(out) as { filename: string }[])[0].filename);
      execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefix', join(dir, 'inst'), tgz], { stdio: 'ignore' });
      const pkg = join(dir, 'inst', 'node_modules', 'zctrace');
      execFileSync('chmod', ['-R', 'a-w', pkg]);
      const r = await execa(join(dir, 'inst', 'node_modules', '.bin', 'zctrace'), ['demo', '--headless'], {
        cwd: tmpdir(), reject: false, timeout: 180_000, env: { XDG_CACHE_HOME: join(dir, 'cache') },
      });
      expect(r.exitCode, r.stderr).toBe(0);
      const summary = String(r.stdout).trim().split('\n').map((l) => JSON.parse(l)).at(-1);
      expect(summary.type).toBe('summary');
      // the demo's own accounting line: what the workload sent, and what zctrace saw
      const sent = /the workload counted (\d+) zero-copy sends and (\d+) completions; zctrace saw (\d+) submits and (\d+) completions/.exec(String(r.stderr));
      expect(sent, r.stderr).not.toBeNull();
      expect(Number(sent![1])).toBeGreaterThan(0);
      expect([sent![3], sent![4]]).toEqual([sent![1], sent![2]]);
      expect(summary.eventsByKind.submit).toBe(Number(sent![1]));
    } finally {
      execFileSync('chmod', ['-R', 'u+w', dir]);
      rmSync(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
