// The bpftrace programs of the msgzc-kernel pack, generated from one template.
//
// Why generated: the kernel changed names and layouts under MSG_ZEROCOPY (5.x keeps the id
// range in struct ubuf_info, 6.0 moved it to struct ubuf_info_msgzc; 6.10 replaced
// uarg->callback = msg_zerocopy_callback by uarg->ops->complete = msg_zerocopy_complete and
// skb frags became netmem; __msg_zerocopy_callback is inlined on some builds), and bpftrace
// 0.17 refuses a program that names a struct member or a function the kernel lacks, and has
// no conditional compilation or function-like macros. So each kernel family gets its own
// file in probes/, written from this template. The files are committed (users read them with
// `zctrace probes show`); test/probes/packs/msgzc-kernel-programs.test.ts fails when they
// differ from what this module generates. Regenerate:
//   node --import tsx src/probes/packs/msgzc-kernel-programs.ts --write
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../util/paths.js';
import { PARTS, TEMPLATE } from './msgzc-kernel-template.js';

/** Kernel families, by the struct layouts and function names the programs depend on. */
export type Layout = 'callback' | 'ops' | 'v5';
/** Where `done` comes from: __msg_zerocopy_callback, or the put that drops the last reference. */
export type DoneSource = 'probe' | 'derived';
export type Mode = 'stream' | 'aggregate';

/** One generated program. */
export interface ProgramSpec {
  file: string;
  layout: Layout;
  done: DoneSource;
  mode: Mode;
}

const STEM: Record<Layout, string> = { callback: 'msgzc-kernel', ops: 'msgzc-kernel-ops', v5: 'msgzc-kernel-5x' };

/** The file name of a variant: msgzc-kernel[-ops|-5x][-inline][-agg].bt. */
export function programFile(layout: Layout, done: DoneSource, mode: Mode): string {
  const inline = done === 'derived' && layout !== 'v5' ? '-inline' : '';
  return `${STEM[layout]}${inline}${mode === 'aggregate' ? '-agg' : ''}.bt`;
}

/** Every program shipped (5.x builds are handled with the derived done only). */
export const PROGRAMS: readonly ProgramSpec[] = (['callback', 'ops', 'v5'] as Layout[]).flatMap((layout) =>
  (layout === 'v5' ? (['derived'] as DoneSource[]) : (['probe', 'derived'] as DoneSource[])).flatMap((done) =>
    (['stream', 'aggregate'] as Mode[]).map((mode) => ({ file: programFile(layout, done, mode), layout, done, mode }))));

const KERNELS: Record<Layout, string> = {
  callback: 'Linux 6.0 to 6.8 (struct ubuf_info_msgzc, uarg->callback == msg_zerocopy_callback, skb frags with bv_page)',
  ops: 'Linux 6.10 and later (uarg->ops->complete == msg_zerocopy_complete, skb frags as netmem)',
  v5: 'Linux 5.13 to 5.19 (id range in struct ubuf_info, uarg->callback == msg_zerocopy_callback, SKBFL_* flags in skb_shared_info.flags)',
};

/** What a layout substitutes into the template. */
function layoutVars(layout: Layout): Record<string, string> {
  return {
    UARG_T: layout === 'v5' ? 'ubuf_info' : 'ubuf_info_msgzc',
    PUT_FN: layout === 'ops' ? 'msg_zerocopy_complete' : 'msg_zerocopy_callback',
    IS_MSGZC: layout === 'ops'
      ? '((struct ubuf_info *)$ua)->ops->complete == kaddr("msg_zerocopy_complete")'
      : '((struct ubuf_info *)$ua)->callback == kaddr("msg_zerocopy_callback")',
    FRAG_PAGE: layout === 'ops' ? 'netmem' : 'bv_page',
  };
}

/** The 17 (MAX_SKB_FRAGS) page:count pairs of a frags/copy line. bpftrace 0.17 takes only
 * literal array indices, and locals for 17 pages overflow the 512-byte BPF stack, so each
 * pair is an expression straight into printf's arguments. */
function fragArgs(fragPage: string): string {
  const out: string[] = [];
  for (let i = 0; i < 17; i++) {
    const f = `$sh->frags[${i}].${fragPage}`;
    const p = `((struct page *)${f})`;
    // the count of the head page (a compound page keeps it there); a netmem with bit 0 set is
    // a net_iov (device memory), which has no struct page: its count prints as -1
    const count = `(int32)(((struct page *)((${p}->compound_head & 1) ? ${p}->compound_head - 1 : (uint64)${p}))->_refcount.counter - 1)`;
    out.push(`($n > ${i} ? (uint64)${f} : 0), ` +
      (fragPage === 'netmem' ? `($n > ${i} ? ((${f} & 1) ? -1 : ${count}) : 0)` : `($n > ${i} ? ${count} : 0)`));
  }
  return out.join(',\n\t\t\t    ');
}
const FRAG_FMT = Array.from({ length: 17 }, () => '0x%llx:%d').join(',');

