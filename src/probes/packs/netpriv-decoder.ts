// netpriv lines → events. Holder = page->net_priv (the owner's command). The program prints raw
// facts (a callback ran for holder H on page P; the owner's own count when the pack knows where it
// is); this decoder turns them into get/put with `ref`, `done` and `free`, in time order (the
// parser's reorder buffer has sorted the lines by their nsecs first).
//
// The count the engine sees (`ref`) is the references taken through the callbacks minus those
// dropped through them: what TCP holds as far as the probes can tell. Owners also hold references
// no callback sees: iSCSI-SCST and zcsim take a guard reference on the command's count before
// sending its pages (so the count cannot reach zero between two pages) and drop it afterwards,
// straight on the counter. Those are reconstructed from the owner's own count (`cnt`, read by the
// program at a BTF offset, when the owner module is known):
// - done is the owner's count reaching zero. At a put whose count after is 0 (`cnt` - 1 <= 0); or,
//   when the guard is dropped last (no callback fires then), at the free function, which then reads
//   0: done is emitted just before that free. So a guard keeps nothing open: never a leak.
// - a put that takes the seen references below zero while the owner's count stays above zero
//   dropped a reference the probes did not see taken (before the trace began): clamped to 0,
//   never an underflow. The same for a holder whose count was above 1 at its first get.
// - at the free function, a count <= 0 with references still seen held means puts were missed
//   (lost lines): reconciled to 0; a count below zero there is an underflow no probe saw.
// Without the owner's count (an unknown owner module) done is the seen references reaching zero,
// and with no free function either, so a holder whose last reference is a guard is still closed.
import type { ZcEvent } from '../../engine/types.js';
import { int } from '../fields.js';
import type { Decoder, Emit, ProbeLine } from '../pack.js';

/** Holders tracked at once; beyond, the oldest is dropped (and a `lost` event says so). */
const MAX_OPEN = 1 << 18;
/** Finished holders remembered, so the free that follows a done is kept and others are not. */
const MAX_RECENT = 1 << 16;

interface Holder {
  /** References seen taken minus seen dropped. */
  vis: number;
  /** It held references the probes did not see taken (in flight when the trace began). */
  partial: boolean;
  done: boolean;
  freed: boolean;
}

/**
 * Why a holder's findings are uncertain when the program cannot read the owner's count: the
 * kernel runs no kprobe program while another BPF program runs on that CPU (seen in the lab: 13
 * of 95 get callbacks of one run), and a get it skipped looks like a double put, a put it
 * skipped like a leak or an early free.
 */
export const NO_COUNT = "no owner's count: a callback the kernel skipped (kprobes do not nest) would look the same";

/** Why a put that took the seen references below zero, the owner's count not below zero, is uncertain. */
export const SKIPPED_GET = "the owner's count did not go below zero: a get callback the kernel skipped (kprobes do not nest) would look the same, and no free probe reads the count after";

/** Decodes the netpriv lines (probes/netpriv.bt gives the grammar). */
export class NetprivDecoder implements Decoder {
  /** From the config line: the program probes the owner's free function. */
  freeProbe = false;
  /** From the config line: get/put/free lines carry the owner's count. */
  counted = false;
  /** What the decoder did that the events do not show (tests and docs read it). */
  readonly stats = { gets: 0, puts: 0, frees: 0, clamped: 0, reconciled: 0, untrackedPuts: 0, ignoredFrees: 0 };
  private readonly open = new Map<string, Holder>();
  private readonly recent = new Set<string>();

  decode(line: ProbeLine, emit: Emit): boolean {
    switch (line.kind) {
      case 'config':
        this.freeProbe = (line.fields.get('free') ?? 'none') !== 'none';
        this.counted = (line.fields.get('count') ?? 'none') !== 'none';
        return true;
      case 'get': return this.get(line, emit);
      case 'put': return this.put(line, emit);
      case 'free': return this.free(line, emit);
      default: return false;
    }
  }

  /** Holders open now (tests). */
  get openHolders(): number {
    return this.open.size;
  }

  private get(line: ProbeLine, emit: Emit): boolean {
    const obj = line.fields.get('obj');
    const page = line.fields.get('page');
    if (!obj || !page) return false;
    this.stats.gets++;
    let h = this.open.get(obj);
    if (h === undefined) {
      const cnt = int(line.fields.get('cnt'));
      // Above 1 before its first seen get: more than one guard's worth of references out of sight.
      h = { vis: 0, partial: cnt !== undefined && cnt > 1, done: false, freed: false };
      this.track(obj, h, line.t, emit);
      h.vis++;
      // without the owner's count, a callback the kernel skipped looks like the owner's bug
      emit(this.counted ? { t: line.t, ev: 'get', obj, page, ref: h.vis } : { t: line.t, ev: 'get', obj, page, ref: h.vis, unsure: NO_COUNT });
      return true;
    }
    h.vis++;
    emit({ t: line.t, ev: 'get', obj, page, ref: h.vis });
    return true;
  }

