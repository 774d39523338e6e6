// What a probe pack is: a bpftrace program under probes/, what it needs from the kernel, and a
// decoder that turns its output lines into engine events. Adding a pack = one .bt file, one
// descriptor module under src/probes/packs/, one line in registry.ts.
import type { ZcEvent } from '../engine/types.js';
import type { Check, HostFacts } from './host.js';

/** The fields of a line: only lookup is needed (a Map satisfies it; so does the parser's lazy view). */
export interface LineFields {
  get(key: string): string | undefined;
}

/** One output line of a pack, split: `kind<TAB>t<TAB>key=value…` (probes/README.md). */
export interface ProbeLine {
  /** The line kind, e.g. "submit", or a pack-specific one such as "zcdone". */
  kind: string;
  /** Nanoseconds since the run's origin (already rebased by the parser). */
  t: number;
  /** key → raw string value (a Map, or the parser's lazy view of the raw line). */
  fields: LineFields;
  /** 1-based line number in bpftrace's stdout, for error messages. */
  lineNo: number;
}

/** Emits one event into the pipeline. */
export type Emit = (e: ZcEvent) => void;

/**
 * Turns probe lines into events. May keep state (e.g. in-flight buffer ranges per process to
 * recognise an unmap of a buffer TCP still holds). Returns false for a line kind it does not know.
 */
export interface Decoder {
  decode(line: ProbeLine, emit: Emit): boolean;
  /**
   * A line of a map bpftrace printed (`@name[key]: value`, or a histogram's `[lo, hi) n |…|`
   * rows), at the time of the newest line before it: programs that count in the kernel hand
   * over their counters this way. Absent: such lines are bpftrace messages.
   */
  mapLine?(raw: string, t: number, emit: Emit): void;
  /** Called at the end of a run: flush anything held back. */
  finish?(emit: Emit): void;
}

/** Something the running kernel must offer for a pack to load. */
export type Requirement =
  | { kind: 'tracepoint'; name: string }            // "syscalls:sys_enter_sendmsg"
  | { kind: 'kprobes' }                             // CONFIG_KPROBES and a kprobe that loads
  | { kind: 'kfunc' }                               // fentry/fexit (BPF trampolines)
  | { kind: 'btf' }                                 // /sys/kernel/btf/vmlinux
  | { kind: 'function'; name: string; optional?: boolean } // traceable kernel function
  | { kind: 'btf_member'; struct: string; member: string }; // e.g. struct page . net_priv

/** Filters every pack accepts, passed to bpftrace as positional parameters ($1 pid, $2 port, $3 comm). */
export interface ProbeFilters {
  pid?: number;
  port?: number;
  comm?: string;
}

/** A probe pack's descriptor. */
export interface PackDescriptor {
  name: string;
  /** One line for `probes list`. */
  description: string;
  /** What the pack reports as the holder (`obj`). */
  holder: string;
  /** File name under probes/. */
  file: string;
  /** Kernel needs, checked by doctor before the pack is chosen. */
  requires: Requirement[];
  /** Preference when `--pack auto` picks among usable packs (higher wins). */
  priority: number;
  /** What this pack cannot see, said by doctor and `probes show`. */
  blindSpots: string[];
  createDecoder(): Decoder;
  /**
   * Packs whose probe points differ between kernel versions pick their program here, from what
   * the running kernel has (BTF, traceable functions); doctor prints the choice and its notes.
   * Absent: `file` is used as is.
   */
  variant?(h: HostFacts, opts?: PackOptions): Promise<PackVariant>;
  /**
   * The program matches sends to completions in the kernel when given a 4th parameter, the
   * leak threshold in ms (`--mode match`, the default of `live` for such packs).
   */
  matching?: boolean;
  /** With `--aggregate`: a program that counts in BPF maps and prints only lifetime edges. */
  aggregateFile?: string;
  /** Kernel facts only this pack knows how to find (doctor lists them with its own checks). */
  hostChecks?(h: HostFacts): Promise<Record<string, Check>>;
}

/** Options a pack's program is generated from (the netpriv pack's --free-fn). */
export interface PackOptions {
  /** The owner's command-release function: `free` events (validated by the pack). */
  freeFn?: string;
}

/** The program a pack chose for this kernel, and what that choice cannot see. */
export interface PackVariant {
  /** Under probes/ (a generated program: a path relative to probes/). */
  file: string;
  name: string;
  notes: string[];
  /** Set when the running kernel's state rules the pack out (no callbacks registered). */
  unusable?: { what: string; fix?: string };
  /** The in-kernel aggregation program that fits this kernel, when it differs by kernel
   *  (`--aggregate`; the descriptor's aggregateFile otherwise). */
  aggregateFile?: string;
}
