// SPDX-License-Identifier: GPL-2.0
/*
 * zcsim — a zero-copy sender that behaves like the iSCSI-SCST target on a
 * kernel with the TCP zero-copy transfer completion notification patch
 * (lab/kernel/patches). For the zctrace lab.
 *
 * Each "command" owns page buffers. Every page gets page->net_priv = cmd and
 * is handed to TCP with kernel_sendpage_locked() (the 6.1 sendpage path:
 * tcp_sendpage_locked -> do_tcp_sendpages -> tcp_build_frag). The network
 * stack then calls zcsim_get_page_callback()/zcsim_put_page_callback() on
 * every frag reference it takes or drops. A command counts them in
 * net_ref_cnt; it takes a command reference on 0->1 and drops it at 0. While
 * sending, zcsim holds one guard net reference of its own (taken and dropped
 * without the callbacks), so the count cannot reach zero between two pages.
 * When the last command reference goes, zcsim_cmnd_done(cmd) finishes the
 * command: from the owner's point of view its buffer is free for reuse.
 *
 * The memory itself (pages, struct) is released later, by
 * zcsim_cmnd_release(), only once TCP really holds no page of the command
 * (page refcount back to zcsim's own single reference). That keeps the
 * guest safe in the fault modes, which make the owner's count lie:
 *   fault=leak        a lost put: one net_get_page() on a page of the target
 *                     command whose put_page() bypasses net_put_page(); the
 *                     command's count never reaches zero, it is never done
 *                     (reaped by zcsim_cmnd_reap() at rmmod).
 *   fault=underflow   an extra put: once TCP has dropped every reference,
 *                     zcsim calls zcsim_put_page_callback() once more (no
 *                     put_page()); the count goes below zero when the guard
 *                     is dropped.
 *   fault=early_free  zcsim_cmnd_done() is called right after the pages are
 *                     queued, with the socket locked so TCP still holds them;
 *                     the puts that follow land on the finished command.
 *
 * Control and results: /proc/zcsim (read: state; write "run": one run of
 * `count` commands of `pages` pages each, synchronously). Module params are
 * read at the start of each run.
 */
#define pr_fmt(fmt) "zcsim: " fmt

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
#include <linux/ktime.h>
#include <net/sock.h>

#ifndef CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION
#error "zcsim needs a kernel with CONFIG_TCP_ZERO_COPY_TRANSFER_COMPLETION_NOTIFICATION"
#endif

/* ------------------------------------------------------------------ params */

static char *addr = "127.0.0.1";
module_param(addr, charp, 0644);
MODULE_PARM_DESC(addr, "receiver IPv4 address (default 127.0.0.1)");
static int port = 5001;
module_param(port, int, 0644);
MODULE_PARM_DESC(port, "receiver TCP port (default 5001)");
static int count = 4;
module_param(count, int, 0644);
MODULE_PARM_DESC(count, "commands per run (default 4)");
static int pages = 4;
module_param(pages, int, 0644);
MODULE_PARM_DESC(pages, "pages per command (default 4)");
static char *fault = "none";
module_param(fault, charp, 0644);
MODULE_PARM_DESC(fault, "none|leak|underflow|early_free (default none)");
static int fault_cmd;
module_param(fault_cmd, int, 0644);
MODULE_PARM_DESC(fault_cmd, "index in the run of the command that gets the fault, -1 = last (default 0)");
static bool autostart;
module_param(autostart, bool, 0444);
MODULE_PARM_DESC(autostart, "do one run at load time (default 0: write 'run' to /proc/zcsim)");
static int wait_ms = 5000;
module_param(wait_ms, int, 0644);
MODULE_PARM_DESC(wait_ms, "how long a run waits for its commands to complete (default 5000)");
static bool verbose = true;
module_param(verbose, bool, 0644);
MODULE_PARM_DESC(verbose, "printk one line per finished command (default 1)");

#define ZCSIM_MAX_PAGES 256
#define ZCSIM_MAX_COUNT 4096
#define ZCSIM_MAGIC 0x7a63736dU /* "zcsm" */

