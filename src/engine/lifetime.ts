// One lifetime of one holder, and the story it keeps.
//
// Why (obj, start) and not obj: the kernel reuses holder addresses as soon as they are freed
// (an iSCSI command, a ubuf_info, a request slot), and composed ids (socket#zc-id) are reused
// after a socket is closed. Skb tracers that keyed state on the address alone mismatched
// unrelated objects. So a holder's state is a sequence of lifetimes: a `submit`, or a `get` when
// no lifetime is open, starts a new one after `done`/`free`, and every finding names the
// lifetime by its obj, its sequence number and its start time.
import type { EventKind, LifetimeView, StoryEntry, ZcEvent } from './types.js';

/** How many of a lifetime's first and last events its story keeps (memory stays bounded). */
export const STORY_HEAD = 24;
export const STORY_TAIL = 24;
/** Events a finished lifetime keeps while it waits in the engine's closed cache. */
const KEEP_AFTER_END = 4;

/** An event reduced to what its story entry shows (time, kind, page, count, copied, reason). */
function storyEvent(e: ZcEvent): ZcEvent {
  return { t: e.t, ev: e.ev, page: e.page, ref: e.ref, copied: e.copied, reason: e.reason };
}

/** Mutable engine-side state of one lifetime. Sinks only ever see LifetimeView copies. */
export class Lifetime {
  refs = 0;
  bytes = 0;
  sock?: string;
  pid?: number;
  comm?: string;
  done = false;
  freed = false;
  /** Still in the engine's open table. */
  open = true;
  /** Reported as a leak (so completing later is a stall: leak_resolved). */
  leaked = false;
  /** Ended by its socket closing rather than by a completion. */
  abandoned = false;
  copied = false;
  /** Why a leak of this holder could not be certain (its submit said so), else undefined. */
  leakUnsure?: string;
  /**
   * Why no finding judged from this holder's reference counts could be certain (its first get
   * said so: the probes see the callbacks but not the owner's count), else undefined.
   */
  countUnsure?: string;
  gets = 0;
  puts = 0;
  /** Findings already reported on this lifetime, one per kind (a bit per FindingKind index). */
  reported = 0;
  /** Per page: references taken and dropped, for the references-per-page distribution. */
  pages: Map<string, { g: number; p: number }> | null = null;
  // The events themselves are kept (no copy per event: the hot path allocates nothing here);
  // story entries are built only when a finding or a snapshot asks. Most lifetimes have two
  // events (a send, its completion): those live in e0/e1, arrays only start with the third.
  private e0: ZcEvent | undefined = undefined;
  private e1: ZcEvent | undefined = undefined;
  /** Head events after the first two (up to STORY_HEAD in all). */
  private head: ZcEvent[] | null = null;
  private tail: ZcEvent[] | null = null;
  private tailNext = 0;
  private dropped = 0;

  constructor(
    readonly obj: string,
    readonly seq: number,
    readonly start: number,
    /** The engine's lost-event epoch when it started: open across a later loss = uncertain. */
    readonly lostEpoch: number,
  ) {}

  /** Takes what the event knows about the holder (bytes, socket, process). */
  absorb(e: ZcEvent): void {
    if (e.bytes !== undefined && e.ev === 'submit') this.bytes += e.bytes;
    if (e.sock !== undefined) this.sock = e.sock;
    if (e.pid !== undefined) this.pid = e.pid;
    if (e.comm !== undefined) this.comm = e.comm;
    if (e.ev === 'submit' && e.unsure !== undefined) this.leakUnsure = e.unsure;
    if (e.ev === 'get' && e.unsure !== undefined) this.countUnsure = e.unsure;
  }

  /** Counts a page reference moving (g: taken, p: dropped). */
  touchPage(page: string, taken: boolean): void {
    if (this.pages === null) this.pages = new Map();
    let c = this.pages.get(page);
    if (c === undefined) {
      c = { g: 0, p: 0 };
      this.pages.set(page, c);
    }
    if (taken) c.g++;
    else c.p++;
  }

  /** Appends an event to the story, keeping the first STORY_HEAD and last STORY_TAIL. */
  record(e: ZcEvent): void {
    if (this.e0 === undefined) {
      this.e0 = e;
      return;
    }
    if (this.e1 === undefined) {
      this.e1 = e;
      return;
    }
    if (this.head === null) this.head = [];
    if (this.head.length < STORY_HEAD - 2) {
      this.head.push(e);
      return;
    }
    if (this.tail === null) this.tail = [];
    if (this.tail.length < STORY_TAIL) {
      this.tail.push(e);
      return;
    }
    this.tail[this.tailNext] = e;
    this.tailNext = (this.tailNext + 1) % STORY_TAIL;
    this.dropped++;
  }

  /** The story in time order, and how many middle events it left out. */
  story(): { story: StoryEntry[]; dropped: number } {
    return { story: this.events().map((e) => this.entry(e)), dropped: this.dropped };
  }

  private events(): ZcEvent[] {
    const out: ZcEvent[] = [];
    if (this.e0 !== undefined) out.push(this.e0);
    if (this.e1 !== undefined) out.push(this.e1);
    if (this.head !== null) out.push(...this.head);
    if (this.tail !== null) out.push(...this.tail.slice(this.tailNext), ...this.tail.slice(0, this.tailNext));
    return out;
  }

  private entry(e: ZcEvent): StoryEntry {
    const entry: StoryEntry = { dt: e.t - this.start, ev: e.ev as EventKind };
    if (e.page !== undefined) entry.page = e.page;
    if (e.ref !== undefined) entry.ref = e.ref;
    if (e.copied !== undefined) entry.copied = e.copied;
    if (e.reason !== undefined) entry.reason = e.reason;
    return entry;
  }

  /**
   * Frees what a finished lifetime no longer needs; it may stay cached for late puts/frees.
   * Its last events are kept as copies with only what a story shows: an event's other fields
   * are slices of its probe line, which would keep the whole line alive in the closed cache
   * (profiled: the cache's lines and events were most of what the live path's scavenges copied).
   */
  shrink(): void {
    this.pages = null;
    if (this.head === null) { // the usual story, a send and its completion: no arrays
      if (this.e0 !== undefined) this.e0 = storyEvent(this.e0);
      if (this.e1 !== undefined) this.e1 = storyEvent(this.e1);
      return;
    }
    const all = this.events();
    this.dropped += Math.max(0, all.length - KEEP_AFTER_END);
    const keep = all.length > KEEP_AFTER_END ? all.slice(-KEEP_AFTER_END) : all;
    this.e0 = keep.length > 0 ? storyEvent(keep[0]) : undefined;
    this.e1 = keep.length > 1 ? storyEvent(keep[1]) : undefined;
    this.head = keep.length > 2 ? keep.slice(2).map(storyEvent) : null;
    this.tail = null;
    this.tailNext = 0;
  }

  /** Points the holder's socket and process name at equal strings kept elsewhere (see shrink). */
  share(sock: string | undefined, comm: string | undefined): void {
    if (sock !== undefined && sock === this.sock) this.sock = sock;
    if (comm !== undefined && comm === this.comm) this.comm = comm;
  }

  /** An immutable copy for sinks. */
  view(uncertain: boolean): LifetimeView {
    const { story, dropped } = this.story();
    return {
      obj: this.obj, seq: this.seq, start: this.start, refs: this.refs, bytes: this.bytes,
      sock: this.sock, pid: this.pid, comm: this.comm, done: this.done, freed: this.freed,
      uncertain, gets: this.gets, puts: this.puts, pages: this.pages?.size ?? 0,
      story, storyDropped: dropped,
    };
  }
}
