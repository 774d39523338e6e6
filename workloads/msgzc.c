/*
 * msgzc — a MSG_ZEROCOPY sender and a receiver over loopback TCP, with injectable faults.
 * The workload the msgzc-syscalls pack is tested against (probes/msgzc-syscalls.bt).
 *
 * Build:  gcc -O2 -Wall -o msgzc msgzc.c      (or: make -C workloads)
 * Run:    ./msgzc [--fault none|leak|early-free|rewrite|reuse|resend|rewrite-quiet|read-into]
 *                 [--read-call read|readv|pread|recvfrom] [--count N] [--size BYTES]
 *                 [--buffers K] [--fault-every M] [--duration SEC] [--slow-receiver]
 *                 [--ipv6] [--port P] [--sendmmsg] [--batch B] [--interval-us US]
 *                 [--tx-timestamps] [--same-bytes] [--verbose]
 *
 * The sender (the parent, whose pid is "pid" in the report) owns a pool of --buffers (8)
 * buffers, each its own mmap'ed region, and sends --count (64) MSG_ZEROCOPY messages of --size
 * (65536) bytes, using buffer (send index % K). It reuses a buffer only after the completion of
 * its previous send was read from the error queue, as the MSG_ZEROCOPY contract requires.
 * The receiver (a forked child) reads the stream and checks every chunk's byte pattern: chunk
 * (send index) i carries the byte i * 7 + 1, or, in the static-data modes (resend, and leak
 * with an explicit --buffers), the one constant byte 0x5a; --same-bytes gives every chunk that
 * byte in any mode, so that buffers differ only by their address (a faulted buffer is then
 * told from the others by its address alone: the probes must not mix their samples up).
 *
 * Faults hit the sends whose index i satisfies i % M == M - 1 (M = --fault-every, 16 by
 * default), so they are deterministic and their zero-copy ids are listed in faulted_ids. A
 * buffer is "in flight" from its send until the program read that id's completion; a faulted
 * send's id is the last id its chunk took (a short send takes more than one):
 *   leak        never read completions; every send gets a fresh buffer (never reused or
 *               unmapped), so nothing but the missing completions is wrong. faulted_ids
 *               lists every id sent (the first 4096; faulted_total counts them all). The
 *               process exits without close(2): the exit closes the socket.
 *               With --buffers K given on the command line, it instead cycles over those K
 *               buffers, mapped and filled once with the constant byte (never rewritten),
 *               still never reading a completion: e.g. --count 40 --buffers 16 makes 40
 *               sends, 40 leaks (faulted_ids = every id) and 24 resends.
 *   early-free  munmap the buffer right after its send, before its completion is read
 *               (a fresh region replaces it in the pool).
 *   rewrite     right after the send, rewrite the buffer and send it again (the next send
 *               index) while the first send's completion is still unread; the faulted id is
 *               the first send's. The receiver may then see the new bytes in the old chunk
 *               (rx_corrupt_chunks): the corruption an early free causes. `reuse` is the
 *               same mode under its old name (reported as "reuse").
 *   resend      no fault: a correct sender of static data (like the kernel's msg_zerocopy
 *               selftest). Every buffer is filled once with the constant byte, and the sends
 *               cycle over the K buffers without waiting for completions: a buffer is sent
 *               again, unchanged, while earlier sends of it are in flight. Completions are
 *               still read (without waiting) before every send, and waited for at the end.
 *               faulted_ids is empty.
 *   rewrite-quiet  right after the send, rewrite the whole buffer in place (memset with the
 *               byte (pattern ^ 0xff)) and never send it again; the buffer's next use waits
 *               for its completion as usual. The faulted id is that send's. The receiver may
 *               see the new bytes (rx_corrupt_chunks).
 *   read-into   right after the send, make the kernel write into the in-flight buffer for
 *               the program: --read-call read (the default) read(2)s 4096 bytes (or --size,
 *               if smaller) into the start of the buffer from a pipe; readv from the same
 *               pipe with a 1-element iovec; pread pread64s them from an unlinked temp file;
 *               recvfrom recvfrom(2)s them from one end of an AF_UNIX stream socketpair.
 *               The source is filled with the byte (pattern ^ 0xff) just before the faulted
 *               send (so nothing but the read comes between the send and the fault). The
 *               read must return the whole length (else exit 2). The faulted id is that
 *               send's; the receiver may see the bytes read (rx_corrupt_chunks).
 * ENOBUFS from a send is counted, completions are read (except in leak mode) and the send is
 * retried; in leak mode it gives up after ~1 s of ENOBUFS (gave_up). On loopback the kernel
 * coalesces in-order completions into one queued notification, so a leaking sender alone
 * does not run out of optmem; --tx-timestamps (SO_TIMESTAMPING, TX timestamps queued between
 * the completions so they cannot coalesce) makes --fault leak hit ENOBUFS after a few hundred
 * 64 KiB sends (timing-dependent).
 * --sendmmsg sends in batches of --batch (4, at most 64) messages with sendmmsg(2); a batch
 * ends at a faulted index (in every mode but none and resend), and holds at most K messages
 * in the modes that wait for a buffer's completion before reusing it. --duration holds the
 * process, its socket and its buffers for SEC seconds after the last send (still reading
 * completions unless --fault leak), so a tracer sees the state. --interval-us paces the sends
 * (to attach a tracer to a running sender). --verbose logs each send (index, id, address,
 * length) and completion range on stderr.
 *
 * Output: one JSON line on stdout at the end, the workload's own accounting:
 *   {"workload":"msgzc","fault":..,"pid":sender,"receiver_pid":..,"sends":N,"bytes":B,
 *    "completions":C,"copied":K,"enobufs":E,"sock":"127.0.0.1:a>127.0.0.1:b","first_id":0,
 *    "next_id":N,"faulted_ids":[..],"faulted_total":F,"sendmmsg_calls":S,"rx_bytes":..,
 *    "rx_corrupt_chunks":..,"gave_up":false,"resends":R,"read_call":null,
 *    "send_s":seconds from first to last send}
 * sends counts zero-copy sends that succeeded (each took one id: first_id..next_id-1);
 * completions counts ids read back (each id of a coalesced range once); copied those read with
 * SO_EE_CODE_ZEROCOPY_COPIED (all of them on loopback, which copies on delivery); enobufs
 * counts send calls that failed with ENOBUFS. resends counts the send messages (sendmsg calls,
 * or sendmmsg messages) that start at offset 0 of their buffer (not the rest of a short send)
 * and were made while an earlier send from the same buffer still had its completion unread
 * (exact: per-buffer counts of unread ids; a buffer early-free unmapped starts a new count).
 * It is 0 in none, early-free, rewrite-quiet, read-into and a fresh-buffer leak, one per
 * faulted send in rewrite, and most sends in resend. read_call is the --read-call used by
 * read-into, null in the other modes. Exit status 2 on a setup or I/O error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/errqueue.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef MSG_ZEROCOPY
#define MSG_ZEROCOPY 0x4000000
#endif
#ifndef SO_EE_ORIGIN_ZEROCOPY
#define SO_EE_ORIGIN_ZEROCOPY 5
#endif
#ifndef SO_EE_CODE_ZEROCOPY_COPIED
#define SO_EE_CODE_ZEROCOPY_COPIED 1
#endif

/* Behaviours; "reuse" (the old name of rewrite) is parsed to F_REWRITE and keeps its name in
 * the report. */