/** Expands `#if KEY=VALUE` / `#else` / `#endif` lines (no nesting), then `@NAME@` placeholders. */
export function expand(template: string, vars: Record<string, string>): string {
  const out: string[] = [];
  let keep = true;
  let inIf = false;
  for (const line of template.split('\n')) {
    const m = /^#if (\w+)=(\w+)$/.exec(line);
    if (m) {
      if (inIf) throw new Error('nested #if in the msgzc-kernel template');
      inIf = true;
      keep = vars[m[1]] === m[2];
      continue;
    }
    if (line === '#else' && inIf) { keep = !keep; continue; }
    if (line === '#endif' && inIf) { inIf = false; keep = true; continue; }
    if (keep) out.push(line);
  }
  if (inIf) throw new Error('unterminated #if in the msgzc-kernel template');
  return out.join('\n').replace(/@([A-Z_]+)@/g, (whole, name: string) => {
    const v = vars[name];
    if (v === undefined) throw new Error(`msgzc-kernel template: no value for ${whole}`);
    return v;
  });
}

/** The `Example:` paragraph of a header: lines of a real capture (test/fixtures/msgzc-kernel;
 * a test checks they appear there verbatim), the same for every layout (the line format is). */
function example(title: string, lines: string[], read: string): string {
  const wrap = (text: string, first: string, rest: string): string[] => {
    const out: string[] = [];
    let cur = first;
    for (const w of text.split(' ')) {
      if (cur.length + w.length > 96 && cur.trim() !== '*' && cur !== first) {
        out.push(cur);
        cur = rest;
      }
      cur += (cur.endsWith(' ') ? '' : ' ') + w;
    }
    out.push(cur);
    return out;
  };
  return [...wrap(title, ' * Example:', ' *  '), ...lines.map((l) => ` *   ${l}`), ...wrap(read, ' *   Read:', ' *   '), ''].join('\n');
}
const EXAMPLES: Record<Mode, string> = {
  stream: example(
    'test/fixtures/msgzc-kernel/stream-early-free.txt (Linux 6.1: 8 sends of 64 KiB to a slow receiver; the sender unmaps buffers 3 and 7 right after sending them):',
    [
    'submit\t201161559593\tobj=0xffff888015133328\tnew=1\tid=0\tn=1\tbytes=65536\tref=1\tpid=528\tsock=127.0.0.1:39070>127.0.0.1:45853\tsk=0xffff8880151cb600\tniov=1\taddr=0x7faa9d4fc000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xdbbb19832e2adc1c\tfz=0\tcomm=msgzc',
    '[...]',
    'submit\t201230162953\tobj=0xffff888015133328\tnew=0\tid=3\tn=4\tbytes=65536\tref=13\tpid=528\tsock=127.0.0.1:39070>127.0.0.1:45853\tsk=0xffff8880151cb600\tniov=1\taddr=0x7faa9d4cc000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xbb33eebdac36f669\tfz=0\tcomm=msgzc',
    'put\t201230377532\tobj=0xffff888015133328\tref=20\tok=1',
    'unmap\t201231662815\tpid=528\taddr=0x7faa9d4cc000\tlen=65536\treason=unmap\tcomm=msgzc',
    'copy\t201237103629\tobj=0xffff888015133328\tref=20\tn=2\tpages=0xffffea00004adb00:1,0xffffea00004ac500:1,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0',
    'put\t201237288923\tobj=0xffff888015133328\tref=20\tok=0',
    'frags\t201241448311\tobj=0xffff888015133328\tref=20\tn=2\tpages=0xffffea00004adb00:1,0xffffea00004ac500:1,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0',
    'put\t201241596394\tobj=0xffff888015133328\tref=19\tok=1',
    '[...]',
    'done\t201658665173\tobj=0xffff888015133328\tsk=0xffff8880151cb600\tlo=0\thi=7\tcopied=1\tfate=queue\tinto=0x0',
    'read\t201660474136\tobj=0xffff888015133328\tsk=0xffff8880151cb600\tlo=0\thi=7\tcopied=1\tpid=528\tcomm=msgzc',
    ],
    'all 8 sends went into one ubuf (the slow receiver keeps the tail skb unsent, so each send extends it, new=0, and its count climbs with references taken inline); fp: a fingerprint of the bytes each send took (a later send of the same range with another fingerprint is a rewrite, with the same a resend); buffer 3 was unmapped while the ubuf held 20 references: zctrace reports an early free on it, and a use after free for the puts that follow; copy: loopback delivery copied the skb\'s user pages (hence ok=0 on its put); frags gives each page\'s count after TCP\'s drop; done: the kernel let go of ids 0-7 at once and queued one notification, which the owner read 1.8 ms later; copied=1 because loopback delivery copies.',
  ),
  aggregate: example(
    'test/fixtures/msgzc-kernel/aggregate-leak.txt (Linux 6.1: 8 sends of 64 KiB; the sender never reads its completions and exits 14 s later):',
    [
      'submit\t337671628386\tobj=0xffff888015128a28\tnew=1\tid=0\tn=1\tbytes=65536\tref=1\tpid=874\tsock=127.0.0.1:48550>127.0.0.1:43589\tsk=0xffff8880151cc800\tniov=1\taddr=0x7f397362e000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xdbbb19832e2adc1c\tfz=0\tcomm=msgzc',
      'done\t337694533320\tobj=0xffff888015128a28\tsk=0xffff8880151cc800\tlo=0\thi=0\tcopied=1\tfate=queue\tinto=0x0\tputs=7\tpages=36\tcopies=3',
      'submit\t337697662713\tobj=0xffff888015128628\tnew=1\tid=1\tn=1\tbytes=65536\tref=1\tpid=874\tsock=127.0.0.1:48550>127.0.0.1:43589\tsk=0xffff8880151cc800\tniov=1\taddr=0x7f397361e000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xdeedca5f9e58137\tfz=0\tcomm=msgzc',
      'done\t337714323129\tobj=0xffff888015128628\tsk=0xffff8880151cc800\tlo=1\thi=1\tcopied=1\tfate=merge\tinto=0xffff888015128a28\tputs=5\tpages=32\tcopies=2',
      '[...]',
      'hist\t338663108665\tname=page_refs\tb0=0\tb1=8\tb2=0\tb3=0\tb4=0',
      'hist\t338663316923\tname=puts\tb0=0\tb1=0\tb2=8\tb3=0\tb4=0',
      'hist\t338663480154\tname=life_us\tb0=0\tb1=0\tb2=0\tb3=0\tb4=0\tb5=6\tb6=2\tb7=0',
      '[...]',
      'exit\t352122514337\tpid=874\tcomm=msgzc',
      'skfree\t352133777102\tsk=0xffff8880151cc800',
    ],
    'the puts, frag pages and copies of each ubuf were counted in the kernel and came with its done; the first notification (id 0) was queued and never read, and ids 1-7 merged into it: zctrace reports a leak on that ubuf (0xffff888015128a28, held by its unread notification) covering ids 0-7; skfree: the socket went away with it when the sender exited.',
  ),
};
const OVERHEAD: Record<Mode, string> = {
  stream: 'npm run bench:lab (qemu TCG, 1 vCPU, Linux 6.1; 2000 loopback sends of 64 KiB): 6-7\n' +
    ' *   lines (22-25 events) per send reached zctrace and about as many were lost ("Lost N events":\n' +
    ' *   9869-10832); the sender ran 3.5-4.3x slower than untraced over four runs. Each zero-copy\n' +
    ' *   skb freed costs two struct page reads per frag and one printf.',
  aggregate: 'npm run bench:lab (qemu TCG, 1 vCPU, Linux 6.1; 2000 loopback sends of 64 KiB): 3 lines\n' +
    ' *   (4 events) per send, none lost (streaming: about half lost); the sender ran 2.2x, 4.7x, 6.6x\n' +
    ' *   and 5.7x slower than untraced in four runs (streaming 3.9x, 4.3x, 3.7x, 3.5x): under TCG the map\n' +
    ' *   updates are emulated, so the in-kernel cost is not judged there. Counting costs a map\n' +
    ' *   update per put and per ubuf; the page histogram one per page, hence sampled from one skb in 8.',
};

