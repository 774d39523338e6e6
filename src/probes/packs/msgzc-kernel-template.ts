// The template of the msgzc-kernel programs (see msgzc-kernel-programs.ts, which expands it:
// `#if KEY=VALUE` / `#else` / `#endif` lines, then `@NAME@` placeholders).
// Kept apart so that the generator reads as code and this reads as bpftrace.
import { SYNC_PROBE } from '../sync.js';

// One constant of the kernel's layout is not in BTF's names: sk_buff.cb is at offset 40 on
// x86_64 from 4.x to 6.18 (next/prev/dev 24, sk 8, tstamp 8), and the ubuf_info of a
// MSG_ZEROCOPY send lives in its notification skb's cb[], so skb = uarg - 40 (bpftrace 0.17
// has no offsetof). The programs check it on every new ubuf (that skb's sk must be the
// sender's socket) and stop with a message if a kernel ever moves it.

const HEADER = String.raw`#!/usr/bin/env bpftrace
/*
 * @FILE@ - MSG_ZEROCOPY inside the kernel (kprobes + BTF): holder = the struct ubuf_info of a send.
 *   Generated from the template in src/probes/packs/msgzc-kernel-template.ts, expanded by
 *   msgzc-kernel-programs.ts (edit the template, not this file).
 *   Layout "@LAYOUT@", done @DONE_SHORT@, @MODE_SHORT@.
 *
 * Traces:
 *   kprobe+kretprobe:msg_zerocopy_realloc   a TCP MSG_ZEROCOPY send gets a new ubuf (new=1), or
 *       the ubuf of the write queue's tail skb is extended by one id (new=0; the kernel takes a
 *       reference inline, net_zcopy_get, which no probe can see: the counts reconstruct it)
 *   kprobe:@PUT_FN@   one reference dropped (an skb released, the send call's own
 *       reference, a copy); the count is read from the ubuf
 *   done: @DONE_HOW@
 *   kprobe+kretprobe:sock_dequeue_err_skb   the owner reads a zero-copy notification
 *   kprobe:skb_release_data   the frag pages of a zero-copy skb whose data is released
 *   kprobe:skb_copy_ubufs     the kernel copies an skb's user pages (the zero-copy is lost)
 *   kprobe:inet_sock_destruct the socket is destroyed (unread notifications are purged)
 *   tracepoint:syscalls:sys_{enter,exit}_{sendmsg,sendmmsg}, kprobe:tcp_sendmsg_locked   the
 *       user buffer (iovecs) of each zero-copy send, read from its msghdr
 *   tracepoint:syscalls:sys_{enter,exit}_{munmap,madvise}, tracepoint:sched:sched_process_exit
 *       the sender unmapping or discarding memory, and exiting
 *   tracepoint:syscalls:sys_{enter,exit}_{read,pread64,readv,preadv,recvfrom,recvmsg} of a
 *       zero-copy sender: the kernel writing into its memory for it
 * Fingerprint: at each send, in the sender's context, FNV-1a over one 8-byte word per 4 KiB of
 *   the call's first iovec (16 at most, spread beyond 64 KiB) and its last word; compared with
 *   the next send of the same range (decoder: same = resend, no finding) and, at the socket's
 *   next send, with that earlier buffer as it is now (a "rewrite" line; the decoder reports it
 *   only if that ubuf was still in flight). Misses: changes leaving the sampled words as they
 *   were, a change after the socket's last send, iovecs after the first.
 * Requires: @KERNELS@; CONFIG_KPROBES, BTF (/sys/kernel/btf/vmlinux), tracefs; never --unsafe.
 *   Params: $1 pid (0 any), $2 TCP port local or remote (0 any), str($3) comm ("" any): applied
 *   when a socket sends its first zero-copy message; its events are then all reported.
`;

