// The generated msgzc-kernel programs: in sync with their template, headed the same way as
// every pack, and compiling against this machine's BTF where its layout matches (bpftrace
// --emit-elf compiles without loading, so it needs neither kprobes nor the verifier).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { expand, generate, programFile, PROGRAMS, syncPrograms } from '../../../src/probes/packs/msgzc-kernel-programs.js';
import { packageRoot } from '../../../src/util/paths.js';

describe('msgzc-kernel programs', () => {
  it('are what the template generates (regenerate: node --import tsx src/probes/packs/msgzc-kernel-programs.ts --write)', () => {
    expect(syncPrograms(false)).toEqual([]);
  });

  it('are one per layout, done source and mode', () => {
    expect(PROGRAMS.map((p) => p.file)).toEqual([
      'msgzc-kernel.bt', 'msgzc-kernel-agg.bt', 'msgzc-kernel-inline.bt', 'msgzc-kernel-inline-agg.bt',
      'msgzc-kernel-ops.bt', 'msgzc-kernel-ops-agg.bt', 'msgzc-kernel-ops-inline.bt', 'msgzc-kernel-ops-inline-agg.bt',
      'msgzc-kernel-5x.bt', 'msgzc-kernel-5x-agg.bt',
    ]);
    expect(programFile('v5', 'derived', 'stream')).toBe('msgzc-kernel-5x.bt');
  });

  it('expands #if blocks and placeholders, and refuses what it cannot expand', () => {
    expect(expand('a\n#if X=1\nb @Y@\n#else\nc\n#endif\nd', { X: '1', Y: 'y' })).toBe('a\nb y\nd');
    expect(expand('#if X=1\nb\n#else\nc\n#endif', { X: '2' })).toBe('c');
    expect(() => expand('@NOPE@', {})).toThrow(/no value/);
    expect(() => expand('#if X=1\n', { X: '1' })).toThrow(/unterminated/);
  });

  for (const spec of PROGRAMS) {
    it(`${spec.file}: the common header, one ready line, maps cleared, no template left`, () => {
      const text = readFileSync(join(packageRoot, 'probes', spec.file), 'utf8');
      const header = text.slice(0, text.indexOf('*/'));
      for (const section of ['Traces:', 'Requires:', 'Output', 'Example:', 'Overhead:']) expect(header).toContain(` * ${section}`);
      expect(text).toMatch(/^BEGIN\n\{[^}]*printf\("ready\\t%llu\\n", nsecs\);/m);
      expect(text).not.toMatch(/@[A-Z_]+@|^#if|^#else|^#endif/m);
      const maps = new Set([...text.matchAll(/@([a-z_]+)\[/g)].map((m) => m[1]));
      const end = text.slice(text.indexOf('\nEND\n'));
      for (const m of maps) expect(end).toContain(`clear(@${m})`);
      expect(text).not.toMatch(/\b(system|override|signal)\(/); // no builtin that needs --unsafe
      expect(generate(spec)).toBe(text);
    });
  }
});

/** Whether this host's BTF has a layout; which programs to compile here, and why not the others. */
function compileCheck(): { bin?: string; reason?: string; layout?: string } {
  if (process.getuid?.() !== 0) return { reason: 'needs root (bpftrace reads BTF and kallsyms)' };
  try {
    execFileSync('which', ['bpftrace'], { stdio: 'ignore' });
  } catch {
    return { reason: 'no bpftrace' };
  }
  const r = spawnSync('bpftrace', ['-lv', 'struct ubuf_info'], { encoding: 'utf8', timeout: 60000 });
  if (/\bops\b/.test(r.stdout)) return { bin: 'bpftrace', layout: 'ops' };
  if (/\bcallback\b/.test(r.stdout)) return { bin: 'bpftrace', layout: /\bbytelen\b/.test(r.stdout) ? 'v5' : 'callback' };
  return { reason: 'no BTF for struct ubuf_info' };
}

const cc = compileCheck();
describe.skipIf(cc.bin === undefined)(`msgzc-kernel programs compile against this kernel's BTF${cc.reason ? ` (skipped: ${cc.reason})` : ''}`, () => {
  const dir = mkdtempSync(join(tmpdir(), 'zctrace-elf-'));
  for (const spec of PROGRAMS) {
    it.skipIf(spec.layout !== cc.layout)(`${spec.file}${spec.layout !== cc.layout ? ` (skipped: layout ${spec.layout}, this kernel has ${cc.layout})` : ''}`, () => {
      const r = spawnSync(cc.bin!, ['--emit-elf', join(dir, `${spec.file}.o`), join(packageRoot, 'probes', spec.file)], { encoding: 'utf8', timeout: 120000 });
      const errors = r.stderr.split('\n').filter((l) => /ERROR|error:/.test(l) && !/RLIMIT_MEMLOCK/.test(l));
      expect(errors).toEqual([]);
      expect(r.status).toBe(0);
    });
  }
});
