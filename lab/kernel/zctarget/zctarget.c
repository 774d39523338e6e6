// SPDX-License-Identifier: GPL-2.0
/*
 * zctarget — the lab's second owner of the TCP zero-copy completion
 * callbacks (lab/kernel/patches), written after the way the seed's own user,
 * the iSCSI-SCST target, uses them, and unlike zcsim wherever the target does
 * it differently. For the zctrace lab: the netpriv pack must work on it with
 * nothing but --free-fn (zctrace knows neither its module nor its struct).
 *
 * A command is a response PDU: a 48-byte header sent with kernel_sendmsg()
 * (copied by TCP: never a callback) followed by `pages` data pages sent one by
 * one with kernel_sendpage(), which takes and releases the socket lock for
 * each page, so ACKs are processed between two pages (zcsim holds the lock
 * across a whole command). Reference counting, as in the target:
 *   - net_ref_cnt counts net references: every get/put callback, plus a
 *     guard the sender takes before its first page and drops after the last
 *     (straight on the counter: no callback, no probe sees it), so the count
 *     cannot reach zero between two pages while ACKs come back;
 *   - 0 -> 1 takes a command reference; reaching 0 clears page->net_priv on
 *     every page of the command (later frag references on them are plain
 *     page references: the stack no longer calls back) and drops it;
 *   - the last command reference calls zctarget_cmnd_release(cmd): the
 *     command is finished and, for the owner, its buffer free (the probe
 *     target for --free-fn).
 * The memory is given back later, by a reaper, only once each page is back to
 * zctarget's single page reference: nothing TCP holds is freed, whatever the
 * fault.
 *
 * Faults (fault=, on command fault_cmd of a run):
 *   leak           a lost put: a frag reference taken the stack's way
 *                  (net_get_page(): the get callback fires) and dropped with
 *                  a plain put_page(); the count never reaches zero, the
 *                  command is never released (reaped at rmmod).
 *   early_release  the guard dropped twice: the sender holds the socket lock
 *                  across this command's pages (ACKs wait in the backlog, so
 *                  TCP provably holds every page) and drops its guard two
 *                  times; the count reaches zero one TCP reference early, the
 *                  command is released while TCP still holds a page, and
 *                  net_priv is cleared, so the puts that follow are unseen.
 *
 * Control: /proc/zctarget (read: counters, faults, live commands; write
 * "run": one run of `count` commands, synchronously).
 */
#define pr_fmt(fmt) "zctarget: " fmt

#include <linux/module.h>
#include <linux/kernel.h>
#include <linux/net.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/in.h>
#include <linux/inet.h>
#include <linux/tcp.h>
#include <linux/proc_fs.h>
#include <linux/seq_file.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <linux/delay.h>
#include <net/sock.h>

#ifndef CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION
#error "zctarget needs a kernel with CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION"
#endif

static char *addr = "127.0.0.1";
module_param(addr, charp, 0644);
MODULE_PARM_DESC(addr, "initiator (receiver) IPv4 address");
static int port = 5201;
module_param(port, int, 0644);
MODULE_PARM_DESC(port, "receiver TCP port");
static int count = 4;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "commands per run");
static int pages = 4;
module_param(pages, int, 0644);
MODULE_PARM_DESC(pages, "data pages per command");
static char *fault = "none";
module_param(fault, charp, 0644);
MODULE_PARM_DESC(fault, "none|leak|early_release");
static int fault_cmd = 1;
module_param(fault_cmd, int, 0644);
MODULE_PARM_DESC(fault_cmd, "index in the run of the faulted command (-1 = last)");
static int wait_ms = 5000;
module_param(wait_ms, int, 0644);
MODULE_PARM_DESC(wait_ms, "how long a run waits for its commands to be released; send timeout");

#define TGT_MAX_PAGES 256
#define TGT_MAGIC 0x7a637467U /* "zctg" */
#define BHS_LEN 48

enum { F_NONE, F_LEAK, F_EARLY_RELEASE };
static const char *const fault_names[] = { "none", "leak", "early_release" };

/* A response command. net_ref_cnt is not where zcsim keeps its count. */
struct zctarget_cmnd {
	struct list_head list;		/* every command not yet given back */
	u32 magic;
	u32 itt;			/* initiator task tag */
	u8 bhs[BHS_LEN];		/* the PDU header, sent copied */
	atomic_t ref_cnt;		/* command references */
	atomic_t net_ref_cnt;		/* net references: callbacks + the sender's guard */
	int fault;
	int npages;
	bool released;			/* zctarget_cmnd_release() ran */
	atomic_t gets, puts;
	struct page *pg[];
};

static struct {
	atomic64_t gets, puts, foreign, underflows;
	atomic64_t created, released, freed, reaped, runs, bytes;
} st;