const OUTPUT_STREAM = String.raw` * Output (TAB-separated, T = nsecs; U, SK, P = kernel addresses of the ubuf, sock, page):
 *   ready T                          every probe is attached
 *   submit T obj=U new=0|1 id=ID n=IDS bytes=B ref=R pid=P sock=L>R sk=SK niov=N addr=A len=L addr1=A len1=L fp=0xFP fz=0|1 comm=C
 *       ID = the id this send took; IDS = ids the ubuf covers now; R = its count after
 *       (the send call's reference and one per skb); addr/len: the first two iovecs (user);
 *       FP: fingerprint of the first iovec's bytes this call sent (fz=1: every sampled word
 *       read zero, i.e. zeroed memory or a read that failed)
 *   put T obj=U ref=R ok=0|1         R = the count after; ok=0: the skb's data was copied
 *   frags T obj=U ref=R n=N pages=P:C,P:C,...   the N frag pages of an skb being freed (17
 *       slots, N used), C = the page's count after TCP's drop (-1: a net_iov, device memory
 *       with no struct page); R = the ubuf's count (before this skb's put, which follows)
 *   copy T obj=U ref=R n=N pages=...  skb_copy_ubufs replaces those user pages by copies
 *   done T obj=U sk=SK lo=ID hi=ID copied=0|1 fate=queue|merge|drop into=U2
 *       the last reference is gone and the notification [lo, hi] is: queued (this ubuf's skb
 *       waits in the error queue), merged into the tail notification U2, or dropped (aborted
 *       send, socket dead)
 *   read T obj=U sk=SK lo=ID hi=ID copied=0|1 pid=P comm=C   the owner dequeued notification U
 *   skfree T sk=SK                   the socket is destroyed (unread notifications go with it)
 *   unmap T pid=P addr=A len=L reason=unmap|madvise comm=C   succeeded, of a zero-copy sender
 *   exit T pid=P comm=C              a zero-copy sender exited
 *   rewrite T obj=U fp=0xFP now=0xFP fz=0|1 at=send pid=P comm=C   at the socket's next send,
 *       the bytes of U's last send differ from its fingerprint (fz=1: now all sampled words 0)
 *   write T dt=NS pid=P addr=A len=L addr1=A len1=L call=PROBE comm=C   a read-like call wrote
 *       [addr, +len) during the dt ns before T, in a region that held a zero-copy buffer
 *   hb T                             heartbeat (4 per second): moves the reorder window on
`;

const OUTPUT_AGG = String.raw` * Output (TAB-separated, T = nsecs; U, SK = kernel addresses of the ubuf and sock). In-kernel
 *   aggregation: puts, frag pages and copies are counted per ubuf in BPF maps; only lifetime
 *   edges and anomalies are printed, plus histograms each second:
 *   ready, submit, read, skfree, unmap, exit, rewrite, write, hb: as in the streaming program
 *       (submit is printed for every send: its buffer range and fingerprint are needed)
 *   done T obj=U sk=SK lo=ID hi=ID copied=0|1 fate=queue|merge|drop into=U2 puts=N pages=N copies=N
 *       the last reference (the edge "last put" and "done" coincide); N counted in the kernel
 *   put T obj=U ref=R ok=0|1         only when the count was already 0 (an underflow)
 *   hist T name=page_refs|puts|life_us b0=N ... (each second, for each histogram that counted
 *       something; then cleared): page_refs = a released frag page's count after TCP's drop,
 *       sampled from one zero-copy skb in 8 (b0: 0, b1: 1,
 *       b2: 2, b3: 3, b4: 4+); puts = references dropped per ubuf (b0: 1, b1: 2-3, b2: 4-7,
 *       b3: 8-15, b4: 16+); life_us = submit to done (b0 <64, b1 <256, b2 <1k, b3 <4k,
 *       b4 <16k, b5 <64k, b6 <256k, b7 >=256k us)
`;

const TAIL_STREAM = String.raw`@EXAMPLE@ * Overhead: @OVERHEAD@
 */
`;

/** Computes the notification's fate and prints `done`; needs $uz (the ubuf as @UARG_T@),
 * $zc (its zerocopy bit after this put) and $sk. */
