// The msgzc-kernel pack: MSG_ZEROCOPY seen from inside the kernel with kprobes and BTF.
// Holder = the struct ubuf_info of a send (its kernel address): from msg_zerocopy_realloc
// allocating it, through every reference dropped (with the kernel's own count) and the frag
// pages released, to the kernel letting it go: at once when its notification is merged into
// another or dropped, or when the owner reads its notification from the error queue.
// The program is chosen per kernel (msgzc-kernel-programs.ts generates one per family).
import type { HostFacts } from '../host.js';
import type { PackDescriptor, PackVariant, Requirement } from '../pack.js';
import { MsgzcKernelDecoder } from './msgzc-kernel-decoder.js';
import { programFile, type DoneSource, type Layout } from './msgzc-kernel-programs.js';

/** A variant, with the --aggregate program that goes with it. */
export type MsgzcKernelVariant = PackVariant & { aggregateFile: string };

const FUNCTIONS = ['msg_zerocopy_realloc', 'skb_release_data', 'skb_copy_ubufs', 'sock_dequeue_err_skb', 'inet_sock_destruct', 'tcp_sendmsg_locked'];
const TRACEPOINTS = [
  'syscalls:sys_enter_sendmsg', 'syscalls:sys_exit_sendmsg', 'syscalls:sys_enter_sendmmsg', 'syscalls:sys_exit_sendmmsg',
  'syscalls:sys_enter_munmap', 'syscalls:sys_exit_munmap', 'syscalls:sys_enter_madvise', 'syscalls:sys_exit_madvise',
  'sched:sched_process_exit',
];

const LAYOUT_NOTE: Record<Layout, string> = {
  callback: 'layout 6.0-6.8: struct ubuf_info_msgzc, uarg->callback = msg_zerocopy_callback, frags with bv_page',
  ops: 'layout 6.10+: uarg->ops->complete = msg_zerocopy_complete, frags as netmem',
  v5: 'layout 5.13-5.19: the id range in struct ubuf_info (never run by zctrace\'s tests: no such kernel in the lab)',
};

/** Which program fits this kernel, from its BTF and its traceable functions (its aggregateFile:
 *  the --aggregate program that fits it). */
export async function chooseVariant(h: HostFacts): Promise<MsgzcKernelVariant> {
  const [ops, msgzc, v5id, v5flags, netmem] = await Promise.all([
    h.hasBtfMember('ubuf_info', 'ops'),
    h.hasBtfMember('ubuf_info_msgzc', 'bytelen'),
    h.hasBtfMember('ubuf_info', 'bytelen'),
    h.hasBtfMember('ubuf_info', 'flags'),
    h.hasBtfMember('skb_frag', 'netmem'),
  ]);
  let layout: Layout | undefined;
  if (ops && msgzc && netmem) layout = 'ops';
  else if (!ops && msgzc && !netmem) layout = 'callback';
  else if (!ops && !msgzc && v5id && v5flags) layout = 'v5';
  if (layout === undefined) {
    const what = `ubuf_info.ops ${ops ? 'yes' : 'no'}, ubuf_info_msgzc ${msgzc ? 'yes' : 'no'}, skb_frag.netmem ${netmem ? 'yes' : 'no'}, ubuf_info.flags ${v5flags ? 'yes' : 'no'}`;
    return {
      file: 'msgzc-kernel.bt', aggregateFile: 'msgzc-kernel-agg.bt', name: 'unsupported',
      notes: [`no program for this kernel's layout (${what}); known: 5.13-5.19, 6.0-6.8, 6.10+ (6.9 mixes callback and netmem): loading will fail`],
    };
  }
  const putFn = layout === 'ops' ? 'msg_zerocopy_complete' : 'msg_zerocopy_callback';
  const done: DoneSource = layout !== 'v5' && h.hasFunction('__msg_zerocopy_callback') ? 'probe' : 'derived';
  const notes = [LAYOUT_NOTE[layout], `references dropped at ${putFn} (${h.hasFunction(putFn) ? 'traceable' : 'NOT traceable here: loading will fail'})`];
  notes.push(done === 'probe'
    ? 'done at __msg_zerocopy_callback'
    : `__msg_zerocopy_callback is ${layout === 'v5' ? 'inlined on some 5.x builds' : 'not traceable here'}: done derived from the ${putFn} that finds the count at 1; two last puts at the same instant on two CPUs give no done (that ubuf looks leaked)`);
  const name = `${layout}${done === 'derived' ? '-inline' : ''}`;
  const aggregateFile = programFile(layout, done, 'aggregate');
  notes.push(`with --aggregate: probes/${aggregateFile}`);
  notes.push('cannot see: references taken inline (rebuilt from the counts), a rewrite not followed by another send on its socket, frees after the kernel let go of a buffer, UDP and io_uring sends (`zctrace probes show msgzc-kernel` lists every blind spot)');
  return { file: programFile(layout, done, 'stream'), aggregateFile, name, notes };
}

