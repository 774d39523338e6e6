// What this machine lets tests do. Each check returns why not, so a skipped test says why.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Capability {
  ok: boolean;
  reason: string;
}

/** Root, and a tmpfs can be mounted (for full-disk tests). */
export function canMountTmpfs(): Capability {
  if (process.getuid?.() !== 0) return { ok: false, reason: 'needs root to mount a small tmpfs' };
  const d = mkdtempSync(join(tmpdir(), 'zctrace-cap-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'zctrace-cap', d], { stdio: 'ignore' });
    execFileSync('umount', [d], { stdio: 'ignore' });
    return { ok: true, reason: '' };
  } catch (e) {
    return { ok: false, reason: `cannot mount tmpfs: ${(e as Error).message.split('\n')[0]}` };
  } finally {
    if (existsSync(d)) rmdirSync(d);
  }
}
