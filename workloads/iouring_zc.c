/*
 * iouring_zc.c - an io_uring zero-copy sender (IORING_OP_SEND_ZC, or IORING_OP_SENDMSG_ZC with
 * --sendmsg-zc) and a receiver thread over loopback TCP, with deterministic buffer faults on
 * identifiable requests. The workload of zctrace's `iouring-sendzc` probe pack.
 *
 * Build:  gcc -O2 -Wall -o iouring_zc iouring_zc.c -luring -lpthread
 * Usage:  iouring_zc [--fault none|leak|early-free|rewrite|reuse|resend|rewrite-quiet|read-into]
 *                    [--read-call read|uring-read|uring-recv] [--count N] [--size BYTES]
 *                    [--duration SEC] [--slow-receiver] [--ipv6] [--port P] [--sendmsg-zc]
 *
 * Every request has its own user_data (1, 2, 3, ... in submission order); every buffer is its
 * own mmap'ed region (8 buffers, reused only after their notification CQE, IORING_CQE_F_NOTIF,
 * except in resend mode). A buffer is "in flight" from a request's submission until that
 * request's notification CQE. Request ud's buffer is filled with the byte 'A' + ud % 26 before
 * it is submitted (the constant 'Z' in resend mode).
 * The ring is created with IORING_SETUP_DEFER_TASKRUN, so notifications are posted to the CQ
 * only when this program waits for completions: an action taken between a submit and the next
 * wait is guaranteed to come before that request's notification.
 *
 * Faults (K = the middle request, count/2 + 1; all requests before it are drained first, so the
 * faulted send runs inline at submission and its pages are in TCP's hands; each fault is made
 * only if K's notification is not in the CQ at that moment, else stderr says so and faulted is
 * empty):
 *   none        every buffer is reused or unmapped only after its notification.
 *   early-free  request K's buffer is munmap'ed right after it is submitted, before its
 *               notification. faulted = [K].
 *   rewrite     request K's buffer is rewritten and submitted again as request K+1 before K's
 *               notification. faulted = [K] (none when --count < 3: K+1 must exist). `reuse`
 *               is the same mode under its old name (reported as "reuse").
 *   resend      no fault: a correct sender of static data. The 8 buffers are filled once with
 *               the constant byte and never rewritten; requests cycle over them (request ud
 *               uses buffer (ud - 1) % 8) without waiting for notifications: up to 32 requests
 *               are in flight, CQEs already in the CQ are reaped between submits without
 *               blocking, and the program waits only when 32 are in flight (the CQ's room).
 *               A buffer is thus resubmitted, unchanged, while earlier requests from it are in
 *               flight. faulted = [].
 *   rewrite-quiet  request K's buffer is rewritten in place right after its submission
 *               (memset of all of it with 'a' + K % 26) and never submitted again; its next
 *               use waits for K's notification as usual. faulted = [K].
 *   read-into   right after request K's submission, the kernel writes into its buffer for the
 *               program: 4096 bytes (or --size, if smaller) of 'a' + K % 26 into the start of
 *               the buffer, by --read-call: read (the default) read(2)s them from a pipe filled
 *               at setup; uring-read is an IORING_OP_READ from that pipe, uring-recv an
 *               IORING_OP_RECV from one end of an AF_UNIX stream socketpair written at setup,
 *               either submitted on the same ring (user_data 1 << 40, not a send, not counted)
 *               and waited for. The read must return the whole length (else exit 1).
 *               faulted = [K].
 *   leak        the last L = min(4, count) requests are sent after the receiver stopped reading
 *               and its (small, fixed) receive window was filled with ordinary copied sends:
 *               TCP queues their pages unsent, so their first CQE arrives (res = bytes queued)
 *               but their notification does not, for as long as the socket lives. The program
 *               holds them for --duration seconds (default 2), prints its accounting, and exits
 *               without unmapping them; the exit closes the sockets, which frees the pages and
 *               makes the kernel post the late notifications *after* the accounting line.
 *               faulted = the requests still without notification when the accounting is made
 *               (normally exactly the last L).
 * --duration SEC in the other modes stops submitting after SEC seconds (0 = no limit).
 * --slow-receiver reads 4 KiB then sleeps 1 ms, so notifications come late (no fault).
 *
 * Output: one JSON line on stdout at the end, e.g.
 *   {"workload":"iouring_zc","fault":"none","op":"SEND_ZC","pid":123,"ring":null,"ring_fd":5,
 *    "sends":64,"bytes":4194304,"completions":64,"copied":64,"send_errors":0,
 *    "sock":"127.0.0.1:40000>127.0.0.1:40001","faulted":[],"resends":0,"read_call":null,
 *    "mono_ns":123456789}
 * sends = SEND_ZC/SENDMSG_ZC requests submitted; bytes = sum of their first CQE's res > 0;
 * completions = notification CQEs seen; copied = notifications with IORING_NOTIF_USAGE_ZC_COPIED
 * (requests ask for IORING_SEND_ZC_REPORT_USAGE; loopback delivery copies, so expect all);
 * sock = the sender's socket, local>remote; ring = the kernel ring address, which user space
 * cannot know (null); mono_ns = CLOCK_MONOTONIC when the accounting was made (bpftrace's nsecs
 * clock); resends = requests submitted while an earlier request from the same buffer had no
 * notification yet (exact: per-buffer counts of requests still due a notification; a request
 * whose first CQE says no notification follows stops counting then): one in rewrite (K+1),
 * most requests in resend, 0 in the other modes; read_call = the --read-call of read-into,
 * null in the other modes. Diagnostics go to stderr. Exit status 0, or 1 on a setup error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <linux/sockios.h>

#ifndef IORING_SEND_ZC_REPORT_USAGE
#define IORING_SEND_ZC_REPORT_USAGE (1U << 3)
#endif
#ifndef IORING_NOTIF_USAGE_ZC_COPIED
#define IORING_NOTIF_USAGE_ZC_COPIED (1U << 31)
#endif

#define NBUF 8
#define MAX_FAULTED 16
#define RESEND_DEPTH (NBUF * 4)    /* resend: requests in flight at most (2 CQEs each) */
#define STATIC_BYTE 'Z'            /* resend: the constant content of every buffer */
#define READ_LEN 4096              /* read-into: bytes read (less if --size is smaller) */
#define READ_UD (1ULL << 40)       /* read-into: the uring read's user_data, not a send's */

