// The human report of `replay` (and of `live`/`demo` at exit): summary, findings grouped by
// kind with each holder's story, then the statistics. Keeps a bounded number of findings per
// kind; the counts stay exact.
import type { Snapshot } from '../engine/snapshot.js';
import { FINDING_KINDS, type EngineRecord, type Finding, type FindingKind, type StoryEntry } from '../engine/types.js';
import type { Distribution } from '../engine/stats.js';
import { cell, fmtBytes, fmtCount, fmtNs } from '../util/format.js';

const KEEP_PER_KIND = 10;
/** Story lines per finding in the report. */
const STORY_LINES = 12;

const TITLES: Record<FindingKind, string> = {
  leak: 'LEAK: held longer than the leak threshold',
  early_free: 'EARLY FREE: buffer unmapped, rewritten or read into while TCP may still send from it',
  use_after_free: 'USE AFTER FREE: reference dropped on a freed holder',
  underflow: 'UNDERFLOW: more puts than gets (double put)',
  copy_fallback: 'COPY FALLBACK: zero-copy became a copy',
  enobufs: 'ENOBUFS: sends refused because completions were not reaped',
};

/** Header facts about the input, for the first lines of the report. */
export interface ReportContext {
  title: string;
  notes: string[];
  badLines: number;
  truncated: boolean;
}

export class ReportSink {
  private readonly kept = new Map<FindingKind, Finding[]>();
  private resolved = 0;

  record(r: EngineRecord): void {
    if (r.type === 'leak_resolved') {
      this.resolved++;
      return;
    }
    const key = r.kind;
    const list = this.kept.get(key) ?? [];
    if (list.length < KEEP_PER_KIND) list.push(r);
    this.kept.set(key, list);
  }

  /** The whole report as text. */
  render(s: Snapshot, ctx: ReportContext): string {
    const out: string[] = [ctx.title, ...ctx.notes.map((n) => `  ${n}`)];
    const leaked = s.open - s.inFlight;
    out.push(
      `  ${fmtCount(s.events)} events over ${fmtNs(s.last - s.first)}, ${fmtCount(s.lifetimes)} lifetimes: ` +
      `${fmtCount(s.completed)} completed, ${fmtCount(s.open)} open (${fmtCount(leaked)} leaked, ${fmtCount(s.inFlight)} in flight), ${fmtCount(s.abandoned)} abandoned at socket close`,
    );
    if (ctx.badLines > 0) out.push(`  ${fmtCount(ctx.badLines)} bad line(s) skipped`);
    if (ctx.truncated) out.push('  the input ended mid-record (interrupted writer); the rest was read');
    if (s.lost > 0) out.push(`  ${fmtCount(s.lost)} events were lost by the probes: findings on lifetimes open across the gap are marked uncertain`);
    if (s.untracked > 0) out.push(`  ${fmtCount(s.untracked)} events on holders whose lifetime began before the trace (ignored)`);
    out.push(`  findings: ${countsLine(s.findings) || 'none'}`);
    const unc = countsLine(s.uncertain);
    if (unc) out.push(`  uncertain (open across lost events, or evidence the probe could not make certain): ${unc}`);
    if (s.resends > 0) out.push(`  ${fmtCount(s.resends)} resend(s) of unchanged bytes still in flight (correct senders do this: not a finding)`);
    if (this.resolved > 0) out.push(`  ${this.resolved} leak(s) completed later (stalls, not leaks)`);
    for (const kind of FINDING_KINDS) {
      const list = this.kept.get(kind);
      if (!list) continue;
      const total = s.findings[kind] + s.uncertain[kind];
      out.push('', `${TITLES[kind]} (${total})`);
      for (const f of list) out.push(...findingLines(f));
      if (total > list.length) out.push(`  … and ${total - list.length} more (use --json for all)`);
    }
    out.push('', 'STATISTICS');
    out.push(`  lifetime (submit → done): ${dist(s.duration, fmtNs)}`);
    out.push(`  references per page per lifetime: ${s.refsPerPage.count === 0 ? 'no page-level events in this trace' : dist(s.refsPerPage, (v) => String(v))}` +
      (s.refsPerPage.count > 0 ? ' (the kernel patch zctrace grew from expected about 20)' : ''));
    out.push(`  copy fallback: ${fmtCount(s.copied)} completion(s) copied (${Math.round(s.copiedRatio * 100)}% of completions)`);
    out.push(`  peak in flight: ${peak(s)}`);
    out.push(`  events: ${Object.entries(s.eventsByKind).map(([k, n]) => `${k} ${fmtCount(n)}`).join(', ')}`);
    if (s.oldest.length > 0) {
      out.push('', 'OLDEST OPEN HOLDERS');
      out.push(`  ${cell('holder', 34)} ${cell('age', 11, true)} ${cell('refs', 5, true)} ${cell('bytes', 10, true)}  ${cell('socket', 30)} pid/comm`);
      for (const h of s.oldest.slice(0, 10)) {
        out.push(`  ${cell(h.obj, 34)} ${cell(fmtNs(h.age), 11, true)} ${cell(String(h.refs), 5, true)} ${cell(fmtBytes(h.bytes), 10, true)}  ${cell(h.sock ?? '-', 30)} ${h.pid ?? '?'}/${h.comm ?? '?'}`);
      }
    }
    for (const [title, rows] of [['BY SOCKET', s.bySock], ['BY PROCESS (pid/comm)', s.byProc]] as const) {
      if (rows.length === 0) continue;
      out.push('', title);
      out.push(`  ${cell('', 44)} ${cell('lifetimes', 10, true)} ${cell('open', 6, true)} ${cell('bytes', 10, true)} ${cell('findings', 9, true)}`);
      for (const r of rows.slice(0, 10)) {
        out.push(`  ${cell(r.key, 44)} ${cell(fmtCount(r.lifetimes), 10, true)} ${cell(fmtCount(r.open), 6, true)} ${cell(fmtBytes(r.bytes), 10, true)} ${cell(fmtCount(r.findings), 9, true)}`);
      }
    }
    return out.join('\n') + '\n';
  }
}

