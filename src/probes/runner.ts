// Runs one bpftrace program: spawn with execa (no output buffering: a trace can run for days),
// split stdout ourselves (execa's line iterator is 10x slower, measured here), wait for the
// pack's `ready` line, turn bpftrace's complaints into errors that say what to do, and stop
// gracefully: first wait until bpftrace has delivered everything traced before the stop (sync.ts:
// it drops what is still in its buffers at SIGINT), then SIGINT lets it detach its probes and
// print its maps, then SIGTERM, then SIGKILL.
import { readFileSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';

/** The bpftrace to run: ZCTRACE_BPFTRACE (tests use a fake that replays captured runs), or PATH's. */
export function bpftraceBin(): string {
  return process.env.ZCTRACE_BPFTRACE || 'bpftrace';
}

const SPAWN = {
  // stdin: bpftrace never reads it; the fake bpftrace of the tests reads sync requests there
  // (it cannot see the kill(2) calls that real bpftrace's program turns into sync lines)
  buffer: false, reject: false, stdin: 'pipe', stdout: 'pipe', stderr: 'pipe',
  // Its own process group: a terminal's Ctrl-C reaches zctrace only, which then stops
  // bpftrace once, in order. execa's cleanup still kills it if zctrace exits.
  detached: true, cleanup: true, forceKillAfterDelay: false,
} as const;
import { LineSplitter } from '../util/lines.js';
import { BpftraceError } from '../util/errors.js';
import { classifyStderr, isNoise } from './bpftrace-errors.js';
import { onlineCpus, parseSync, requestSync } from './sync.js';

/** Whether a program can answer a sync (an older or hand-made one may not: then no wait; a
 *  file that cannot be read here is assumed to, as bpftrace will say if it is missing). */
function hasSyncProbe(program: string): boolean {
  try {
    return readFileSync(program, 'utf8').includes('tracepoint:syscalls:sys_enter_kill');
  } catch {
    return true;
  }
}

/** Sync tokens: this process's pid and a counter (several runners in one process, in tests). */
let syncSeq = 0;

export interface RunnerOptions {
  /** bpftrace program file. */
  program: string;
  /** Positional parameters ($1…), already validated. */
  params: string[];
  /** Receives each stdout line. */
  onLine: (line: string) => void;
  /** Receives each stderr line that is not known noise. */
  onStderr?: (line: string) => void;
  bpftrace?: string;
  /** How long attaching may take before giving up (ms); TCG guests are slow. */
  attachTimeoutMs?: number;
  /** How long stop() waits for bpftrace to deliver what it traced before the stop (ms). */
  drainTimeoutMs?: number;
  /** Called when stop() has waited a second for that (once), to say why the stop takes time. */
  onDrainWait?: () => void;
}

/** How a stop went: whether bpftrace delivered everything traced before it. */
export interface StopResult {
  /** true: every CPU's sync line arrived; false: gave up waiting (its buffers' rest is lost);
   *  undefined: not asked (not attached, or already exited). */
  drained: boolean | undefined;
  /** CPUs whose sync line did not arrive in time. */
  missing: number[];
}

export class BpftraceRunner {
  private child: ResultPromise<typeof SPAWN> | undefined;
  private readonly stderr: string[] = [];
  private stopping = false;
  private exitInfo: { code: number | undefined; signal: string | undefined } | undefined;
  private readonly exited: Promise<void>;
  private resolveExited!: () => void;
  private readyResolve: (() => void) | undefined;
  /** The attach deadline; cleared once attached (it used to outlive `ready` and stop bpftrace). */
  private attachTimer: NodeJS.Timeout | undefined;
  /** Set when bpftrace ends without having been asked to. */
  onUnexpectedExit: ((err: BpftraceError) => void) | undefined;
  private attached = false;
  /** The pending sync: its token, the CPUs still to answer, and who to wake. */
  private sync: { token: number; seen: Set<number>; check: () => void } | undefined;
  private stopResult: StopResult = { drained: undefined, missing: [] };

  constructor(private readonly opts: RunnerOptions) {
    this.exited = new Promise((r) => { this.resolveExited = r; });
  }

  /** Starts bpftrace; resolves once the pack says its probes are attached (call ready()). */
  start(): Promise<void> {
    const bin = this.opts.bpftrace ?? bpftraceBin();
    const out = new LineSplitter((l) => {
      // sync lines are the runner's (any zctrace's stop prints them in every bpftrace running)
      if (l.charCodeAt(0) === 115 && l.startsWith('sync\t')) this.onSync(l);
      else this.opts.onLine(l);
    }, () => {}, 1 << 16);
    const err = new LineSplitter((l) => this.onStderrLine(l), () => {}, 1 << 16);
    // 256 pages (1 MiB) of perf ring buffer per CPU instead of bpftrace's 64: bursts of sends
    // on a busy host otherwise overflow it before bpftrace is scheduled to drain it.
    // 16384 map keys (bpftrace's default is 4096): the tracepoint packs keep a fingerprint per send
    // in flight until its completion, and a fast sender has thousands in flight.
    const env = {
      ...process.env,
      BPFTRACE_PERF_RB_PAGES: process.env.BPFTRACE_PERF_RB_PAGES ?? '256',
      BPFTRACE_MAP_KEYS_MAX: process.env.BPFTRACE_MAP_KEYS_MAX ?? '16384',
    };
    const child = execa(bin, [this.opts.program, ...this.opts.params], { ...SPAWN, env });
    this.child = child;
    child.stdin?.on('error', () => {}); // EPIPE once bpftrace has exited: nothing to tell it
    child.stdout?.on('data', (c: Buffer) => out.push(c));
    child.stderr?.on('data', (c: Buffer) => err.push(c));
    return new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve;
      // Only a run still attaching can time out: once ready, the timer is cleared, so a slow
      // attach (58 s in the TCG lab) never makes the timer stop a live run later, silently.
      this.attachTimer = setTimeout(() => {
        this.attachTimer = undefined;
        if (this.readyResolve === undefined) return;
        this.readyResolve = undefined;
        reject(new BpftraceError(`bpftrace did not attach its probes within ${(this.opts.attachTimeoutMs ?? 60000) / 1000} s`, 'see `zctrace doctor`; a slow machine may need --attach-timeout'));
        void this.stop();
      }, this.opts.attachTimeoutMs ?? 60000);
      void child.then((r) => {
        clearTimeout(this.attachTimer);
        this.attachTimer = undefined;
        const rest = out.end();
        if (rest) this.opts.onLine(rest.line);
        const erest = err.end();
        if (erest) this.onStderrLine(erest.line);
        this.exitInfo = { code: r.exitCode, signal: r.signal };
        const failure = this.failure(r.exitCode, r.signal, r.failed && r.code === 'ENOENT');
        if (this.readyResolve !== undefined) {
          this.readyResolve = undefined;
          reject(failure ?? new BpftraceError('bpftrace exited before its probes were attached'));
        } else if (!this.stopping) {
          this.onUnexpectedExit?.(failure ?? new BpftraceError(`bpftrace exited unexpectedly (status ${r.exitCode ?? r.signal})`));
        }
        this.resolveExited();
      });
    });
  }

  /** The pack printed its `ready` line: every probe is attached. */
  ready(): void {
    this.attached = true;
    clearTimeout(this.attachTimer);
    this.attachTimer = undefined;
    const r = this.readyResolve;
    this.readyResolve = undefined;
    r?.();
  }

  /**
   * Stops bpftrace: once attached, first waits (drainTimeoutMs; 10 s by default, so that with
   * bpftrace's own exit a stop fits deploy/zctrace.service's TimeoutStopSec=30) until it has
   * delivered everything traced before now, then SIGINT, and waits for its exit and the end of
   * its output. Safe to call twice.
   */
  async stop(graceMs = 15000): Promise<StopResult> {
    const child = this.child;
    if (child === undefined || this.exitInfo !== undefined) return this.stopResult;
    if (!this.stopping) {
      this.stopping = true;
      if (this.attached && hasSyncProbe(this.opts.program)) this.stopResult = await this.drain(this.opts.drainTimeoutMs ?? 10000);
      this.signal('SIGINT');
      const t1 = setTimeout(() => this.signal('SIGTERM'), graceMs);
      const t2 = setTimeout(() => this.signal('SIGKILL'), graceMs + 5000);
      await this.exited;
      clearTimeout(t1);
      clearTimeout(t2);
    } else {
      await this.exited;
    }
    return this.stopResult;
  }

  /** Asks for a sync line from every online CPU and waits for them (sync.ts). */
  private async drain(timeoutMs: number): Promise<StopResult> {
    const token = ((process.pid & 0x3fffff) << 4) | (syncSeq++ & 15);
    const seen = new Set<number>();
    let asked: number[] | undefined;
    // without taskset (asked empty), zctrace's own call answers from the CPU it ran on
    const done = (): boolean => asked !== undefined && (asked.length > 0 ? asked.every((c) => seen.has(c)) : seen.size > 0);
    let finish!: () => void;
    const complete = new Promise<void>((r) => { finish = r; });
    this.sync = { token, seen, check: () => { if (done()) finish(); } };
    const cpus = onlineCpus();
    // the fake bpftrace of the tests answers here; real bpftrace never reads its stdin
    this.child?.stdin?.write(`sync ${token} ${cpus.join(',')}\n`);
    const slow = setTimeout(() => this.opts.onDrainWait?.(), 1000);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((r) => { timer = setTimeout(r, timeoutMs); });
    asked = await requestSync(token, cpus);
    this.sync.check();
    await Promise.race([complete, deadline, this.exited]);
    clearTimeout(slow);
    clearTimeout(timer);
    this.sync = undefined;
    return { drained: done(), missing: (asked.length > 0 ? asked : cpus).filter((c) => !seen.has(c)) };
  }

  private onSync(line: string): void {
    const s = parseSync(line);
    if (s === undefined || this.sync === undefined || s.token !== this.sync.token) return;
    this.sync.seen.add(s.cpu);
    this.sync.check();
  }

  /** Signals bpftrace's whole process group (it has its own), so nothing it started lingers. */
  private signal(sig: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      this.child?.kill(sig);
    }
  }

  /** The last lines bpftrace wrote to stderr (noise removed). */
  stderrTail(): string[] {
    return this.stderr.slice(-20);
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  private onStderrLine(line: string): void {
    if (isNoise(line)) return;
    this.stderr.push(line);
    if (this.stderr.length > 200) this.stderr.shift();
    this.opts.onStderr?.(line);
  }

  private failure(code: number | undefined, signal: string | undefined, notFound: boolean): BpftraceError | undefined {
    if (notFound) return new BpftraceError('bpftrace is not installed (or not on PATH)', 'install it: apt-get install bpftrace (Debian/Ubuntu), dnf install bpftrace (Fedora/RHEL)');
    if (code === 0 && this.stopping) return undefined;
    const c = classifyStderr(this.stderr, this.opts.program);
    if (c) return new BpftraceError(c.message, c.hint);
    if (this.stopping && (signal === 'SIGINT' || signal === 'SIGTERM' || code === 0)) return undefined;
    const last = this.stderr.filter((l) => l.trim() !== '').at(-1);
    return new BpftraceError(`bpftrace exited with ${signal ?? `status ${code}`}${last ? `: ${last}` : ''}`);
  }
}
