// The demo's workload comes from the package itself (workloads/), is shipped by `npm pack`, and
// is built outside the package, so `zctrace demo` works from an installed, read-only copy.
import { execFileSync } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { workloadFor } from '../../src/run/demo.js';
import { ROOT } from '../helpers/cli.js';

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
