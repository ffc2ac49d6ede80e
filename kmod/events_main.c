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

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/poll.h>
#include <linux/rculist.h>
#include <linux/sched.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/uio.h>

#include <uapi/linux/events.h>

#include "events_dev.h"
#include "events_filter.h"
#include "events_format.h"

#define EVENTS_RING_MIN		SZ_4K
#define EVENTS_RING_MAX		SZ_256M
#define EVENTS_PAYLOAD_LIMIT	SZ_64K

/*
 * Records are rendered into a buffer of at most this size and copied out
 * to the reader a buffer at a time; a larger one is allocated only for a
 * record that does not fit.
 */
#define EVENTS_CHUNK		PAGE_SIZE
/* Bytes one read() returns at most, to bound its time; larger reads get less. */
#define EVENTS_READ_MAX		SZ_64K
/* Bytes rendered or skipped per call of events_fill(). */
#define EVENTS_FILL_BUDGET	SZ_8K
/* Writes up to this size are copied in through the stack, larger ones not. */
#define EVENTS_STACK_PAYLOAD	256
/* Ring bytes EVENTS_IOC_LOG stores per hold of the ring lock. */
#define EVENTS_LOG_LOCK_BYTES	SZ_4K

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
 * struct events_cursor - a reader's place in the ring, and what it read
 * @seq: sequence number of the next record to read
 * @pos: ring position of that record, valid while it is retained
 * @matched: with a filter, records at or after its @from that matched it
 *	     and that this reader has passed
 * @read: records delivered
 * @lost: records reported lost
 * @filtered: records skipped by the filter
 *
 * A read works on a copy and commits it only when the copy to user space
 * succeeded, so a read that faults consumes nothing.
 */
struct events_cursor {
	u64 seq;
	u64 pos;
	u64 matched;
	u64 read;
	u64 lost;
	u64 filtered;
};

/**
 * struct events_watch - wake-up and loss state of a file with a filter
 * @node: on events_dev.filtered
 * @rcu: frees this after the last RCU walker of events_dev.filtered
 * @wq: where this file's readers and pollers wait
 * @filter: the filter, NULL for none (after it was removed)
 * @from: sequence number from which @matched_dropped counts
 * @matched_dropped: records at or after @from that matched @filter and
 *		     were dropped
 * @ready_seq: the file has something to read while its cursor is below
 * @wake: a record made this file ready; cleared by whoever wakes @wq
 *
 * Everything but @wq and @wake is protected by the ring lock; @ready_seq
 * is also read without it, as a hint, like the ring's next_seq. Once a
 * file has set a filter it keeps its watch until it is closed, so that no
 * waiter is left on a queue nobody wakes any more.
 */
struct events_watch {
	struct list_head node;
	struct rcu_head rcu;
	struct wait_queue_head wq;
	struct events_filter *filter;
	u64 from;
	u64 matched_dropped;
	atomic64_t ready_seq;
	atomic_t wake;
};

/**
 * struct events_reader - the per-open-file subscriber
 * @lock: serializes read(), llseek() and the ioctls of this file
 * @seq: sequence number of the next record; written under @lock, read
 *	 without it by poll() and wait conditions
 * @cur: the rest of the cursor, protected by @lock
 * @partial: the unread rest of a line a short read began, or NULL;
 *	     written under @lock
 * @partial_len: bytes in @partial, protected by @lock
 * @partial_off: bytes of @partial already read, protected by @lock
 * @format: EVENTS_FORMAT_*, protected by @lock
 * @watch: set once, by the first EVENTS_IOC_SET_FILTER, under @lock and
 *	   the ring lock
 * @view: namespaces of the opener, fixed at open
 */
struct events_reader {
	struct mutex lock;	/* serializes read(), llseek() and ioctls */
	atomic64_t seq;
	struct events_cursor cur;
	char *partial;
	size_t partial_len;
	size_t partial_off;
	u32 format;
	struct events_watch *watch;
	struct events_view view;
};

/* Wake every reader waiting for a record that arrived. */
static void events_wake_now(struct events_dev *dev)
{
	struct events_watch *w;

	/*
	 * wq_has_sleeper() has the full barrier that pairs with the one in
	 * prepare_to_wait() (through set_current_state()): either a waiter
	 * sees the new next_seq, or we see the waiter.
	 */
	if (wq_has_sleeper(&dev->wq))
		wake_up_interruptible_poll(&dev->wq, EPOLLIN | EPOLLRDNORM);

	if (!READ_ONCE(dev->filtered_wake))
		return;
	WRITE_ONCE(dev->filtered_wake, false);
	rcu_read_lock();
	list_for_each_entry_rcu(w, &dev->filtered, node) {
		if (atomic_xchg(&w->wake, 0) && wq_has_sleeper(&w->wq))
			wake_up_interruptible_poll(&w->wq,
						   EPOLLIN | EPOLLRDNORM);
	}
	rcu_read_unlock();
}

/*
 * After two rounds of wake-ups that took T or more, the next round comes
 * no sooner than EVENTS_WAKE_SPACING * T later (and never more than
 * EVENTS_WAKE_GAP_MAX later): waking readers then takes at most a fifth
 * of the time of the CPUs that do it, however many readers there are.
 * One slow round (the waker was interrupted) does not widen the gap.
 */
#define EVENTS_WAKE_SPACING	4
#define EVENTS_WAKE_GAP_MAX	(10 * NSEC_PER_MSEC)

/* Note that a round began at @start and ended now. */
static void events_wake_done(struct events_dev *dev, u64 start)
{
	u64 end = ktime_get_ns(), took = end - start;
	u64 prev = atomic64_xchg(&dev->wake_took, took);

	atomic64_set(&dev->wake_next,
		     end + min(min(took, prev) * EVENTS_WAKE_SPACING,
			       (u64)EVENTS_WAKE_GAP_MAX));
}

/* Have @wake_timer wake the readers once the spacing has passed. */
static void events_wake_later(struct events_dev *dev)
{
	hrtimer_start(&dev->wake_timer,
		      ns_to_ktime(atomic64_read(&dev->wake_next)),
		      HRTIMER_MODE_ABS_SOFT);
}

