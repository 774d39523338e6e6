// The human report on the resend/rewrite rules: a resend is counted, not reported; each early
// free says what happened to the bytes and when; an unsure one says why it is uncertain.
import { describe, expect, it } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import { snapshot } from '../../src/engine/snapshot.js';
import type { ZcEvent } from '../../src/engine/types.js';
import { ReportSink } from '../../src/sinks/report.js';

function report(events: ZcEvent[]): string {
  const sink = new ReportSink();
  const engine = new Engine({ leakAfterNs: 10e9, onRecord: (r) => sink.record(r) });
  for (const e of events) engine.push(e);
  engine.end();
  return sink.render(snapshot(engine), { title: 'test', notes: [], badLines: 0, truncated: false });
}

const sub = (t: number, obj: string, extra: Partial<ZcEvent> = {}): ZcEvent => ({ t, ev: 'submit', obj, bytes: 65536, pid: 7, sock: 'a>b', ...extra });

describe('report', () => {
  it('counts resends without reporting them', () => {
    const text = report([sub(0, 'h#1'), sub(1e6, 'h#2', { resend: true }), { t: 2e6, ev: 'done', obj: 'h#1' }, { t: 3e6, ev: 'done', obj: 'h#2' }]);
    expect(text).toContain('findings: none');
    expect(text).toMatch(/1 resend\(s\) of unchanged bytes still in flight \(correct senders do this: not a finding\)/);
  });

  it('says what each early free did to the bytes, with the window, and why one is uncertain', () => {
    const text = report([
      sub(0, 'h#1'), sub(0, 'h#2'), sub(0, 'h#3'),
      { t: 4e6, ev: 'free', obj: 'h#2', reason: 'read', since: 3e6, pid: 7 },
      { t: 4e6, ev: 'free', obj: 'h#3', reason: 'rewrite', since: 0, pid: 7, unsure: 'the fingerprint read all zero' },
      { t: 5e6, ev: 'free', obj: 'h#1', reason: 'rewrite', since: 1e6, pid: 7 },
    ]);
    expect(text).toContain('bytes rewritten in place while in flight (changed between +1.000 ms and +5.000 ms after submit, before its completion)');
    expect(text).toContain('the kernel wrote into the buffer for read() while in flight (between +3.000 ms and +4.000 ms after submit, before its completion)');
    expect(text).toContain('h#3 #1  [uncertain: the fingerprint read all zero]');
    // the owner let go of the memory (its process exited): freed, not written into
    const exit = report([sub(0, 'h#4'), { t: 2e6, ev: 'free', obj: 'h#4', reason: 'exit', pid: 7 }]);
    expect(exit).toContain('freed (exit) before completion, 2.000 ms after submit');
    expect(text).toMatch(/findings: early_free 2/);
    expect(text).toMatch(/uncertain \(.*\): early_free 1/);
  });
});
