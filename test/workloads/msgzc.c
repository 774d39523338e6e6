/*
 * msgzc — a MSG_ZEROCOPY sender and a receiver over loopback TCP, with injectable faults.
 * The workload the msgzc-syscalls pack is tested against (probes/msgzc-syscalls.bt).
 *
 * Build:  gcc -O2 -Wall -o msgzc msgzc.c      (or: make -C test/workloads)
 * Run:    ./msgzc [--fault none|leak|early-free|reuse] [--count N] [--size BYTES]
 *                 [--buffers K] [--fault-every M] [--duration SEC] [--slow-receiver]
 *                 [--ipv6] [--port P] [--sendmmsg] [--batch B] [--interval-us US]
 *                 [--tx-timestamps] [--verbose]
 *
 * The sender (the parent, whose pid is "pid" in the report) owns a pool of --buffers (8)
 * buffers, each its own mmap'ed region, and sends --count (64) MSG_ZEROCOPY messages of --size
 * (65536) bytes, using buffer (send index % K). It reuses a buffer only after the completion of
 * its previous send was read from the error queue, as the MSG_ZEROCOPY contract requires.
 * The receiver (a forked child) reads the stream and checks every chunk's byte pattern.
 *
 * Faults hit the sends whose index i satisfies i % M == M - 1 (M = --fault-every, 16 by
 * default), so they are deterministic and their zero-copy ids are listed in faulted_ids:
 *   leak        never read completions; every send gets a fresh buffer (never reused or
 *               unmapped), so nothing but the missing completions is wrong. faulted_ids
 *               lists every id sent (the first 4096; faulted_total counts them all). The
 *               process exits without close(2): the exit closes the socket.
 *   early-free  munmap the buffer right after its send, before its completion is read
 *               (a fresh region replaces it in the pool).
 *   reuse       right after the send, rewrite the buffer and send it again (the next send
 *               index) while the first send's completion is still unread; the faulted id is
 *               the first send's. The receiver may then see the new bytes in the old chunk
 *               (rx_corrupt_chunks): the corruption an early free causes.
 * ENOBUFS from a send is counted, completions are read (except in leak mode) and the send is
 * retried; in leak mode it gives up after ~1 s of ENOBUFS (gave_up). On loopback the kernel
 * coalesces in-order completions into one queued notification, so a leaking sender alone
 * does not run out of optmem; --tx-timestamps (SO_TIMESTAMPING, TX timestamps queued between
 * the completions so they cannot coalesce) makes --fault leak hit ENOBUFS after a few hundred
 * 64 KiB sends (timing-dependent).
 * --sendmmsg sends in batches of --batch (4, at most 64) messages with sendmmsg(2); a batch
 * ends at a faulted index. --duration holds the process, its socket and its buffers for SEC
 * seconds after the last send (still reading completions unless --fault leak), so a tracer
 * sees the state. --interval-us paces the sends (to attach a tracer to a running sender).
 * --verbose logs each send (index, id, address, length) and completion range on stderr.
 *
 * Output: one JSON line on stdout at the end, the workload's own accounting:
 *   {"workload":"msgzc","fault":..,"pid":sender,"receiver_pid":..,"sends":N,"bytes":B,
 *    "completions":C,"copied":K,"enobufs":E,"sock":"127.0.0.1:a>127.0.0.1:b","first_id":0,
 *    "next_id":N,"faulted_ids":[..],"faulted_total":F,"sendmmsg_calls":S,"rx_bytes":..,
 *    "rx_corrupt_chunks":..,"gave_up":false,"send_s":seconds from first to last send}
 * sends counts zero-copy sends that succeeded (each took one id: first_id..next_id-1);
 * completions counts ids read back (each id of a coalesced range once); copied those read with
 * SO_EE_CODE_ZEROCOPY_COPIED (all of them on loopback, which copies on delivery); enobufs
 * counts send calls that failed with ENOBUFS. Exit status 2 on a setup or I/O error.
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

enum fault { F_NONE, F_LEAK, F_EARLY_FREE, F_REUSE };
static const char *fault_names[] = { "none", "leak", "early-free", "reuse" };

#define MAX_BATCH 64
#define MAX_FAULTED 4096

static struct {
	enum fault fault;
	long count, size, buffers, every, interval_us, batch;
	double duration;
	int slow, ipv6, port, use_mmsg, verbose, tstamp;
} opt = { F_NONE, 64, 65536, 8, 16, 0, 4, 0, 0, 0, 0, 0, 0, 0 };

/* One pool slot: a region and the ids sent from it whose completion is still unread. */
struct slot {
	char *buf;
	uint32_t lo, hi;   /* ids lo..hi (wrap-free here: a run sends < 2^32) */
	int pending;
};