enum fault { F_NONE, F_LEAK, F_EARLY_FREE, F_REWRITE, F_RESEND, F_REWRITE_QUIET, F_READ_INTO };
static const char *fault_names[] = { "none", "leak", "early-free", "rewrite", "resend",
				     "rewrite-quiet", "read-into", "reuse" };
#define NFAULT_NAMES 8

enum read_call { RC_READ, RC_READV, RC_PREAD, RC_RECVFROM };
static const char *read_call_names[] = { "read", "readv", "pread", "recvfrom" };

#define MAX_BATCH 64
#define MAX_FAULTED 4096
#define STATIC_BYTE 0x5a   /* the constant content of the static-data modes */
#define READ_LEN 4096      /* what read-into reads (less if --size is smaller) */

static struct {
	enum fault fault;
	long count, size, buffers, every, interval_us, batch;
	double duration;
	int slow, ipv6, port, use_mmsg, verbose, tstamp;
	int buffers_given;     /* --buffers was on the command line */
	enum read_call read_call;
	const char *fault_name;
	/* derived: */
	int leak_fresh;        /* leak without --buffers: a fresh buffer per send */
	int static_data;       /* resend, leak with --buffers: buffers filled once, constant */
	int same_bytes;        /* --same-bytes: every chunk carries STATIC_BYTE (refilled as usual) */
} opt = { F_NONE, 64, 65536, 8, 16, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, RC_READ, "none", 0, 0 };