const DONE_BLOCK = String.raw`		$lo = (uint64)$uz->id;
		$nid = (uint64)$uz->len;
		$fate = 0;   /* 0 queue: this ubuf's skb becomes an error-queue entry; 1 merge; 2 drop */
		$into = (uint64)0;
		if ($nid == 0 || ($sk->__sk_common.skc_flags & 1)) {   /* all its sends aborted, or SOCK_DEAD */
			$fate = 2;
		} else if ($sk->sk_error_queue.qlen > 0) {
			/* __msg_zerocopy_callback extends the tail notification when the ids follow on */
			$t = (uint64)$sk->sk_error_queue.prev;
			$e = (struct sock_exterr_skb *)($t + 40);
			if ($e->ee.ee_origin == 5 && (uint32)($e->ee.ee_data + 1) == (uint32)$lo &&
			    (uint64)(uint32)($e->ee.ee_data - $e->ee.ee_info) + 1 + $nid < 0x100000000) {
				$fate = 1;
				$into = $t + 40;
			}
		}
#if MODE=stream
		printf("done\t%llu\tobj=0x%llx\tsk=0x%llx\tlo=%u\thi=%u\tcopied=%d\tfate=%s\tinto=0x%llx\n",
		    nsecs, (uint64)$uz, (uint64)$sk, (uint32)$lo, (uint32)($lo + $nid - 1), $zc ? 0 : 1,
		    $fate == 0 ? "queue" : ($fate == 1 ? "merge" : "drop"), $into);
#else
		$k = (uint64)$uz;
		$pu = @a_puts[$k];
		@h_puts[$pu < 2 ? 0 : ($pu < 4 ? 1 : ($pu < 8 ? 2 : ($pu < 16 ? 3 : 4)))] += 1;
		if (@a_start[$k]) {
			$us = (nsecs - @a_start[$k]) / 1000;
			$b = $us < 64 ? 0 : ($us < 256 ? 1 : ($us < 1024 ? 2 : ($us < 4096 ? 3 :
			    ($us < 16384 ? 4 : ($us < 65536 ? 5 : ($us < 262144 ? 6 : 7))))));
			@h_life[$b] += 1;
		}
		printf("done\t%llu\tobj=0x%llx\tsk=0x%llx\tlo=%u\thi=%u\tcopied=%d\tfate=%s\tinto=0x%llx\tputs=%llu\tpages=%llu\tcopies=%llu\n",
		    nsecs, $k, (uint64)$sk, (uint32)$lo, (uint32)($lo + $nid - 1), $zc ? 0 : 1,
		    $fate == 0 ? "queue" : ($fate == 1 ? "merge" : "drop"), $into, $pu, @a_pages[$k], @a_copies[$k]);
		delete(@a_start[$k]);
		delete(@a_puts[$k]);
		delete(@a_pages[$k]);
		delete(@a_copies[$k]);
#endif
`;

/** In the aggregate programs: counts the pages of an skb ($n, $sh) into @h_page_refs. One map
 * update per page: accumulating the 5 buckets in locals first makes the verifier walk every
 * combination of branches (rejected on 6.1: "BPF program is too large"). */
function pageHistogram(fragPage: string): string {
  const out: string[] = [];
  for (let i = 0; i < 17; i++) {
    const f = `$sh->frags[${i}].${fragPage}`;
    const p = `((struct page *)${f})`;
    const iov = fragPage === 'netmem' ? ` && !(${f} & 1)` : ''; // a net_iov has no struct page
    out.push(`\t\t\t\tif ($n > ${i}${iov}) { $c = (int64)(((struct page *)((${p}->compound_head & 1) ? ${p}->compound_head - 1 : (uint64)${p}))->_refcount.counter - 1); @h_page_refs[$c <= 0 ? 0 : ($c >= 4 ? 4 : $c)] += 1; }`);
  }
  return out.join('\n');
}