static struct slot *slots;
static unsigned char *completed;   /* per id: its completion was read */
static uint32_t ncompleted;        /* size of completed[] */
static long sends, enobufs, completions, copied, mmsg_calls, nfaulted, faulted_total, rx_corrupt;
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
	return (unsigned char)(i * 7 + 1);
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

static void note_sent(struct slot *s, long i, uint32_t id, long len)
{
	if (opt.verbose)
		fprintf(stderr, "msgzc: send i=%ld id=%u addr=%p len=%ld\n", i, id, (void *)s->buf, len);
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
		note_sent(s, i, next_id++, r);
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
			note_sent(s, i0 + done + j, next_id++, mm[j].msg_len);
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
	return opt.fault != F_NONE && i % opt.every == opt.every - 1;
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
	fprintf(stderr, "usage: msgzc [--fault none|leak|early-free|reuse] [--count N] [--size BYTES]\n"
		"  [--buffers K] [--fault-every M] [--duration SEC] [--slow-receiver] [--ipv6]\n"
		"  [--port P] [--sendmmsg] [--interval-us US] [--verbose]\n");
	exit(2);
}

static void parse(int argc, char **argv)
{
	static struct option lo[] = {
		{ "fault", 1, 0, 'f' }, { "count", 1, 0, 'n' }, { "size", 1, 0, 's' },
		{ "buffers", 1, 0, 'b' }, { "fault-every", 1, 0, 'e' }, { "duration", 1, 0, 'd' },
		{ "slow-receiver", 0, 0, 'S' }, { "ipv6", 0, 0, '6' }, { "port", 1, 0, 'p' },
		{ "sendmmsg", 0, 0, 'm' }, { "interval-us", 1, 0, 'i' }, { "verbose", 0, 0, 'v' },
		{ "tx-timestamps", 0, 0, 'T' }, { "batch", 1, 0, 'B' },
		{ 0, 0, 0, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'f':
			for (c = 0; c < 4 && strcmp(optarg, fault_names[c]); c++)
				;
			if (c == 4) {
				fprintf(stderr, "msgzc: --fault: unknown mode '%s'\n", optarg);
				usage();
			}
			opt.fault = c;
			break;
		case 'n': opt.count = atol(optarg); break;
		case 's': opt.size = atol(optarg); break;
		case 'b': opt.buffers = atol(optarg); break;
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
}

/* Picks the slot for send index i: the leak mode never reuses, the others wait for it. */
static struct slot *take_slot(int fd, long i)
{
	struct slot *s = &slots[opt.fault == F_LEAK ? i : i % opt.buffers];
	if (opt.fault == F_LEAK)
		s->buf = map_buf();
	else
		wait_slot(fd, s);
	fill(s, i);
	return s;
}

/* After send index i left slot s: inject the fault if i is a faulted index. Returns how many
 * extra send indexes it used (the reuse resend). */
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
		return 0;
	}
	if (opt.fault == F_REUSE && i + 1 < opt.count) {
		add_faulted(s->hi);
		fill(s, i + 1);       /* rewrite while the kernel may still read it */
		if (send_one(fd, s, i + 1))
			gave_up = 1;
		return 1;
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

	long nslots = opt.fault == F_LEAK ? opt.count : opt.buffers;
	slots = calloc(nslots, sizeof(*slots));
	ncompleted = opt.count * 2 + 64;   /* a short send takes one more id */
	completed = calloc(ncompleted, 1);
	if (!slots || !completed)
		die("calloc");
	if (opt.fault != F_LEAK)
		for (long k = 0; k < nslots; k++)
			slots[k].buf = map_buf();

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
			if (opt.fault != F_LEAK && n > opt.buffers)
				n = opt.buffers;
		}
		struct slot *sl[MAX_BATCH];
		for (int j = 0; j < n; j++)
			sl[j] = take_slot(fd, i + j);
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
	       fault_names[opt.fault], getpid(), child, sends, bytes, completions, copied, enobufs,
	       sock, next_id);
	for (long k = 0; k < nfaulted; k++)
		printf("%s%u", k ? "," : "", faulted[k]);
	printf("],\"faulted_total\":%ld,\"sendmmsg_calls\":%ld,\"rx_bytes\":%lld,\"rx_corrupt_chunks\":%ld,\"gave_up\":%s,"
	       "\"send_s\":%.6f}\n", faulted_total, mmsg_calls, rx_bytes, rx_corrupt, gave_up ? "true" : "false", send_s);
	return 0;
}
