// The compact status of `live` (until the dashboard) and `record`: one line a second, redrawn
// in place on a terminal, one line per second otherwise; findings as they occur on their own line.
import type { Engine } from '../engine/engine.js';
import { totals } from '../engine/snapshot.js';
import type { EngineRecord } from '../engine/types.js';
import { fmtBytes, fmtCount, fmtNs } from '../util/format.js';

/** Records of one kind shown as lines before the rest are only counted. */
const PER_KIND = 5;

export class StatusLine {
  private readonly shown = new Map<string, number>();
  private lastEvents = 0;
  private lastT = 0;
  private drawn = false;
  private readonly tty = process.stdout.isTTY === true;

  constructor(private readonly pack: string, private readonly showFindings: boolean) {}

  attached(): void {
    this.print(`zctrace: pack ${this.pack} attached; Ctrl-C to stop`);
  }

  record(r: EngineRecord): void {
    if (!this.showFindings) return;
    // A fault usually hits many holders at once (a sender that never reaps leaks every
    // buffer): the first few per kind are shown, the rest are counted in the report.
    const key = r.type === 'finding' ? r.kind : r.type;
    const n = (this.shown.get(key) ?? 0) + 1;
    this.shown.set(key, n);
    if (n > PER_KIND) {
      if (n === PER_KIND + 1) this.print(`… more ${key} records are counted, not shown (the report at the end lists them)`);
      return;
    }
    const line = r.type === 'finding'
      ? `! ${r.kind}${r.uncertain ? ' (uncertain)' : ''} ${r.obj} #${r.seq}: ${r.detail}${r.sock ? ` [${r.sock}]` : ''}${r.comm ? ` ${r.pid}/${r.comm}` : ''}`
      : `~ leak resolved: ${r.obj} #${r.seq} completed after ${fmtNs(r.duration)} (a stall)`;
    this.print(line);
  }

  update(engine: Engine, t: number): void {
    const s = totals(engine);
    const rate = ((s.events - this.lastEvents) * 1e9) / Math.max(1, t - this.lastT);
    this.lastEvents = s.events;
    this.lastT = t;
    const f = Object.entries(s.findings).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(' ');
    const line = `${fmtNs(t).padStart(10)} | ${fmtCount(rate)} ev/s | in flight ${fmtCount(s.inFlight)} (${fmtBytes(s.bytesInFlight)}) | ` +
      `done ${fmtCount(s.completed)} | lost ${fmtCount(s.lost)} | findings ${f || 'none'}`;
    if (this.tty) {
      process.stdout.write(`\r\x1b[K${line}`);
      this.drawn = true;
    } else {
      process.stdout.write(`${line}\n`);
    }
  }

  done(): void {
    if (this.drawn) process.stdout.write('\n');
    this.drawn = false;
  }

  private print(line: string): void {
    process.stdout.write(`${this.drawn ? '\r\x1b[K' : ''}${line}\n`);
    this.drawn = false;
  }
}