  private put(line: ProbeLine, emit: Emit): boolean {
    const obj = line.fields.get('obj');
    const page = line.fields.get('page');
    if (!obj || !page) return false;
    this.stats.puts++;
    const cnt = int(line.fields.get('cnt'));
    const after = cnt === undefined ? undefined : cnt - 1;
    const h = this.open.get(obj);
    if (h === undefined) {
      // No lifetime here: the engine decides (after a done or free: underflow or use after free;
      // never seen: taken before the trace began, untracked).
      this.stats.untrackedPuts++;
      // after its done, a put that leaves the owner's count at or above zero may drop a reference
      // whose get the kernel skipped: the engine's underflow on it cannot be certain
      const late = this.recent.has(obj) && after !== undefined && after >= 0;
      emit(late ? { t: line.t, ev: 'put', obj, page, unsure: SKIPPED_GET } : { t: line.t, ev: 'put', obj, page });
      return true;
    }
    h.vis--;
    let unsure: string | undefined;
    // The owner's count not below zero after this put: the reference it dropped was taken out of
    // the probes' sight (before the trace, or a get callback the kernel skipped). At exactly zero
    // a double put looks the same until the guard goes: the free function reads the count then
    // (below zero: the underflow, claimed there); without that probe it stays uncertain.
    if (h.vis < 0 && after !== undefined) {
      if (after > 0 || h.partial || (after === 0 && this.freeProbe)) {
        h.vis = 0;
        h.partial = true;
        this.stats.clamped++;
      } else if (after === 0) {
        unsure = SKIPPED_GET;
      }
    }
    emit(unsure === undefined ? { t: line.t, ev: 'put', obj, page, ref: h.vis } : { t: line.t, ev: 'put', obj, page, ref: h.vis, unsure });
    const over = after !== undefined ? after <= 0 || (h.vis <= 0 && !this.freeProbe) : h.vis <= 0;
    if (!h.done && over) this.done(obj, h, line.t, emit);
    this.maybeClose(obj, h);
    return true;
  }

  private free(line: ProbeLine, emit: Emit): boolean {
    const obj = line.fields.get('obj');
    if (!obj) return false;
    this.stats.frees++;
    const cnt = int(line.fields.get('cnt'));
    const h = this.open.get(obj);
    const ev: ZcEvent = { t: line.t, ev: 'free', obj, reason: 'release' };
    if (h === undefined) {
      // A finished holder's free is part of its story; any other command of the owner (never
      // seen with pages in flight) is not zctrace's business.
      if (this.recent.has(obj)) {
        // below zero now: a put no probe saw, or one clamped above as a possibly skipped get
        if (cnt !== undefined && cnt < 0) emit({ t: line.t, ev: 'put', obj, ref: cnt });
        emit(ev);
      } else this.stats.ignoredFrees++;
      return true;
    }
    if (cnt !== undefined && cnt <= 0) {
      // The owner's count is down to zero: it holds, and TCP holds, nothing. References still
      // seen held are puts the probes missed (lost lines): the owner's count wins. Read here,
      // it is settled (unlike at a put, where another CPU's get may be on its way).
      if (h.vis > 0) {
        this.stats.reconciled++;
        emit({ t: line.t, ev: 'put', obj, ref: 0 });
        h.vis = 0;
      }
      if (!h.done) {
        // below zero: a put no probe saw (an owner dropping its guard twice)
        if (cnt < 0) emit({ t: line.t, ev: 'put', obj, ref: cnt });
        this.done(obj, h, line.t, emit); // its guard went last, where no callback fires
      }
    }
    emit(ev);
    h.freed = true;
    this.maybeClose(obj, h);
    return true;
  }

  private done(obj: string, h: Holder, t: number, emit: Emit): void {
    h.done = true;
    emit({ t, ev: 'done', obj });
  }

  /** Ends the holder when the engine's lifetime ends: no references left, and done or freed. */
  private maybeClose(obj: string, h: Holder): void {
    if (h.vis > 0 || !(h.done || h.freed)) return;
    this.open.delete(obj);
    this.recent.add(obj);
    if (this.recent.size > MAX_RECENT) this.recent.delete(this.recent.values().next().value as string);
  }

  private track(obj: string, h: Holder, t: number, emit: Emit): void {
    this.recent.delete(obj);
    this.open.set(obj, h);
    if (this.open.size > MAX_OPEN) {
      const oldest = this.open.keys().next().value as string;
      this.open.delete(oldest);
      emit({ t, ev: 'lost', n: 1 }); // its remaining events can no longer be judged
    }
  }
}