const BODY = String.raw`
BEGIN
{
	/* bpftrace reads BEGIN's output only once every probe is attached: the ready signal */
	printf("ready\t%llu\n", nsecs);
}

/* ---- the user buffer of each zero-copy send: its msghdr, read at the kernel's realloc ---- */

tracepoint:syscalls:sys_enter_sendmsg
/($1 == 0 || pid == $1) && (str($3) == "" || comm == str($3))/
{
	/* locals declared from a constant first: bpftrace 0.17 then does not warn about mixing
	   syscall arguments (user address space) with kernel values */
	$f = (uint64)0; $f = args->flags;
	if ($f & 0x4000000) {   /* MSG_ZEROCOPY */
		$m = (uint64)0; $m = (uint64)args->msg;
		@umsg[tid] = $m;
	}
}

tracepoint:syscalls:sys_enter_sendmmsg
/($1 == 0 || pid == $1) && (str($3) == "" || comm == str($3))/
{
	$f = (uint64)0; $f = args->flags;
	if ($f & 0x4000000) {
		$m = (uint64)0; $m = (uint64)args->mmsg;
		@ummsg[tid] = $m;
		@mmidx[tid] = (uint64)0;
	}
}

/* sendmmsg: message i is the i-th tcp_sendmsg_locked call of the syscall */
kprobe:tcp_sendmsg_locked
/@ummsg[tid]/
{
	@mmidx[tid] = @mmidx[tid] + (uint64)1;
}

tracepoint:syscalls:sys_exit_sendmsg
/@umsg[tid]/
{
	delete(@umsg[tid]);
}

tracepoint:syscalls:sys_exit_sendmmsg
/@ummsg[tid]/
{
	delete(@ummsg[tid]);
	delete(@mmidx[tid]);
}

/* ---- submit: msg_zerocopy_realloc returns a new ubuf, or the tail skb's one extended ---- */

kprobe:msg_zerocopy_realloc
/($1 == 0 || pid == $1) && (str($3) == "" || comm == str($3))/
{
	$sk = (struct sock *)arg0;
	if ($sk->sk_protocol == 6 && ($2 == 0 || $sk->__sk_common.skc_num == $2 ||
	    bswap($sk->__sk_common.skc_dport) == $2)) {
		@ra_sk[tid] = arg0;
		@ra_size[tid] = arg1;
		@ra_old[tid] = arg2;
	}
}

kretprobe:msg_zerocopy_realloc
/@ra_sk[tid]/
{
	$sk = (struct sock *)@ra_sk[tid];
	$size = @ra_size[tid];
	$new = retval != @ra_old[tid] ? 1 : 0;
	delete(@ra_sk[tid]);
	delete(@ra_size[tid]);
	delete(@ra_old[tid]);
	if (retval != 0) {
		$u = (struct @UARG_T@ *)retval;
		if ($new && ((struct sk_buff *)(retval - 40))->sk != $sk) {
			printf("msgzc-kernel: layout check failed: the ubuf is not in its skb's cb[] at offset 40 on this kernel; stopping (report it with uname -r)\n");
			exit();
		}
		@zsk[(uint64)$sk] = 1;
		@zcpid[pid] = 1;
#if MODE=aggregate
		if ($new) {
			@a_start[retval] = nsecs;
		}
#endif
		/* the user buffer of this call: the first two iovecs of its msghdr */
		$niov = (uint64)0; $a0 = (uint64)0; $l0 = (uint64)0; $a1 = (uint64)0; $l1 = (uint64)0;
		$h = (uint64)0;
		if (@umsg[tid]) {
			$h = @umsg[tid];
		} else if (@ummsg[tid] && @mmidx[tid] > 0) {
			$h = @ummsg[tid] + (@mmidx[tid] - (uint64)1) * (uint64)64;   /* sizeof(struct mmsghdr) */
		}
		if ($h != 0) {
			$m = uptr((struct user_msghdr *)$h);
			$iov = uptr((struct iovec *)$m->msg_iov);
			$niov = $m->msg_iovlen;
			if ($niov > 0) { $a0 = (uint64)$iov[0].iov_base; $l0 = $iov[0].iov_len; }
			if ($niov > 1) { $a1 = (uint64)$iov[1].iov_base; $l1 = $iov[1].iov_len; }
		}
		/* fingerprint of the first iovec, clipped to this call's bytes (one 8-byte word per
		   4 KiB up to 16, spread evenly beyond, and the last word; as msgzc-syscalls.bt):
		   a later send of the same range compares it, so resent bytes are told from rewritten */
		$fl = $l0 < $size ? $l0 : $size;
		$fh = (uint64)0xcbf29ce484222325; $fz = 1;
		if ($fl >= 8) {
			$st = (uint64)4096;
			if ($fl > (uint64)65536) { $st = (($fl / 16) + 4095) & ~(uint64)4095; }
			$np = ($fl + $st - 1) / $st;
			$k = (uint64)0;
			while ($k < 16) {
				if ($k >= $np) { break; }
				$w = *uptr((uint64 *)($a0 + $k * $st));
				if ($w != 0) { $fz = 0; }
				$fh = ($fh ^ $w) * 0x100000001b3;
				$k++;
			}
			$w = *uptr((uint64 *)($a0 + $fl - 8));
			if ($w != 0) { $fz = 0; }
			$fh = ($fh ^ $w) * 0x100000001b3;
		}
		/* the previous send on this socket, still in this process: are its bytes as they were
		   sent? (a change while the kernel holds its pages corrupts the stream; the decoder
		   knows whether that ubuf was still in flight) */
		$pu = @lastub[(uint64)$sk];
		$pv = @zfp[$pu];
		if ($pu != 0 && $pv.1 == (uint32)pid && $pv.3 >= 8) {
			$ph = (uint64)0xcbf29ce484222325; $pz = 1;
			$st = (uint64)4096;
			if ($pv.3 > (uint64)65536) { $st = (($pv.3 / 16) + 4095) & ~(uint64)4095; }
			$np = ($pv.3 + $st - 1) / $st;
			$k = (uint64)0;
			while ($k < 16) {
				if ($k >= $np) { break; }
				$w = *uptr((uint64 *)($pv.2 + $k * $st));
				if ($w != 0) { $pz = 0; }
				$ph = ($ph ^ $w) * 0x100000001b3;
				$k++;
			}
			$w = *uptr((uint64 *)($pv.2 + $pv.3 - 8));
			if ($w != 0) { $pz = 0; }
			$ph = ($ph ^ $w) * 0x100000001b3;
			if ($ph != $pv.0) {
				printf("rewrite\t%llu\tobj=0x%llx\tfp=0x%llx\tnow=0x%llx\tfz=%d\tat=send\tpid=%d\tcomm=%s\n",
				    nsecs, $pu, $pv.0, $ph, $pz, pid, comm);
			}
		}
		@zfp[retval] = ($fh, (uint32)pid, $a0, $fl);
		@lastub[(uint64)$sk] = retval;
		@zcrgn[pid, $a0 >> 21] = 1;
		@zcrgn[pid, ($a0 + $fl - 1) >> 21] = 1;
		if ($sk->__sk_common.skc_family == 10) {
			printf("submit\t%llu\tobj=0x%llx\tnew=%d\tid=%u\tn=%u\tbytes=%llu\tref=%d\tpid=%d\tsock=[%s]:%d>[%s]:%d\tsk=0x%llx\tniov=%llu\taddr=0x%llx\tlen=%llu\taddr1=0x%llx\tlen1=%llu\tfp=0x%llx\tfz=%d\tcomm=%s\n",
			    nsecs, retval, $new, (uint32)($u->id + $u->len - 1), $u->len, $size,
			    ((struct ubuf_info *)retval)->refcnt.refs.counter, pid,
			    ntop(10, $sk->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr8), $sk->__sk_common.skc_num,
			    ntop(10, $sk->__sk_common.skc_v6_daddr.in6_u.u6_addr8), bswap($sk->__sk_common.skc_dport),
			    (uint64)$sk, $niov, $a0, $l0, $a1, $l1, $fh, $fz, comm);
		} else {
			printf("submit\t%llu\tobj=0x%llx\tnew=%d\tid=%u\tn=%u\tbytes=%llu\tref=%d\tpid=%d\tsock=%s:%d>%s:%d\tsk=0x%llx\tniov=%llu\taddr=0x%llx\tlen=%llu\taddr1=0x%llx\tlen1=%llu\tfp=0x%llx\tfz=%d\tcomm=%s\n",
			    nsecs, retval, $new, (uint32)($u->id + $u->len - 1), $u->len, $size,
			    ((struct ubuf_info *)retval)->refcnt.refs.counter, pid,
			    ntop(2, $sk->__sk_common.skc_rcv_saddr), $sk->__sk_common.skc_num,
			    ntop(2, $sk->__sk_common.skc_daddr), bswap($sk->__sk_common.skc_dport),
			    (uint64)$sk, $niov, $a0, $l0, $a1, $l1, $fh, $fz, comm);
		}
	}
}

/* ---- put: one reference dropped (an skb's data released, the send call's own, a copy) ---- */

kprobe:@PUT_FN@
{
	$sk = ((struct sk_buff *)(arg1 - 40))->sk;
	if (@zsk[(uint64)$sk]) {
		$r = (int64)((struct ubuf_info *)arg1)->refcnt.refs.counter;   /* before this put */
#if MODE=stream
		printf("put\t%llu\tobj=0x%llx\tref=%d\tok=%d\n", nsecs, arg1, (int32)($r - 1), arg2 & 1);
#else
		@a_puts[arg1] += 1;
		if ($r <= 0) {
			printf("put\t%llu\tobj=0x%llx\tref=%d\tok=%d\n", nsecs, arg1, (int32)($r - 1), arg2 & 1);
		}
#endif
#if DONE=derived
		if ($r == 1) {   /* this put drops the last reference: __msg_zerocopy_callback follows */
			$uz = (struct @UARG_T@ *)arg1;
			$zc = ($uz->zerocopy && (arg2 & 1)) ? 1 : 0;
@DONE_BLOCK@
		}
#endif
	}
}

#if DONE=probe
/* ---- done: the last reference is gone; the notification is queued, merged or dropped ---- */

kprobe:__msg_zerocopy_callback
{
	$sk = ((struct sk_buff *)(arg0 - 40))->sk;
	if (@zsk[(uint64)$sk]) {
		$uz = (struct @UARG_T@ *)arg0;
		$zc = $uz->zerocopy;
@DONE_BLOCK@
	}
}

#endif
/* ---- read: the owner dequeues a zero-copy notification (recvmsg MSG_ERRQUEUE) ---- */

kprobe:sock_dequeue_err_skb
/@zsk[arg0]/
{
	@dq[tid] = arg0;
}

kretprobe:sock_dequeue_err_skb
/@dq[tid]/
{
	$sk = @dq[tid];
	delete(@dq[tid]);
	if (retval != 0) {
		$e = (struct sock_exterr_skb *)(retval + 40);
		if ($e->ee.ee_origin == 5) {   /* SO_EE_ORIGIN_ZEROCOPY: the skb is the ubuf's own */
			printf("read\t%llu\tobj=0x%llx\tsk=0x%llx\tlo=%u\thi=%u\tcopied=%d\tpid=%d\tcomm=%s\n",
			    nsecs, retval + 40, $sk, $e->ee.ee_info, $e->ee.ee_data, $e->ee.ee_code & 1, pid, comm);
		}
	}
}

kprobe:inet_sock_destruct
/@zsk[arg0]/
{
	printf("skfree\t%llu\tsk=0x%llx\n", nsecs, arg0);
	delete(@zsk[arg0]);
	delete(@lastub[arg0]);
}

/* ---- pages: the frags of a zero-copy skb whose data is released, and copies of them ---- */

kprobe:skb_release_data
{
	$skb = (struct sk_buff *)arg0;
	$sh = (struct skb_shared_info *)($skb->head + $skb->end);
	$ua = (uint64)$sh->destructor_arg;
	/* SKBFL_ZEROCOPY_ENABLE without SKBFL_MANAGED_FRAG_REFS (io_uring's registered buffers
	   take no page references), a real ubuf (bit 0 clear), a MSG_ZEROCOPY one, and the last
	   user of the data (a clone only drops dataref) */
	if (($sh->flags & 0x11) == 1 && !($ua & 1) && @IS_MSGZC@ &&
	    (!$skb->cloned || $sh->dataref.counter == ($skb->nohdr ? 65537 : 1))) {
		if (@zsk[(uint64)((struct sk_buff *)($ua - 40))->sk]) {
			$n = $sh->nr_frags;
#if MODE=stream
			printf("frags\t%llu\tobj=0x%llx\tref=%d\tn=%d\tpages=@FRAG_FMT@\n",
			    nsecs, $ua, ((struct ubuf_info *)$ua)->refcnt.refs.counter, $n,
			    @FRAG_ARGS@);
#else
			@a_pages[$ua] += $n;
			if ((rand & 7) == 0) {   /* page counts: one skb in 8 (a map update per page); not nsecs: a coarse clock would pick every skb */
@PAGE_HIST@
			}
#endif
		}
	}
}

kprobe:skb_copy_ubufs
{
	$skb = (struct sk_buff *)arg0;
	$sh = (struct skb_shared_info *)($skb->head + $skb->end);
	$ua = (uint64)$sh->destructor_arg;
	if (($sh->flags & 1) && !($ua & 1) && @IS_MSGZC@) {
		if (@zsk[(uint64)((struct sk_buff *)($ua - 40))->sk]) {
			$n = $sh->nr_frags;
#if MODE=stream
			printf("copy\t%llu\tobj=0x%llx\tref=%d\tn=%d\tpages=@FRAG_FMT@\n",
			    nsecs, $ua, ((struct ubuf_info *)$ua)->refcnt.refs.counter, $n,
			    @FRAG_ARGS@);
#else
			@a_copies[$ua] += 1;
			@a_pages[$ua] += $n;
#endif
		}
	}
}

/* ---- the kernel writing into the sender's memory for it: read(2) and friends ---- */

/* as in msgzc-syscalls.bt: the destination at entry, what was written at exit, printed when
   it touches a 2 MiB region that held a zero-copy buffer of this process (@zcrgn) */
tracepoint:syscalls:sys_enter_read,
tracepoint:syscalls:sys_enter_pread64
/@zcpid[pid]/
{
	@wr_t0[tid] = nsecs;
	@wr_buf[tid] = (uint64)args->buf;
	@wr_vec[tid] = 0;
}

tracepoint:syscalls:sys_enter_recvfrom
/@zcpid[pid]/
{
	@wr_t0[tid] = nsecs;
	@wr_buf[tid] = (uint64)args->ubuf;
	@wr_vec[tid] = 0;
}

tracepoint:syscalls:sys_enter_readv,
tracepoint:syscalls:sys_enter_preadv
/@zcpid[pid]/
{
	@wr_t0[tid] = nsecs;
	@wr_buf[tid] = (uint64)args->vec;
	@wr_vec[tid] = 1;
}

tracepoint:syscalls:sys_enter_recvmsg
/@zcpid[pid] && !(args->flags & 0x2000)/
{
	@wr_t0[tid] = nsecs;
	@wr_buf[tid] = (uint64)args->msg;
	@wr_vec[tid] = 2;
}

tracepoint:syscalls:sys_exit_read,
tracepoint:syscalls:sys_exit_pread64,
tracepoint:syscalls:sys_exit_recvfrom,
tracepoint:syscalls:sys_exit_readv,
tracepoint:syscalls:sys_exit_preadv,
tracepoint:syscalls:sys_exit_recvmsg
/@wr_t0[tid]/
{
	$ret = (int64)0; $ret = args->ret;
	$t0 = @wr_t0[tid];
	$p = @wr_buf[tid];
	$how = @wr_vec[tid];
	delete(@wr_t0[tid]);
	delete(@wr_buf[tid]);
	delete(@wr_vec[tid]);
	if ($ret > 0) {
		$a0 = $p; $l0 = (uint64)$ret; $a1 = (uint64)0; $l1 = (uint64)0;
		if ($how != 0) {
			$iv = $p;
			if ($how == 2) { $iv = (uint64)uptr((struct user_msghdr *)$p)->msg_iov; }
			$iov = uptr((struct iovec *)$iv);
			$a0 = (uint64)$iov[0].iov_base;
			$l0 = $iov[0].iov_len;
			if ($l0 < (uint64)$ret) {
				$a1 = (uint64)$iov[1].iov_base;
				$l1 = (uint64)$ret - $l0;
				if ($l1 > $iov[1].iov_len) { $l1 = $iov[1].iov_len; }
			} else {
				$l0 = (uint64)$ret;
			}
		}
		if ($l0 > 2097152 || @zcrgn[pid, $a0 >> 21] || @zcrgn[pid, ($a0 + $l0 - 1) >> 21] ||
		    ($l1 > 0 && (@zcrgn[pid, $a1 >> 21] || @zcrgn[pid, ($a1 + $l1 - 1) >> 21]))) {
			printf("write\t%llu\tdt=%llu\tpid=%d\taddr=0x%llx\tlen=%llu\taddr1=0x%llx\tlen1=%llu\tcall=%s\tcomm=%s\n",
			    nsecs, nsecs - $t0, pid, $a0, $l0, $a1, $l1, probe, comm);
		}
	}
}

/* ---- the sender's memory: munmap and discarding madvise that succeed; its exit ---- */

tracepoint:syscalls:sys_enter_munmap
/@zcpid[pid]/
{
	@um_addr[tid] = args->addr;
	@um_len[tid] = args->len;
	@um_how[tid] = 0;
}

tracepoint:syscalls:sys_enter_madvise
/@zcpid[pid] && (args->behavior == 4 || args->behavior == 8 || args->behavior == 9 ||
 args->behavior == 24)/
{
	/* DONTNEED, FREE, REMOVE, DONTNEED_LOCKED: the contents are discarded */
	@um_addr[tid] = args->start;
	@um_len[tid] = args->len_in;
	@um_how[tid] = args->behavior;
}

tracepoint:syscalls:sys_exit_munmap,
tracepoint:syscalls:sys_exit_madvise
/@um_len[tid]/
{
	if (args->ret == 0) {
		printf("unmap\t%llu\tpid=%d\taddr=0x%llx\tlen=%llu\treason=%s\tcomm=%s\n",
		    nsecs, pid, @um_addr[tid], @um_len[tid], @um_how[tid] == 0 ? "unmap" : "madvise", comm);
	}
	delete(@um_addr[tid]);
	delete(@um_len[tid]);
	delete(@um_how[tid]);
}

tracepoint:sched:sched_process_exit
/@zcpid[pid] && tid == pid/
{
	printf("exit\t%llu\tpid=%d\tcomm=%s\n", nsecs, pid, comm);
	delete(@zcpid[pid]);
}

interval:ms:250
{
	/* heartbeat: moves the reorder window on when no other line comes (zctrace orders lines by time) */
	printf("hb\t%llu\n", nsecs);
}

#if MODE=aggregate
interval:s:1
{
	/* each histogram once a second when it counted something, then cleared */
	if (@h_page_refs[0] + @h_page_refs[1] + @h_page_refs[2] + @h_page_refs[3] + @h_page_refs[4] > 0) {
		printf("hist\t%llu\tname=page_refs\tb0=%llu\tb1=%llu\tb2=%llu\tb3=%llu\tb4=%llu\n", nsecs,
		    @h_page_refs[0], @h_page_refs[1], @h_page_refs[2], @h_page_refs[3], @h_page_refs[4]);
	}
	if (@h_puts[0] + @h_puts[1] + @h_puts[2] + @h_puts[3] + @h_puts[4] > 0) {
		printf("hist\t%llu\tname=puts\tb0=%llu\tb1=%llu\tb2=%llu\tb3=%llu\tb4=%llu\n", nsecs,
		    @h_puts[0], @h_puts[1], @h_puts[2], @h_puts[3], @h_puts[4]);
	}
	if (@h_life[0] + @h_life[1] + @h_life[2] + @h_life[3] + @h_life[4] + @h_life[5] + @h_life[6] + @h_life[7] > 0) {
		printf("hist\t%llu\tname=life_us\tb0=%llu\tb1=%llu\tb2=%llu\tb3=%llu\tb4=%llu\tb5=%llu\tb6=%llu\tb7=%llu\n", nsecs,
		    @h_life[0], @h_life[1], @h_life[2], @h_life[3], @h_life[4], @h_life[5], @h_life[6], @h_life[7]);
	}
	clear(@h_page_refs);
	clear(@h_puts);
	clear(@h_life);
}

#endif
END
{
	clear(@umsg); clear(@ummsg); clear(@mmidx);
	clear(@ra_sk); clear(@ra_size); clear(@ra_old);
	clear(@zsk); clear(@zcpid); clear(@dq);
	clear(@um_addr); clear(@um_len); clear(@um_how);
	clear(@zfp); clear(@lastub); clear(@zcrgn); clear(@wr_t0); clear(@wr_buf); clear(@wr_vec);
#if MODE=aggregate
	clear(@a_start); clear(@a_puts); clear(@a_pages); clear(@a_copies);
	clear(@h_page_refs); clear(@h_puts); clear(@h_life);
#endif
}
`;

/** The whole template; `@DONE_BLOCK@` and `@PAGE_HIST@` are expanded first by the generator. */
export const TEMPLATE = HEADER + '#if MODE=stream\n' + OUTPUT_STREAM + '#else\n' + OUTPUT_AGG + '#endif\n' + TAIL_STREAM + BODY + '\n' + SYNC_PROBE;

/** Parts the generator expands before the template. */
export const PARTS = { DONE_BLOCK, pageHistogram };
