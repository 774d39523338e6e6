// Checks a captured iouring-sendzc run (raw bpftrace stdout) against the workload's own JSON
// accounting, and runs bpftrace live against workloads/iouring_zc.c.
import { decodeWith } from './pack-lines.js';
import { stopChild } from './stop-child.js';
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';
import { Engine } from '../../src/engine/engine.js';
import type { EngineRecord, Finding, ZcEvent } from '../../src/engine/types.js';
import type { ProbeLine } from '../../src/probes/pack.js';
import { ProbeParser } from '../../src/probes/parse.js';
import { iouringSendzc } from '../../src/probes/packs/iouring-sendzc.js';

export const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Decodes lines with a fresh decoder; counts the lines it refused. */
export function decodeAll(lines: ProbeLine[]): { events: ZcEvent[]; unknown: number } {
  return decodeWith(iouringSendzc.createDecoder(), lines);
}

/** The workload's JSON accounting (workloads/iouring_zc.c). */
export interface Accounting {
  fault: string; pid: number; sends: number; bytes: number; completions: number; copied: number;
  sock: string; faulted: number[]; mono_ns: number;
  /** Requests submitted while an earlier one of the same buffer awaited its notification. */
  resends?: number;
  /** read-into: the call that wrote into the in-flight buffer. */
  read_call?: string | null;
}

/** The `free` reason each workload fault must produce on its faulted holders. */
export function freeReason(acct: { fault: string; read_call?: string | null }): string | undefined {
  if (acct.fault === 'read-into') {
    return { read: 'read', readv: 'readv', pread: 'pread64', recvfrom: 'recvfrom', 'uring-read': 'io_uring_READ', 'uring-recv': 'io_uring_RECV' }[acct.read_call ?? 'read'];
  }
  return ({ 'early-free': 'unmap', reuse: 'rewrite', rewrite: 'rewrite', 'rewrite-quiet': 'rewrite' } as Record<string, string>)[acct.fault];
}

/** The finding each workload fault must produce on its faulted holders (resend: none). */
export function faultKind(fault: string): string | undefined {
  if (fault === 'leak') return 'leak';
  return ['early-free', 'reuse', 'rewrite', 'rewrite-quiet', 'read-into'].includes(fault) ? 'early_free' : undefined;
}

/** Splits raw bpftrace stdout the way the generic parser does (KIND TAB T TAB key=value...). */
function parseCapture(text: string): { lines: ProbeLine[]; raw: { kind: string; T: bigint; obj?: string }[] } {
  const lines: ProbeLine[] = [];
  const raw: { kind: string; T: bigint; obj?: string }[] = [];
  let t0: bigint | undefined;
  text.split('\n').forEach((s, i) => {
    const parts = s.split('\t');
    if (parts.length < 2 || !/^[0-9]+$/.test(parts[1])) return; // bpftrace's own output
    // another zctrace's stop on this host (a parallel test) prints sync lines in every program
    // (src/probes/sync.ts); zctrace's runner takes them, this raw reader skips them
    if (parts[0] === 'sync') return;
    const T = BigInt(parts[1]);
    t0 ??= T;
    const fields = new Map<string, string>();
    for (const kv of parts.slice(2)) {
      const eq = kv.indexOf('=');
      fields.set(kv.slice(0, eq), kv.slice(eq + 1));
    }
    lines.push({ kind: parts[0], t: Number(T - t0), fields, lineNo: i + 1 });
    raw.push({ kind: parts[0], T, obj: fields.get('obj') });
  });
  return { lines, raw };
}

