// bench only: stands in for bpftrace's stdout at full speed. Prints bpftrace's "Attaching"
// line, then every line of a raw capture (argv[2]) with its time field moved so the capture's
// first event lands now (same clock as bpftrace's nsecs: CLOCK_MONOTONIC), written in 64 KiB
// chunks as fast as the reader takes them (backpressure, not pacing), then waits for SIGINT
// like bpftrace does and exits 0. So the reader's CPU per line is all that is measured.
import { readFileSync } from 'node:fs';

const lines = readFileSync(process.argv[2], 'utf8').split('\n');
const first = lines.find((l) => /^[a-z]+\t\d+/.test(l));
const shift = process.hrtime.bigint() - BigInt(first.split('\t')[1]);
process.on('SIGINT', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
process.stdout.write('Attaching 28 probes...\n');
let buf = '';
for (const l of lines) {
  if (l.startsWith('Attaching') || l === '') continue;
  const a = l.indexOf('\t');
  const b = l.indexOf('\t', a + 1);
  const t = a > 0 ? l.slice(a + 1, b === -1 ? l.length : b) : '';
  buf += /^\d+$/.test(t) ? `${l.slice(0, a + 1)}${BigInt(t) + shift}${b === -1 ? '' : l.slice(b)}\n` : `${l}\n`;
  if (buf.length >= 65536) {
    if (!process.stdout.write(buf)) await new Promise((r) => process.stdout.once('drain', r));
    buf = '';
  }
}
process.stdout.write(buf);
setInterval(() => {}, 1 << 30);
