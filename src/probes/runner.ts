// Runs one bpftrace program: spawn with execa (no output buffering: a trace can run for days),
// split stdout ourselves (execa's line iterator is 10x slower, measured here), wait for the
// pack's `ready` line, turn bpftrace's complaints into errors that say what to do, and stop
// gracefully: SIGINT lets bpftrace detach its probes and drain, then SIGTERM, then SIGKILL.
import { execa, type ResultPromise } from 'execa';

/** The bpftrace to run: ZCTRACE_BPFTRACE (tests use a fake that replays captured runs), or PATH's. */
export function bpftraceBin(): string {
  return process.env.ZCTRACE_BPFTRACE || 'bpftrace';
}

const SPAWN = {
  buffer: false, reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe',
  // Its own process group: a terminal's Ctrl-C reaches zctrace only, which then stops
  // bpftrace once, in order. execa's cleanup still kills it if zctrace exits.
  detached: true, cleanup: true, forceKillAfterDelay: false,
} as const;
import { LineSplitter } from '../util/lines.js';
import { BpftraceError } from '../util/errors.js';
import { classifyStderr, isNoise } from './bpftrace-errors.js';

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

  constructor(private readonly opts: RunnerOptions) {
    this.exited = new Promise((r) => { this.resolveExited = r; });
  }

  /** Starts bpftrace; resolves once the pack says its probes are attached (call ready()). */
  start(): Promise<void> {
    const bin = this.opts.bpftrace ?? bpftraceBin();
    const out = new LineSplitter((l) => this.opts.onLine(l), () => {}, 1 << 16);
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
    clearTimeout(this.attachTimer);
    this.attachTimer = undefined;
    const r = this.readyResolve;
    this.readyResolve = undefined;
    r?.();
  }

  /** Stops bpftrace and waits until its output is drained. Safe to call twice. */
  async stop(graceMs = 15000): Promise<void> {
    const child = this.child;
    if (child === undefined || this.exitInfo !== undefined) return;
    if (!this.stopping) {
      this.stopping = true;
      this.signal('SIGINT');
      const t1 = setTimeout(() => this.signal('SIGTERM'), graceMs);
      const t2 = setTimeout(() => this.signal('SIGKILL'), graceMs + 5000);
      await this.exited;
      clearTimeout(t1);
      clearTimeout(t2);
    } else {
      await this.exited;
    }
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