static LIST_HEAD(cmnds);
static DEFINE_SPINLOCK(cmnds_lock);
static DEFINE_MUTEX(run_mutex);
static u32 next_itt = 1;
static bool stopping;
static char fault_log[2048];
static size_t fault_log_len;
static char last_run[256];

static void reaper_fn(struct work_struct *w);
static DECLARE_DELAYED_WORK(reaper, reaper_fn);

/* The owner is done with the command: its buffer may be reused. (--free-fn) */
noinline void zctarget_cmnd_release(struct zctarget_cmnd *cmd)
{
	WRITE_ONCE(cmd->released, true);
	atomic64_inc(&st.released);
	if (!READ_ONCE(stopping))
		mod_delayed_work(system_wq, &reaper, msecs_to_jiffies(10));
}

static void cmnd_get(struct zctarget_cmnd *cmd)
{
	atomic_inc(&cmd->ref_cnt);
}

static void cmnd_put(struct zctarget_cmnd *cmd)
{
	if (atomic_dec_and_test(&cmd->ref_cnt))
		zctarget_cmnd_release(cmd);
}

static void net_ref_get(struct zctarget_cmnd *cmd)
{
	if (atomic_inc_return(&cmd->net_ref_cnt) == 1)
		cmnd_get(cmd);
}

static void net_ref_put(struct zctarget_cmnd *cmd)
{
	int v = atomic_dec_return(&cmd->net_ref_cnt), i;

	if (v < 0) {
		atomic64_inc(&st.underflows);
		return;
	}
	if (v)
		return;
	/* transfer complete: the pages are the owner's again, no more callbacks on them */
	for (i = 0; i < cmd->npages; i++)
		if (READ_ONCE(cmd->pg[i]->net_priv) == cmd)
			WRITE_ONCE(cmd->pg[i]->net_priv, NULL);
	cmnd_put(cmd);
}

static struct zctarget_cmnd *page_cmnd(struct page *page)
{
	struct zctarget_cmnd *cmd = READ_ONCE(page->net_priv);

	if (unlikely(!cmd || cmd->magic != TGT_MAGIC)) {
		atomic64_inc(&st.foreign);
		return NULL;
	}
	return cmd;
}

noinline void zctarget_get_page_callback(struct page *page)
{
	struct zctarget_cmnd *cmd = page_cmnd(page);

	atomic64_inc(&st.gets);
	if (cmd) {
		atomic_inc(&cmd->gets);
		net_ref_get(cmd);
	}
}

noinline void zctarget_put_page_callback(struct page *page)
{
	struct zctarget_cmnd *cmd = page_cmnd(page);

	atomic64_inc(&st.puts);
	if (cmd) {
		atomic_inc(&cmd->puts);
		net_ref_put(cmd);
	}
}

static bool pages_idle(struct zctarget_cmnd *cmd)
{
	int i;

	for (i = 0; i < cmd->npages; i++)
		if (page_ref_count(cmd->pg[i]) != 1)
			return false;
	return true;
}

/* Give back the memory of released (or, at unload, any) commands whose pages TCP no longer holds. */
static int give_back(bool unloading)
{
	struct zctarget_cmnd *cmd, *tmp;
	LIST_HEAD(done);
	int left = 0, i;

	spin_lock_bh(&cmnds_lock);
	list_for_each_entry_safe(cmd, tmp, &cmnds, list) {
		if ((READ_ONCE(cmd->released) || unloading) && pages_idle(cmd))
			list_move(&cmd->list, &done);
		else
			left++;
	}
	spin_unlock_bh(&cmnds_lock);
	list_for_each_entry_safe(cmd, tmp, &done, list) {
		if (!cmd->released) {
			atomic64_inc(&st.reaped);
			pr_info("cmd itt=%u %px reaped at unload: never released, net_ref_cnt=%d\n",
				cmd->itt, cmd, atomic_read(&cmd->net_ref_cnt));
		}
		for (i = 0; i < cmd->npages; i++) {
			WRITE_ONCE(cmd->pg[i]->net_priv, NULL);
			__free_page(cmd->pg[i]);
		}
		cmd->magic = 0;
		atomic64_inc(&st.freed);
		kfree(cmd);
	}
	return left;
}

static void reaper_fn(struct work_struct *w)
{
	if (give_back(false) && !READ_ONCE(stopping))
		schedule_delayed_work(&reaper, msecs_to_jiffies(20));
}

static struct zctarget_cmnd *cmnd_alloc(int npages, int fk)
{
	struct zctarget_cmnd *cmd = kzalloc(struct_size(cmd, pg, npages), GFP_KERNEL);
	int i;