enum zcsim_fault { F_NONE, F_LEAK, F_UNDERFLOW, F_EARLY_FREE };
static const char *const fault_names[] = { "none", "leak", "underflow", "early_free" };

/* cmd->flags bits */
enum {
	C_DONE,		/* zcsim_cmnd_done() was called */
	C_IDLE,		/* the command's own reference count reached zero */
	C_RELEASED,	/* memory released (only set just before kfree) */
	C_SENT,		/* all pages queued */
};

/* ------------------------------------------------------------------ state */

struct zcsim_cmd {
	u32 magic;
	u32 id;
	atomic_t net_ref_cnt;	/* net references: callbacks + zcsim's guard */
	atomic_t ref;		/* command references: owner + one while net_ref_cnt > 0 */
	unsigned long flags;
	int fault;		/* enum zcsim_fault applied to this command */
	int npages;
	size_t bytes;		/* bytes queued to TCP */
	atomic_t gets;		/* get callbacks seen */
	atomic_t puts;		/* put callbacks seen */
	atomic_t puts_after_done;
	atomic_t gets_after_done;
	atomic_t underflows;
	atomic_t max_ref;
	int ref_at_done;	/* net_ref_cnt (guard excluded) when done was called */
	u64 t_submit;		/* ktime_get_ns(), same clock as bpftrace nsecs */
	u64 t_done;
	u64 t_idle;
	struct list_head list;
	struct page *page[];
};

static struct {
	atomic64_t gets, puts, bad;
	atomic64_t underflows, puts_after_done, gets_after_done;
	atomic64_t created, done, idle, released, reaped, copied;
	atomic64_t runs, run_errors;
	atomic64_t bytes;
} st;

static LIST_HEAD(cmds);			/* every command not yet released */
static DEFINE_SPINLOCK(cmds_lock);
static DEFINE_MUTEX(run_mutex);		/* one run at a time; module exit */
static u32 next_id = 1;
static bool stopping;
static char last_run[512];
static char fault_log[2048];
static size_t fault_log_len;

static void zcsim_reaper(struct work_struct *w);
static DECLARE_DELAYED_WORK(reaper_work, zcsim_reaper);

static void note_fault(const char *fmt, ...)
{
	va_list ap;
	unsigned long fl;

	spin_lock_irqsave(&cmds_lock, fl);
	va_start(ap, fmt);
	if (fault_log_len < sizeof(fault_log))
		fault_log_len += vscnprintf(fault_log + fault_log_len,
					    sizeof(fault_log) - fault_log_len, fmt, ap);
	va_end(ap);
	spin_unlock_irqrestore(&cmds_lock, fl);
}

/* --------------------------------------------- command life cycle (probe targets) */

/* The command's buffer is handed to TCP. */
noinline void zcsim_cmnd_submit(struct zcsim_cmd *cmd, size_t bytes)
{
	WRITE_ONCE(cmd->t_submit, ktime_get_ns());
	barrier();
}

/*
 * TCP is finished with the command (its count reached zero, or, with
 * fault=early_free, zcsim pretends so): the owner completes the command and
 * may reuse or free its buffer. The probe target for "done"/"free".
 */
noinline void zcsim_cmnd_done(struct zcsim_cmd *cmd)
{
	int r = atomic_read(&cmd->net_ref_cnt);

	cmd->t_done = ktime_get_ns();
	cmd->ref_at_done = test_bit(C_SENT, &cmd->flags) ? r : r - 1;
	atomic64_inc(&st.done);
	if (!atomic_read(&cmd->gets))
		atomic64_inc(&st.copied);
	if (verbose)
		pr_info("cmd %u %px done: gets=%d puts=%d pages=%d max_ref=%d refs_at_done=%d%s\n",
			cmd->id, cmd, atomic_read(&cmd->gets), atomic_read(&cmd->puts),
			cmd->npages, atomic_read(&cmd->max_ref), cmd->ref_at_done,
			cmd->fault == F_EARLY_FREE ? " (EARLY: references still held)" : "");
}