/* One pool slot: a region and the ids sent from it whose completion is still unread. */
struct slot {
	char *buf;
	uint32_t lo, hi;   /* ids lo..hi (wrap-free here: a run sends < 2^32) */
	int pending;
	long inflight;     /* ids sent from this region whose completion is unread (resends) */
};

static struct slot *slots;
static unsigned char *completed;   /* per id: its completion was read */
static int32_t *id_slot;           /* per id: the slot it was sent from, -1 = none/detached */
static uint32_t ncompleted;        /* size of completed[] and id_slot[] */
static long sends, enobufs, completions, copied, mmsg_calls, nfaulted, faulted_total, rx_corrupt;
static long resends;
static int src_rd = -1, src_wr = -1;   /* read-into: where the kernel reads from, its filler */
static long long bytes, rx_bytes;
static uint32_t next_id;           /* the id the next zero-copy send gets (sk_zckey) */
static uint32_t faulted[MAX_FAULTED];
static int gave_up;

static void die(const char *what)
{
	perror(what);
	exit(2);
}

static char *map_buf(void)
{
	char *p = mmap(NULL, opt.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		die("mmap");
	return p;
}

/* The byte every position of chunk (send index) i carries; the receiver checks it. */
static unsigned char pattern(long i)
{
	if (opt.static_data || opt.same_bytes)
		return STATIC_BYTE;
	return (unsigned char)(i * 7 + 1);
}

/* Make room to track id (a run of short sends may take more ids than first sized for). */
static void track(uint32_t id)
{
	if (id < ncompleted)
		return;
	uint32_t n = ncompleted, grown = id * 2 + 64;
	completed = realloc(completed, grown);
	id_slot = realloc(id_slot, grown * sizeof(*id_slot));
	if (!completed || !id_slot)
		die("realloc");
	memset(completed + n, 0, grown - n);
	memset(id_slot + n, 0xff, (grown - n) * sizeof(*id_slot));
	ncompleted = grown;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Read every completion queued now (or wait up to timeout_ms for one). Returns ids read. */
static long reap(int fd, int timeout_ms)
{
	long got = 0;
	if (timeout_ms > 0) {
		struct pollfd p = { .fd = fd, .events = 0 };
		poll(&p, 1, timeout_ms);   /* POLLERR when the error queue is not empty */
	}
	for (;;) {
		char control[128];
		struct msghdr msg = { .msg_control = control, .msg_controllen = sizeof(control) };
		if (recvmsg(fd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return got;
			die("recvmsg(MSG_ERRQUEUE)");
		}
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
			if (!((c->cmsg_level == SOL_IP && c->cmsg_type == IP_RECVERR) ||
			      (c->cmsg_level == SOL_IPV6 && c->cmsg_type == IPV6_RECVERR)))
				continue;
			struct sock_extended_err *e = (void *)CMSG_DATA(c);
			if (e->ee_errno != 0 || e->ee_origin != SO_EE_ORIGIN_ZEROCOPY)
				continue;
			uint32_t lo = e->ee_info, hi = e->ee_data, n = hi - lo + 1;
			int cp = (e->ee_code & SO_EE_CODE_ZEROCOPY_COPIED) != 0;
			if (opt.verbose)
				fprintf(stderr, "msgzc: done %u..%u copied=%d\n", lo, hi, cp);
			for (uint32_t k = 0; k < n; k++) {
				uint32_t id = lo + k;
				if (id < ncompleted && !completed[id]) {
					completed[id] = 1;
					completions++;
					copied += cp;
					got++;
					if (id_slot[id] >= 0)
						slots[id_slot[id]].inflight--;
				}
			}
		}
	}
}

/* Wait until every id sent from slot s has its completion read. */
static void wait_slot(int fd, struct slot *s)
{
	if (!s->pending)
		return;
	for (;;) {
		int all = 1;
		for (uint32_t id = s->lo; id <= s->hi && id < ncompleted; id++)
			all &= completed[id];
		if (all)
			break;
		reap(fd, 100);
	}
	s->pending = 0;
}

static void fill(struct slot *s, long i)
{
	memset(s->buf, pattern(i), opt.size);
}

/* Account a send that took id. first: it starts at offset 0 of the slot (not the rest of a
 * short send), so it is a resend if an earlier send of the slot is still unread. */
static void note_sent(struct slot *s, long i, uint32_t id, long len, int first)
{
	if (opt.verbose)
		fprintf(stderr, "msgzc: send i=%ld id=%u addr=%p len=%ld\n", i, id, (void *)s->buf, len);
	track(id);
	id_slot[id] = s - slots;
	if (first && s->inflight > 0)
		resends++;
	s->inflight++;
	if (s->pending)
		s->hi = id;
	else
		s->lo = s->hi = id, s->pending = 1;
	sends++;
	bytes += len;
}

/* ENOBUFS: count it, read completions (unless leaking), back off; false = give up. */
static int on_enobufs(int fd, int *tries)
{
	enobufs++;
	if (opt.fault != F_LEAK) {
		reap(fd, 10);
		return ++*tries < 1000;
	}
	usleep(1000 << *tries);   /* nothing frees optmem but the kernel: ~1 s in all */
	return ++*tries < 10;
}

/* Send the chunk of slot s (index i) from byte off on with MSG_ZEROCOPY; a short send
 * resends the rest (each call takes its own id). Returns 0, or -1 when ENOBUFS persisted. */
static int send_from(int fd, struct slot *s, long i, long off)
{
	int tries = 0;
	while (off < opt.size) {
		struct iovec iov = { s->buf + off, opt.size - off };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t r = sendmsg(fd, &msg, MSG_ZEROCOPY);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				if (!on_enobufs(fd, &tries))
					return -1;
				continue;
			}
			die("sendmsg(MSG_ZEROCOPY)");
		}
		note_sent(s, i, next_id++, r, off == 0);
		off += r;
	}
	return 0;
}

