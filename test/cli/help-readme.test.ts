// The README's command table and the commands' own --help say the same thing: the same set of
// commands, and for each the README's one line is the command's description. A command added,
// renamed or re-described on one side only fails here. Also: --version is package.json's from
// any working directory (it used to be npm's environment variable, so 0.1.0 outside `npm run`).
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { buildProgram } from '../../src/cli/program.js';
import { ROOT, zctrace } from '../helpers/cli.js';

interface Row {
  /** The first cell's text, e.g. "zctrace probes list|show NAME". */
  usage: string;
  /** The command's name: the word after `zctrace`. */
  name: string;
  description: string;
  /** The links of the last cell. */
  links: string[];
}

/** Cells of a markdown table row; `\|` is a literal bar inside a cell. */
function cells(line: string): string[] {
  return line.trim().replace(/^\||\|$/g, '').split(/(?<!\\)\|/).map((c) => c.trim().replace(/\\\|/g, '|'));
}

/** Backticks dropped, whitespace collapsed: how markdown and a terminal both read a line. */
function plain(s: string): string {
  return s.replace(/`/g, '').replace(/\s+/g, ' ').trim();
}

/** The rows of the table under the README's "## Commands" heading. */
function readmeCommands(readme: string): Row[] {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Commands\n'));
  if (section === undefined) throw new Error('README.md has no "## Commands" section');
  const rows = section.split('\n').filter((l) => l.startsWith('|')).slice(2); // header, separator
  return rows.map((l) => {
    const [first, description, more = ''] = cells(l);
    const usage = plain(first);
    const m = usage.match(/^zctrace ([a-z-]+)/);
    if (!m) throw new Error(`README command table: "${first}" does not start with \`zctrace COMMAND\``);
    return { usage, name: m[1], description: plain(description), links: [...more.matchAll(/\]\(([^)#]+)/g)].map((x) => x[1]) };
  });
}

const README = readFileSync(join(ROOT, 'README.md'), 'utf8');
const program = buildProgram();
const commands: Command[] = program.commands.filter((c) => c.name() !== 'help');

describe('README command table and --help', () => {
  const rows = readmeCommands(README);

  it('lists every command, once, and no other', () => {
    expect(rows.map((r) => r.name).sort()).toEqual(commands.map((c) => c.name()).sort());
    expect(new Set(rows.map((r) => r.name)).size).toBe(rows.length);
  });

  for (const cmd of commands) {
    it(`zctrace ${cmd.name()}: the README's line is its --help description`, () => {
      const row = rows.find((r) => r.name === cmd.name());
      expect(row, `no README row for ${cmd.name()}`).toBeDefined();
      expect(row!.description).toBe(plain(cmd.description()));
      // what --help prints (commander's own rendering) carries that description
      expect(plain(cmd.helpInformation())).toContain(row!.description);
      // subcommands (probes list|show) are named in the row
      for (const sub of cmd.commands.filter((c) => c.name() !== 'help')) expect(row!.usage).toContain(sub.name());
      // the row links to a page that exists
      expect(row!.links.length).toBeGreaterThan(0);
      for (const l of row!.links) expect(existsSync(join(ROOT, l)), `${l} (linked from the ${cmd.name()} row)`).toBe(true);
    });
  }

  it('the built CLI prints the same descriptions for `COMMAND --help`', async () => {
    for (const row of rows) {
      const r = await zctrace([row.name, '--help']);
      expect(r.exitCode, `${row.name} --help: ${r.stderr}`).toBe(0);
      expect(plain(r.stdout)).toContain(row.description);
    }
  });

  it('the table-reading itself catches a disagreement', () => {
    // a README whose demo line was reworded, and one that lost a command
    const reworded = README.replace(/(\| `zctrace demo` \| )run /, '$1start ');
    expect(readmeCommands(reworded).find((r) => r.name === 'demo')!.description).not.toBe(plain(program.commands.find((c) => c.name() === 'demo')!.description()));
    const fewer = README.split('\n').filter((l) => !l.startsWith('| `zctrace synth')).join('\n');
    expect(readmeCommands(fewer).map((r) => r.name)).not.toContain('synth');
  });
});

describe('zctrace --version', () => {
  it("is package.json's version, run from another directory and outside npm", async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('npm_')));
    const r = await zctrace(['--version'], { cwd: tmpdir(), env, extendEnv: false });
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe(version);
  });
});