/*
 * Wake readers after records were appended. Readers that keep up go back
 * to sleep after every record, and waking many sleepers costs a writer
 * far more than its record: so a record that comes while a round of
 * wake-ups runs, or too soon after one, leaves its readers to
 * @wake_timer, which wakes them, with those of every record that came
 * meanwhile, when the spacing above has passed. A record that comes
 * later than that, the common case for events that are not a flood,
 * wakes its readers at once.
 */
static void events_wake(struct events_dev *dev)
{
	u64 now, next;

	/* Pairs with prepare_to_wait(), as in events_wake_now(). */
	if (!wq_has_sleeper(&dev->wq) && !READ_ONCE(dev->filtered_wake))
		return;
	now = ktime_get_ns();
	next = atomic64_read(&dev->wake_next);
	if ((s64)(now - next) < 0 ||
	    !atomic64_try_cmpxchg(&dev->wake_next, &next,
				  now + EVENTS_WAKE_GAP_MAX)) {
		/*
		 * The timer callback clears wake_pending (a full barrier)
		 * before it wakes: either it sees our record, or we see
		 * wake_pending clear and arm the timer again.
		 */
		if (!atomic_xchg(&dev->wake_pending, 1))
			events_wake_later(dev);
		return;
	}
	events_wake_now(dev);
	events_wake_done(dev, now);
	/* Records of this round's writers wait no longer than the spacing. */
	if (atomic_read(&dev->wake_pending))
		events_wake_later(dev);
}

static enum hrtimer_restart events_wake_timer(struct hrtimer *timer)
{
	struct events_dev *dev = container_of(timer, struct events_dev,
					      wake_timer);
	u64 start = ktime_get_ns();

	atomic_xchg(&dev->wake_pending, 0);
	events_wake_now(dev);
	events_wake_done(dev, start);
	return HRTIMER_NORESTART;
}

static void events_wake_work(struct irq_work *work)
{
	events_wake(container_of(work, struct events_dev, wake_work));
}

/* Under the ring lock, for every record appended while filters exist. */
static void events_hook_append(struct events_ring *ring,
			       const struct events_rec *rec, u64 seq)
{
	struct events_dev *dev = ring->hooks_data;
	struct events_watch *w;

	list_for_each_entry(w, &dev->filtered, node) {
		if (!events_filter_match(w->filter, rec, events_rec_comm(rec)))
			continue;
		atomic64_set(&w->ready_seq, seq + 1);
		atomic_set(&w->wake, 1);
		WRITE_ONCE(dev->filtered_wake, true);
	}
}

/* Under the ring lock, for every record dropped while filters exist. */
static void events_hook_drop(struct events_ring *ring,
			     const struct events_rec *rec, u64 seq)
{
	struct events_dev *dev = ring->hooks_data;
	struct events_watch *w;

	list_for_each_entry(w, &dev->filtered, node) {
		if (seq < w->from ||
		    !events_filter_match(w->filter, rec, events_rec_comm(rec)))
			continue;
		w->matched_dropped++;
		if (atomic64_read(&w->ready_seq) <= seq)
			atomic64_set(&w->ready_seq, seq + 1);
	}
}

static const struct events_ring_hooks events_hooks = {
	.append	= events_hook_append,
	.drop	= events_hook_drop,
};

static void events_now(u64 *real, u64 *boot)
{
	/* One clock read for both time stamps. */
	ktime_t now = ktime_get();

	*real = ktime_to_ns(ktime_mono_to_real(now));
	*boot = ktime_to_ns(ktime_mono_to_any(now, TK_OFFS_BOOT));
}

/*
 * Stamp @hdr for an event logged now by the current context, with the
 * writer's name in @comm: in task context the caller's tgid, uid and comm,
 * from interrupt context none.
 */
static __always_inline void events_dev_stamp(struct events_rec *hdr,
					     char comm[EVENTS_COMM_LEN],
					     bool kernel)
{
	memset(hdr, 0, sizeof(*hdr));
	hdr->flags = kernel ? EVENTS_REC_KERNEL : 0;
	if (in_task()) {
		/*
		 * Unlocked, like printk's use of current->comm: task_lock()
		 * may not be taken in every context we are called from, and
		 * a comm renamed under us at worst reads as a mix.
		 */
		data_race(memcpy(comm, current->comm, EVENTS_COMM_LEN));
		hdr->comm_len = strnlen(comm, EVENTS_COMM_LEN);
		hdr->pid = task_tgid_nr(current);
		hdr->uid = __kuid_val(current_uid());
	}
	events_now(&hdr->ts_real, &hdr->ts_boot);
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
	struct events_rec hdr;
	char comm[EVENTS_COMM_LEN];

	events_dev_stamp(&hdr, comm, kernel);
	hdr.len = len;
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
	if (wq_has_sleeper(&dev->wq) || READ_ONCE(dev->filtered_wake))
		irq_work_queue(&dev->wake_work);
}

/* Lockless: a hint only; read() rechecks under the ring lock. */
static bool events_reader_ready(struct events_reader *r)
{
	struct events_watch *w = READ_ONCE(r->watch);
	u64 end;

	if (READ_ONCE(r->partial))
		return true;
	end = w ? atomic64_read(&w->ready_seq) :
		  atomic64_read(&events_dev.ring.next_seq);
	return atomic64_read(&r->seq) < end;
}

static struct wait_queue_head *events_reader_wq(struct events_reader *r)
{
	struct events_watch *w = READ_ONCE(r->watch);

	return w ? &w->wq : &events_dev.wq;
}

/*
 * How many records a reader whose cursor is @c, below the oldest retained
 * record, lost. Without a filter, all of them. With one, those dropped
 * before the filter's accounting began (at @w->from) count whole, and of
 * the later ones those that matched: the ring counted them as they were
 * dropped, and @c->matched says how many of those the reader had passed.
 */
static u64 events_loss_count(const struct events_reader *r,
			     const struct events_cursor *c, u64 head_seq)
{
	struct events_watch *w = r->watch;
	u64 unknown;

	lockdep_assert_held(&events_dev.ring.lock);
	if (!w)
		return head_seq - c->seq;
	unknown = c->seq < w->from ? min(w->from, head_seq) - c->seq : 0;
	if (head_seq <= max(c->seq, w->from))
		return unknown;
	return unknown + w->matched_dropped -
	       (c->seq >= w->from ? c->matched : 0);
}

