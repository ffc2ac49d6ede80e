// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/events: a kernel event bus with history.
 *
 * Every write() logs one event into a ring shared by all writers. Every
 * open file is a subscriber with its own cursor: it reads the retained
 * history first, then live events. Writers never wait for readers; when
 * the ring is full the oldest records are dropped, and a reader that had
 * not read them yet is told in the stream how many it lost.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include "events_dev.h"
#include "events_format.h"

#define EVENTS_RING_MIN		SZ_4K
#define EVENTS_RING_MAX		SZ_256M
#define EVENTS_PAYLOAD_LIMIT	SZ_64K

/* Largest read() buffer used at once; larger reads return what fits. */
#define EVENTS_READ_MAX		SZ_64K
/* Text rendered per hold of the ring lock, to bound interrupt latency. */
#define EVENTS_FILL_BUDGET	SZ_8K
/* Writes up to this size are copied through the stack, larger via kmalloc. */
#define EVENTS_STACK_PAYLOAD	256

static unsigned int ring_size = SZ_1M;
module_param(ring_size, uint, 0444);
MODULE_PARM_DESC(ring_size,
		 "Ring capacity in bytes: a power of two from 4096 to 268435456 (default 1048576)");

static unsigned int max_payload = 4096;
module_param(max_payload, uint, 0444);
MODULE_PARM_DESC(max_payload,
		 "Largest event payload in bytes, 1 to 65536 (default 4096)");

static int events_mode_set(const char *val, const struct kernel_param *kp)
{
	u16 mode;
	int ret;

	ret = kstrtou16(val, 8, &mode);
	if (ret)
		return ret;
	if (mode & ~0777)
		return -EINVAL;
	*(u16 *)kp->arg = mode;
	return 0;
}

static int events_mode_get(char *buf, const struct kernel_param *kp)
{
	return sysfs_emit(buf, "%04o\n", *(u16 *)kp->arg);
}

static const struct kernel_param_ops events_mode_ops = {
	.set = events_mode_set,
	.get = events_mode_get,
};

static u16 mode = 0600;
module_param_cb(mode, &events_mode_ops, &mode, 0444);
MODULE_PARM_DESC(mode, "Permission bits of /dev/events, in octal (default 0600)");

struct events_dev events_dev;

/**
 * struct events_cursor - a reader's place in the ring
 * @seq: sequence number of the next record to read
 * @pos: ring position of that record, valid while it is retained
 */
struct events_cursor {
	u64 seq;
	u64 pos;
};

/**
 * struct events_reader - the per-open-file subscriber
 * @lock: serializes read() and llseek() on this file
 * @seq: sequence number of the next record; written under @lock, read
 *	 without it by poll() and wait conditions
 * @pos: ring position of @seq, protected by @lock
 * @partial: the unread rest of a line a short read began, or NULL;
 *	     written under @lock
 * @partial_len: bytes in @partial, protected by @lock
 * @partial_off: bytes of @partial already read, protected by @lock
 * @view: namespaces of the opener, fixed at open
 */
struct events_reader {
	struct mutex lock;	/* serializes read() and llseek() */
	atomic64_t seq;
	u64 pos;
	char *partial;
	size_t partial_len;
	size_t partial_off;
	struct events_view view;
};

static void events_wake(struct events_dev *dev)
{
	/*
	 * wq_has_sleeper() has the full barrier that pairs with the one in
	 * prepare_to_wait() (through set_current_state()): either a waiter
	 * sees the new next_seq, or we see the waiter.
	 */
	if (wq_has_sleeper(&dev->wq))
		wake_up_interruptible_poll(&dev->wq, EPOLLIN | EPOLLRDNORM);
}

static void events_wake_work(struct irq_work *work)
{
	events_wake(container_of(work, struct events_dev, wake_work));
}

/**
 * events_dev_append() - stamp and store one event
 * @dev: the device
 * @msg: payload
 * @len: payload length, 1 to @dev->max_payload
 * @kernel: logged through the in-kernel API rather than write()
 *
 * In task context the record carries the caller's tgid, uid and comm;
 * from interrupt context it carries none.
 *
 * Context: Any context but NMI.
 * Return: the record's sequence number.
 */
