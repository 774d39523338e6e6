// The small rules the dashboard is made of: filter parsing and matching, the key table, column
// fitting, and the story's text.
import { describe, expect, it } from 'vitest';
import { matches, matchesKey, parseFilter } from '../../../src/sinks/dashboard/filter.js';
import { actionFor, editLine } from '../../../src/sinks/dashboard/keys.js';
import { fitColumns, type Column } from '../../../src/sinks/dashboard/panels/table.js';
import { cutMiddle } from '../../../src/sinks/dashboard/panels/panel.js';
import { storyText } from '../../../src/sinks/dashboard/story.js';
import { STORY_HEAD, STORY_TAIL } from '../../../src/engine/lifetime.js';
import { run } from '../../helpers/engine.js';

const h = { obj: '0xffff8880a1b26c00', sock: '10.0.0.1:4420>10.0.0.5:57220', pid: 813, comm: 'iscsi_trd' };

describe('filter', () => {
  it('fields, bare words, and every term must match', () => {
    expect(matches(parseFilter('sock:10.0.0.5'), h)).toBe(true);
    expect(matches(parseFilter('sock:10.0.0.2'), h)).toBe(false);
    expect(matches(parseFilter('pid:813 comm:ISCSI'), h)).toBe(true);
    expect(matches(parseFilter('pid:81'), h)).toBe(false); // a pid is whole, not a substring
    expect(matches(parseFilter('holder:a1b26c'), h)).toBe(true);
    expect(matches(parseFilter('57220'), h)).toBe(true);
    expect(matches(parseFilter('813'), h)).toBe(true);
    expect(matches(parseFilter('iscsi pid:1'), h)).toBe(false);
    expect(parseFilter('   ').terms).toEqual([]);
  });

  it('bad terms are refused with what is wrong', () => {
    expect(() => parseFilter('port:3260')).toThrow('unknown filter field "port" (use sock, pid, comm, holder)');
    expect(() => parseFilter('pid:abc')).toThrow('a pid is a number');
    expect(() => parseFilter('comm:')).toThrow('has no value');
  });

  it('breakdown rows ignore terms about fields they do not have', () => {
    const f = parseFilter('sock:10.0.0.5 pid:813');
    expect(matchesKey(f, 'socket', h.sock)).toBe(true);
    expect(matchesKey(f, 'socket', '10.0.0.1:3260>10.0.0.2:51234')).toBe(false);
    expect(matchesKey(f, 'process', '813/iscsi_trd')).toBe(true);
    expect(matchesKey(f, 'process', '812/iscsi_trd')).toBe(false);
  });
});

describe('keys', () => {
  const k = (full: string) => ({ full, name: full });
  it('a printable key by its character: G is end, g is home', () => {
    expect(actionFor('main', false, 'G', { full: 'S-g', name: 'g', shift: true })).toBe('end');
    expect(actionFor('main', false, 'g', k('g'))).toBe('home');
  });

  it('Enter once: blessed also sends "return", which does nothing', () => {
    expect(actionFor('main', false, '\r', k('enter'))).toBe('open');
    expect(actionFor('main', false, '\r', k('return'))).toBeUndefined();
    expect(actionFor('story', false, '\r', k('return'))).toBeUndefined();
  });

  it('replay keys only in replay; any key leaves the help; Ctrl-C quits everywhere', () => {
    expect(actionFor('main', true, '+', k('+'))).toBe('faster');
    expect(actionFor('main', false, '+', k('+'))).toBeUndefined();
    expect(actionFor('main', true, 'f', k('f'))).toBe('nextFinding');
    expect(actionFor('help', false, 'x', k('x'))).toBe('close');
    for (const mode of ['main', 'story', 'help', 'filter'] as const) expect(actionFor(mode, false, '\x03', { full: 'C-c', name: 'c', ctrl: true })).toBe('quit');
    expect(actionFor('filter', false, 'q', k('q'))).toBeUndefined(); // q is text while filtering
  });

  it('the filter line: printable text, backspace, Ctrl-U, Enter, Esc', () => {
    expect(editLine('soc', 'k', k('k'))).toEqual({ text: 'sock' });
    expect(editLine('sock', undefined, k('backspace'))).toEqual({ text: 'soc' });
    expect(editLine('sock', undefined, { full: 'C-u', name: 'u', ctrl: true })).toEqual({ text: '' });
    expect(editLine('sock:1', '\r', k('enter'))).toEqual({ text: 'sock:1', done: 'apply' });
    expect(editLine('sock:1', undefined, k('escape'))).toEqual({ text: 'sock:1', done: 'cancel' });
    expect(editLine('x', '\x01', { full: 'C-a', name: 'a', ctrl: true })).toEqual({ text: 'x' });
  });
});

describe('columns', () => {
  const cols: Column[] = [
    { header: 'a', width: 10, priority: 1 },
    { header: 's', width: 28, min: 12, flex: true, maxWidth: 40, priority: 3 },
    { header: 'b', width: 8, min: 6, priority: 2 },
    { header: 'z', width: 9, priority: 4 },
  ];
  it('by priority; the flex column is not squeezed by a lower one; the rest goes to it', () => {
    expect(fitColumns(cols, 200)).toEqual({ index: [0, 1, 2, 3], widths: [10, 40, 8, 9] });
    expect(fitColumns(cols, 60)).toEqual({ index: [0, 1, 2, 3], widths: [10, 29, 8, 9] });
    expect(fitColumns(cols, 50)).toEqual({ index: [0, 1, 2], widths: [10, 29, 8] }); // z dropped: s was short
    expect(fitColumns(cols, 31)).toEqual({ index: [0, 1, 2], widths: [10, 12, 6] });
    expect(fitColumns(cols, 20)).toEqual({ index: [0, 2], widths: [10, 8] });
  });

  it('sockets are cut in the middle: both ends tell them apart', () => {
    expect(cutMiddle('10.0.0.1:4420>10.0.0.5:57220', 22)).toBe('10.0.0.1:44….0.5:57220');
    expect(cutMiddle('short', 22)).toBe('short');
  });
});

describe('story text', () => {
  it('says where the engine cut a long story, and how much', () => {
    const ev = [{ ev: 'submit' as const, obj: 'o', bytes: 4096 }];
    for (let i = 0; i < 100; i++) ev.push({ ev: 'get', obj: 'o', page: '0xp' } as never);
    const { engine } = run(ev, 10e9, false);
    const lt = engine.lifetimeOf('o')!;
    const lines = storyText(lt, engine.now);
    expect(lines[0]).toContain('holder o #1');
    expect(lines.some((l) => l.includes('+0 ns  submit'))).toBe(true);
    const cut = lines.findIndex((l) => l.includes('in the middle not kept'));
    expect(lines[cut]).toContain(`${101 - STORY_HEAD - STORY_TAIL} event(s)`);
    // The cut sits after the first STORY_HEAD events (+ the 5 header lines).
    expect(cut).toBe(5 + STORY_HEAD);
  });
});
