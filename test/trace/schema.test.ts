// The reader's fast checks of trace lines (src/trace/schema.ts) against the schema files they are
// written from: for values generated from the schemas themselves (every field at and past its
// limits, wrong types, missing required fields, unknown fields) and for random values, the fast
// check and ajv compiled from the schema say the same. Changing a schema without changing the
// fast check makes these fail.
import { Ajv } from 'ajv';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_KINDS } from '../../src/engine/types.js';
import { AJV_OPTIONS, eventError, headerError, isEvent, isHeader } from '../../src/trace/schema.js';
import { eventSchema, headerSchema, records, values } from './schema-values.js';

const ajv = new Ajv(AJV_OPTIONS);
const ajvEvent = ajv.compile(eventSchema);
const ajvHeader = ajv.compile(headerSchema);

describe('the fast checks say what ajv compiled from the schema says', () => {
  it('event lines: generated from schema/trace-event.schema.json', () => {
    fc.assert(fc.property(records(eventSchema), (v) => {
      expect(isEvent(v)).toBe(ajvEvent(v));
    }), { numRuns: 5000 });
  });

  it('event lines: each kind with its required fields, one field varied at a time', () => {
    for (const ev of eventSchema.properties!.ev.enum as string[]) {
      const base: Record<string, unknown> = { t: 1, ev, obj: '0xa', n: 1 };
      for (const [k, p] of Object.entries(eventSchema.properties!)) {
        fc.assert(fc.property(values(p), (x) => {
          const v = { ...base, [k]: x };
          expect(isEvent(v)).toBe(ajvEvent(v));
          const without = { ...v };
          delete without[k];
          expect(isEvent(without)).toBe(ajvEvent(without));
        }), { numRuns: 300 });
      }
    }
  });

  it('header lines: generated from schema/trace-header.schema.json', () => {
    fc.assert(fc.property(records(headerSchema), (v) => {
      expect(isHeader(v)).toBe(ajvHeader(v));
    }), { numRuns: 5000 });
  });

  it('any JSON value, and any value at all', () => {
    fc.assert(fc.property(fc.oneof(fc.jsonValue(), fc.anything()), (v) => {
      expect(isEvent(v)).toBe(ajvEvent(v));
      expect(isHeader(v)).toBe(ajvHeader(v));
    }), { numRuns: 5000 });
  });

  it('the event kinds the engine knows are the schema\'s', () => {
    expect([...EVENT_KINDS].sort()).toEqual([...(eventSchema.properties!.ev.enum as string[])].sort());
  });
});

describe('a refused line is explained by ajv', () => {
  it('events', () => {
    expect(eventError({ t: '5', ev: 'get', obj: '0xa' })).toBe('field "t" must be number');
    expect(eventError({ t: 1, ev: 'put' })).toBe('missing required field "obj"');
    expect(eventError({ t: 1, ev: 'get', obj: 'a'.repeat(257) })).toBe('field "obj" must NOT have more than 256 characters');
  });
  it('headers', () => {
    expect(headerError({ type: 'header', format: 'zctrace-trace', version: 1, t0: '12a' })).toBe('field "t0" must match pattern "^[0-9]+$"');
  });
});