/* Move @c to the oldest retained record after a loss. */
static void events_cursor_to_head(const struct events_reader *r,
				  struct events_cursor *c)
{
	struct events_ring *ring = &events_dev.ring;

	lockdep_assert_held(&ring->lock);
	c->seq = atomic64_read(&ring->head_seq);
	c->pos = ring->head;
	if (r->watch)
		c->matched = r->watch->matched_dropped;
}

/*
 * Under the ring lock, with @c below the oldest retained record: render
 * the notice of what the reader lost, and move @c to the oldest record.
 * Returns the notice's length, 0 if the reader lost nothing its filter
 * wanted; if the notice does not fit in @avail, leaves @c alone.
 */
static size_t events_fill_loss(struct events_reader *r, char *buf,
			       size_t avail, struct events_cursor *c,
			       u64 head_seq)
{
	struct events_loss_info loss = {
		.first = c->seq,
		.last = head_seq - 1,
		.count = events_loss_count(r, c, head_seq),
	};
	size_t len = 0;

	if (loss.count) {
		events_now(&loss.ts_real, &loss.ts_boot);
		len = r->format == EVENTS_FORMAT_BINARY ?
		      events_format_loss_bin(buf, avail, &loss) :
		      events_format_loss(buf, avail, &loss);
		if (len > avail)
			return len;
		c->lost += loss.count;
	}
	/* The dropped records the filter would have skipped. */
	c->filtered += head_seq - c->seq - loss.count;
	events_cursor_to_head(r, c);
	return len;
}

/*
 * Render the records from @c on that the reader's filter passes, from
 * @snap, into @buf until @avail is full or @budget bytes are done.
 * Advances @c past what it rendered or skipped. If the first record does
 * not fit, stores its size in *@need, if @need is not NULL. Sets *@torn if
 * a header could not be right (a lockless reader raced with a writer).
 */
static size_t events_fill_records(struct events_reader *r,
				  const struct events_ring_snap *snap,
				  char *buf, size_t avail, size_t budget,
				  struct events_cursor *c, size_t *need,
				  bool *torn)
{
	bool binary = r->format == EVENTS_FORMAT_BINARY;
	struct events_filter *filter = r->watch ? r->watch->filter : NULL;
	size_t used = 0, done = 0, len;

	while (c->seq < snap->next_seq && done < budget) {
		struct events_rec hdr;
		const char *body = events_ring_peek(snap, c->pos, &hdr);

		if (!body) {
			*torn = true;
			break;
		}
		if (!events_filter_match(filter, &hdr, body)) {
			/* Skipping costs too: count the header. */
			done += sizeof(hdr);
			c->filtered++;
		} else {
			len = binary ?
			      events_format_rec_bin(buf + used, avail - used,
						    &hdr, body, c->seq,
						    &r->view) :
			      events_format_rec(buf + used, avail - used, &hdr,
						body, c->seq, &r->view);
			if (len > avail - used) {
				if (!used && need)
					*need = len;
				break;
			}
			used += len;
			done += len;
			c->read++;
			if (r->watch)
				c->matched++;
		}
		c->pos += events_rec_size(hdr.comm_len, hdr.len);
		c->seq++;
	}
	return used;
}

/*
 * Render records for the reader at @c into @buf: a loss notice first if
 * records it had not read were dropped, then the records its filter
 * passes, until @avail is full or @budget bytes are done. Advances @c past
 * what it rendered or skipped. If the first item does not fit, returns 0
 * and its size in *@need. *@more tells whether records are left.
 *
 * Records are read without the ring lock and thrown away if a writer
 * dropped them meanwhile. The lock is taken only for a loss, to count it
 * exactly, which is also what such a throw-away means; under the lock the
 * second pass always completes.
 */
static size_t events_fill(struct events_reader *r, char *buf, size_t avail,
			  size_t budget, struct events_cursor *c,
			  size_t *need, bool *more)
{
	struct events_ring *ring = &events_dev.ring;
	struct events_ring_snap snap;
	struct events_cursor start = *c;
	bool torn = false;
	unsigned long flags;
	size_t used;

	*need = 0;
	events_ring_read_begin(ring, &snap);
	if (c->seq >= snap.head_seq) {
		used = events_fill_records(r, &snap, buf, avail, budget, c,
					   need, &torn);
		if (events_ring_read_end(ring, start.seq)) {
			/* Intact, yet with impossible sizes: a bug. */
			WARN_ON_ONCE(torn);
			*more = c->seq < snap.next_seq;
			return used;
		}
		/* Dropped under us: the cursor is behind now. */
		*c = start;
		*need = 0;
	} else {
		events_ring_read_end(ring, c->seq);
	}

	raw_spin_lock_irqsave(&ring->lock, flags);
	snap.mem = events_ring_mem(ring);
	snap.head_seq = atomic64_read(&ring->head_seq);
	snap.next_seq = atomic64_read(&ring->next_seq);
	used = 0;
	torn = false;
	if (c->seq < snap.head_seq) {
		used = events_fill_loss(r, buf, avail, c, snap.head_seq);
		if (used > avail) {
			*need = used;
			used = 0;
			goto out_unlock;
		}
	}
	used += events_fill_records(r, &snap, buf + used, avail - used,
				    budget > used ? budget - used : 0, c,
				    used ? NULL : need, &torn);
out_unlock:
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	WARN_ON_ONCE(torn);
	*more = c->seq < snap.next_seq;
	return used;
}

static void events_reader_commit(struct events_reader *r,
				 const struct events_cursor *c)
{
	lockdep_assert_held(&r->lock);
	r->cur = *c;
	atomic64_set(&r->seq, c->seq);
}

static void events_reader_drop_partial(struct events_reader *r)
{
	lockdep_assert_held(&r->lock);
	kfree(r->partial);
	WRITE_ONCE(r->partial, NULL);
}

/*
 * A bound on the output the pending records can take, to size the read
 * buffer. Text: four bytes per ring byte (every byte escaped) plus a
 * prefix per record and one for a loss notice. Binary: a ring record
 * grows by at most the difference of the headers and the padding.
 * Unlocked reads, so only a hint: a buffer too small for even one record
 * takes events_read_big(), and events_fill() never writes past the real
 * size.
 */