static int send_one(int fd, struct slot *s, long i)
{
	return send_from(fd, s, i, 0);
}

/* Send n chunks (slots sl[], send indexes i0..) with sendmmsg; returns how many were sent
 * whole. A short message is completed with send_from. */
static long send_batch(int fd, struct slot **sl, long i0, int n)
{
	struct mmsghdr mm[MAX_BATCH];
	struct iovec iov[MAX_BATCH];
	int done = 0, tries = 0;
	while (done < n) {
		int k = n - done;
		for (int j = 0; j < k; j++) {
			iov[j] = (struct iovec){ sl[done + j]->buf, opt.size };
			memset(&mm[j], 0, sizeof(mm[j]));
			mm[j].msg_hdr.msg_iov = &iov[j];
			mm[j].msg_hdr.msg_iovlen = 1;
		}
		int r = sendmmsg(fd, mm, k, MSG_ZEROCOPY);
		mmsg_calls++;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ENOBUFS) {
				if (!on_enobufs(fd, &tries))
					return done;
				continue;
			}
			die("sendmmsg(MSG_ZEROCOPY)");
		}
		for (int j = 0; j < r; j++) {
			struct slot *s = sl[done + j];
			note_sent(s, i0 + done + j, next_id++, mm[j].msg_len, 1);
			if (mm[j].msg_len < (unsigned)opt.size &&   /* short: send the rest */
			    send_from(fd, s, i0 + done + j, mm[j].msg_len))
				return done + j;
		}
		done += r;
	}
	return done;
}

static int is_faulted(long i)
{
	return opt.fault != F_NONE && opt.fault != F_RESEND && i % opt.every == opt.every - 1;
}

static void add_faulted(uint32_t id)
{
	faulted_total++;
	if (nfaulted < MAX_FAULTED)
		faulted[nfaulted++] = id;
}

