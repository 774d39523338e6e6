// Which output `live` picks: the dashboard on a terminal (compact when only that fits), status
// lines otherwise (and it says so), NDJSON with --headless; explicit requests that cannot be
// met are errors that suggest --headless.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { chooseLiveOutput } from '../../../src/sinks/dashboard/choose.js';
import { fakeTerminal } from './fake-terminal.js';

afterEach(() => { vi.restoreAllMocks(); });

describe('live output', () => {
  it('a big terminal gets the default dashboard, an 80x24 one the compact one', () => {
    expect(chooseLiveOutput(false, undefined, fakeTerminal(120, 40))).toMatchObject({ output: 'dashboard', layout: { name: 'default' } });
    expect(chooseLiveOutput(false, undefined, fakeTerminal(80, 24))).toMatchObject({ output: 'dashboard', layout: { name: 'compact' } });
  });

  it('smaller than compact: a clear error suggesting --headless', () => {
    expect(() => chooseLiveOutput(false, undefined, fakeTerminal(70, 20))).toThrow('the terminal is 70x20; the "compact" dashboard needs at least 80x24');
  });

  it('not a terminal: status lines, and a sentence on stderr saying why', () => {
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(chooseLiveOutput(false, undefined, fakeTerminal(120, 40, false))).toEqual({ output: 'status' });
    expect(String(err.mock.calls[0][0])).toBe('zctrace: stdout is not a terminal, so no dashboard: status lines, then a report (--headless for NDJSON records)\n');
  });

  it('--dashboard when it cannot be shown is an error, not a silent fallback', () => {
    expect(() => chooseLiveOutput(false, 'default', fakeTerminal(120, 40, false))).toThrow('the dashboard needs a terminal, and stdout is not one');
    expect(() => chooseLiveOutput(false, 'default', fakeTerminal(90, 40))).toThrow('needs at least 100x30');
    expect(chooseLiveOutput(false, 'compact', fakeTerminal(90, 40))).toMatchObject({ output: 'dashboard', layout: { name: 'compact' } });
  });

  it('--headless is NDJSON; with --dashboard it is a usage error', () => {
    expect(chooseLiveOutput(true, undefined, fakeTerminal(120, 40))).toEqual({ output: 'json' });
    expect(() => chooseLiveOutput(true, 'compact', fakeTerminal(120, 40))).toThrow('--dashboard and --headless do not go together');
  });
});
