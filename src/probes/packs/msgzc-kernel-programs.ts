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
    'test/fixtures/msgzc-kernel/stream-rewrite-quiet.txt (Linux 6.1: 9 sends of 64 KiB to a slow receiver; the sender rewrites buffers 3 and 7 in place right after sending them, and never sends them again):',
    [
      'submit\t188587414556\tobj=0xffff888006787028\tnew=1\tid=0\tn=1\tbytes=65536\tref=1\tpid=596\tsock=127.0.0.1:55790>127.0.0.1:44595\tsk=0xffff88801adee300\tniov=1\taddr=0x7f9d1f5bc000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xdbbb19832e2adc1c\tfz=0\tcomm=msgzc',
      '[...]',
      'submit\t188614893000\tobj=0xffff888006787028\tnew=0\tid=3\tn=4\tbytes=65536\tref=19\tpid=596\tsock=127.0.0.1:55790>127.0.0.1:44595\tsk=0xffff88801adee300\tniov=1\taddr=0x7f9d1f58c000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xbb33eebdac36f669\tfz=0\tcomm=msgzc',
      'put\t188615141422\tobj=0xffff888006787028\tref=26\tok=1',
      'rewrite\t188615945711\tobj=0xffff888006787028\tfp=0xbb33eebdac36f669\tnow=0x462dc1a826d4ea14\tfz=0\tat=send\tpid=596\tcomm=msgzc',
      'submit\t188615967432\tobj=0xffff888006787028\tnew=0\tid=4\tn=5\tbytes=65536\tref=27\tpid=596\tsock=127.0.0.1:55790>127.0.0.1:44595\tsk=0xffff88801adee300\tniov=1\taddr=0x7f9d1f57c000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0x45d7a1c194af66d8\tfz=0\tcomm=msgzc',
      'put\t188623792223\tobj=0xffff888006787028\tref=34\tok=1',
      'copy\t188624327511\tobj=0xffff888006787028\tref=34\tn=2\tpages=0xffffea00002a51c0:1,0xffffea00004d0b00:1,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0',
      'put\t188624435987\tobj=0xffff888006787028\tref=34\tok=0',
      'frags\t188624975412\tobj=0xffff888006787028\tref=34\tn=2\tpages=0xffffea00002a51c0:1,0xffffea00004d0b00:1,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0,0x0:0',
      'put\t188625011511\tobj=0xffff888006787028\tref=33\tok=1',
      '[...]',
      'rewrite\t188650339167\tobj=0xffff888006787028\tfp=0x8438f7cc5251c715\tnow=0x719b9206dac1f128\tfz=0\tat=send\tpid=596\tcomm=msgzc',
      'submit\t188650405984\tobj=0xffff8880063d1328\tnew=1\tid=8\tn=1\tbytes=65536\tref=1\tpid=596\tsock=127.0.0.1:55790>127.0.0.1:44595\tsk=0xffff88801adee300\tniov=1\taddr=0x7f9d1f53c000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xa55196c944553b04\tfz=0\tcomm=msgzc',
      '[...]',
      'done\t188845655922\tobj=0xffff888006787028\tsk=0xffff88801adee300\tlo=0\thi=7\tcopied=1\tfate=queue\tinto=0x0',
      'read\t188846043178\tobj=0xffff888006787028\tsk=0xffff88801adee300\tlo=0\thi=7\tcopied=1\tpid=596\tcomm=msgzc',
    ],
    'all 8 sends went into one ubuf (the slow receiver keeps the tail skb unsent, so each send extends it, new=0, and its count climbs with references taken inline); fp: a fingerprint of the bytes each send took; rewrite: at the socket\'s next send (id 4, 1.1 ms later) the program fingerprinted buffer 3 again and found it changed (now) while the ubuf still held its pages (its done came 230 ms later): zctrace reports an early free on it (bytes rewritten in place while in flight); buffer 7 likewise, seen at send 8 (which took a new ubuf, so the puts that follow on the first are reported as a use after free); copy: loopback delivery copied the skb\'s user pages (hence ok=0 on its put); frags gives each page\'s count after TCP\'s drop; done: the kernel let go of ids 0-7 at once and queued one notification, which the owner read 0.4 ms later; copied=1 because loopback delivery copies.',
  ),
  aggregate: example(
    'test/fixtures/msgzc-kernel/aggregate-read-into.txt (Linux 6.1: 8 sends of 64 KiB to a slow receiver; right after sending buffers 3 and 7 the sender read(2)s 4096 bytes from a pipe into each):',
    [
      'submit\t317409588711\tobj=0xffff888006787228\tnew=1\tid=0\tn=1\tbytes=65536\tref=1\tpid=1038\tsock=127.0.0.1:37580>127.0.0.1:40961\tsk=0xffff88801adebf00\tniov=1\taddr=0x7f92b1d5a000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xdbbb19832e2adc1c\tfz=0\tcomm=msgzc',
      '[...]',
      'submit\t317433949079\tobj=0xffff888006787228\tnew=0\tid=3\tn=4\tbytes=65536\tref=21\tpid=1038\tsock=127.0.0.1:37580>127.0.0.1:40961\tsk=0xffff88801adebf00\tniov=1\taddr=0x7f92b1d2a000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0xbb33eebdac36f669\tfz=0\tcomm=msgzc',
      'write\t317439876043\tdt=130939\tpid=1038\taddr=0x7f92b1d2a000\tlen=4096\taddr1=0x0\tlen1=0\tcall=tracepoint:syscalls:sys_exit_read\tcomm=msgzc',
      'rewrite\t317445627704\tobj=0xffff888006787228\tfp=0xbb33eebdac36f669\tnow=0x1115424b18c2b84\tfz=0\tat=send\tpid=1038\tcomm=msgzc',
      'submit\t317445749466\tobj=0xffff888006787228\tnew=0\tid=4\tn=5\tbytes=65536\tref=27\tpid=1038\tsock=127.0.0.1:37580>127.0.0.1:40961\tsk=0xffff88801adebf00\tniov=1\taddr=0x7f92b1d1a000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0x45d7a1c194af66d8\tfz=0\tcomm=msgzc',
      '[...]',
      'submit\t317495496602\tobj=0xffff888006787228\tnew=0\tid=7\tn=8\tbytes=65536\tref=45\tpid=1038\tsock=127.0.0.1:37580>127.0.0.1:40961\tsk=0xffff88801adebf00\tniov=1\taddr=0x7f92b1cea000\tlen=65536\taddr1=0x0\tlen1=0\tfp=0x8438f7cc5251c715\tfz=0\tcomm=msgzc',
      'write\t317519423756\tdt=14147508\tpid=1038\taddr=0x7f92b1cea000\tlen=4096\taddr1=0x0\tlen1=0\tcall=tracepoint:syscalls:sys_exit_read\tcomm=msgzc',
      'done\t317707193157\tobj=0xffff888006787228\tsk=0xffff88801adebf00\tlo=0\thi=7\tcopied=1\tfate=queue\tinto=0x0\tputs=136\tpages=256\tcopies=65',
      'read\t317710797798\tobj=0xffff888006787228\tsk=0xffff88801adebf00\tlo=0\thi=7\tcopied=1\tpid=1038\tcomm=msgzc',
      'skfree\t317729299611\tsk=0xffff88801adebf00',
      'exit\t317751140099\tpid=1038\tcomm=msgzc',
      '[...]',
      'hist\t318019037757\tname=page_refs\tb0=0\tb1=20\tb2=0\tb3=0\tb4=0',
      'hist\t318019272022\tname=puts\tb0=0\tb1=0\tb2=0\tb3=0\tb4=1',
      'hist\t318019458496\tname=life_us\tb0=0\tb1=0\tb2=0\tb3=0\tb4=0\tb5=0\tb6=0\tb7=1',
    ],
    'write: the read wrote into buffer 3 (addr, len; dt: the call took 0.13 ms) while the ubuf still held its pages: zctrace reports an early free on it (the kernel wrote into the buffer for read() while in flight), and likewise for buffer 7; the rewrite line at the next send is the same change seen through the fingerprint (the read had already ended that ubuf\'s lifetime: nothing more is reported); the puts, frag pages and copies of the ubuf were counted in the kernel and came with its done (ids 0-7 at once, queued, read 3.6 ms later); skfree, exit: the socket went away, then the sender; hist: the histograms, printed each second.',
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