/* Receiver: read the stream, check each chunk's bytes, report via the pipe, exit. */
static void receiver(int lfd, int report_fd)
{
	int c = accept(lfd, NULL, NULL);
	if (c < 0)
		die("accept");
	size_t rd = opt.slow ? 4096 : 1 << 20;
	unsigned char *b = malloc(rd);
	long long pos = 0, bad_chunk = -1;
	for (;;) {
		ssize_t r = read(c, b, rd);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		for (ssize_t k = 0; k < r;) {   /* the part of this read inside one chunk */
			long long chunk = (pos + k) / opt.size;
			ssize_t seg = (chunk + 1) * opt.size - (pos + k);
			if (seg > r - k)
				seg = r - k;
			unsigned char want = pattern(chunk);
			int bad = 0;
			for (ssize_t j = 0; j < seg; j++)
				bad |= b[k + j] != want;
			if (bad && chunk != bad_chunk) {
				bad_chunk = chunk;
				rx_corrupt++;
			}
			k += seg;
		}
		pos += r;
		if (opt.slow)
			usleep(1000);
	}
	long long rep[2] = { pos, rx_corrupt };
	if (write(report_fd, rep, sizeof(rep)) != sizeof(rep))
		die("write report");
	_exit(0);
}

static void sockname(int fd, char *out, size_t n)
{
	struct sockaddr_storage a[2];
	socklen_t l0 = sizeof(a[0]), l1 = sizeof(a[1]);
	char h[2][INET6_ADDRSTRLEN];
	int port[2];
	getsockname(fd, (void *)&a[0], &l0);
	getpeername(fd, (void *)&a[1], &l1);
	for (int k = 0; k < 2; k++) {
		if (a[k].ss_family == AF_INET6) {
			struct sockaddr_in6 *s6 = (void *)&a[k];
			h[k][0] = '[';
			inet_ntop(AF_INET6, &s6->sin6_addr, h[k] + 1, sizeof(h[k]) - 2);
			strcat(h[k], "]");
			port[k] = ntohs(s6->sin6_port);
		} else {
			struct sockaddr_in *s4 = (void *)&a[k];
			inet_ntop(AF_INET, &s4->sin_addr, h[k], sizeof(h[k]));
			port[k] = ntohs(s4->sin_port);
		}
	}
	snprintf(out, n, "%s:%d>%s:%d", h[0], port[0], h[1], port[1]);
}

static void usage(void)
{
	fprintf(stderr, "usage: msgzc [--fault none|leak|early-free|rewrite|reuse|resend|rewrite-quiet|"
		"read-into]\n  [--read-call read|readv|pread|recvfrom] [--count N] [--size BYTES]\n"
		"  [--buffers K] [--fault-every M] [--duration SEC] [--slow-receiver] [--ipv6]\n"
		"  [--port P] [--sendmmsg] [--batch B] [--interval-us US] [--tx-timestamps] [--same-bytes]\n"
		"  [--verbose]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static struct option lo[] = {
		{ "fault", 1, 0, 'f' }, { "count", 1, 0, 'n' }, { "size", 1, 0, 's' },
		{ "buffers", 1, 0, 'b' }, { "fault-every", 1, 0, 'e' }, { "duration", 1, 0, 'd' },
		{ "slow-receiver", 0, 0, 'S' }, { "ipv6", 0, 0, '6' }, { "port", 1, 0, 'p' },
		{ "sendmmsg", 0, 0, 'm' }, { "interval-us", 1, 0, 'i' }, { "verbose", 0, 0, 'v' },
		{ "tx-timestamps", 0, 0, 'T' }, { "batch", 1, 0, 'B' }, { "read-call", 1, 0, 'r' },
		{ "same-bytes", 0, 0, 'Z' },
		{ 0, 0, 0, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (c = 0; c < NFAULT_NAMES && strcmp(optarg, fault_names[c]); c++)
				;
			if (c == NFAULT_NAMES) {
				fprintf(stderr, "msgzc: --fault: unknown mode '%s'\n", optarg);
				usage();
			}
			opt.fault_name = fault_names[c];
			opt.fault = c == NFAULT_NAMES - 1 ? F_REWRITE : c;   /* reuse = rewrite */
			break;
		case 'r':
			for (c = 0; c < 4 && strcmp(optarg, read_call_names[c]); c++)
				;
			if (c == 4) {
				fprintf(stderr, "msgzc: --read-call: unknown call '%s'\n", optarg);
				usage();
			}
			opt.read_call = c;
			break;
		case 'n': opt.count = atol(optarg); break;
		case 's': opt.size = atol(optarg); break;
		case 'b': opt.buffers = atol(optarg), opt.buffers_given = 1; break;
		case 'e': opt.every = atol(optarg); break;
		case 'd': opt.duration = atof(optarg); break;
		case 'S': opt.slow = 1; break;
		case '6': opt.ipv6 = 1; break;
		case 'p': opt.port = atoi(optarg); break;
		case 'm': opt.use_mmsg = 1; break;
		case 'i': opt.interval_us = atol(optarg); break;
		case 'v': opt.verbose = 1; break;
		case 'T': opt.tstamp = 1; break;
		case 'B': opt.batch = atol(optarg); break;
		case 'Z': opt.same_bytes = 1; break;
		default: usage();
		}
	}
	if (opt.count < 1 || opt.size < 1 || opt.buffers < 1 || opt.every < 1 ||
	    opt.port < 0 || opt.port > 65535 || opt.duration < 0 || opt.interval_us < 0 ||
	    opt.batch < 1 || opt.batch > MAX_BATCH) {
		fprintf(stderr, "msgzc: --count, --size, --buffers, --fault-every must be >= 1, "
			"--port 0..65535, --duration and --interval-us >= 0, --batch 1..64\n");
		usage();
	}
	opt.leak_fresh = opt.fault == F_LEAK && !opt.buffers_given;
	opt.static_data = opt.fault == F_RESEND || (opt.fault == F_LEAK && opt.buffers_given);
}

