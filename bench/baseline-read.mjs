// The replay benchmark's baseline: read a trace and JSON.parse every line, nothing else.
// Plain node on the compiled splitter, so it starts exactly like `zctrace replay` does.
import { createReadStream } from 'node:fs';
import { LineSplitter } from '../dist/util/lines.js';

let n = 0;
const splitter = new LineSplitter((line) => {
  JSON.parse(line);
  n++;
}, () => {});
for await (const chunk of createReadStream(process.argv[2], { highWaterMark: 1 << 20 })) splitter.push(chunk);
process.stderr.write(`baseline parsed ${n} lines\n`);
