// Runs the real zctrace entry point (bin/zctrace.js → dist/) as a user would.
import { execa, type Options, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { expect } from 'vitest';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'zctrace.js');

export interface CliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export async function zctrace(args: string[], opts: Options = {}): Promise<CliResult> {
  const r = await execa(process.execPath, [BIN, ...args], { reject: false, cwd: ROOT, timeout: 300_000, ...opts });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** Parses NDJSON output into records. */
export function records(stdout: string): Record<string, any>[] {
  return stdout.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l));
}

const ajv = new Ajv({ strict: false });
const outputSchema = ajv.compile(JSON.parse(readFileSync(join(ROOT, 'schema', 'output-record.schema.json'), 'utf8')));

/** Throws with ajv's explanation if a record does not match schema/output-record.schema.json. */
export function assertRecord(r: unknown): void {
  if (!outputSchema(r)) throw new Error(`record does not match the output schema: ${ajv.errorsText(outputSchema.errors)}\n${JSON.stringify(r).slice(0, 500)}`);
}

/**
 * Starts `zctrace live ARGS --headless` and resolves once its probes are attached (its `start`
 * record, written and flushed at that moment). The subprocess comes wrapped: it is a thenable.
 */
export async function liveAttached(args: string[]): Promise<{ z: ResultPromise<{ cwd: string; reject: false }> }> {
  const z = execa(process.execPath, [BIN, 'live', '--headless', ...args], { cwd: ROOT, reject: false });
  await new Promise<void>((res, rej) => {
    z.stdout!.on('data', (d: Buffer) => { if (d.includes('"type":"start"')) res(); });
    void z.then((r) => rej(new Error(`zctrace ended before attaching: ${String(r.stderr)}`)));
  });
  return { z };
}

/**
 * Stops a `zctrace live --headless` run the way a user does (Ctrl-C) after `settleMs` (the last
 * completions and the reorder window), checks that it exited 0, and returns its records, each
 * checked against the output schema.
 */
export async function stopLive(z: ResultPromise<{ cwd: string; reject: false }>, settleMs: number): Promise<Record<string, any>[]> {
  await new Promise((r) => setTimeout(r, settleMs));
  z.kill('SIGINT');
  const r = await z;
  expect(r.exitCode, String(r.stderr)).toBe(0);
  const recs = records(String(r.stdout));
  recs.forEach(assertRecord);
  return recs;
}