/** The program text of one variant. */
export function generate(spec: ProgramSpec): string {
  const lv = layoutVars(spec.layout);
  const vars: Record<string, string> = {
    ...lv,
    MODE: spec.mode, DONE: spec.done, LAYOUT: spec.layout, FILE: spec.file,
    DONE_SHORT: spec.done === 'probe' ? 'at __msg_zerocopy_callback' : 'derived from the last put',
    MODE_SHORT: spec.mode === 'stream' ? 'every event streamed' : 'in-kernel aggregation (--aggregate)',
    KERNELS: KERNELS[spec.layout],
    DONE_HOW: spec.done === 'probe'
      ? 'kprobe:__msg_zerocopy_callback (the notification is queued there)'
      : `the ${lv.PUT_FN} that finds the count at 1 (its caller drops the last reference;\n *       __msg_zerocopy_callback is inlined on these builds)`,
    FRAG_FMT, FRAG_ARGS: fragArgs(lv.FRAG_PAGE),
    EXAMPLE: EXAMPLES[spec.mode], OVERHEAD: OVERHEAD[spec.mode],
  };
  vars.DONE_BLOCK = expand(PARTS.DONE_BLOCK, vars).replace(/\n$/, '');
  vars.PAGE_HIST = PARTS.pageHistogram(lv.FRAG_PAGE);
  return expand(TEMPLATE, vars);
}

/** Writes every program into probes/ (or checks them); returns the files that differ. */
export function syncPrograms(write: boolean, dir = join(packageRoot, 'probes')): string[] {
  const stale: string[] = [];
  for (const spec of PROGRAMS) {
    const path = join(dir, spec.file);
    const text = generate(spec);
    let old = '';
    try { old = readFileSync(path, 'utf8'); } catch { /* missing */ }
    if (old !== text) {
      stale.push(spec.file);
      if (write) writeFileSync(path, text);
    }
  }
  return stale;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const stale = syncPrograms(process.argv.includes('--write'));
  process.stdout.write(stale.length ? `${process.argv.includes('--write') ? 'wrote' : 'stale'}: ${stale.join(' ')}\n` : 'up to date\n');
}

