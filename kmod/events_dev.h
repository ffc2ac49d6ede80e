/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The events device: one ring shared by every writer and every open file,
 * and the wait queue its readers sleep on.
 */
#ifndef _EVENTS_DEV_H
#define _EVENTS_DEV_H

#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/wait.h>

#include "events_ring.h"

/**
 * struct events_dev - the device-wide state
 * @ring:	the records
 * @wq:		readers waiting in read() or registered through poll()/epoll
 * @wake_work:	wakes @wq for writers that may not take its lock (irq
 *		context, and any context on PREEMPT_RT)
 * @wake_timer:	wakes the readers of records that came too soon after a
 *		round of wake-ups
 * @wake_next:	ktime_get_ns() from which a record may wake its readers
 *		at once
 * @wake_took:	how long the last round of wake-ups took, in ns
 * @wake_pending: @wake_timer is armed, or about to be
 * @filtered:	the per-reader wake state of files that have set a filter,
 *		changed under the ring lock, walked under it or under RCU
 * @filtered_wake: set under the ring lock when a record woke one of
 *		@filtered; whoever wakes readers clears it
 * @readers:	open files
 * @control_lock: serializes resizes
 * @max_payload: largest payload in bytes, fixed at load
 * @fmt_lock:	protects @fmt_buf
 * @fmt_buf:	@max_payload + 1 bytes for events_logf() to format into
 * @in_buf:	an EVENTS_LOG_MAX buffer kept for copying in writes and
 *		EVENTS_IOC_LOG batches, or NULL while a call has it; taken
 *		and given back with xchg()/cmpxchg()
 */
struct events_dev {
	struct events_ring ring;
	struct wait_queue_head wq;
	struct irq_work wake_work;
	struct hrtimer wake_timer;
	atomic64_t wake_next;
	atomic64_t wake_took;
	atomic_t wake_pending;
	struct list_head filtered;
	bool filtered_wake;
	atomic_t readers;
	struct mutex control_lock;	/* serializes resizes */
	u32 max_payload;
	raw_spinlock_t fmt_lock;
	char *fmt_buf;
	char *in_buf;
};

extern struct events_dev events_dev;

u64 events_dev_append(struct events_dev *dev, const char *msg, size_t len,
		      bool kernel);
void events_dev_kick(struct events_dev *dev);

#endif /* _EVENTS_DEV_H */