static size_t events_read_size(struct events_reader *r, size_t count)
{
	struct events_ring *ring = &events_dev.ring;
	u64 records = atomic64_read(&ring->next_seq) - atomic64_read(&r->seq);
	u64 bytes = READ_ONCE(ring->tail) - r->cur.pos;
	u64 est;

	if (r->format == EVENTS_FORMAT_BINARY)
		est = bytes + (records + 1) * (sizeof(struct events_record) + 8);
	else
		est = 4 * bytes + (records + 1) * EVENTS_TEXT_PREFIX_MAX;
	return min3((u64)count, (u64)EVENTS_CHUNK, est);
}

static ssize_t events_read_partial(struct events_reader *r,
				   struct iov_iter *to)
{
	size_t n = min(iov_iter_count(to), r->partial_len - r->partial_off);

	lockdep_assert_held(&r->lock);
	if (copy_to_iter(r->partial + r->partial_off, n, to) != n)
		return -EFAULT;
	r->partial_off += n;
	if (r->partial_off == r->partial_len)
		events_reader_drop_partial(r);
	return n;
}

/*
 * Copy out the next item alone, when it does not fit in a chunk or in the
 * reader's buffer. A text line longer than the buffer is returned in
 * pieces: its first bytes now, the rest by the following reads. A binary
 * record longer than the buffer fails the read with -EINVAL. Advances @c
 * past it only if the copy succeeded.
 */
static ssize_t events_read_big(struct events_reader *r, struct iov_iter *to,
			       struct events_cursor *c, size_t need)
{
	size_t count = iov_iter_count(to);
	size_t max_line = r->format == EVENTS_FORMAT_BINARY ?
			  EVENTS_BIN_SIZE(events_dev.max_payload) :
			  EVENTS_TEXT_LINE_MAX(events_dev.max_payload);
	struct events_cursor next = *c;
	size_t size, used;
	ssize_t ret;
	bool more;
	char *buf;

