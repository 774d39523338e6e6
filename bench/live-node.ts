// bench/live-node: Node's CPU per streamed event on the live path alone (line splitting, parser,
// reorder window, decoder, engine, NDJSON records), at full speed. bpftrace and the sender are
// taken out of the measure: a real capture of the pack's probes on the kernel's own selftest
// sender is made first, then replayed as fast as zctrace reads it (bench/firehose-bpftrace).
// The baseline, alternated in the same run: a bare node that only splits the same stream into
// lines. CPU is utime + stime from /proc of zctrace's node process, from its `start` record to
// the moment its event count stops growing.
// Usage: npm run bench:live-node [-- --pack msgzc-syscalls|iouring-sendzc --seconds 3 --rounds 3]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { arg, captureRaw, envLine, senderOf } from './lib.js';

const pack = arg('pack', 'msgzc-syscalls');
const seconds = Number(arg('seconds', '3'));
const rounds = Number(arg('rounds', '3'));
const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'zctrace.js');
const firehose = join(root, 'bench', 'firehose-bpftrace');
const dir = mkdtempSync(join(tmpdir(), 'zctrace-bench-node-'));

/** CPU seconds (utime + stime) of a live process. */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** Baseline: a bare node reading the firehose and splitting lines; CPU seconds and lines. */
async function baseline(lines: string): Promise<{ cpu: number; lines: number }> {
  const code = `let n=0,c=0;process.stdin.on('data',(b)=>{let p=0;for(;;){const i=b.indexOf(10,p);if(i<0)break;b.toString('latin1',p,i);n++;p=i+1}});` +
    `const t=setInterval(()=>{if(n===c&&n>0){const f=require('fs').readFileSync('/proc/self/stat','utf8').split(') ')[1].split(' ');console.log(JSON.stringify({cpu:(+f[11]+ +f[12])/100,lines:n}));process.exit(0)}c=n},1000)`;
  const src = spawn(firehose, [], { env: { ...process.env, FIREHOSE_LINES: lines }, stdio: ['ignore', 'pipe', 'inherit'] });
  const sink = execa(process.execPath, ['-e', code], { stdin: 'pipe' });
  src.stdout.pipe(sink.stdin!);
  const r = await sink;
  src.kill('SIGINT');
  return JSON.parse(String(r.stdout));
}

/** zctrace live on the firehose: Node CPU seconds from attach to the last event, and events. */
async function traced(lines: string): Promise<{ cpu: number; events: number; lines: number }> {
  const z = execa(process.execPath, [bin, 'live', '--pack', pack, '--mode', 'stream', '--headless', '--interval', '200ms', '--leak-after', '1h'], {
    reject: false, cwd: root, env: { ZCTRACE_BPFTRACE: firehose, FIREHOSE_LINES: lines },
  });
  let cpu0 = -1;
  let last = -1;
  let same = 0;
  const done = new Promise<number>((res) => {
    let carry = '';
    z.stdout!.on('data', (d: Buffer) => {
      const parts = (carry + d.toString()).split('\n');
      carry = parts.pop()!;
      for (const p of parts) {
        if (p.includes('"type":"start"')) cpu0 = cpuOf(z.pid!);
        if (!p.includes('"type":"stats"')) continue;
        const ev = JSON.parse(p).events as number;
        same = ev === last && ev > 0 ? same + 1 : 0;
        last = ev;
        if (same === 3) res(cpuOf(z.pid!));
      }
    });
  });
  const cpu1 = await done;
  z.kill('SIGINT');
  const r = await z;
  const summary = JSON.parse(String(r.stdout).trim().split('\n').at(-1)!);
  // 3 quiet stats periods (600 ms of timers) are in the figure: small next to seconds of work.
  return { cpu: cpu1 - cpu0, events: summary.events, lines: readFileSync(lines, 'utf8').split('\n').filter((l) => l.includes('\t')).length };
}

execFileSync('bash', [join(root, 'scripts', 'outside-senders.sh')], { stdio: 'ignore' });
// --lines FILE: replay an earlier capture (made by this bench) instead of making one
const lines = arg('lines', '') || await captureRaw(pack, seconds, dir);
console.log(`pack ${pack}: ${arg('lines', '') ? 'replaying' : `captured ${senderOf(pack)} for ${seconds} s →`} ${lines}`);
const base: number[] = [];
const node: number[] = [];
const perLine: number[] = [];
for (let i = 0; i < rounds; i++) {
  const b = await baseline(lines);
  const t = await traced(lines);
  base.push(b.cpu * 1e6 / b.lines);
  node.push(t.cpu * 1e6 / t.events);
  perLine.push(t.cpu * 1e6 / t.lines);
  console.log(`  round ${i + 1}: zctrace node ${node[i].toFixed(2)} µs/event (${t.events} events, ${t.lines} lines, ${perLine[i].toFixed(2)} µs/line); baseline split ${base[i].toFixed(2)} µs/line`);
}
const med = (a: number[]): number => a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)];
console.log(`RESULT node CPU per streamed event: ${med(node).toFixed(2)} µs (median of ${rounds}; ${med(perLine).toFixed(2)} µs per line; ratio to the bare line split: ${(med(perLine) / med(base)).toFixed(1)}x)`);
console.log(envLine());