/* Behaviours; "reuse" (the old name of rewrite) is parsed to F_REWRITE and keeps its name in
 * the report. */
enum fault { F_NONE, F_LEAK, F_EARLY_FREE, F_REWRITE, F_RESEND, F_REWRITE_QUIET, F_READ_INTO };
static const char *fault_names[] = { "none", "leak", "early-free", "rewrite", "resend",
				     "rewrite-quiet", "read-into", "reuse" };
#define NFAULT_NAMES 8

enum read_call { RC_READ, RC_URING_READ, RC_URING_RECV };
static const char *read_call_names[] = { "read", "uring-read", "uring-recv" };

struct slot {
	char *buf;
	size_t maplen;
	int busy;      /* requests whose notification is still due on this buffer */
	int unmapped;  /* early-free: munmap'ed, remap once its notification is in */
};

struct req {
	int slot;
	int got_res, got_notif;
	int res;
	struct iovec iov;
	struct msghdr msg;
};

static struct {
	enum fault fault;
	long count, size;
	double duration;
	int slow, ipv6, port, sendmsg_zc;
	enum read_call read_call;
	const char *fault_name;
} opt = { F_NONE, 64, 65536, -1, 0, 0, 0, 0, RC_READ, "none" };

static struct io_uring ring;
static struct slot slots[NBUF];
static struct req *reqs;
static long nsubmitted, nbytes, ncompletions, ncopied, nerrors, inflight, nresends;
static int src_fd = -1;            /* read-into: the pipe's or socketpair's read end */
static int read_done, read_res;    /* read-into (uring-*): the read's CQE came, its res */
static unsigned long long faulted[MAX_FAULTED];
static int nfaulted;
static int sfd;
static atomic_int rx_stop, rx_stopped, rx_quit;