function countsLine(c: Record<FindingKind, number>): string {
  return FINDING_KINDS.filter((k) => c[k] > 0).map((k) => `${k} ${fmtCount(c[k])}`).join(', ');
}

function dist(d: Distribution, f: (v: number) => string): string {
  if (d.count === 0) return 'none completed';
  return `p50 ${f(d.p50)}, p90 ${f(d.p90)}, p99 ${f(d.p99)}, max ${f(d.max)} (${fmtCount(d.count)})`;
}

function peak(s: Snapshot): string {
  let best = { holders: 0, bytes: 0, t: 0 };
  for (const p of s.series) if (p.holders > best.holders) best = p;
  return `${fmtCount(best.holders)} holders, ${fmtBytes(best.bytes)} pinned (at ${fmtNs(best.t)})`;
}

/** The lines of one finding: who, what, and its story. */
export function findingLines(f: Finding): string[] {
  const who = [
    `refs ${f.refs}`, fmtBytes(f.bytes), f.sock ? `sock ${f.sock}` : '',
    f.pid !== undefined || f.comm ? `pid ${f.pid ?? '?'} ${f.comm ?? ''}`.trim() : '',
  ].filter(Boolean).join(', ');
  const lines = [
    `  ${f.obj} #${f.seq}${f.uncertain ? `  [uncertain: ${f.trigger?.unsure ?? 'open across lost events'}]` : ''}`,
    `    ${f.detail}`,
    `    started at ${fmtNs(f.start)}, found at ${fmtNs(f.t)} (age ${fmtNs(f.age)}); ${who}`,
  ];
  // People read the start and the end of a story; the middle is counted (--json has 48 events).
  const story = f.story;
  const cut = story.length > STORY_LINES;
  const shown = cut ? [...story.slice(0, STORY_LINES / 2), ...story.slice(-STORY_LINES / 2)] : story;
  shown.forEach((e, i) => {
    if (cut && i === STORY_LINES / 2) lines.push(`      … ${story.length - STORY_LINES + f.storyDropped} more events …`);
    lines.push(`      ${storyLine(e)}`);
  });
  if (!cut && f.storyDropped > 0) lines.push(`      (${f.storyDropped} events in the middle not kept)`);
  return lines;
}

/** "+1.200 ms  get  page 0xffffea… ref 3". */
export function storyLine(e: StoryEntry): string {
  const extra = [
    e.page ? `page ${e.page}` : '', e.ref !== undefined ? `ref ${e.ref}` : '',
    e.copied !== undefined ? `copied ${e.copied}` : '', e.reason ? `reason ${e.reason}` : '',
  ].filter(Boolean).join(' ');
  return `${cell('+' + fmtNs(e.dt), 13, true)}  ${cell(e.ev, 6)} ${extra}`.trimEnd();
}