/* Picks the slot for send index i: the fresh-buffer leak never reuses, the static-data modes
 * resend a slot as it is (filled once at setup), the others wait for it and refill it. */
static struct slot *take_slot(int fd, long i)
{
	struct slot *s = &slots[opt.leak_fresh ? i : i % opt.buffers];
	if (opt.static_data)
		return s;
	if (opt.leak_fresh)
		s->buf = map_buf();
	else
		wait_slot(fd, s);
	fill(s, i);
	return s;
}

/* read-into: set up the source the kernel will read from (a pipe, an unlinked temp file or a
 * socketpair), empty for now. */
static void open_source(void)
{
	int p[2];
	switch (opt.read_call) {
	case RC_READ:
	case RC_READV:
		if (pipe(p))
			die("pipe");
		src_rd = p[0], src_wr = p[1];
		break;
	case RC_PREAD: {
		char path[] = "/tmp/msgzc-pread-XXXXXX";
		src_rd = src_wr = mkstemp(path);
		if (src_rd < 0)
			die("mkstemp");
		unlink(path);
		break;
	}
	case RC_RECVFROM:
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
			die("socketpair");
		src_rd = p[0], src_wr = p[1];
		break;
	}
}

static long read_len(void)
{
	return opt.size < READ_LEN ? opt.size : READ_LEN;
}

/* read-into: fill the source with bytes other than chunk i's pattern, before chunk i is sent,
 * so that nothing but the read itself comes between the send and the fault. */
static void prime_source(long i)
{
	static char src[READ_LEN];
	long n = read_len();
	memset(src, pattern(i) ^ 0xff, n);
	ssize_t w = opt.read_call == RC_PREAD ? pwrite(src_wr, src, n, 0) : write(src_wr, src, n);
	if (w != n)
		die("write(read-into source)");
}

/* read-into: the kernel writes the primed bytes into buf (its start) for this program. */
static void read_into(char *buf)
{
	long n = read_len();
	struct iovec iov = { buf, n };
	ssize_t r = -1;
	switch (opt.read_call) {
	case RC_READ:     r = read(src_rd, buf, n); break;
	case RC_READV:    r = readv(src_rd, &iov, 1); break;
	case RC_PREAD:    r = pread(src_rd, buf, n, 0); break;
	case RC_RECVFROM: r = recvfrom(src_rd, buf, n, MSG_WAITALL, NULL, NULL); break;
	}
	if (r != n) {
		if (r >= 0)
			fprintf(stderr, "msgzc: %s into the buffer read %zd of %ld bytes\n",
				read_call_names[opt.read_call], r, n);
		else
			perror(read_call_names[opt.read_call]);
		exit(2);
	}
}