/** Checks a capture against the workload's JSON: counts, socket, and where the faults land. */
export function checkCapture(text: string, acct: Accounting): void {
  const { lines, raw } = parseCapture(text);
  expect(lines[0].kind).toBe('ready'); // printed once every probe is attached
  const { events, unknown } = decodeAll(lines.slice(1));
  expect(unknown).toBe(0);

  const submits = events.filter((e) => e.ev === 'submit' && e.pid === acct.pid);
  expect(submits).toHaveLength(acct.sends);
  expect(submits.reduce((n, e) => n + (e.bytes ?? 0), 0)).toBe(acct.bytes);
  for (const e of submits) expect(e.sock).toBe(acct.sock);
  const mine = new Set(submits.map((e) => e.obj));
  const ring = submits[0].obj!.replace(/#\d+$/, '');
  expect(mine).toEqual(new Set(submits.map((_, i) => `${ring}#${i + 1}`)));

  // notifications posted before the workload made its accounting (bpftrace's nsecs and the
  // workload's mono_ns are both CLOCK_MONOTONIC)
  const before = raw.filter((r) => r.kind === 'done' && mine.has(r.obj) && r.T <= BigInt(acct.mono_ns));
  expect(before).toHaveLength(acct.completions);
  const doneObjs = new Set(before.map((r) => r.obj));
  const copied = events.filter((e) => e.ev === 'done' && e.copied && doneObjs.has(e.obj));
  expect(copied).toHaveLength(acct.copied);

  // other processes may be traced too (a concurrent run): judge only this workload's holders
  const frees = events.filter((e) => e.ev === 'free' && mine.has(e.obj));
  const reason = freeReason(acct);
  expect(frees.map((e) => [e.obj, e.reason])).toEqual(reason ? acct.faulted.map((ud) => [`${ring}#${ud}`, reason]) : []);
  // a resend of unchanged bytes is counted, never freed; the rewrite's own resend is a rewrite
  if (acct.resends !== undefined) {
    const rewrites = acct.fault === 'reuse' || acct.fault === 'rewrite' ? acct.faulted.length : 0;
    expect(submits.filter((e) => e.resend === true)).toHaveLength(acct.resends - rewrites);
  }
  if (acct.fault === 'leak') {
    expect([...mine].filter((o) => !doneObjs.has(o))).toEqual(acct.faulted.map((ud) => `${ring}#${ud}`));
  }

  // and the engine draws the finding on exactly the faulted holders
  const records: EngineRecord[] = [];
  const engine = new Engine({ leakAfterNs: 1e9, onRecord: (r) => records.push(r) });
  for (const e of events) if (e.obj === undefined || mine.has(e.obj)) engine.push(e);
  engine.end();
  const findings = records.filter((r) => r.type === 'finding' && r.kind !== 'copy_fallback') as Finding[];
  const kind = faultKind(acct.fault);
  expect(findings.map((f) => [f.kind, f.obj])).toEqual(kind ? acct.faulted.map((ud) => [kind, `${ring}#${ud}`]) : []);
  expect(findings.filter((f) => f.uncertain)).toEqual([]);
}

/** Why the live test cannot run here, or null. */
export function liveUnavailable(): string | null {
  if (process.getuid?.() !== 0) return 'needs root';
  if (!existsSync('/sys/kernel/tracing/events/io_uring/io_uring_submit_req')) return 'no io_uring tracepoints (tracefs mounted?)';
  if (!existsSync('/usr/include/liburing.h')) return 'no liburing-dev';
  for (const tool of ['bpftrace', 'gcc']) {
    try {
      execFileSync('which', [tool], { stdio: 'ignore' });
    } catch {
      return `no ${tool}`;
    }
  }
  return null;
}

/**
 * Starts bpftrace, waits for the program's `ready` line (printed from BEGIN, it reaches stdout
 * only once every probe is attached; "Attaching N probes..." comes too early), runs the
 * workload, waits for late notifications, stops bpftrace with SIGINT.
 */
/**
 * Matching mode (the program given a leak threshold of 1 s): the kernel counted the clean
 * requests, so the check is on totals and on the findings, which must be streaming's, holder
 * for holder. Decoded through the real parser (the counters come as printed maps) and engine.
 */
export function checkMatch(text: string, acct: Accounting): void {
  const raw = text.split('\n');
  const ready = raw.find((l) => l.startsWith('ready\t'));
  expect(ready).toBeDefined();
  expect(raw.some((l) => l.startsWith('match\t'))).toBe(true);
  expect(raw.filter((l) => l.startsWith('submit\t'))).toEqual([]); // no line per request
  const events: ZcEvent[] = [];
  const records: EngineRecord[] = [];
  const bad: string[] = [];
  const engine = new Engine({ leakAfterNs: 1e9, onRecord: (r) => records.push(r) });
  const parser = new ProbeParser(iouringSendzc.createDecoder(), BigInt(ready!.split('\t')[1]), {
    emit: (e) => { events.push(e); engine.push(e); }, ready: () => {}, message: (m) => bad.push(m), bad: (n, why, l) => bad.push(`${n}: ${why}: ${l}`),
  });
  for (const l of raw) parser.line(l);
  parser.finish();
  engine.end();
  expect(bad).toEqual([]);
  const st = engine.stats;
  expect(st.lost).toBe(0);
  expect(st.started).toBe(acct.sends);
  const ring = events.find((e) => e.ev === 'submit' && e.pid === acct.pid)?.obj?.replace(/#\d+$/, '');
  const findings = records.filter((r): r is Finding => r.type === 'finding' && !['copy_fallback', 'enobufs'].includes(r.kind));
  const kind = faultKind(acct.fault);
  expect(findings.map((f) => [f.kind, f.obj]).sort()).toEqual(kind ? acct.faulted.map((ud) => [kind, `${ring}#${ud}`]).sort() : []);
  expect(findings.filter((f) => f.uncertain)).toEqual([]);
  // loopback copies every request (the workload asks for REPORT_USAGE): counted in the kernel
  // for the clean ones (split out of the bytes' total), from their done events for the others,
  // but for those a free ended first (their notification comes after their lifetime)
  if (acct.fault !== 'leak') expect(st.copiedLifetimes).toBe(acct.copied - st.earlyFreed);
  const reason = freeReason(acct);
  expect(events.filter((e) => e.ev === 'free').map((e) => [e.obj, e.reason]).sort()).toEqual(reason ? acct.faulted.map((ud) => [`${ring}#${ud}`, reason]).sort() : []);
  if (acct.resends !== undefined) {
    const rewrites = acct.fault === 'reuse' || acct.fault === 'rewrite' ? acct.faulted.length : 0;
    expect(st.resends).toBe(acct.resends - rewrites);
  }
}

export async function traceRun(bin: string, args: string[], leakMs?: number): Promise<{ out: string; json: string }> {
  // zctrace's own buffer sizes (src/probes/runner.ts): a full-speed run then fits in the ring
  const params = ['0', '0', 'iouring_zc', ...(leakMs !== undefined ? [String(leakMs)] : [])];
  const bt = spawn('bpftrace', [join(root, 'probes/iouring-sendzc.bt'), ...params], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BPFTRACE_PERF_RB_PAGES: '256', BPFTRACE_MAP_KEYS_MAX: '16384' },
  });
  let out = '';
  const exited = new Promise<void>((resolve) => bt.on('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('bpftrace did not attach in 60 s')), 60_000);
    bt.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/^ready\t/m.test(out)) {
        clearTimeout(timer);
        resolve();
      }
    });
    bt.on('exit', (code) => reject(new Error(`bpftrace exited (${code}) before attaching`)));
  });
  let json = '';
  try {
    json = (await promisify(execFile)(bin, args, { timeout: 60_000 })).stdout;
    await new Promise((r) => setTimeout(r, 1000)); // late notifications (leak) reach the trace
  } finally {
    await stopChild(bt, exited);
  }
  return { out, json };
}