/* Memory really released: no page of the command is referenced by TCP any more. */
noinline void zcsim_cmnd_release(struct zcsim_cmd *cmd)
{
	int i;

	for (i = 0; i < cmd->npages; i++) {
		WRITE_ONCE(cmd->page[i]->net_priv, NULL);
		__free_page(cmd->page[i]);
	}
	cmd->magic = 0;
	atomic64_inc(&st.released);
	kfree(cmd);
}

/* A command that never completed (fault=leak) is reaped at unload. */
noinline void zcsim_cmnd_reap(struct zcsim_cmd *cmd)
{
	atomic64_inc(&st.reaped);
	pr_info("cmd %u %px reaped at unload: never done, net_ref_cnt=%d gets=%d puts=%d\n",
		cmd->id, cmd, atomic_read(&cmd->net_ref_cnt),
		atomic_read(&cmd->gets), atomic_read(&cmd->puts));
}

static void zcsim_cmnd_get(struct zcsim_cmd *cmd)
{
	atomic_inc(&cmd->ref);
}

static void zcsim_cmnd_put(struct zcsim_cmd *cmd)
{
	if (!atomic_dec_and_test(&cmd->ref))
		return;
	if (!test_and_set_bit(C_DONE, &cmd->flags))
		zcsim_cmnd_done(cmd);
	cmd->t_idle = ktime_get_ns();
	set_bit(C_IDLE, &cmd->flags);
	atomic64_inc(&st.idle);
	if (!READ_ONCE(stopping))
		mod_delayed_work(system_wq, &reaper_work, msecs_to_jiffies(10));
}

static void zcsim_net_ref_get(struct zcsim_cmd *cmd)
{
	int r = atomic_inc_return(&cmd->net_ref_cnt);
	int m = atomic_read(&cmd->max_ref);

	while (r > m && !atomic_try_cmpxchg(&cmd->max_ref, &m, r))
		;
	if (r == 1)
		zcsim_cmnd_get(cmd);
}

static void zcsim_net_ref_put(struct zcsim_cmd *cmd)
{
	int r = atomic_dec_return(&cmd->net_ref_cnt);

	if (r == 0) {
		zcsim_cmnd_put(cmd);
	} else if (r < 0) {
		atomic_inc(&cmd->underflows);
		atomic64_inc(&st.underflows);
		pr_warn("cmd %u %px: net_ref_cnt underflow (%d)\n", cmd->id, cmd, r);
	}
}

static struct zcsim_cmd *page_cmd(struct page *page)
{
	struct zcsim_cmd *cmd = READ_ONCE(page->net_priv);

	if (unlikely(!cmd || cmd->magic != ZCSIM_MAGIC)) {
		atomic64_inc(&st.bad);
		pr_warn_ratelimited("callback on page %px with foreign net_priv %px\n", page, cmd);
		return NULL;
	}
	return cmd;
}

/* ---------------------------------------------- the registered callbacks */

noinline void zcsim_get_page_callback(struct page *page)
{
	struct zcsim_cmd *cmd = page_cmd(page);

	atomic64_inc(&st.gets);
	if (!cmd)
		return;
	atomic_inc(&cmd->gets);
	if (test_bit(C_DONE, &cmd->flags)) {
		atomic_inc(&cmd->gets_after_done);
		atomic64_inc(&st.gets_after_done);
	}
	zcsim_net_ref_get(cmd);
}

noinline void zcsim_put_page_callback(struct page *page)
{
	struct zcsim_cmd *cmd = page_cmd(page);

	atomic64_inc(&st.puts);
	if (!cmd)
		return;
	atomic_inc(&cmd->puts);
	if (test_bit(C_DONE, &cmd->flags)) {
		atomic_inc(&cmd->puts_after_done);
		atomic64_inc(&st.puts_after_done);
	}
	zcsim_net_ref_put(cmd);
}

/* ------------------------------------------------------------- release */

/* True when TCP holds no page of the command: each page is back to zcsim's single reference. */
static bool cmd_pages_idle(struct zcsim_cmd *cmd)
{
	int i;

	for (i = 0; i < cmd->npages; i++)
		if (page_ref_count(cmd->page[i]) != 1)
			return false;
	/* the callbacks run before the stack's put_page(): pair with its atomic dec */
	smp_rmb();
	return true;
}