u64 events_dev_append(struct events_dev *dev, const char *msg, size_t len,
		      bool kernel)
{
	struct events_rec hdr = {
		.len = len,
		.flags = kernel ? EVENTS_REC_KERNEL : 0,
	};
	char comm[EVENTS_COMM_LEN];
	ktime_t now;

	if (in_task()) {
		/*
		 * Unlocked, like printk's use of current->comm: task_lock()
		 * may not be taken in every context we are called from, and
		 * a comm renamed under us at worst reads as a mix.
		 */
		data_race(memcpy(comm, current->comm, sizeof(comm)));
		hdr.comm_len = strnlen(comm, sizeof(comm));
		hdr.pid = task_tgid_nr(current);
		hdr.uid = __kuid_val(current_uid());
	}
	/* One clock read for both time stamps. */
	now = ktime_get();
	hdr.ts_real = ktime_to_ns(ktime_mono_to_real(now));
	hdr.ts_boot = ktime_to_ns(ktime_mono_to_any(now, TK_OFFS_BOOT));
	return events_ring_append(&dev->ring, &hdr, comm, msg);
}

/**
 * events_dev_kick() - wake readers after a kernel-originated append
 * @dev: the device
 *
 * The wait queue lock is a sleeping lock on PREEMPT_RT and may not be
 * taken from hardirq context there, so the wake-up is deferred to irq_work,
 * as printk defers its console and reader wake-ups.
 *
 * Context: Any context but NMI.
 */
void events_dev_kick(struct events_dev *dev)
{
	if (wq_has_sleeper(&dev->wq))
		irq_work_queue(&dev->wake_work);
}

/* Lockless: a hint only; read() rechecks under the ring lock. */
static bool events_reader_ready(struct events_reader *r)
{
	return READ_ONCE(r->partial) ||
	       atomic64_read(&r->seq) <
	       atomic64_read(&events_dev.ring.next_seq);
}

static void events_reader_set(struct events_reader *r, bool oldest)
{
	struct events_ring *ring = &events_dev.ring;
	unsigned long flags;

	raw_spin_lock_irqsave(&ring->lock, flags);
	if (oldest) {
		atomic64_set(&r->seq, atomic64_read(&ring->head_seq));
		r->pos = ring->head;
	} else {
		atomic64_set(&r->seq, atomic64_read(&ring->next_seq));
		r->pos = ring->tail;
	}
	raw_spin_unlock_irqrestore(&ring->lock, flags);
}

/*
 * Render lines for the reader at @c into @buf, under the ring lock: a loss
 * notice first if the next record was dropped, then records, until @avail
 * is full or @budget bytes are done. Advances @c past what it rendered.
 * If the first line does not fit, returns 0 and its length in *@need.
 * *@more tells whether calling again can render more.
 */
static size_t events_fill(struct events_reader *r, char *buf, size_t avail,
			  size_t budget, struct events_cursor *c,
			  size_t *need, bool *more)
{
	struct events_ring *ring = &events_dev.ring;
	u64 head_seq, next_seq;
	unsigned long flags;
	size_t used = 0, len;

	*more = false;
	raw_spin_lock_irqsave(&ring->lock, flags);
	head_seq = atomic64_read(&ring->head_seq);
	next_seq = atomic64_read(&ring->next_seq);

	if (c->seq < head_seq) {
		len = events_format_loss(buf, avail, c->seq, head_seq - 1,
					 ktime_get_real_ns());
		if (len > avail) {
			*need = len;
			goto out_unlock;
		}
		used = len;
		c->seq = head_seq;
		c->pos = ring->head;
	}

	while (c->seq < next_seq && used < budget) {
		const struct events_rec *rec = events_ring_at(ring, c->pos);

		len = events_format_rec(buf + used, avail - used, rec, c->seq,
					&r->view);
		if (len > avail - used) {
			if (!used)
				*need = len;
			goto out_unlock;
		}
		used += len;
		c->pos += events_rec_size(rec->comm_len, rec->len);
		c->seq++;
	}
	*more = c->seq < next_seq;
out_unlock:
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	return used;
}

static void events_reader_commit(struct events_reader *r,
				 const struct events_cursor *c)
{
	lockdep_assert_held(&r->lock);
	atomic64_set(&r->seq, c->seq);
	r->pos = c->pos;
}

/*
 * A bound on the text the pending records can take, to size the read
 * buffer: four bytes per ring byte (every byte escaped) plus a prefix per
 * record and one for a loss notice. Unlocked reads, so only a hint: a
 * buffer too small for even one line takes events_read_lines()'s slow
 * path, and events_fill() never writes past the real size.
 */
static size_t events_read_size(struct events_reader *r, size_t count)
{
	struct events_ring *ring = &events_dev.ring;
	u64 records = atomic64_read(&ring->next_seq) - atomic64_read(&r->seq);
	u64 est = 4 * (READ_ONCE(ring->tail) - r->pos) +
		  (records + 1) * EVENTS_TEXT_PREFIX_MAX;

	return min3((u64)count, (u64)EVENTS_READ_MAX, est);
}

static ssize_t events_read_partial(struct events_reader *r,
				   struct iov_iter *to)
{
	size_t n = min(iov_iter_count(to), r->partial_len - r->partial_off);