/* After send index i left slot s: inject the fault if i is a faulted index. Returns how many
 * extra send indexes it used (the rewrite's resend). */
static int after_send(int fd, struct slot *s, long i)
{
	if (opt.fault == F_LEAK) {
		add_faulted(s->hi);
		return 0;
	}
	if (!is_faulted(i))
		return 0;
	if (opt.fault == F_EARLY_FREE) {
		add_faulted(s->hi);
		if (munmap(s->buf, opt.size))
			die("munmap");
		s->buf = map_buf();   /* the old region is gone; its completion is still due */
		s->pending = 0;
		/* the old region's unread ids no longer count against the new one (resends) */
		for (uint32_t id = s->lo; id <= s->hi && id < ncompleted; id++)
			if (id_slot[id] == s - slots && !completed[id])
				id_slot[id] = -1;
		s->inflight = 0;
		return 0;
	}
	if (opt.fault == F_REWRITE && i + 1 < opt.count) {
		add_faulted(s->hi);
		fill(s, i + 1);       /* rewrite while the kernel may still read it */
		if (send_one(fd, s, i + 1))
			gave_up = 1;
		return 1;
	}
	if (opt.fault == F_REWRITE_QUIET) {
		add_faulted(s->hi);
		memset(s->buf, pattern(i) ^ 0xff, opt.size);   /* in flight; never sent again */
		return 0;
	}
	if (opt.fault == F_READ_INTO) {
		add_faulted(s->hi);
		read_into(s->buf);
		return 0;
	}
	return 0;
}