/** The pack's descriptor, for registry.ts. */
export const msgzcKernel: PackDescriptor = {
  name: 'msgzc-kernel',
  description: 'MSG_ZEROCOPY ubufs inside the kernel: allocation, every reference dropped with the kernel\'s count, frag pages, copies, completion and the owner reading it (kprobes + BTF)',
  holder: '<struct ubuf_info address>: one MSG_ZEROCOPY ubuf (one send, or several consecutive sends of a socket it was extended by)',
  file: 'msgzc-kernel.bt',
  requires: [
    { kind: 'kprobes' },
    { kind: 'btf' },
    ...FUNCTIONS.map((name): Requirement => ({ kind: 'function', name })),
    ...TRACEPOINTS.map((name): Requirement => ({ kind: 'tracepoint', name })),
  ],
  priority: 60,
  blindSpots: [
    'references taken inline (net_zcopy_get when a ubuf is extended or attached to an skb, pskb_expand_head) fire no probe: they are reconstructed from the count read at each put, not reported as gets',
    'TCP only; UDP MSG_ZEROCOPY and io_uring zero-copy sends (their own ubufs, registered buffers with no page references: see iouring-sendzc) are not followed',
    'a free is reported only while the kernel still holds the ubuf (submit to done): unmapping or reusing a buffer after the kernel completed it but before the owner read the notification is safe in effect and not reported here (msgzc-syscalls reports it)',
    'a rewrite is seen through the fingerprint of the first iovec of each send (one word per 4 KiB, 16 at most, and the last word): compared with the next send of the same range, and at the socket\'s next send with the previous send\'s buffer; a change after the socket\'s last send, one that leaves the sampled words as they were, or one made before the kernel\'s done but seen only after it (the socket\'s next send came later) is missed; a resend of unchanged bytes is counted, never reported',
    'writes by the kernel into a buffer are seen for read, pread64, readv, preadv, recvfrom and recvmsg (the first two iovecs); io_uring reads, splice and writes by other processes are not',
    'a leak (the owner never reads its notifications) shows on the ubuf whose skb waits in the error queue, held open by that notification (ref 1 after done); ubufs merged into it end at their done, so one leak finding covers the merged ids',
    'queued or merged is decided by reading the error queue\'s tail without its lock: a reader dequeueing at that instant can make a queued notification look merged (that lifetime then ends early, unseen as a leak)',
    'munmap/madvise are counted when they succeed; mremap, shmdt, brk are not seen; a sender exiting with sends in flight frees them (reason exit)',
    'filters apply when a socket sends its first zero-copy message while traced; ubufs allocated before the trace began are untracked; BPF maps hold BPFTRACE_MAP_KEYS_MAX (4096) sockets, threads in a send and, with --aggregate, ubufs in flight',
    'lines from different CPUs are put back in time order within 200 ms; a line later than that is acted on late',
    'with --aggregate, puts, frag pages and copies are only counted in the kernel (done carries the totals, histograms each second); the per-page story and references per page are then not in the events',
  ],
  createDecoder: () => new MsgzcKernelDecoder(),
  variant: chooseVariant,
  // the pack has aggregation programs; which one fits the kernel is its variant's aggregateFile
  aggregateFile: 'msgzc-kernel-agg.bt',
};
