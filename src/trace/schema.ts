// Validation of trace lines against the JSON Schemas shipped in schema/ (one source of truth
// for the docs, the reader and the tests), compiled once by ajv into plain checks.
import { readFileSync } from 'node:fs';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { schemaPath } from '../util/paths.js';

const ajv = new Ajv({ allErrors: false, strict: true, strictRequired: false, allowUnionTypes: true });

function load(name: string): ValidateFunction {
  return ajv.compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')));
}

/** Checks a parsed event line; the message names the field and what is wrong with it. */
export const validateEvent = load('trace-event.schema.json');
/** Checks a parsed header line. */
export const validateHeader = load('trace-header.schema.json');

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