static void die(const char *what, int err)
{
	fprintf(stderr, "iouring_zc: %s: %s\n", what, strerror(err));
	exit(1);
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: iouring_zc [--fault none|leak|early-free|rewrite|reuse|resend|"
		"rewrite-quiet|read-into] [--read-call read|uring-read|uring-recv] [--count N] "
		"[--size BYTES] [--duration SEC] [--slow-receiver] [--ipv6] [--port P] [--sendmsg-zc]\n");
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--fault") && v) {
			int k;
			for (k = 0; k < NFAULT_NAMES && strcmp(v, fault_names[k]); k++)
				;
			if (k == NFAULT_NAMES)
				usage();
			opt.fault_name = fault_names[k];
			opt.fault = k == NFAULT_NAMES - 1 ? F_REWRITE : k;   /* reuse = rewrite */
			i++;
		} else if (!strcmp(a, "--read-call") && v) {
			int k;
			for (k = 0; k < 3 && strcmp(v, read_call_names[k]); k++)
				;
			if (k == 3)
				usage();
			opt.read_call = k;
			i++;
		} else if (!strcmp(a, "--count") && v) {
			opt.count = atol(v), i++;
		} else if (!strcmp(a, "--size") && v) {
			opt.size = atol(v), i++;
		} else if (!strcmp(a, "--duration") && v) {
			opt.duration = atof(v), i++;
		} else if (!strcmp(a, "--port") && v) {
			opt.port = atoi(v), i++;
		} else if (!strcmp(a, "--slow-receiver")) {
			opt.slow = 1;
		} else if (!strcmp(a, "--ipv6")) {
			opt.ipv6 = 1;
		} else if (!strcmp(a, "--sendmsg-zc")) {
			opt.sendmsg_zc = 1;
		} else {
			usage();
		}
	}
	if (opt.count < 1 || opt.size < 1 || opt.size > (64L << 20) || opt.port < 0 || opt.port > 65535)
		usage();
	if (opt.duration < 0)
		opt.duration = opt.fault == F_LEAK ? 2 : 0;
}

static void *receiver(void *arg)
{
	int fd = *(int *)arg;
	size_t cap = opt.slow ? 4096 : 1 << 20;
	char *buf = malloc(cap);
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (!atomic_load(&rx_quit)) {
		if (atomic_load(&rx_stop)) {
			atomic_store(&rx_stopped, 1);
			usleep(10000);
			continue;
		}
		if (poll(&p, 1, 10) <= 0)
			continue;
		ssize_t n = recv(fd, buf, cap, MSG_DONTWAIT);
		if (n == 0)
			break;
		if (n > 0 && opt.slow)
			usleep(1000);
	}
	free(buf);
	return NULL;
}

static void fmt_addr(const struct sockaddr_storage *ss, char *out, size_t n)
{
	char ip[INET6_ADDRSTRLEN];
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		inet_ntop(AF_INET6, &s6->sin6_addr, ip, sizeof(ip));
		snprintf(out, n, "[%s]:%d", ip, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		inet_ntop(AF_INET, &s4->sin_addr, ip, sizeof(ip));
		snprintf(out, n, "%s:%d", ip, ntohs(s4->sin_port));
	}
}