	lockdep_assert_held(&r->lock);
	if (copy_to_iter(r->partial + r->partial_off, n, to) != n)
		return -EFAULT;
	r->partial_off += n;
	if (r->partial_off == r->partial_len) {
		kfree(r->partial);
		WRITE_ONCE(r->partial, NULL);
	}
	return n;
}

/*
 * Copy whole lines to user space. Nothing is consumed unless the copy
 * succeeds. A line longer than @count is returned in pieces: its first
 * @count bytes now, the rest by the following reads.
 */
static ssize_t events_read_lines(struct events_reader *r, struct iov_iter *to)
{
	size_t count = iov_iter_count(to);
	size_t max_line = EVENTS_TEXT_LINE_MAX(events_dev.max_payload);
	struct events_cursor c = {
		.seq = atomic64_read(&r->seq),
		.pos = r->pos,
	};
	size_t size = events_read_size(r, count);
	size_t used = 0, n, need = 0;
	ssize_t ret;
	bool more;
	char *buf;

	lockdep_assert_held(&r->lock);
	buf = kvmalloc(size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	do {
		n = events_fill(r, buf + used, size - used, EVENTS_FILL_BUDGET,
				&c, &need, &more);
		used += n;
	} while (more && used < size);

	if (!used) {
		/* The next line is larger than @size: render it alone. */
		kvfree(buf);
		size = need > count ? max_line : min(count, max_line);
		buf = kvmalloc(size, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
		used = events_fill(r, buf, size, 1, &c, &need, &more);
		if (WARN_ON_ONCE(!used)) {
			ret = -EIO;
			goto out_free;
		}
	}

	if (used > count) {
		char *rest = kmemdup(buf + count, used - count, GFP_KERNEL);

		if (!rest) {
			ret = -ENOMEM;
			goto out_free;
		}
		if (copy_to_iter(buf, count, to) != count) {
			kfree(rest);
			ret = -EFAULT;
			goto out_free;
		}
		r->partial_len = used - count;
		r->partial_off = 0;
		WRITE_ONCE(r->partial, rest);
		used = count;
	} else if (copy_to_iter(buf, used, to) != used) {
		ret = -EFAULT;
		goto out_free;
	}
	events_reader_commit(r, &c);
	ret = used;
out_free:
	kvfree(buf);
	return ret;
}

/*
 * Wait for data without holding the file's mutex, so that a reader
 * blocked here never holds up lseek(), O_NONBLOCK reads or other threads
 * sharing the file; then take the mutex and look again.
 */
static ssize_t events_read_iter(struct kiocb *iocb, struct iov_iter *to)
{
	struct events_reader *r = iocb->ki_filp->private_data;
	bool nonblock = (iocb->ki_filp->f_flags & O_NONBLOCK) ||
			(iocb->ki_flags & IOCB_NOWAIT);
	ssize_t ret;

	if (!iov_iter_count(to))
		return 0;
	for (;;) {
		if (!nonblock &&
		    wait_event_interruptible(events_dev.wq,
					     events_reader_ready(r)))
			return -ERESTARTSYS;

		/*
		 * The mutex is held only while a read copies out, never while
		 * one waits: O_NONBLOCK readers may wait for it too. Only
		 * IOCB_NOWAIT callers may not.
		 */
		if (iocb->ki_flags & IOCB_NOWAIT) {
			if (!mutex_trylock(&r->lock))
				return -EAGAIN;
		} else if (mutex_lock_interruptible(&r->lock)) {
			return -ERESTARTSYS;
		}

		if (r->partial) {
			ret = events_read_partial(r, to);
			break;
		}
		if (events_reader_ready(r)) {
			ret = events_read_lines(r, to);
			break;
		}
		/* Another thread of this file took what we were woken for. */
		mutex_unlock(&r->lock);
		if (nonblock)
			return -EAGAIN;
	}
	mutex_unlock(&r->lock);
	return ret;
}

static ssize_t events_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t count = iov_iter_count(from);
	char stack_buf[EVENTS_STACK_PAYLOAD];
	char *buf = stack_buf;
	ssize_t ret = count;
	size_t len;

	if (!count)
		return 0;
	/* One trailing newline is not part of the event. */
	if (count > (size_t)events_dev.max_payload + 1)
		return -EMSGSIZE;
	if (count > sizeof(stack_buf)) {
		buf = kmalloc(count, GFP_KERNEL);
		if (!buf)
			return -ENOMEM;
	}
	if (!copy_from_iter_full(buf, count, from)) {
		ret = -EFAULT;
		goto out_free;
	}

	len = count;
	if (buf[len - 1] == '\n')
		len--;
	if (len > events_dev.max_payload) {
		ret = -EMSGSIZE;
	} else if (len) {
		events_dev_append(&events_dev, buf, len, false);
		events_wake(&events_dev);
	}
out_free:
	if (buf != stack_buf)
		kfree(buf);
	return ret;
}

static __poll_t events_poll(struct file *file, poll_table *wait)
{
	struct events_reader *r = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;

	poll_wait(file, &events_dev.wq, wait);
	/*
	 * Lockless reads, after poll_wait() queued us: a writer that stores
	 * next_seq after these loads wakes the queue (see events_wake()).
	 */
	if (events_reader_ready(r)) {
		mask |= EPOLLIN | EPOLLRDNORM;
		if (!READ_ONCE(r->partial) &&
		    atomic64_read(&r->seq) <
		    atomic64_read(&events_dev.ring.head_seq))
			mask |= EPOLLPRI;
	}
	return mask;
}

static loff_t events_llseek(struct file *file, loff_t offset, int whence)
{
	struct events_reader *r = file->private_data;

	if (offset)
		return -ESPIPE;
	if (whence != SEEK_SET && whence != SEEK_END)
		return -EINVAL;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	kfree(r->partial);
	WRITE_ONCE(r->partial, NULL);
	events_reader_set(r, whence == SEEK_SET);
	mutex_unlock(&r->lock);
	return 0;
}

static int events_open(struct inode *inode, struct file *file)
{
	struct events_reader *r;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	mutex_init(&r->lock);
	r->view.pid_ns = get_pid_ns(task_active_pid_ns(current));
	r->view.user_ns = file->f_cred->user_ns;
	events_reader_set(r, true);
	file->private_data = r;
	/* Positions are per-reader cursors, not offsets: no pread/pwrite. */
	file->f_mode &= ~(FMODE_PREAD | FMODE_PWRITE);
	return 0;
}

static int events_release(struct inode *inode, struct file *file)
{
	struct events_reader *r = file->private_data;

	kfree(r->partial);
	put_pid_ns(r->view.pid_ns);
	mutex_destroy(&r->lock);
	kfree(r);
	return 0;
}

static const struct file_operations events_fops = {
	.owner		= THIS_MODULE,
	.open		= events_open,
	.release	= events_release,
	.read_iter	= events_read_iter,
	.write_iter	= events_write_iter,
	.poll		= events_poll,
	.llseek		= events_llseek,
};

static struct miscdevice events_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "events",
	.fops	= &events_fops,
};

