// The flag parsers of src/cli/options.ts that no end-to-end test reaches on every branch.
import { describe, expect, it } from 'vitest';
import { parseSpeed } from '../../src/cli/options.js';
import { UsageError } from '../../src/util/errors.js';

describe('flag parsers', () => {
  it('--speed values', () => {
    expect(parseSpeed('--speed', '10x')).toBe(10);
    expect(parseSpeed('--speed', '0.5')).toBe(0.5);
    expect(parseSpeed('--speed', 'MAX')).toBe('max');
    expect(() => parseSpeed('--speed', 'fast')).toThrow(UsageError);
    expect(() => parseSpeed('--speed', '0x')).toThrow('--speed: "0x" is not a speed');
  });
});
