// SPDX-License-Identifier: GPL-2.0
/*
 * The in-kernel API of /dev/events, for kernel-level event tracing.
 */

#include <linux/events.h>
#include <linux/export.h>
#include <linux/hardirq.h>
#include <linux/kernel.h>

#include "events_dev.h"

/**
 * events_log() - log one event from kernel code
 * @msg: the message; need not be NUL-terminated
 * @len: its length in bytes; one trailing newline is dropped
 *
 * The event is stamped and stored like one written to /dev/events, and
 * marked as kernel-originated ('k' in the text stream). In task context it
 * carries the current task's tgid, uid and comm; in interrupt context it
 * carries none. Never sleeps, never allocates and never blocks on readers:
 * the oldest events are dropped when the ring is full.
 *
 * Context: Any context but NMI: process, softirq or hardirq, with or
 * without locks held and interrupts disabled.
 * Return: 0 on success, -EINVAL if the message is empty, -EMSGSIZE if it
 * is longer than the max_payload module parameter, -EOPNOTSUPP in NMI.
 */
int events_log(const char *msg, size_t len)
{
	struct events_dev *dev = &events_dev;

	if (in_nmi())
		return -EOPNOTSUPP;
	if (len && msg[len - 1] == '\n')
		len--;
	if (!len)
		return -EINVAL;
	if (len > dev->max_payload)
		return -EMSGSIZE;

	events_dev_append(dev, msg, len, true);
	events_dev_kick(dev);
	return 0;
}
EXPORT_SYMBOL_GPL(events_log);

/**
 * events_logf() - format and log one event from kernel code
 * @fmt: printf-style format
 * @...: its arguments
 *
 * Like events_log() for the formatted message. Output longer than the
 * max_payload module parameter is truncated to it.
 *
 * Context: Any context but NMI, as for events_log().
 * Return: 0 on success, -EINVAL if the message is empty, -EOPNOTSUPP in
 * NMI.
 */
int events_logf(const char *fmt, ...)
{
	struct events_dev *dev = &events_dev;
	unsigned long flags;
	va_list args;
	size_t len;
	int ret;

	if (in_nmi())
		return -EOPNOTSUPP;

	raw_spin_lock_irqsave(&dev->fmt_lock, flags);
	va_start(args, fmt);
	len = vscnprintf(dev->fmt_buf, dev->max_payload + 1, fmt, args);
	va_end(args);
	ret = events_log(dev->fmt_buf, len);
	raw_spin_unlock_irqrestore(&dev->fmt_lock, flags);
	return ret;
}
EXPORT_SYMBOL_GPL(events_logf);