/* Release every command that is finished (or, at unload, any) and whose pages are idle. */
static int zcsim_release_idle(bool unloading)
{
	struct zcsim_cmd *cmd, *tmp;
	LIST_HEAD(victims);
	unsigned long fl;
	int left = 0;

	spin_lock_irqsave(&cmds_lock, fl);
	list_for_each_entry_safe(cmd, tmp, &cmds, list) {
		bool finished = test_bit(C_IDLE, &cmd->flags);

		if ((finished || unloading) && test_bit(C_SENT, &cmd->flags) &&
		    cmd_pages_idle(cmd))
			list_move(&cmd->list, &victims);
		else
			left++;
	}
	spin_unlock_irqrestore(&cmds_lock, fl);

	list_for_each_entry_safe(cmd, tmp, &victims, list) {
		list_del(&cmd->list);
		if (!test_bit(C_IDLE, &cmd->flags))
			zcsim_cmnd_reap(cmd);
		set_bit(C_RELEASED, &cmd->flags);
		zcsim_cmnd_release(cmd);
	}
	return left;
}

static void zcsim_reaper(struct work_struct *w)
{
	bool pending = false;
	struct zcsim_cmd *cmd;
	unsigned long fl;

	zcsim_release_idle(false);
	spin_lock_irqsave(&cmds_lock, fl);
	list_for_each_entry(cmd, &cmds, list)
		if (test_bit(C_IDLE, &cmd->flags))
			pending = true;
	spin_unlock_irqrestore(&cmds_lock, fl);
	if (pending && !READ_ONCE(stopping))
		schedule_delayed_work(&reaper_work, msecs_to_jiffies(20));
}

/* --------------------------------------------------------------- a run */

static struct zcsim_cmd *zcsim_cmd_alloc(int npages, int fault_kind)
{
	struct zcsim_cmd *cmd;
	unsigned long fl;
	int i;

	cmd = kzalloc(struct_size(cmd, page, npages), GFP_KERNEL);
	if (!cmd)
		return NULL;
	for (i = 0; i < npages; i++) {
		char *p;

		cmd->page[i] = alloc_page(GFP_KERNEL);
		if (!cmd->page[i])
			goto fail;
		p = page_address(cmd->page[i]);
		memset(p, 'a' + (i % 26), PAGE_SIZE);
	}
	cmd->magic = ZCSIM_MAGIC;
	cmd->npages = npages;
	cmd->fault = fault_kind;
	atomic_set(&cmd->ref, 1);	/* the owner's */
	spin_lock_irqsave(&cmds_lock, fl);
	cmd->id = next_id++;
	list_add_tail(&cmd->list, &cmds);
	spin_unlock_irqrestore(&cmds_lock, fl);
	for (i = 0; i < npages; i++) {
		snprintf(page_address(cmd->page[i]), 64, "zcsim cmd %u page %d\n", cmd->id, i);
		WRITE_ONCE(cmd->page[i]->net_priv, cmd);
	}
	atomic64_inc(&st.created);
	return cmd;
fail:
	while (--i >= 0)
		__free_page(cmd->page[i]);
	kfree(cmd);
	return NULL;
}

