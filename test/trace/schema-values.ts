// Values generated from the trace schemas (schema/*.json), for the tests of the fast checks
// (schema.test.ts) and of the fast line parser (line-parser.test.ts).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';

const ROOT = join(__dirname, '..', '..');
export type Schema = {
  type?: string; enum?: unknown[]; const?: unknown; minimum?: number; minLength?: number; maxLength?: number; pattern?: string;
  required?: string[]; properties?: Record<string, Schema>;
};
const load = (name: string): Schema => JSON.parse(readFileSync(join(ROOT, 'schema', name), 'utf8')) as Schema;
export const eventSchema = load('trace-event.schema.json');
export const headerSchema = load('trace-header.schema.json');
/** Values a field of this schema may or may not take: at and past each limit, and wrong types. */
export function values(s: Schema): fc.Arbitrary<unknown> {
  const wrong = fc.constantFrom<unknown>(null, true, false, 0, -1, 1.5, '', 'x', '5', [], {}, [1], { a: 1 }, NaN, Infinity, -Infinity, -0);
  const parts: fc.Arbitrary<unknown>[] = [wrong];
  if (s.enum) parts.push(fc.constantFrom(...s.enum), fc.constantFrom(...s.enum.map((v) => `${String(v)}x`), 'SUBMIT', 'grab'));
  if (s.const !== undefined) parts.push(fc.constant(s.const), fc.constant(`${String(s.const)}s`));
  if (s.type === 'number' || s.type === 'integer') {
    const m = s.minimum ?? -1e6;
    parts.push(
      fc.constantFrom(m, m - 1, m + 1, m - 0.5, m + 0.5, Number.MAX_SAFE_INTEGER, 2 ** 64, -(2 ** 64), 1e-9, 123456789012),
      fc.integer({ min: -1e9, max: 1e12 }), fc.double({ min: -1e6, max: 1e15, noNaN: true }),
    );
  }
  if (s.type === 'string') {
    const max = s.maxLength ?? 40;
    const min = s.minLength ?? 0;
    parts.push(fc.constantFrom(
      'a'.repeat(max), 'a'.repeat(max + 1), 'a'.repeat(Math.max(0, min - 1)), 'a'.repeat(min),
      '\u{1F600}'.repeat(max), '\u{1F600}'.repeat(max + 1), `${'\u{1F600}'.repeat(max - 1)}ab`, // astral: 2 UTF-16 units, 1 character
      '\ud800'.repeat(max + 1), '\udc00'.repeat(max), `${'a'.repeat(max - 1)}\ud83d`, 'é'.repeat(max + 1),
      '0xffff8880a1b23a00', '123', '0', '12a', ' 1', '١٢',
    ), fc.string({ unit: 'binary', maxLength: 2 * max + 2 }));
    if (s.pattern) parts.push(fc.stringMatching(new RegExp(s.pattern, 'u')));
  }
  if (s.type === 'boolean') parts.push(fc.boolean());
  return fc.oneof(...parts);
}

/** Objects of the schema's fields: required ones usually present, each field usually valid-looking. */
export function records(s: Schema): fc.Arbitrary<unknown> {
  const props = s.properties ?? {};
  const required = new Set(s.required ?? []);
  const fields: Record<string, fc.Arbitrary<unknown>> = {};
  for (const [k, p] of Object.entries(props)) fields[k] = values(p);
  const obj = fc.record(fields, { requiredKeys: [] });
  // The required fields (and for events, every kind of event) often present, so the other fields get judged.
  return fc.tuple(obj, fc.subarray([...required]), fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 2 }), fc.boolean())
    .map(([o, drop, extra, withExtra]) => {
      const r: Record<string, unknown> = withExtra ? { ...extra, ...o } : { ...o };
      for (const k of required) {
        if (drop.includes(k)) delete r[k];
        else if (r[k] === undefined && props[k]) r[k] = validExample(props[k]);
      }
      return r;
    });
}

function validExample(s: Schema): unknown {
  if (s.enum) return s.enum[0];
  if (s.const !== undefined) return s.const;
  if (s.type === 'string') return 'x';
  if (s.type === 'boolean') return true;
  return s.minimum ?? 0;
}

