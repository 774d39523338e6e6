// Where the files that ship beside the code live, whether run from src/ (tsx) or dist/.
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

/** The package root (the folder holding package.json). */
export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function schemaPath(name: string): string {
  return join(packageRoot, 'schema', name);
}

export function probePath(name: string): string {
  return join(packageRoot, 'probes', name);
}

export function dashboardPath(name: string): string {
  return join(packageRoot, 'dashboards', name);
}
