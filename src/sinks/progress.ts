// `replay`'s progress line on a terminal: how far into which file, in events.
import { statSync } from 'node:fs';
import { fmtCount } from '../util/format.js';

/** A one-line progress meter on stderr, redrawn at most twice a second. */
export class Progress {
  private last = 0;
  private readonly size: number;
  constructor(private readonly file: string) {
    this.size = statSync(file).size;
  }
  update(events: number): void {
    const now = Date.now();
    if (now - this.last < 500) return;
    this.last = now;
    process.stderr.write(`\r\x1b[Kreading ${this.file} (${(this.size / 1048576).toFixed(0)} MiB): ${fmtCount(events)} events`);
  }
  done(): void {
    if (this.last > 0) process.stderr.write('\r\x1b[K');
  }
}