static int __init events_check_params(void)
{
	if (!max_payload || max_payload > EVENTS_PAYLOAD_LIMIT) {
		pr_err("max_payload=%u is out of range 1..%u\n", max_payload,
		       EVENTS_PAYLOAD_LIMIT);
		return -EINVAL;
	}
	if (ring_size < EVENTS_RING_MIN || ring_size > EVENTS_RING_MAX ||
	    !is_power_of_2(ring_size)) {
		pr_err("ring_size=%u must be a power of two from %u to %u\n",
		       ring_size, EVENTS_RING_MIN, EVENTS_RING_MAX);
		return -EINVAL;
	}
	if (events_rec_size(EVENTS_COMM_LEN, max_payload) > ring_size) {
		pr_err("ring_size=%u cannot hold one event of max_payload=%u\n",
		       ring_size, max_payload);
		return -EINVAL;
	}
	return 0;
}

static int __init events_init(void)
{
	struct events_dev *dev = &events_dev;
	int ret;

	ret = events_check_params();
	if (ret)
		return ret;

	dev->max_payload = max_payload;
	init_waitqueue_head(&dev->wq);
	init_irq_work(&dev->wake_work, events_wake_work);
	raw_spin_lock_init(&dev->fmt_lock);
	dev->fmt_buf = kmalloc(max_payload + 1, GFP_KERNEL);
	if (!dev->fmt_buf)
		return -ENOMEM;

	ret = events_ring_init(&dev->ring, ring_size, 1);
	if (ret)
		goto err_free_fmt;

	events_misc.mode = mode;
	ret = misc_register(&events_misc);
	if (ret)
		goto err_free_ring;
	return 0;

err_free_ring:
	events_ring_free(&dev->ring);
err_free_fmt:
	kfree(dev->fmt_buf);
	return ret;
}

static void __exit events_exit(void)
{
	struct events_dev *dev = &events_dev;

	misc_deregister(&events_misc);
	irq_work_sync(&dev->wake_work);
	events_ring_free(&dev->ring);
	kfree(dev->fmt_buf);
}

module_init(events_init);
module_exit(events_exit);

MODULE_DESCRIPTION("Kernel event bus with history and per-reader cursors");
MODULE_LICENSE("GPL");