	if (!cmd)
		return NULL;
	for (i = 0; i < npages; i++) {
		cmd->pg[i] = alloc_page(GFP_KERNEL);
		if (!cmd->pg[i]) {
			while (--i >= 0)
				__free_page(cmd->pg[i]);
			kfree(cmd);
			return NULL;
		}
		memset(page_address(cmd->pg[i]), 'A' + i % 26, PAGE_SIZE);
	}
	cmd->magic = TGT_MAGIC;
	cmd->npages = npages;
	cmd->fault = fk;
	atomic_set(&cmd->ref_cnt, 1);	/* the target's, until the response is sent */
	spin_lock_bh(&cmnds_lock);
	cmd->itt = next_itt++;
	list_add_tail(&cmd->list, &cmnds);
	spin_unlock_bh(&cmnds_lock);
	snprintf(cmd->bhs, sizeof(cmd->bhs), "zctarget itt=%u len=%lu", cmd->itt,
		 (unsigned long)npages * PAGE_SIZE);
	for (i = 0; i < npages; i++)
		WRITE_ONCE(cmd->pg[i]->net_priv, cmd);
	atomic64_inc(&st.created);
	return cmd;
}

static void note_fault(const char *fmt, ...)
{
	va_list ap;

	spin_lock_bh(&cmnds_lock);
	va_start(ap, fmt);
	if (fault_log_len < sizeof(fault_log))
		fault_log_len += vscnprintf(fault_log + fault_log_len,
					    sizeof(fault_log) - fault_log_len, fmt, ap);
	va_end(ap);
	spin_unlock_bh(&cmnds_lock);
}

static int send_page(struct socket *sock, struct page *pg, int flags, bool locked)
{
	int off = 0, ret;

	while (off < PAGE_SIZE) {
		ret = locked ? kernel_sendpage_locked(sock->sk, pg, off, PAGE_SIZE - off, flags)
			     : kernel_sendpage(sock, pg, off, PAGE_SIZE - off, flags);
		if (ret <= 0)
			return ret ? ret : -EIO;
		off += ret;
	}
	atomic64_add(PAGE_SIZE, &st.bytes);
	return 0;
}

/* The write path: header (copied), guard, data pages (zero-copy), guard dropped. */
static int send_cmnd(struct socket *sock, struct zctarget_cmnd *cmd)
{
	struct kvec iov = { .iov_base = cmd->bhs, .iov_len = BHS_LEN };
	struct msghdr msg = { .msg_flags = MSG_MORE };
	bool locked = cmd->fault == F_EARLY_RELEASE;
	int i, err;

	err = kernel_sendmsg(sock, &msg, &iov, 1, BHS_LEN);
	if (err != BHS_LEN)
		return err < 0 ? err : -EIO;
	net_ref_get(cmd);			/* the guard */
	if (locked)
		lock_sock(sock->sk);
	for (i = 0, err = 0; i < cmd->npages && !err; i++)
		err = send_page(sock, cmd->pg[i], i + 1 < cmd->npages ? MSG_MORE | MSG_SENDPAGE_NOTLAST : 0, locked);
	if (cmd->fault == F_LEAK) {
		net_get_page(cmd->pg[0]);
		put_page(cmd->pg[0]);
		note_fault("leak itt=%u ptr=0x%px page=0x%px (one put lost: never released)\n",
			   cmd->itt, cmd, cmd->pg[0]);
	}
	net_ref_put(cmd);			/* drop the guard */
	if (cmd->fault == F_EARLY_RELEASE) {
		note_fault("early_release itt=%u ptr=0x%px refs_held=%d (guard dropped twice)\n",
			   cmd->itt, cmd, atomic_read(&cmd->net_ref_cnt));
		net_ref_put(cmd);		/* ... twice */
	}
	if (locked)
		release_sock(sock->sk);
	cmnd_put(cmd);				/* the response is sent */
	return err;
}

static int parse_fault(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(fault_names); i++)
		if (sysfs_streq(fault, fault_names[i]))
			return i;
	return -EINVAL;
}