static int zcsim_send_cmd(struct socket *sock, struct zcsim_cmd *cmd)
{
	struct sock *sk = sock->sk;
	int i, err = 0;

	zcsim_cmnd_submit(cmd, (size_t)cmd->npages * PAGE_SIZE);
	zcsim_net_ref_get(cmd);		/* the guard: no callback sees it */

	lock_sock(sk);
	for (i = 0; i < cmd->npages && !err; i++) {
		int flags = i + 1 < cmd->npages ? MSG_MORE | MSG_SENDPAGE_NOTLAST : 0;
		int off = 0, len = PAGE_SIZE;

		while (len > 0) {
			int ret = kernel_sendpage_locked(sk, cmd->page[i], off, len, flags);

			if (ret <= 0) {
				err = ret ? ret : -EIO;
				break;
			}
			off += ret;
			len -= ret;
			cmd->bytes += ret;
		}
	}
	atomic64_add(cmd->bytes, &st.bytes);

	if (cmd->fault == F_LEAK) {
		/*
		 * A lost put: a reference taken the network stack's way (the
		 * get callback fires) and dropped with a plain put_page(), as a
		 * site converted on one side only would do. The page refcount
		 * stays right; the command's count never reaches zero.
		 */
		net_get_page(cmd->page[0]);
		put_page(cmd->page[0]);
		note_fault("leak cmd=%u ptr=0x%px page=0x%px (one put lost: never done)\n",
			   cmd->id, cmd, cmd->page[0]);
		pr_info("fault=leak: cmd %u %px: one put on page %px lost, the command will never be done\n",
			cmd->id, cmd, cmd->page[0]);
	}
	if (cmd->fault == F_EARLY_FREE) {
		/*
		 * The socket is locked: ACKs wait in the backlog, so the write
		 * queue still holds the pages that were just queued.
		 */
		int held = atomic_read(&cmd->net_ref_cnt) - 1;

		if (!test_and_set_bit(C_DONE, &cmd->flags))
			zcsim_cmnd_done(cmd);
		note_fault("early_free cmd=%u ptr=0x%px refs_held=%d (done while TCP holds its pages)\n",
			   cmd->id, cmd, held);
		pr_info("fault=early_free: cmd %u %px done with %d references still held by TCP\n",
			cmd->id, cmd, held);
	}
	set_bit(C_SENT, &cmd->flags);
	release_sock(sk);

	if (cmd->fault == F_UNDERFLOW) {
		/* wait until TCP has dropped every reference (only the guard left) */
		unsigned long until = jiffies + msecs_to_jiffies(wait_ms);
		int before;

		while (atomic_read(&cmd->net_ref_cnt) > 1 && time_before(jiffies, until))
			msleep(5);
		before = atomic_read(&cmd->net_ref_cnt) - 1;
		/* an extra put: the callback only, no put_page() */
		zcsim_put_page_callback(cmd->page[0]);
		note_fault("underflow cmd=%u ptr=0x%px page=0x%px refs_before=%d (one extra put)\n",
			   cmd->id, cmd, cmd->page[0], before);
		pr_info("fault=underflow: cmd %u %px: extra put on page %px with %d references held\n",
			cmd->id, cmd, cmd->page[0], before);
	}

	zcsim_net_ref_put(cmd);		/* drop the guard */
	zcsim_cmnd_put(cmd);		/* drop the owner's reference */
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

static int zcsim_run(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct zcsim_cmd **run_cmds;
	int n = count, np = pages, fk = parse_fault(), target = fault_cmd;
	struct socket *sock;
	unsigned long until;
	int i, err, sent = 0, pending;
	u64 t0 = ktime_get_ns();

	if (fk < 0 || n < 1 || n > ZCSIM_MAX_COUNT || np < 1 || np > ZCSIM_MAX_PAGES ||
	    port < 1 || port > 65535 || !in4_pton(addr, -1, (u8 *)&sin.sin_addr.s_addr, -1, NULL))
		return -EINVAL;
	if (target < 0)
		target = n - 1;
	sin.sin_port = htons(port);

	run_cmds = kcalloc(n, sizeof(*run_cmds), GFP_KERNEL);
	if (!run_cmds)
		return -ENOMEM;

	err = sock_create_kern(&init_net, AF_INET, SOCK_STREAM, IPPROTO_TCP, &sock);
	if (err)
		goto out_free;
	sock->sk->sk_sndtimeo = msecs_to_jiffies(wait_ms > 0 ? wait_ms : 5000);
	tcp_sock_set_nodelay(sock->sk);	/* like a storage target: no Nagle on the tail of a command */
	err = kernel_connect(sock, (struct sockaddr *)&sin, sizeof(sin), 0);
	if (err) {
		pr_warn("connect to %pI4:%d failed: %d\n", &sin.sin_addr, port, err);
		goto out_sock;
	}
	atomic64_inc(&st.runs);
	pr_info("run: %d commands x %d pages to %pI4:%d, fault=%s on command #%d\n",
		n, np, &sin.sin_addr, port, fault_names[fk], fk ? target : -1);

	for (i = 0; i < n; i++) {
		struct zcsim_cmd *cmd = zcsim_cmd_alloc(np, i == target ? fk : F_NONE);

		if (!cmd) {
			err = -ENOMEM;
			break;
		}
		run_cmds[i] = cmd;
		err = zcsim_send_cmd(sock, cmd);
		sent++;
		if (err) {
			pr_warn("cmd %u: sendpage failed: %d\n", cmd->id, err);
			break;
		}
	}
	if (err)
		sock_no_linger(sock->sk);	/* abort: RST, drop the write queue */

	/* wait for the commands to complete (all but a leaked one) */
	until = jiffies + msecs_to_jiffies(wait_ms);
	do {
		pending = 0;
		for (i = 0; i < sent; i++)
			if (run_cmds[i]->fault != F_LEAK && !test_bit(C_IDLE, &run_cmds[i]->flags))
				pending++;
		if (!pending || !time_before(jiffies, until))
			break;
		msleep(5);
	} while (1);

	scnprintf(last_run, sizeof(last_run),
		  "run %lld: to=%pI4:%d count=%d pages=%d fault=%s fault_cmd=%d sent=%d err=%d pending_after_wait=%d ms=%llu\n",
		  atomic64_read(&st.runs), &sin.sin_addr, port, n, np, fault_names[fk],
		  fk ? target : -1, sent, err, pending, (ktime_get_ns() - t0) / 1000000);
	pr_info("%s", last_run);
	kernel_sock_shutdown(sock, SHUT_WR);
out_sock:
	sock_release(sock);	/* graceful close: queued data is still delivered */
out_free:
	kfree(run_cmds);
	if (err)
		atomic64_inc(&st.run_errors);
	return err;
}

/* ------------------------------------------------------------- /proc/zcsim */

static int zcsim_show(struct seq_file *m, void *v)
{
	struct zcsim_cmd *cmd;
	unsigned long fl;

	seq_printf(m, "params: addr=%s port=%d count=%d pages=%d fault=%s fault_cmd=%d wait_ms=%d\n",
		   addr, port, count, pages, fault, fault_cmd, wait_ms);
	seq_printf(m, "callbacks: gets=%lld puts=%lld foreign=%lld\n",
		   atomic64_read(&st.gets), atomic64_read(&st.puts), atomic64_read(&st.bad));
	seq_printf(m, "commands: created=%lld done=%lld idle=%lld released=%lld reaped=%lld copied=%lld\n",
		   atomic64_read(&st.created), atomic64_read(&st.done), atomic64_read(&st.idle),
		   atomic64_read(&st.released), atomic64_read(&st.reaped), atomic64_read(&st.copied));
	seq_printf(m, "anomalies: underflows=%lld puts_after_done=%lld gets_after_done=%lld\n",
		   atomic64_read(&st.underflows), atomic64_read(&st.puts_after_done),
		   atomic64_read(&st.gets_after_done));
	seq_printf(m, "runs: %lld (errors %lld) bytes=%lld\n", atomic64_read(&st.runs),
		   atomic64_read(&st.run_errors), atomic64_read(&st.bytes));
	if (last_run[0])
		seq_printf(m, "last %s", last_run);
	seq_puts(m, "faults:\n");
	spin_lock_irqsave(&cmds_lock, fl);
	seq_write(m, fault_log, fault_log_len);
	seq_puts(m, "live: id ptr fault net_ref_cnt ref gets puts max_ref pages bytes state t_submit t_done t_idle\n");
	list_for_each_entry(cmd, &cmds, list)
		seq_printf(m, "cmd %u 0x%px %s %d %d %d %d %d %d %zu %s%s%s %llu %llu %llu\n",
			   cmd->id, cmd, fault_names[cmd->fault], atomic_read(&cmd->net_ref_cnt),
			   atomic_read(&cmd->ref), atomic_read(&cmd->gets), atomic_read(&cmd->puts),
			   atomic_read(&cmd->max_ref), cmd->npages, cmd->bytes,
			   test_bit(C_SENT, &cmd->flags) ? "sent" : "sending",
			   test_bit(C_DONE, &cmd->flags) ? ",done" : "",
			   test_bit(C_IDLE, &cmd->flags) ? ",idle" : "",
			   cmd->t_submit, cmd->t_done, cmd->t_idle);
	spin_unlock_irqrestore(&cmds_lock, fl);
	return 0;
}

static int zcsim_open(struct inode *inode, struct file *file)
{
	return single_open(file, zcsim_show, NULL);
}

static ssize_t zcsim_write(struct file *file, const char __user *ubuf, size_t len, loff_t *ppos)
{
	char buf[16] = {};
	int err;

	if (copy_from_user(buf, ubuf, min(len, sizeof(buf) - 1)))
		return -EFAULT;
	if (!sysfs_streq(buf, "run") && !sysfs_streq(buf, "start"))
		return -EINVAL;
	if (mutex_lock_interruptible(&run_mutex))
		return -EINTR;
	err = READ_ONCE(stopping) ? -ESHUTDOWN : zcsim_run();
	mutex_unlock(&run_mutex);
	return err ? err : len;
}

static const struct proc_ops zcsim_proc_ops = {
	.proc_open = zcsim_open,
	.proc_read = seq_read,
	.proc_lseek = seq_lseek,
	.proc_release = single_release,
	.proc_write = zcsim_write,
};

static struct proc_dir_entry *proc_entry;

/* ------------------------------------------------------------- module */

static void zcsim_drain(void)
{
	unsigned long warn_at = jiffies + 5 * HZ;
	int left;

	/* wait until TCP holds no page of ours; never free what it still references */
	while ((left = zcsim_release_idle(true)) > 0) {
		if (time_after(jiffies, warn_at)) {
			pr_warn("unload: waiting for TCP to drop the pages of %d command(s) (is the receiver reading?)\n",
				left);
			warn_at = jiffies + 5 * HZ;
		}
		msleep(20);
	}
}

static int __init zcsim_init(void)
{
	int err;

	err = net_set_get_put_page_callbacks(zcsim_get_page_callback, zcsim_put_page_callback);
	if (err) {
		pr_err("net_set_get_put_page_callbacks: %d (another owner registered)\n", err);
		return err;
	}
	proc_entry = proc_create("zcsim", 0644, NULL, &zcsim_proc_ops);
	if (!proc_entry) {
		net_set_get_put_page_callbacks(NULL, NULL);
		return -ENOMEM;
	}
	pr_info("loaded: callbacks get=%ps put=%ps registered; write 'run' to /proc/zcsim\n",
		zcsim_get_page_callback, zcsim_put_page_callback);
	if (autostart) {
		mutex_lock(&run_mutex);
		err = zcsim_run();
		mutex_unlock(&run_mutex);
		if (err) {
			proc_remove(proc_entry);
			WRITE_ONCE(stopping, true);
			zcsim_drain();
			cancel_delayed_work_sync(&reaper_work);
			net_set_get_put_page_callbacks(NULL, NULL);
			return err;
		}
	}
	return 0;
}

static void __exit zcsim_exit(void)
{
	proc_remove(proc_entry);
	mutex_lock(&run_mutex);
	WRITE_ONCE(stopping, true);
	mutex_unlock(&run_mutex);
	zcsim_drain();
	cancel_delayed_work_sync(&reaper_work);
	net_set_get_put_page_callbacks(NULL, NULL);
	pr_info("unloaded: gets=%lld puts=%lld created=%lld done=%lld released=%lld reaped=%lld underflows=%lld puts_after_done=%lld\n",
		atomic64_read(&st.gets), atomic64_read(&st.puts), atomic64_read(&st.created),
		atomic64_read(&st.done), atomic64_read(&st.released), atomic64_read(&st.reaped),
		atomic64_read(&st.underflows), atomic64_read(&st.puts_after_done));
}

module_init(zcsim_init);
module_exit(zcsim_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("zero-copy sender simulating an iSCSI-SCST target, for the zctrace lab");
