// Where the files that ship beside the code live, whether run from src/ (tsx) or dist/.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The package root (the folder holding package.json). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** zctrace's version, from its package.json (so it is right however zctrace was started). */
export function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

export function schemaPath(name: string): string {
  return join(packageRoot, 'schema', name);
}

export function probePath(name: string): string {
  return join(packageRoot, 'probes', name);
}

export function dashboardPath(name: string): string {
  return join(packageRoot, 'dashboards', name);
}