	if (r->format == EVENTS_FORMAT_BINARY && need > count)
		return -EINVAL;
	size = need > count ? max_line : min(count, max_line);
	buf = kvmalloc(size, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	used = events_fill(r, buf, size, 1, &next, &need, &more);
	if (!used) {
		/* It grew into a bigger loss record meanwhile. */
		ret = -EAGAIN;
		goto out_free;
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
	*c = next;
	ret = used;
out_free:
	kvfree(buf);
	return ret;
}

/*
 * Copy whole records to user space, rendering them a chunk at a time.
 * What a chunk holds is consumed only once it reached the reader, so a
 * read that faults consumes nothing, and one that faults after some
 * chunks returns those. Returns 0 if the filter skipped every pending
 * record.
 */
static ssize_t events_read_records(struct events_reader *r,
				   struct iov_iter *to)
{
	size_t chunk = events_read_size(r, iov_iter_count(to));
	struct events_cursor c = r->cur;
	size_t copied = 0, n, need;
	ssize_t ret = 0;
	bool more;
	char *buf;

	lockdep_assert_held(&r->lock);
	buf = kmalloc(chunk, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	do {
		n = events_fill(r, buf, min(chunk, iov_iter_count(to)),
				EVENTS_FILL_BUDGET, &c, &need, &more);
		if (need) {
			/* The next item takes more than is left: stop here. */
			if (copied)
				break;
			ret = events_read_big(r, to, &c, need);
			if (ret <= 0)
				break;
			n = ret;
		} else if (copy_to_iter(buf, n, to) != n) {
			ret = -EFAULT;
			break;
		}
		events_reader_commit(r, &c);
		copied += n;
		/* A filter may skip the whole ring a budget at a time. */
		if (!n)
			cond_resched();
	} while (more && iov_iter_count(to) && copied < EVENTS_READ_MAX &&
		 !r->partial);
	kfree(buf);
	return copied ?: ret;
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
		    wait_event_interruptible(*events_reader_wq(r),
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

		ret = 0;
		if (r->partial)
			ret = events_read_partial(r, to);
		else if (events_reader_ready(r))
			ret = events_read_records(r, to);
		mutex_unlock(&r->lock);
		if (ret && ret != -EAGAIN)
			return ret;
		/*
		 * Another thread of this file took what we were woken for,
		 * or the filter skipped everything that was pending.
		 */
		if (nonblock)
			return -EAGAIN;
	}
}

/*
 * The EVENTS_LOG_MAX buffer kept for copying writes and batches in, or
 * NULL while another call has it. Kept because allocating one per call,
 * which init_on_alloc zeroes, cost a writer as much as logging its events.
 */
static char *events_in_buf_take(struct events_dev *dev)
{
	return xchg(&dev->in_buf, NULL);
}

/* Give back a buffer of EVENTS_LOG_MAX bytes; frees it if one is kept. */
static void events_in_buf_give(struct events_dev *dev, char *buf)
{
	if (cmpxchg(&dev->in_buf, NULL, buf))
		kvfree(buf);
}

static ssize_t events_write_iter(struct kiocb *iocb, struct iov_iter *from)
{
	size_t count = iov_iter_count(from);
	char stack_buf[EVENTS_STACK_PAYLOAD];
	char *buf = stack_buf, *kept = NULL;
	ssize_t ret = count;
	size_t len;

	if (!count)
		return 0;
	/* One trailing newline is not part of the event. */
	if (count > (size_t)events_dev.max_payload + 1)
		return -EMSGSIZE;
	if (count > sizeof(stack_buf)) {
		/* No allocation (and zeroing) per write, unless contended. */
		if (count <= EVENTS_LOG_MAX)
			kept = events_in_buf_take(&events_dev);
		buf = kept ?: kmalloc(count, GFP_KERNEL);
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
	if (kept)
		events_in_buf_give(&events_dev, kept);
	else if (buf != stack_buf)
		kfree(buf);
	return ret;
}

/*
 * Records a reader has lost and not yet been told about, or 0; in
 * *@dropped, all the records dropped under it. For the reader's own ioctls
 * (under its lock) exactly, and for poll() as a hint.
 */
static u64 events_pending_loss(struct events_reader *r, u64 *dropped)
{
	struct events_ring *ring = &events_dev.ring;
	struct events_cursor c = {
		.seq = atomic64_read(&r->seq),
		/*
		 * Written under the file's lock, which poll() does not take:
		 * a stale value only makes EPOLLPRI a moment late or early,
		 * and read() recomputes the loss under that lock.
		 */
		.matched = data_race(r->cur.matched),
	};
	unsigned long flags;
	u64 head_seq, n = 0;

	raw_spin_lock_irqsave(&ring->lock, flags);
	head_seq = atomic64_read(&ring->head_seq);
	if (c.seq < head_seq)
		n = events_loss_count(r, &c, head_seq);
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	*dropped = c.seq < head_seq ? head_seq - c.seq : 0;
	return n;
}

static __poll_t events_poll(struct file *file, poll_table *wait)
{
	struct events_reader *r = file->private_data;
	__poll_t mask = EPOLLOUT | EPOLLWRNORM;
	u64 dropped;

	poll_wait(file, events_reader_wq(r), wait);
	/*
	 * Lockless reads, after poll_wait() queued us: a writer that stores
	 * next_seq after these loads wakes the queue (see events_wake()).
	 */
	if (events_reader_ready(r)) {
		mask |= EPOLLIN | EPOLLRDNORM;
		if (!READ_ONCE(r->partial) &&
		    atomic64_read(&r->seq) <
		    atomic64_read(&events_dev.ring.head_seq) &&
		    (!READ_ONCE(r->watch) || events_pending_loss(r, &dropped)))
			mask |= EPOLLPRI;
	}
	return mask;
}

/* Records visited per hold of the ring lock by events_walk(). */
#define EVENTS_WALK_BATCH	256

typedef bool (*events_walk_fn)(const struct events_rec *rec, u64 seq,
			       void *arg);

/*
 * Walk the retained records from @c until @stop is true for one or the
 * newest is passed, holding the ring lock for EVENTS_WALK_BATCH records at
 * a time. Records dropped while the lock was released are skipped: the
 * walk goes on from the oldest retained one. Leaves @c on the record
 * found, or at the next sequence number; returns whether one was found.
 */
static bool events_walk(struct events_cursor *c, events_walk_fn stop,
			void *arg)
{
	struct events_ring *ring = &events_dev.ring;
	unsigned long flags;
	bool found = false, end;
	u64 next_seq;
	int n;

	for (;;) {
		raw_spin_lock_irqsave(&ring->lock, flags);
		if (c->seq < atomic64_read(&ring->head_seq)) {
			c->seq = atomic64_read(&ring->head_seq);
			c->pos = ring->head;
		}
		next_seq = atomic64_read(&ring->next_seq);
		for (n = 0; n < EVENTS_WALK_BATCH && c->seq < next_seq; n++) {
			const struct events_rec *rec =
				events_ring_at(ring, c->pos);

			if (stop(rec, c->seq, arg)) {
				found = true;
				break;
			}
			c->pos += events_rec_size(rec->comm_len, rec->len);
			c->seq++;
		}
		end = found || c->seq >= next_seq;
		raw_spin_unlock_irqrestore(&ring->lock, flags);
		if (end)
			return found;
		cond_resched();
	}
}

/* A filter, and the last record events_walk() passed that matched it. */
struct events_last_match {
	const struct events_filter *filter;
	bool found;
	u64 seq;
};

static bool events_walk_last_match(const struct events_rec *rec, u64 seq,
				   void *arg)
{
	struct events_last_match *m = arg;

	if (events_filter_match(m->filter, rec, events_rec_comm(rec))) {
		m->found = true;
		m->seq = seq;
	}
	return false;
}

static bool events_walk_to_seq(const struct events_rec *rec, u64 seq,
			       void *target)
{
	return seq >= *(const u64 *)target;
}

static bool events_walk_to_time(const struct events_rec *rec, u64 seq,
				void *ts)
{
	return rec->ts_real >= *(const u64 *)ts;
}

/*
 * After the cursor of a file with a filter moved, or its filter changed:
 * restart the loss accounting at the cursor (records already dropped
 * before it count whole), and find the last retained record after it
 * that the filter passes: the file has something to read until its
 * cursor is past that one. Appends and drops from now on are seen by the
 * ring hooks.
 */
static void events_watch_rebase(struct events_reader *r)
{
	struct events_ring *ring = &events_dev.ring;
	struct events_watch *w = r->watch;
	struct events_last_match m = { .filter = w ? w->filter : NULL };
	struct events_cursor c;
	unsigned long flags;
	u64 head_seq;

	lockdep_assert_held(&r->lock);
	if (!w)
		return;
	raw_spin_lock_irqsave(&ring->lock, flags);
	head_seq = atomic64_read(&ring->head_seq);
	w->from = max(r->cur.seq, head_seq);
	w->matched_dropped = 0;
	r->cur.matched = 0;
	atomic64_set(&w->ready_seq, r->cur.seq < head_seq ? head_seq : 0);
	c = r->cur;
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	events_walk(&c, events_walk_last_match, &m);
	if (!m.found)
		return;
	raw_spin_lock_irqsave(&ring->lock, flags);
	if (atomic64_read(&w->ready_seq) <= m.seq)
		atomic64_set(&w->ready_seq, m.seq + 1);
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	if (wq_has_sleeper(&w->wq))
		wake_up_interruptible_poll(&w->wq, EPOLLIN | EPOLLRDNORM);
}

/* Put the cursor at @c, forgetting any partly read line. */
static void events_reader_move(struct events_reader *r,
			       const struct events_cursor *c)
{
	lockdep_assert_held(&r->lock);
	events_reader_drop_partial(r);
	events_reader_commit(r, c);
	events_watch_rebase(r);
}

static void events_reader_set(struct events_reader *r, bool oldest)
{
	struct events_ring *ring = &events_dev.ring;
	struct events_cursor c = r->cur;
	unsigned long flags;

	raw_spin_lock_irqsave(&ring->lock, flags);
	if (oldest) {
		c.seq = atomic64_read(&ring->head_seq);
		c.pos = ring->head;
	} else {
		c.seq = atomic64_read(&ring->next_seq);
		c.pos = ring->tail;
	}
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	events_reader_move(r, &c);
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
	events_reader_set(r, whence == SEEK_SET);
	mutex_unlock(&r->lock);
	return 0;
}

/* ---- ioctls ---- */

/* Ioctl numbers are matched without their size bits: see the UAPI header. */
#define EVENTS_IOC_NOSIZE(cmd)	((cmd) & ~(_IOC_SIZEMASK << _IOC_SIZESHIFT))

/* Largest argument size accepted, so that the zero check stays cheap. */
#define EVENTS_ARGS_MAX		PAGE_SIZE

static int events_args_size(const void __user *uarg, size_t ksize, u32 *usize)
{
	if (get_user(*usize, (const u32 __user *)uarg))
		return -EFAULT;
	if (*usize < ksize)
		return -EINVAL;
	if (*usize > EVENTS_ARGS_MAX)
		return -E2BIG;
	return 0;
}

/*
 * Copy in an argument structure whose first member is its size: smaller
 * than ours is refused (there is only one version so far), larger is
 * accepted if the bytes we do not know are zero.
 */
static int events_args_in(void *karg, size_t ksize, const void __user *uarg)
{
	u32 usize;
	int ret;

	ret = events_args_size(uarg, ksize, &usize);
	if (ret)
		return ret;
	return copy_struct_from_user(karg, ksize, uarg, usize);
}

/*
 * Copy out a result structure: as much of it as the caller has room for,
 * with the rest of the caller's structure zeroed, and its size field set
 * to the bytes written.
 */
static int events_args_out(void __user *uarg, void *karg, size_t ksize)
{
	u32 usize;
	int ret;

	ret = events_args_size(uarg, ksize, &usize);
	if (ret)
		return ret;
	*(u32 *)karg = ksize;
	if (copy_to_user(uarg, karg, ksize))
		return -EFAULT;
	if (usize > ksize && clear_user(uarg + ksize, usize - ksize))
		return -EFAULT;
	return 0;
}

static long events_ioc_set_format(struct events_reader *r, void __user *uarg)
{
	struct events_format_args args;
	int ret;

	ret = events_args_in(&args, sizeof(args), uarg);
	if (ret)
		return ret;
	if (args.format != EVENTS_FORMAT_TEXT &&
	    args.format != EVENTS_FORMAT_BINARY)
		return -EINVAL;
	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	events_reader_drop_partial(r);
	r->format = args.format;
	mutex_unlock(&r->lock);
	return 0;
}

/*
 * Where a seek to sequence number @args->value lands. Below the oldest
 * retained record the cursor stays below it, so that the next read reports
 * the loss, but never below the first number the ring gave out.
 */
static int events_seek_seq(struct events_cursor *c,
			   struct events_seek_args *args)
{
	struct events_ring *ring = &events_dev.ring;
	u64 head_seq, next_seq, target = args->value;
	unsigned long flags;
	bool walk = false;

	raw_spin_lock_irqsave(&ring->lock, flags);
	head_seq = atomic64_read(&ring->head_seq);
	next_seq = atomic64_read(&ring->next_seq);
	if (target > next_seq) {
		raw_spin_unlock_irqrestore(&ring->lock, flags);
		return -ERANGE;
	}
	target = max(target, ring->first_seq);
	if (target < head_seq) {
		c->seq = target;
		c->pos = ring->head;
		args->result |= EVENTS_SEEK_DROPPED;
	} else if (target == next_seq) {
		c->seq = next_seq;
		c->pos = ring->tail;
	} else {
		/* Walk from the file's own cursor if it is on the way. */
		if (c->seq < head_seq || c->seq > target) {
			c->seq = head_seq;
			c->pos = ring->head;
		}
		walk = true;
	}
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	/* If the target is dropped during the walk, report it lost. */
	if (walk && (!events_walk(c, events_walk_to_seq, &target) ||
		     c->seq > target))
		c->seq = target;
	args->seq = max(c->seq, head_seq);
	return 0;
}

static int events_seek_time(struct events_cursor *c,
			    struct events_seek_args *args)
{
	struct events_ring *ring = &events_dev.ring;
	unsigned long flags;
	bool found;

	raw_spin_lock_irqsave(&ring->lock, flags);
	c->seq = atomic64_read(&ring->head_seq);
	c->pos = ring->head;
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	found = events_walk(c, events_walk_to_time, &args->value);

	raw_spin_lock_irqsave(&ring->lock, flags);
	if (found && c->seq == atomic64_read(&ring->head_seq) &&
	    c->seq > ring->first_seq &&
	    events_ring_at(ring, c->pos)->ts_real > args->value)
		args->result |= EVENTS_SEEK_DROPPED;
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	args->seq = c->seq;
	return 0;
}

static long events_ioc_seek(struct events_reader *r, void __user *uarg)
{
	struct events_seek_args args;
	struct events_cursor c;
	int ret;

	ret = events_args_in(&args, sizeof(args), uarg);
	if (ret)
		return ret;
	if (args.flags ||
	    (args.whence != EVENTS_SEEK_SEQ && args.whence != EVENTS_SEEK_TIME))
		return -EINVAL;
	/* Only outputs: whatever they held is not an error. */
	args.result = 0;
	args.seq = 0;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	c = r->cur;
	if (args.whence == EVENTS_SEEK_SEQ)
		ret = events_seek_seq(&c, &args);
	else
		ret = events_seek_time(&c, &args);
	if (!ret)
		events_reader_move(r, &c);
	mutex_unlock(&r->lock);
	if (ret)
		return ret;
	return events_args_out(uarg, &args, sizeof(args));
}

static long events_ioc_set_filter(struct events_reader *r, void __user *uarg)
{
	struct events_dev *dev = &events_dev;
	struct events_ring *ring = &dev->ring;
	struct events_filter *filter, *old;
	struct events_watch *w = NULL;
	struct events_filter_args args;
	unsigned long flags;
	int ret;

	ret = events_args_in(&args, sizeof(args), uarg);
	if (ret)
		return ret;
	filter = events_filter_from_user(&args, current_user_ns());
	if (IS_ERR(filter))
		return PTR_ERR(filter);

	if (mutex_lock_interruptible(&r->lock)) {
		kfree(filter);
		return -ERESTARTSYS;
	}
	if (!r->watch) {
		w = kzalloc(sizeof(*w), GFP_KERNEL);
		if (!w) {
			mutex_unlock(&r->lock);
			kfree(filter);
			return -ENOMEM;
		}
		init_waitqueue_head(&w->wq);
	}

	raw_spin_lock_irqsave(&ring->lock, flags);
	if (w) {
		list_add_tail_rcu(&w->node, &dev->filtered);
		ring->hooks_data = dev;
		ring->hooks = &events_hooks;
		WRITE_ONCE(r->watch, w);
	}
	old = r->watch->filter;
	r->watch->filter = filter;
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	kfree(old);

	events_watch_rebase(r);
	mutex_unlock(&r->lock);
	return 0;
}

/*
 * Check a batch of entries: whole entries of 1 to max_payload bytes with
 * zero flags, back to back, up to the end. Returns how many, or an error.
 */
static long events_log_check(const char *buf, u32 len)
{
	const struct events_entry *e;
	u32 off = 0;
	long n = 0;

	while (off < len) {
		if (len - off < sizeof(*e))
			return -EINVAL;
		e = (const struct events_entry *)(buf + off);
		if (e->flags || !e->len)
			return -EINVAL;
		if (e->len > events_dev.max_payload)
			return -EMSGSIZE;
		if (EVENTS_ENTRY_SIZE(e->len) > len - off)
			return -EINVAL;
		off += EVENTS_ENTRY_SIZE(e->len);
		n++;
	}
	return n;
}

/*
 * Log a batch of events: the batch is copied in and checked whole first,
 * so that bad input logs nothing. One time stamp and one wake-up serve
 * the whole batch, and the ring lock is held for up to
 * EVENTS_LOG_LOCK_BYTES of records at a time.
 */
static long events_ioc_log(struct file *file, void __user *uarg)
{
	struct events_dev *dev = &events_dev;
	struct events_ring *ring = &dev->ring;
	struct events_log_args args;
	char comm[EVENTS_COMM_LEN];
	struct events_rec hdr;
	unsigned long flags;
	long ret, n, i = 0;
	u32 off = 0, held;
	char *buf;

	if (!(file->f_mode & FMODE_WRITE))
		return -EBADF;
	ret = events_args_in(&args, sizeof(args), uarg);
	if (ret)
		return ret;
	if (args.flags)
		return -EINVAL;
	if (args.len > EVENTS_LOG_MAX)
		return -E2BIG;
	args.count = 0;
	args.seq = 0;
	if (!args.len)
		return events_args_out(uarg, &args, sizeof(args));

	buf = events_in_buf_take(dev) ?: kvmalloc(EVENTS_LOG_MAX, GFP_KERNEL);
	if (!buf)
		return -ENOMEM;
	if (copy_from_user(buf, u64_to_user_ptr(args.entries), args.len)) {
		ret = -EFAULT;
		goto out_free;
	}
	n = events_log_check(buf, args.len);
	if (n < 0) {
		ret = n;
		goto out_free;
	}

	events_dev_stamp(&hdr, comm, false);
	while (i < n) {
		raw_spin_lock_irqsave(&ring->lock, flags);
		for (held = 0; i < n && held < EVENTS_LOG_LOCK_BYTES; i++) {
			const struct events_entry *e = (void *)(buf + off);
			u64 seq;

			hdr.len = e->len;
			seq = events_ring_append_locked(ring, &hdr, comm, e + 1);
			if (!i)
				args.seq = seq;
			held += events_rec_size(hdr.comm_len, hdr.len);
			off += EVENTS_ENTRY_SIZE(e->len);
		}
		raw_spin_unlock_irqrestore(&ring->lock, flags);
	}
	events_wake(dev);
	args.count = n;
	ret = events_args_out(uarg, &args, sizeof(args));
out_free:
	events_in_buf_give(dev, buf);
	return ret;
}

static long events_ioc_reader_stats(struct events_reader *r,
				    void __user *uarg)
{
	struct events_reader_stats st = { 0 };
	u64 lost, dropped;

	if (mutex_lock_interruptible(&r->lock))
		return -ERESTARTSYS;
	lost = events_pending_loss(r, &dropped);
	st.format = r->format;
	st.seq = r->cur.seq;
	st.read = r->cur.read;
	st.lost = r->cur.lost + lost;
	st.filtered = r->cur.filtered + dropped - lost;
	mutex_unlock(&r->lock);
	return events_args_out(uarg, &st, sizeof(st));
}

static void events_get_stats(struct events_stats *st)
{
	struct events_ring *ring = &events_dev.ring;
	unsigned long flags;

	memset(st, 0, sizeof(*st));
	st->max_payload = events_dev.max_payload;
	st->readers = atomic_read(&events_dev.readers);
	st->reader_bytes = sizeof(struct events_reader);
	st->max_record = EVENTS_BIN_SIZE(events_dev.max_payload);

	raw_spin_lock_irqsave(&ring->lock, flags);
	st->capacity = events_ring_mem(ring)->size;
	st->used = ring->tail - ring->head;
	st->first_seq = atomic64_read(&ring->head_seq);
	st->next_seq = atomic64_read(&ring->next_seq);
	st->written = st->next_seq - ring->first_seq;
	st->dropped = ring->dropped;
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	st->records = st->next_seq - st->first_seq;
}

static long events_ioc_stats(void __user *uarg)
{
	struct events_stats st;

	events_get_stats(&st);
	return events_args_out(uarg, &st, sizeof(st));
}

static bool events_ring_size_valid(u64 size, u32 payload)
{
	return size >= EVENTS_RING_MIN && size <= EVENTS_RING_MAX &&
	       is_power_of_2(size) &&
	       events_rec_size(EVENTS_COMM_LEN, payload) <= size;
}

static long events_ioc_resize(void __user *uarg)
{
	struct events_dev *dev = &events_dev;
	struct events_resize_args args;
	int ret;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	ret = events_args_in(&args, sizeof(args), uarg);
	if (ret)
		return ret;
	if (args.flags || !events_ring_size_valid(args.capacity,
						  dev->max_payload))
		return -EINVAL;

	if (mutex_lock_interruptible(&dev->control_lock))
		return -ERESTARTSYS;
	ret = events_ring_resize(&dev->ring, args.capacity);
	if (!ret) {
		/* The ring_size parameter shows the size in use. */
		kernel_param_lock(THIS_MODULE);
		ring_size = args.capacity;
		kernel_param_unlock(THIS_MODULE);
	}
	mutex_unlock(&dev->control_lock);
	return ret;
}

static long events_ioctl(struct file *file, unsigned int cmd,
			 unsigned long arg)
{
	struct events_reader *r = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (EVENTS_IOC_NOSIZE(cmd)) {
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_SET_FORMAT):
		return events_ioc_set_format(r, uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_SEEK):
		return events_ioc_seek(r, uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_SET_FILTER):
		return events_ioc_set_filter(r, uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_READER_STATS):
		return events_ioc_reader_stats(r, uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_LOG):
		return events_ioc_log(file, uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_STATS):
		return events_ioc_stats(uarg);
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_CLEAR):
		if (!capable(CAP_SYS_ADMIN))
			return -EPERM;
		if (arg)
			return -EINVAL;
		events_ring_clear(&events_dev.ring);
		return 0;
	case EVENTS_IOC_NOSIZE(EVENTS_IOC_RESIZE):
		return events_ioc_resize(uarg);
	}
	return -ENOTTY;
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
	mutex_lock(&r->lock);
	events_reader_set(r, true);
	mutex_unlock(&r->lock);
	file->private_data = r;
	/* Positions are per-reader cursors, not offsets: no pread/pwrite. */
	file->f_mode &= ~(FMODE_PREAD | FMODE_PWRITE);
	atomic_inc(&events_dev.readers);
	return 0;
}

static int events_release(struct inode *inode, struct file *file)
{
	struct events_reader *r = file->private_data;
	struct events_dev *dev = &events_dev;
	struct events_watch *w = r->watch;
	unsigned long flags;

	if (w) {
		raw_spin_lock_irqsave(&dev->ring.lock, flags);
		list_del_rcu(&w->node);
		if (list_empty(&dev->filtered))
			dev->ring.hooks = NULL;
		raw_spin_unlock_irqrestore(&dev->ring.lock, flags);
		kfree(w->filter);
		/* events_wake() may still be walking past it. */
		kfree_rcu(w, rcu);
	}
	atomic_dec(&dev->readers);
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
	.unlocked_ioctl	= events_ioctl,
	.compat_ioctl	= compat_ptr_ioctl,
};

/* ---- sysfs: /sys/class/misc/events/ ---- */

static ssize_t events_stat_show(char *buf, size_t offset)
{
	struct events_stats st;

	events_get_stats(&st);
	return sysfs_emit(buf, "%llu\n", *(u64 *)((char *)&st + offset));
}

#define EVENTS_STAT_ATTR(field)						\
static ssize_t events_show_##field(struct device *d,			\
				   struct device_attribute *a, char *buf)	\
{									\
	return events_stat_show(buf, offsetof(struct events_stats, field));\
}									\
static struct device_attribute dev_attr_##field = {			\
	.attr = { .name = #field, .mode = 0444 },			\
	.show = events_show_##field,					\
}

EVENTS_STAT_ATTR(capacity);
EVENTS_STAT_ATTR(used);
EVENTS_STAT_ATTR(records);
EVENTS_STAT_ATTR(first_seq);
EVENTS_STAT_ATTR(next_seq);
EVENTS_STAT_ATTR(written);
EVENTS_STAT_ATTR(dropped);
EVENTS_STAT_ATTR(readers);
EVENTS_STAT_ATTR(reader_bytes);

/* The only 32-bit member. */
static ssize_t max_payload_show(struct device *d, struct device_attribute *a,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", events_dev.max_payload);
}
static DEVICE_ATTR_RO(max_payload);

static struct attribute *events_attrs[] = {
	&dev_attr_capacity.attr,
	&dev_attr_used.attr,
	&dev_attr_records.attr,
	&dev_attr_first_seq.attr,
	&dev_attr_next_seq.attr,
	&dev_attr_written.attr,
	&dev_attr_dropped.attr,
	&dev_attr_readers.attr,
	&dev_attr_reader_bytes.attr,
	&dev_attr_max_payload.attr,
	NULL
};
ATTRIBUTE_GROUPS(events);

static struct miscdevice events_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= "events",
	.fops	= &events_fops,
	.groups	= events_groups,
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
	INIT_LIST_HEAD(&dev->filtered);
	atomic_set(&dev->readers, 0);
	mutex_init(&dev->control_lock);
	init_irq_work(&dev->wake_work, events_wake_work);
	hrtimer_init(&dev->wake_timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_SOFT);
	dev->wake_timer.function = events_wake_timer;
	raw_spin_lock_init(&dev->fmt_lock);
	dev->fmt_buf = kmalloc(max_payload + 1, GFP_KERNEL);
	if (!dev->fmt_buf)
		return -ENOMEM;
	dev->in_buf = kvmalloc(EVENTS_LOG_MAX, GFP_KERNEL);
	if (!dev->in_buf) {
		ret = -ENOMEM;
		goto err_free_fmt;
	}

	ret = events_ring_init(&dev->ring, ring_size, 1);
	if (ret)
		goto err_free_in;

	events_misc.mode = mode;
	ret = misc_register(&events_misc);
	if (ret)
		goto err_free_ring;
	return 0;

err_free_ring:
	events_ring_free(&dev->ring);
err_free_in:
	kvfree(dev->in_buf);
err_free_fmt:
	kfree(dev->fmt_buf);
	return ret;
}

static void __exit events_exit(void)
{
	struct events_dev *dev = &events_dev;

	misc_deregister(&events_misc);
	irq_work_sync(&dev->wake_work);
	hrtimer_cancel(&dev->wake_timer);
	events_ring_free(&dev->ring);
	kvfree(dev->in_buf);
	kfree(dev->fmt_buf);
}

module_init(events_init);
module_exit(events_exit);

MODULE_DESCRIPTION("Kernel event bus with history and per-reader cursors");
MODULE_LICENSE("GPL");