/* Connect a sender socket to a listener on loopback; returns the accepted receiver socket. */
static int setup_sockets(char *sock_desc, size_t n)
{
	int fam = opt.ipv6 ? AF_INET6 : AF_INET, one = 1;
	struct sockaddr_storage ss = { 0 }, la, ra;
	socklen_t sl = opt.ipv6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int lfd = socket(fam, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket", errno);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (opt.fault == F_LEAK) {
		/* a small fixed receive window, filled quickly and kept shut (no autotuning) */
		int rcv = 65536;
		setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &rcv, sizeof(rcv));
	}
	if (opt.ipv6) {
		struct sockaddr_in6 *s6 = (void *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
		s6->sin6_port = htons(opt.port);
	} else {
		struct sockaddr_in *s4 = (void *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		s4->sin_port = htons(opt.port);
	}
	if (bind(lfd, (void *)&ss, sl) || listen(lfd, 1))
		die("bind/listen", errno);
	if (getsockname(lfd, (void *)&ss, &sl))
		die("getsockname", errno);
	sfd = socket(fam, SOCK_STREAM, 0);
	if (sfd < 0 || connect(sfd, (void *)&ss, sl))
		die("connect", errno);
	int rfd = accept(lfd, NULL, NULL);
	if (rfd < 0)
		die("accept", errno);
	close(lfd);
	setsockopt(sfd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (opt.fault == F_LEAK) {
		/* room for the filler plus the leaked requests, so they queue rather than block */
		int snd = 32 << 20;
		if (setsockopt(sfd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)))
			setsockopt(sfd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	}
	socklen_t l1 = sizeof(la), l2 = sizeof(ra);
	getsockname(sfd, (void *)&la, &l1);
	getpeername(sfd, (void *)&ra, &l2);
	char a[80], b[80];
	fmt_addr(&la, a, sizeof(a));
	fmt_addr(&ra, b, sizeof(b));
	snprintf(sock_desc, n, "%s>%s", a, b);
	return rfd;
}

static void map_slot(int i)
{
	long pg = sysconf(_SC_PAGESIZE);
	slots[i].maplen = (opt.size + pg - 1) / pg * pg;
	slots[i].buf = mmap(NULL, slots[i].maplen, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (slots[i].buf == MAP_FAILED)
		die("mmap", errno);
	slots[i].unmapped = 0;
}

static void add_faulted(unsigned long long ud)
{
	if (nfaulted < MAX_FAULTED)
		faulted[nfaulted++] = ud;
}

/* Account one CQE. */
static void handle_cqe(struct io_uring_cqe *cqe)
{
	unsigned long long ud = cqe->user_data;
	if (ud == READ_UD) {
		read_done = 1;
		read_res = cqe->res;
		return;
	}
	if (ud == 0 || ud > (unsigned long long)opt.count)
		return;
	struct req *r = &reqs[ud];
	struct slot *s = &slots[r->slot];
	int release = 0;

	if (cqe->flags & IORING_CQE_F_NOTIF) {
		r->got_notif = 1;
		ncompletions++;
		if (cqe->res & IORING_NOTIF_USAGE_ZC_COPIED)
			ncopied++;
		release = 1;
	} else {
		r->got_res = 1;
		r->res = cqe->res;
		if (cqe->res >= 0)
			nbytes += cqe->res;
		else {
			nerrors++;
			fprintf(stderr, "iouring_zc: request %llu failed: %s\n", ud, strerror(-cqe->res));
		}
		if (!(cqe->flags & IORING_CQE_F_MORE))
			release = 1; /* no notification will follow */
	}
	if (release) {
		inflight--;
		if (--s->busy == 0 && s->unmapped)
			map_slot(r->slot);
	}
}

/* Wait up to `timeout` seconds for one CQE (runs deferred task work), then reap all there. */
static int reap(double timeout)
{
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = { .tv_sec = (long)timeout,
					.tv_nsec = (long)((timeout - (long)timeout) * 1e9) };
	int ret = io_uring_wait_cqe_timeout(&ring, &cqe, &ts);
	if (ret < 0 && ret != -ETIME && ret != -EINTR)
		die("io_uring_wait_cqe", -ret);
	unsigned head, n = 0;
	io_uring_for_each_cqe(&ring, head, cqe) {
		handle_cqe(cqe);
		n++;
	}
	io_uring_cq_advance(&ring, n);
	return n;
}

/* Is request ud's notification already in the CQ (without consuming anything)? */
static int notif_in_cq(unsigned long long ud)
{
	struct io_uring_cqe *cqe;
	unsigned head;
	io_uring_for_each_cqe(&ring, head, cqe) {
		if (cqe->user_data == ud && (cqe->flags & IORING_CQE_F_NOTIF))
			return 1;
	}
	return reqs[ud].got_notif;
}

static void drain(double timeout)
{
	double end = now_s() + timeout;
	while (inflight > 0 && now_s() < end)
		reap(0.1);
}

static void submit(long ud, int slot)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
	struct req *r = &reqs[ud];
	if (!sqe) {
		io_uring_submit(&ring);
		sqe = io_uring_get_sqe(&ring);
		if (!sqe)
			die("io_uring_get_sqe", EBUSY);
	}
	r->slot = slot;
	if (slots[slot].busy > 0)
		nresends++;   /* an earlier request from this buffer still has its notification due */
	if (opt.sendmsg_zc) {
		r->iov.iov_base = slots[slot].buf;
		r->iov.iov_len = opt.size;
		r->msg.msg_iov = &r->iov;
		r->msg.msg_iovlen = 1;
		io_uring_prep_sendmsg_zc(sqe, sfd, &r->msg, 0);
		sqe->ioprio |= IORING_SEND_ZC_REPORT_USAGE;
	} else {
		io_uring_prep_send_zc(sqe, sfd, slots[slot].buf, opt.size, 0, IORING_SEND_ZC_REPORT_USAGE);
	}
	sqe->user_data = ud;
	slots[slot].busy++;
	inflight++;
	nsubmitted++;
	int ret = io_uring_submit(&ring); /* no GETEVENTS: deferred notifications stay deferred */
	if (ret < 0)
		die("io_uring_submit", -ret);
}

static int free_slot(void)
{
	for (;;) {
		for (int i = 0; i < NBUF; i++)
			if (!slots[i].busy && !slots[i].unmapped)
				return i;
		reap(1.0);
	}
}

static long read_len(void)
{
	return opt.size < READ_LEN ? opt.size : READ_LEN;
}

/* read-into: a source the kernel can read READ_LEN bytes of `byte` from, filled now. */
static void open_source(int byte)
{
	static char fill[READ_LEN];
	int p[2];
	if (opt.read_call == RC_URING_RECV) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, p))
			die("socketpair", errno);
	} else if (pipe(p)) {
		die("pipe", errno);
	}
	memset(fill, byte, sizeof(fill));
	if (write(p[1], fill, read_len()) != read_len())
		die("write(read-into source)", errno);
	src_fd = p[0];   /* the write end stays open: no EOF */
}

