// The contract between stages (docs/design.md; as stored in trace files: docs/trace-format.md):
// what probes and trace files produce and what the engine consumes, plus what the engine hands
// to sinks. Pure types, no runtime code.

/** Every event kind the engine understands. Anything else in a trace is a bad line. */
export const EVENT_KINDS = [
  'submit', 'get', 'put', 'done', 'free', 'close', 'lost', 'tick', 'send_error', 'count',
] as const;

/** What a `count` event counts (matching mode: lifetimes the kernel matched on its own). */
export type Counter = 'done' | 'bytes' | 'copied' | 'resends' | 'abandoned' | 'life';
export type EventKind = (typeof EVENT_KINDS)[number];

/**
 * One event. `t` is nanoseconds since the trace's origin (the header's `t0`), so it stays far
 * below 2^53 even on hosts with months of uptime; kernel addresses stay strings.
 * Optional fields are present only when the probe could read them.
 */
export interface ZcEvent {
  t: number;
  ev: EventKind;
  /** Holder id: a kernel address ("0xffff…") or a composed id ("sk:0xffff…#17"). Absent on lost/tick. */
  obj?: string;
  /** submit: bytes handed to TCP. */
  bytes?: number;
  pid?: number;
  comm?: string;
  /** "10.0.0.1:3260>10.0.0.2:51234" (local>remote). */
  sock?: string;
  /** get/put: the page whose reference moved. */
  page?: string;
  /** get/put: the holder's reference count after the event, when the probe could read it. */
  ref?: number;
  /** done: the kernel copied instead of sending the pages (SO_EE_CODE_ZEROCOPY_COPIED). */
  copied?: boolean;
  /**
   * free: why the probe considers the buffer released: "unmap", "madvise", "rewrite" (its bytes
   * changed while in flight), the call that wrote into it ("read", "recvmsg", "io_uring_READ"...),
   * "release" (netpriv), "reuse" (traces of zctrace before 0.2).
   */
  reason?: string;
  /** free: the last time (ns) the buffer was known unchanged; the change happened in [since, t]. */
  since?: number;
  /**
   * free: why the evidence is not certain (the finding is then reported as uncertain).
   * submit: why a leak of this holder would not be certain (the pack cannot tell whose hold it sees).
   * get (a holder's first): why nothing judged from its reference counts would be certain.
   */
  unsure?: string;
  /** submit: this send repeats a buffer still in flight (a resend: counted, not a finding). */
  resend?: boolean;
  /** lost: how many events the probe layer dropped; count: how many of `counter`. */
  n?: number;
  /** submit: the lifetime began at this earlier time (matching mode hands a holder over late). */
  start?: number;
  /** count: what was counted in the kernel (matching mode): lifetimes done (and their bytes,
   *  the copied ones, resends, the abandoned at close), or `life`: n lifetimes under `bucket` ns. */
  counter?: Counter;
  bucket?: number;
  /** send_error: the errno name, e.g. "ENOBUFS". */
  errno?: string;
}

/** Finding kinds (docs/findings.md; docs/design.md "The engine's rules"); `enobufs`: a sender
 *  stalled by completions it does not reap. */
export const FINDING_KINDS = [
  'leak', 'early_free', 'use_after_free', 'underflow', 'copy_fallback', 'enobufs',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** One event of a holder's story, with its time relative to the lifetime's start. */
export interface StoryEntry {
  dt: number;
  ev: EventKind;
  page?: string;
  ref?: number;
  copied?: boolean;
  reason?: string;
}

/** What the engine knows about one lifetime of a holder, as handed to sinks (a copy). */
export interface LifetimeView {
  obj: string;
  /** Lifetime number of this obj (1 = first occurrence); identity is (obj, start). */
  seq: number;
  start: number;
  refs: number;
  bytes: number;
  sock?: string;
  pid?: number;
  comm?: string;
  done: boolean;
  freed: boolean;
  /** Open across a `lost` gap: its findings are uncertain. */
  uncertain: boolean;
  gets: number;
  puts: number;
  pages: number;
  /** The lifetime's events, oldest first; `storyDropped` counts those beyond the limit. */
  story: StoryEntry[];
  storyDropped: number;
}

/** A finding record, as written by `replay --json` and `live --headless`. */
export interface Finding {
  type: 'finding';
  kind: FindingKind;
  obj: string;
  /** When it was found (ns, trace clock). */
  t: number;
  /** Lifetime start (ns) and its age at `t`. */
  start: number;
  age: number;
  seq: number;
  refs: number;
  bytes: number;
  sock?: string;
  pid?: number;
  comm?: string;
  /** Present and true when the lifetime crossed a `lost` gap. */
  uncertain?: boolean;
  /** One line saying what happened, for people. */
  detail: string;
  /** The event that triggered it (absent for leaks found by the clock or at the end). */
  trigger?: ZcEvent;
  story: StoryEntry[];
  storyDropped: number;
}

/** A leak that later completed: it was a stall, not a leak. */
export interface LeakResolved {
  type: 'leak_resolved';
  obj: string;
  t: number;
  start: number;
  seq: number;
  /** How long it was held in total (ns). */
  duration: number;
  sock?: string;
  pid?: number;
  comm?: string;
}

/** Records the engine emits while it runs, in order. */
export type EngineRecord = Finding | LeakResolved;