static int do_run(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct zctarget_cmnd **run;
	int n = count, fk = parse_fault(), target = fault_cmd, i, err, sent = 0, pending = 0;
	unsigned long until;
	struct socket *sock;

	if (fk < 0 || n < 1 || n > 1024 || pages < 1 || pages > TGT_MAX_PAGES ||
	    !in4_pton(addr, -1, (u8 *)&sin.sin_addr.s_addr, -1, NULL))
		return -EINVAL;
	if (target < 0)
		target = n - 1;
	run = kcalloc(n, sizeof(*run), GFP_KERNEL);
	if (!run)
		return -ENOMEM;
	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		goto out;
	sock->sk->sk_sndtimeo = msecs_to_jiffies(wait_ms);
	tcp_sock_set_nodelay(sock->sk);
	err = kernel_connect(sock, (struct sockaddr *)&sin, sizeof(sin), 0);
	if (err)
		goto out_sock;
	atomic64_inc(&st.runs);
	for (i = 0; i < n && !err; i++) {
		run[i] = cmnd_alloc(pages, i == target ? fk : F_NONE);
		if (!run[i]) {
			err = -ENOMEM;
			break;
		}
		sent++;
		err = send_cmnd(sock, run[i]);
	}
	if (err)
		sock_no_linger(sock->sk);
	until = jiffies + msecs_to_jiffies(wait_ms);
	do {
		pending = 0;
		for (i = 0; i < sent; i++)
			if (run[i]->fault != F_LEAK && !READ_ONCE(run[i]->released))
				pending++;
		if (!pending || !time_before(jiffies, until))
			break;
		msleep(5);
	} while (1);
	scnprintf(last_run, sizeof(last_run), "run %lld: count=%d pages=%d fault=%s fault_cmd=%d sent=%d err=%d pending=%d\n",
		  atomic64_read(&st.runs), n, pages, fault_names[fk], fk ? target : -1, sent, err, pending);
	kernel_sock_shutdown(sock, SHUT_WR);
out_sock:
	sock_release(sock);
out:
	kfree(run);
	return err;
}

static int show(struct seq_file *m, void *v)
{
	struct zctarget_cmnd *cmd;

	seq_printf(m, "params: addr=%s port=%d count=%d pages=%d fault=%s fault_cmd=%d\n",
		   addr, port, count, pages, fault, fault_cmd);
	seq_printf(m, "callbacks: gets=%lld puts=%lld foreign=%lld\n", atomic64_read(&st.gets),
		   atomic64_read(&st.puts), atomic64_read(&st.foreign));
	seq_printf(m, "commands: created=%lld released=%lld freed=%lld reaped=%lld\n",
		   atomic64_read(&st.created), atomic64_read(&st.released),
		   atomic64_read(&st.freed), atomic64_read(&st.reaped));
	seq_printf(m, "anomalies: underflows=%lld\nruns: %lld bytes=%lld\n",
		   atomic64_read(&st.underflows), atomic64_read(&st.runs), atomic64_read(&st.bytes));
	if (last_run[0])
		seq_printf(m, "last %s", last_run);
	seq_puts(m, "faults:\n");
	spin_lock_bh(&cmnds_lock);
	seq_write(m, fault_log, fault_log_len);
	seq_puts(m, "live: itt ptr fault ref_cnt net_ref_cnt gets puts released\n");
	list_for_each_entry(cmd, &cmnds, list)
		seq_printf(m, "cmd %u 0x%px %s %d %d %d %d %d\n", cmd->itt, cmd, fault_names[cmd->fault],
			   atomic_read(&cmd->ref_cnt), atomic_read(&cmd->net_ref_cnt),
			   atomic_read(&cmd->gets), atomic_read(&cmd->puts), cmd->released);
	spin_unlock_bh(&cmnds_lock);
	return 0;
}

static int proc_open(struct inode *inode, struct file *file)
{
	return single_open(file, show, NULL);
}

static ssize_t proc_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[16] = {};
	int err;

	if (copy_from_user(buf, ubuf, min(len, sizeof(buf) - 1)))
		return -EFAULT;
	if (!sysfs_streq(buf, "run"))
		return -EINVAL;
	if (mutex_lock_interruptible(&run_mutex))
		return -EINTR;
	err = READ_ONCE(stopping) ? -ESHUTDOWN : do_run();
	mutex_unlock(&run_mutex);
	return err ? err : len;
}

static const struct proc_ops ops = {
	.proc_open = proc_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = proc_write,
};

static struct proc_dir_entry *entry;

static int __init zctarget_init(void)
{
	int err = net_set_get_put_page_callbacks(zctarget_get_page_callback, zctarget_put_page_callback);

	if (err) {
		pr_err("net_set_get_put_page_callbacks: %d (another owner registered)\n", err);
		return err;
	}
	entry = proc_create("zctarget", 0644, NULL, &ops);
	if (!entry) {
		net_set_get_put_page_callbacks(NULL, NULL);
		return -ENOMEM;
	}
	return 0;
}

static void __exit zctarget_exit(void)
{
	unsigned long warn = jiffies + 5 * HZ;

	proc_remove(entry);
	mutex_lock(&run_mutex);
	WRITE_ONCE(stopping, true);
	mutex_unlock(&run_mutex);
	cancel_delayed_work_sync(&reaper);
	while (give_back(true)) {
		if (time_after(jiffies, warn)) {
			pr_warn("unload: waiting for TCP to drop the pages of a command\n");
			warn = jiffies + 5 * HZ;
		}
		msleep(20);
	}
	net_set_get_put_page_callbacks(NULL, NULL);
}

module_init(zctarget_init);
module_exit(zctarget_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("a second zero-copy callback owner, iSCSI-SCST-like, for the zctrace lab");