/* read-into: the kernel writes the source's bytes into buf (its start) for this program. */
static void read_into(char *buf)
{
	long n = read_len();
	int res;
	if (opt.read_call == RC_READ) {
		res = read(src_fd, buf, n);
		if (res < 0)
			res = -errno;
	} else {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);
		if (!sqe) {
			io_uring_submit(&ring);
			sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				die("io_uring_get_sqe", EBUSY);
		}
		if (opt.read_call == RC_URING_READ)
			io_uring_prep_read(sqe, src_fd, buf, n, 0);
		else
			io_uring_prep_recv(sqe, src_fd, buf, n, MSG_WAITALL);
		sqe->user_data = READ_UD;
		int ret = io_uring_submit(&ring);
		if (ret < 0)
			die("io_uring_submit(read)", -ret);
		double end = now_s() + 5;
		while (!read_done && now_s() < end)
			reap(1.0);   /* the sends' CQEs met meanwhile are accounted as usual */
		if (!read_done) {
			fprintf(stderr, "iouring_zc: %s: no CQE in 5 s\n", read_call_names[opt.read_call]);
			exit(1);
		}
		res = read_res;
	}
	if (res != n) {
		if (res < 0)
			die(read_call_names[opt.read_call], -res);
		fprintf(stderr, "iouring_zc: %s into the buffer read %d of %ld bytes\n",
			read_call_names[opt.read_call], res, n);
		exit(1);
	}
}

/* resend: submit requests [first, last] cycling over the buffers as they are (filled once),
 * without waiting for notifications but to keep RESEND_DEPTH in flight at most, which keeps
 * the CQ (2 * 64 entries) from overflowing; returns the next user_data. */
static long resend_phase(long first, long last, double deadline)
{
	long ud = first;
	while (ud <= last && (deadline == 0 || now_s() < deadline)) {
		while (inflight >= RESEND_DEPTH)
			reap(1.0);   /* waiting runs the deferred work that posts notifications */
		submit(ud, (ud - 1) % NBUF);
		if (io_uring_cq_ready(&ring))
			reap(0);   /* no wait: takes the CQEs already there */
		ud++;
	}
	return ud;
}

/* Send requests [first, last] with the configured fault; returns the next user_data. */
static long send_phase(long first, long last, double deadline)
{
	long k = opt.count / 2 + 1;
	long ud = first;
	while (ud <= last && (deadline == 0 || now_s() < deadline)) {
		int s;
		if (ud == k && (opt.fault == F_EARLY_FREE || opt.fault == F_REWRITE_QUIET ||
				opt.fault == F_READ_INTO || (opt.fault == F_REWRITE && ud < last))) {
			drain(5.0);
			s = free_slot();
			memset(slots[s].buf, 'A' + ud % 26, opt.size);
			submit(ud, s);
			if (notif_in_cq(ud)) {
				fprintf(stderr, "iouring_zc: notification of %ld came before the fault; not faulted\n", ud);
			} else if (opt.fault == F_EARLY_FREE) {
				munmap(slots[s].buf, slots[s].maplen);
				slots[s].unmapped = 1;
				add_faulted(ud);
			} else if (opt.fault == F_REWRITE_QUIET) {
				memset(slots[s].buf, 'a' + ud % 26, opt.size);   /* never sent again */
				add_faulted(ud);
			} else if (opt.fault == F_READ_INTO) {
				read_into(slots[s].buf);
				add_faulted(ud);
			} else {
				memset(slots[s].buf, 'a' + ud % 26, opt.size);
				submit(ud + 1, s);
				add_faulted(ud);
				ud++;
			}
			ud++;
			continue;
		}
		s = free_slot();
		memset(slots[s].buf, 'A' + ud % 26, opt.size);
		submit(ud, s);
		/* reap what is already there without blocking, to keep the ring moving */
		if (io_uring_cq_ready(&ring))
			reap(0);
		ud++;
	}
	return ud;
}

