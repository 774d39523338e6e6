// Validation of trace lines against the JSON Schemas shipped in schema/ (one source of truth
// for the docs, the reader and the tests).
//
// Every line of a trace is checked, so the check is on replay's hot path. `isEvent` and
// `isHeader` are the schemas written out as plain checks: no allocation, one pass over the
// fields. They answer only yes or no. A line they refuse is then given to ajv, compiled from
// the schema files on first use, for the message (so ajv, ~0.4 s to import and compile, is
// never loaded to read a valid trace). test/trace/schema.test.ts holds the two to each
// other: for values generated from the schema files (every field at and past its limits,
// wrong types, unknown fields) and random JSON, the fast check and ajv agree; a change to a
// schema that the fast check does not follow fails that test.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv';
import type { ZcEvent } from '../engine/types.js';
import type { TraceHeader } from './header.js';
import { schemaPath } from '../util/paths.js';

/** The options the schemas are compiled with (the tests compile with the same). */
export const AJV_OPTIONS = { allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true } as const;

// ---- the fast checks -------------------------------------------------------------------------

/** Length in code points, as JSON Schema's minLength/maxLength count (ajv's ucs2length). */
function codePoints(s: string): number {
  const len = s.length;
  let n = 0;
  let pos = 0;
  while (pos < len) {
    n++;
    const c = s.charCodeAt(pos++);
    if (c >= 0xd800 && c <= 0xdbff && pos < len && (s.charCodeAt(pos) & 0xfc00) === 0xdc00) pos++;
  }
  return n;
}

/** A string of at most `max` code points (UTF-16 length bounds it from above: cheap first). */
function str(v: unknown, max: number): boolean {
  return typeof v === 'string' && (v.length <= max || codePoints(v) <= max);
}

/** JSON Schema "number" (ajv: finite). */
function num(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** JSON Schema "integer" (ajv: finite, no fraction). */
function int(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v % 1 === 0;
}

const COUNTERS = new Set<unknown>(['done', 'bytes', 'copied', 'resends', 'abandoned', 'life']);

/** Yes or no: `v` matches schema/trace-event.schema.json. */
export function isEvent(v: unknown): v is ZcEvent {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  const t = o.t;
  if (!num(t) || t < 0) return false;
  // allOf: `obj` is required except on lost, tick, send_error, close and count; `n` on lost;
  // `counter` and `n` on count.
  let x: unknown;
  switch (o.ev) {
    case 'submit': case 'get': case 'put': case 'done': case 'free':
      if (o.obj === undefined) return false;
      break;
    case 'lost':
      if (o.n === undefined) return false;
      break;
    case 'close': case 'tick': case 'send_error':
      break;
    case 'count':
      if (o.counter === undefined || o.n === undefined) return false;
      break;
    default:
      return false;
  }
  if ((x = o.obj) !== undefined && !(str(x, 256) && (x as string).length > 0)) return false;
  if ((x = o.bytes) !== undefined && !(int(x) && x >= 0)) return false;
  if ((x = o.pid) !== undefined && !(int(x) && x >= 0)) return false;
  if ((x = o.comm) !== undefined && !str(x, 64)) return false;
  if ((x = o.sock) !== undefined && !str(x, 128)) return false;
  if ((x = o.page) !== undefined && !str(x, 64)) return false;
  if ((x = o.ref) !== undefined && !int(x)) return false;
  if ((x = o.copied) !== undefined && typeof x !== 'boolean') return false;
  if ((x = o.reason) !== undefined && !str(x, 32)) return false;
  if ((x = o.since) !== undefined && !(num(x) && x >= 0)) return false;
  if ((x = o.unsure) !== undefined && !str(x, 256)) return false;
  if ((x = o.resend) !== undefined && typeof x !== 'boolean') return false;
  if ((x = o.n) !== undefined && !(int(x) && x >= 0)) return false;
  if ((x = o.errno) !== undefined && !str(x, 32)) return false;
  if ((x = o.start) !== undefined && !(num(x) && x >= 0)) return false;
  if ((x = o.counter) !== undefined && !COUNTERS.has(x as string)) return false;
  if ((x = o.bucket) !== undefined && !(num(x) && x >= 0)) return false;
  return true;
}

const DIGITS = /^[0-9]+$/u;

/** Yes or no: `v` matches schema/trace-header.schema.json. */
export function isHeader(v: unknown): v is TraceHeader {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const o = v as Record<string, unknown>;
  if (o.type !== 'header' || o.format !== 'zctrace-trace') return false;
  const version = o.version;
  if (!int(version) || version < 1) return false;
  for (const k of ['pack', 'host', 'kernel', 'started', 'generated', 'command'] as const) {
    if (o[k] !== undefined && typeof o[k] !== 'string') return false;
  }
  if (o.clock !== undefined && o.clock !== 'monotonic_ns') return false;
  if (o.t0 !== undefined && !(typeof o.t0 === 'string' && DIGITS.test(o.t0))) return false;
  if (o.segment !== undefined && !(int(o.segment) && o.segment >= 1)) return false;
  return true;
}

// ---- ajv, for what is wrong with a line the fast checks refused --------------------------------

let compiled: { event: ValidateFunction; header: ValidateFunction } | undefined;

/** ajv's validators of the two schemas, compiled on first use (synchronously: ajv is CommonJS). */
export function ajvValidators(): { event: ValidateFunction; header: ValidateFunction } {
  if (compiled === undefined) {
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    const ajv = new Ajv(AJV_OPTIONS);
    const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')));
    compiled = { event: load('trace-event.schema.json'), header: load('trace-header.schema.json') };
  }
  return compiled;
}

/** What is wrong with an event line `isEvent` refused, in one short sentence. */
export function eventError(v: unknown): string {
  const validate = ajvValidators().event;
  return validate(v) ? 'invalid' : explain(validate.errors, v);
}

/** What is wrong with a header line `isHeader` refused, in one short sentence. */
export function headerError(v: unknown): string {
  const validate = ajvValidators().header;
  return validate(v) ? 'invalid' : explain(validate.errors, v);
}

/** One short sentence from ajv's first error, e.g. `field "t": must be number`. */
export function explain(errors: ErrorObject[] | null | undefined, value: unknown): string {
  const err = errors?.[0];
  if (!err) return 'invalid';
  if (err.keyword === 'required') return `missing required field "${(err.params as { missingProperty: string }).missingProperty}"`;
  const field = err.instancePath.replace(/^\//, '');
  if (field === 'ev' && err.keyword === 'enum') {
    return `unknown ev ${JSON.stringify((value as { ev?: unknown }).ev)}`;
  }
  if (field === '') return err.message ?? 'invalid';
  return `field "${field}" ${err.message ?? 'is invalid'}`;
}
