// bench/decode: Node's CPU per event on the live path's decoding alone (probe parser, reorder
// window, the pack's decoder, the engine), in this process, over a real capture of the pack's
// probes on the kernel's own selftest sender. It is the part of bench:live-node that this code
// owns (that one adds stdout, line splitting, records, timers), measured finely enough to tell
// a change from the noise: passes alternate with a baseline in the same process, and CPU comes
// from process.cpuUsage (getrusage: microseconds, where /proc's ticks are 10 ms).
// The baseline: with `--against DIR`, the same path from another checkout (a git worktree of an
// earlier commit, its node_modules linked); otherwise a bare pass that only splits each line
// into its kind, time and fields (what any decoder must do at least).
// Usage: npm run bench:decode [-- --pack msgzc-syscalls|iouring-sendzc --lines CAPTURE
//        --against DIR --passes 10 --seconds 3]
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { arg, captureRaw, envLine, senderOf } from './lib.js';

const pack = arg('pack', 'msgzc-syscalls');
const passes = Number(arg('passes', '10'));
const seconds = Number(arg('seconds', '3'));
const against = arg('against', '');
const root = join(import.meta.dirname, '..');

// Each pass starts from a collected heap (node --expose-gc, as the npm script runs it): the
// garbage one pass leaves is not collected on the next one's time.
const gc = (globalThis as { gc?: () => void }).gc;
const settle = (): void => gc?.();

/** One pass over the lines: CPU µs and the number of events it produced. */
type Pass = () => { us: number; events: number };

/** The decode path of the checkout at `dir`: parser + decoder + engine, as `live` wires them. */
async function pipeline(dir: string, lines: string[]): Promise<Pass> {
  const { ProbeParser } = await import(join(dir, 'src/probes/parse.ts'));
  const { findPack } = await import(join(dir, 'src/probes/registry.ts'));
  const { Engine } = await import(join(dir, 'src/engine/engine.ts'));
  return () => {
    const engine = new Engine({ leakAfterNs: 3600e9, onRecord: () => {} });
    let events = 0;
    const parser = new ProbeParser(findPack(pack).createDecoder(), 0n, {
      emit: (e: unknown) => { events++; engine.push(e); }, ready: () => {}, message: () => {}, bad: () => {},
    });
    settle();
    const c0 = process.cpuUsage();
    for (const l of lines) parser.line(l);
    parser.finish();
    engine.end();
    const c = process.cpuUsage(c0);
    return { us: c.user + c.system, events };
  };
}

/** The bare baseline: each line's kind, time and fields split out, nothing decoded. */
function bare(lines: string[]): Pass {
  return () => {
    let n = 0;
    settle();
    const c0 = process.cpuUsage();
    for (const l of lines) {
      const tab = l.indexOf('\t');
      if (tab <= 0) continue;
      const kind = l.slice(0, tab);
      let pos = l.indexOf('\t', tab + 1);
      const t = Number(l.slice(tab + 1, pos === -1 ? l.length : pos));
      while (pos !== -1) {
        const next = l.indexOf('\t', pos + 1);
        const eq = l.indexOf('=', pos + 1);
        if (eq !== -1) n += l.slice(eq + 1, next === -1 ? l.length : next).length;
        pos = next;
      }
      if (kind.length + t < 0) n++;
    }
    const c = process.cpuUsage(c0);
    return { us: c.user + c.system, events: n };
  };
}

let file = arg('lines', '');
if (file === '') {
  execFileSync('bash', [join(root, 'scripts', 'outside-senders.sh')], { stdio: 'ignore' });
  file = await captureRaw(pack, seconds, mkdtempSync(join(tmpdir(), 'zctrace-bench-decode-')));
}
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.length > 0);
console.log(`pack ${pack}: ${arg('lines', '') ? 'replaying' : `captured ${senderOf(pack)} for ${seconds} s →`} ${file} (${lines.length} lines)`);
const test = await pipeline(root, lines);
const base = against ? await pipeline(resolve(against), lines) : bare(lines);
const baseName = against ? `the checkout at ${against}` : 'the bare field split';
test();
base(); // both warmed up (compiled) before the first measured pass
const ratios: number[] = [];
const perEvent: number[] = [];
for (let i = 0; i < passes; i++) {
  // alternate which goes first, so neither always runs right after the other's garbage
  const [a, b] = i % 2 === 0 ? [test(), base()] : ((x, y) => [y, x])(base(), test());
  const baseUs = against ? b.us / b.events : b.us / lines.length;
  const testUs = a.us / (against ? a.events : lines.length);
  ratios.push(testUs / baseUs);
  perEvent.push(a.us / a.events);
  if (against && a.events !== b.events) console.log(`  note: this tree made ${a.events} events, the other ${b.events}`);
  console.log(`  pass ${i + 1}: ${(a.us / a.events).toFixed(2)} µs/event (${a.events} events); ${against ? `other ${baseUs.toFixed(2)} µs/event` : `bare split ${baseUs.toFixed(2)} µs/line`}; ratio ${ratios[i].toFixed(3)}`);
}
const med = (v: number[]): number => v.slice().sort((x, y) => x - y)[v.length >> 1];
console.log(`RESULT decode CPU per event ${med(perEvent).toFixed(2)} µs; ratio to ${baseName}${against ? '' : ' (per line)'}: ${med(ratios).toFixed(3)} (median of ${passes} alternated passes)`);
console.log(envLine());