/* Stop the receiver and fill its receive window with ordinary (copied) sends. */
static void close_window(void)
{
	static char filler[16384];
	int unsent = 0;
	atomic_store(&rx_stop, 1);
	while (!atomic_load(&rx_stopped))
		usleep(1000);
	for (int i = 0; i < 4096; i++) {
		ssize_t n = send(sfd, filler, sizeof(filler), MSG_DONTWAIT);
		if (n < 0 && errno != EAGAIN)
			die("send(filler)", errno);
		usleep(2000);
		if (ioctl(sfd, SIOCOUTQNSD, &unsent) == 0 && unsent > 0) {
			usleep(20000);
			if (ioctl(sfd, SIOCOUTQNSD, &unsent) == 0 && unsent > 0)
				return;
		}
	}
	fprintf(stderr, "iouring_zc: could not fill the receive window\n");
}

int main(int argc, char **argv)
{
	char sock_desc[200];
	pthread_t rx;
	struct io_uring_params p = { 0 };

	parse_args(argc, argv);
	reqs = calloc(opt.count + 2, sizeof(*reqs));
	int rfd = setup_sockets(sock_desc, sizeof(sock_desc));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	int ret = io_uring_queue_init_params(64, &ring, &p);
	if (ret < 0)
		die("io_uring_queue_init (needs IORING_SETUP_DEFER_TASKRUN, Linux 6.1+)", -ret);
	for (int i = 0; i < NBUF; i++) {
		map_slot(i);
		if (opt.fault == F_RESEND)
			memset(slots[i].buf, STATIC_BYTE, opt.size);   /* once: the data never changes */
	}
	if (opt.fault == F_READ_INTO)
		open_source('a' + (opt.count / 2 + 1) % 26);   /* differs from K's 'A' + K % 26 */
	if (pthread_create(&rx, NULL, receiver, &rfd))
		die("pthread_create", errno);

	double deadline = opt.fault != F_LEAK && opt.duration > 0 ? now_s() + opt.duration : 0;
	if (opt.fault == F_LEAK) {
		long nleak = opt.count < 4 ? opt.count : 4;
		long ud = send_phase(1, opt.count - nleak, 0);
		drain(5.0);
		close_window();
		for (long i = 0; i < nleak; i++, ud++)
			submit(ud, free_slot());
		double end = now_s() + opt.duration;
		while (now_s() < end)
			reap(0.1);
		for (long i = 1; i < ud; i++)
			if (!reqs[i].got_notif)
				add_faulted(i);
	} else if (opt.fault == F_RESEND) {
		resend_phase(1, opt.count, deadline);
		drain(10.0);
	} else {
		send_phase(1, opt.count, deadline);
		drain(10.0);
	}

	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	printf("{\"workload\":\"iouring_zc\",\"fault\":\"%s\",\"op\":\"%s\",\"pid\":%d,\"ring\":null,"
	       "\"ring_fd\":%d,\"sends\":%ld,\"bytes\":%ld,\"completions\":%ld,\"copied\":%ld,"
	       "\"send_errors\":%ld,\"sock\":\"%s\",\"faulted\":[",
	       opt.fault_name, opt.sendmsg_zc ? "SENDMSG_ZC" : "SEND_ZC", getpid(), ring.ring_fd,
	       nsubmitted, nbytes, ncompletions, ncopied, nerrors, sock_desc);
	for (int i = 0; i < nfaulted; i++)
		printf("%s%llu", i ? "," : "", faulted[i]);
	printf("],\"resends\":%ld,\"read_call\":", nresends);
	if (opt.fault == F_READ_INTO)
		printf("\"%s\"", read_call_names[opt.read_call]);
	else
		printf("null");
	printf(",\"mono_ns\":%lld}\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
	fflush(stdout);

	if (opt.fault == F_LEAK)
		_exit(0); /* leave the stuck buffers to the kernel: the exit closes the sockets */
	atomic_store(&rx_quit, 1);
	pthread_join(rx, NULL);
	for (int i = 0; i < NBUF; i++)
		if (!slots[i].unmapped)
			munmap(slots[i].buf, slots[i].maplen);
	io_uring_queue_exit(&ring);
	close(sfd);
	close(rfd);
	return 0;
}