int main(int argc, char **argv)
{
	parse(argc, argv);
	signal(SIGPIPE, SIG_IGN);
	int fam = opt.ipv6 ? AF_INET6 : AF_INET;
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	if (opt.ipv6) {
		struct sockaddr_in6 *a = (void *)&ss;
		a->sin6_family = AF_INET6, a->sin6_addr = in6addr_loopback, a->sin6_port = htons(opt.port);
		sl = sizeof(*a);
	} else {
		struct sockaddr_in *a = (void *)&ss;
		a->sin_family = AF_INET, a->sin_addr.s_addr = htonl(INADDR_LOOPBACK), a->sin_port = htons(opt.port);
		sl = sizeof(*a);
	}
	int one = 1, lfd = socket(fam, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (opt.slow) {
		int rcv = 16384;   /* a small window keeps sent buffers in flight */
		setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (bind(lfd, (void *)&ss, sl) || listen(lfd, 1))
		die("bind/listen");
	if (getsockname(lfd, (void *)&ss, &sl))
		die("getsockname");
	int rp[2];
	if (pipe(rp))
		die("pipe");
	pid_t child = fork();
	if (child < 0)
		die("fork");
	if (child == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive a sender that died */
		close(rp[0]);
		receiver(lfd, rp[1]);
	}
	close(rp[1]);
	close(lfd);

	int fd = socket(fam, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket");
	if (setsockopt(fd, SOL_SOCKET, SO_ZEROCOPY, &one, sizeof(one)))
		die("setsockopt(SO_ZEROCOPY)");
	if (connect(fd, (void *)&ss, sl))
		die("connect");
	if (opt.tstamp) {   /* OPT_ID needs a connected TCP socket */
		/* SOF_TIMESTAMPING_TX_SCHED|TX_SOFTWARE|SOFTWARE|OPT_ID|TX_ACK|OPT_TSONLY */
		int ts = (1 << 8) | (1 << 1) | (1 << 4) | (1 << 7) | (1 << 9) | (1 << 11);
		if (setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPING, &ts, sizeof(ts)))
			die("setsockopt(SO_TIMESTAMPING)");
		int rb = 64 << 20;   /* room for the timestamps, so none is dropped (root: FORCE) */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rb, sizeof(rb)))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rb, sizeof(rb));
	}
	char sock[128];
	sockname(fd, sock, sizeof(sock));

	long nslots = opt.leak_fresh ? opt.count : opt.buffers;
	slots = calloc(nslots, sizeof(*slots));
	ncompleted = opt.count * 2 + 64;   /* a short send takes one more id (track() grows it) */
	completed = calloc(ncompleted, 1);
	id_slot = malloc(ncompleted * sizeof(*id_slot));
	if (!slots || !completed || !id_slot)
		die("calloc");
	memset(id_slot, 0xff, ncompleted * sizeof(*id_slot));
	if (!opt.leak_fresh)
		for (long k = 0; k < nslots; k++) {
			slots[k].buf = map_buf();
			if (opt.static_data)
				fill(&slots[k], k);   /* once: the constant byte */
		}
	if (opt.fault == F_READ_INTO)
		open_source();

	double t_start = now_s();
	for (long i = 0; i < opt.count && !gave_up;) {
		if (opt.interval_us)
			usleep(opt.interval_us);
		if (opt.fault != F_LEAK)
			reap(fd, 0);
		int n = 1;
		if (opt.use_mmsg) {   /* a batch ends at a faulted index */
			n = opt.batch < opt.count - i ? opt.batch : opt.count - i;
			for (int j = 0; j < n - 1; j++)
				if (is_faulted(i + j)) {
					n = j + 1;
					break;
				}
			if (!opt.static_data && opt.fault != F_LEAK && n > opt.buffers)
				n = opt.buffers;   /* waiting for a slot the batch itself took: never */
		}
		struct slot *sl[MAX_BATCH];
		for (int j = 0; j < n; j++)
			sl[j] = take_slot(fd, i + j);
		if (opt.fault == F_READ_INTO && is_faulted(i + n - 1))
			prime_source(i + n - 1);   /* a batch ends at a faulted index */
		long sent;
		if (n > 1) {
			sent = send_batch(fd, sl, i, n);
		} else {
			sent = send_one(fd, sl[0], i) ? 0 : 1;
		}
		if (sent < n)
			gave_up = 1;
		for (long j = 0; j < sent; j++)
			i += 1 + after_send(fd, sl[j], i);
	}

	double send_s = now_s() - t_start;

	/* Hold: the state stays (the leak stays visible); completions are still read. */
	double end = now_s() + opt.duration;
	while (opt.fault != F_LEAK && completions < (long)next_id && now_s() < end + 5)
		reap(fd, 100);
	while (now_s() < end) {
		if (opt.fault != F_LEAK)
			reap(fd, 100);
		else
			usleep(100000);
	}
	if (opt.fault != F_LEAK)
		close(fd);   /* leak: exit with the socket open; the exit closes it */
	else
		shutdown(fd, SHUT_WR);

	long long rep[2] = { 0, 0 };
	if (read(rp[0], rep, sizeof(rep)) == sizeof(rep))
		rx_bytes = rep[0], rx_corrupt = rep[1];
	waitpid(child, NULL, 0);

	printf("{\"workload\":\"msgzc\",\"fault\":\"%s\",\"pid\":%d,\"receiver_pid\":%d,"
	       "\"sends\":%ld,\"bytes\":%lld,\"completions\":%ld,\"copied\":%ld,\"enobufs\":%ld,"
	       "\"sock\":\"%s\",\"first_id\":0,\"next_id\":%u,\"faulted_ids\":[",
	       opt.fault_name, getpid(), child, sends, bytes, completions, copied, enobufs,
	       sock, next_id);
	for (long k = 0; k < nfaulted; k++)
		printf("%s%u", k ? "," : "", faulted[k]);
	printf("],\"faulted_total\":%ld,\"sendmmsg_calls\":%ld,\"rx_bytes\":%lld,\"rx_corrupt_chunks\":%ld,\"gave_up\":%s,"
	       "\"resends\":%ld,\"read_call\":", faulted_total, mmsg_calls, rx_bytes, rx_corrupt,
	       gave_up ? "true" : "false", resends);
	if (opt.fault == F_READ_INTO)
		printf("\"%s\"", read_call_names[opt.read_call]);
	else
		printf("null");
	printf(",\"send_s\":%.6f}\n", send_s);
	return 0;
}
