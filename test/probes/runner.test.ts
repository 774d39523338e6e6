// The bpftrace runner against a fake bpftrace: ready, drain at stop, dying, compile errors,
// never attaching, not installed.
import { afterEach, describe, expect, it } from 'vitest';
import { BpftraceRunner } from '../../src/probes/runner.js';
import { BpftraceError } from '../../src/util/errors.js';
import { fakeEnv, linesFile } from '../helpers/fake-bpftrace.js';

const saved = { ...process.env };
afterEach(() => { process.env = { ...saved }; });

function runner(lines: string[], attachTimeoutMs = 10000) {
  const got: string[] = [];
  const r = new BpftraceRunner({
    program: 'probes/x.bt', params: ['0', '0', ''], attachTimeoutMs,
    onLine: (l) => {
      got.push(l);
      if (l.startsWith('ready')) r.ready();
    },
  });
  return { r, got };
}

describe('BpftraceRunner', () => {
  it('is ready at the ready line, and stop drains what bpftrace prints at exit', async () => {
    Object.assign(process.env, fakeEnv('replay', linesFile(['ready\t+0', 'get\t+10\tobj=0xa']), linesFile(['put\t+20\tobj=0xa'])));
    const { r, got } = runner([]);
    let died = false;
    r.onUnexpectedExit = () => { died = true; };
    await r.start();
    await new Promise((res) => setTimeout(res, 300));
    await r.stop();
    expect(got.some((l) => l.startsWith('get'))).toBe(true);
    expect(got.at(-1)).toMatch(/^put/);
    expect(died).toBe(false);
  });

  it('keeps running past the attach timeout once attached (the timer used to stop bpftrace silently)', async () => {
    // The fake prints its tail (the put) only when it is stopped: before stop(), nothing has
    // stopped it, however long past the attach timeout.
    Object.assign(process.env, fakeEnv('replay', linesFile(['ready\t+0', 'get\t+10\tobj=0xa']), linesFile(['put\t+20\tobj=0xa'])));
    const { r, got } = runner([], 2500);
    let died = false;
    r.onUnexpectedExit = () => { died = true; };
    await r.start();
    await new Promise((res) => setTimeout(res, 3500));
    expect(got.some((l) => l.startsWith('put'))).toBe(false);
    expect(died).toBe(false);
    await r.stop();
    expect(got.at(-1)).toMatch(/^put/);
  });

  it('reports bpftrace dying with its last error', async () => {
    Object.assign(process.env, fakeEnv('die', linesFile(['ready\t+0'])));
    const { r } = runner([]);
    const death = new Promise<BpftraceError>((res) => { r.onUnexpectedExit = res; });
    await r.start();
    expect((await death).message).toMatch(/No buffer space available/);
  });

  it('turns a compile error into a message naming the program and line', async () => {
    Object.assign(process.env, fakeEnv('compile'));
    const { r } = runner([]);
    await expect(r.start()).rejects.toThrow(/could not compile probes\/x.bt \(line 12\): Unknown struct/);
  });

  it('gives up when the probes never attach, and stops bpftrace', async () => {
    Object.assign(process.env, fakeEnv('hang'));
    const { r } = runner([], 1500);
    await expect(r.start()).rejects.toThrow(/did not attach its probes within 1.5 s/);
    await r.stop();
  });

  it('says how to install bpftrace when it is missing', async () => {
    process.env.ZCTRACE_BPFTRACE = '/nonexistent/bpftrace';
    const { r } = runner([]);
    const err = await r.start().catch((e: BpftraceError) => e);
    expect(err).toBeInstanceOf(BpftraceError);
    expect((err as BpftraceError).message).toMatch(/not installed/);
    expect((err as BpftraceError).hint).toMatch(/apt-get install bpftrace/);
  });
});
