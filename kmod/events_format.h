/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Text rendering of events records: one line per record, in the style of
 * /dev/kmsg. The format is documented in Documentation/ABI/testing/dev-events.
 */
#ifndef _EVENTS_FORMAT_H
#define _EVENTS_FORMAT_H

#include <linux/math.h>
#include <linux/types.h>
#include <uapi/linux/events.h>

struct events_rec;
struct pid_namespace;
struct user_namespace;

/*
 * Longest prefix a line can have: sequence (20 digits), time (11 + 1 + 9),
 * origin, pid and uid (10 each), comm with every byte escaped (16 * 4),
 * separators and the newline.
 */
#define EVENTS_TEXT_PREFIX_MAX	160

/* Longest line for a payload of @len bytes: every byte may become \xNN. */
#define EVENTS_TEXT_LINE_MAX(len)	(EVENTS_TEXT_PREFIX_MAX + 4 * (len))

/**
 * struct events_view - whose eyes a record is rendered for
 * @pid_ns: pid namespace of the task that opened the reading file
 * @user_ns: user namespace of the credentials that opened it
 */
struct events_view {
	struct pid_namespace *pid_ns;
	struct user_namespace *user_ns;
};

/* Size of a binary record with a payload of @len bytes. */
#define EVENTS_BIN_SIZE(len) \
	round_up(sizeof(struct events_record) + (len), 8)

/**
 * struct events_loss_info - a loss to report to one reader
 * @first: sequence number of the first record dropped
 * @last: sequence number of the last record dropped
 * @count: how many of them the reader lost (with a filter, only those
 *	   that matched it)
 * @ts_real: CLOCK_REALTIME in ns when the loss was noticed
 * @ts_boot: CLOCK_BOOTTIME in ns at the same moment
 */
struct events_loss_info {
	u64 first;
	u64 last;
	u64 count;
	u64 ts_real;
	u64 ts_boot;
};

size_t events_format_rec(char *buf, size_t avail, const struct events_rec *rec,
			 const char *body, u64 seq,
			 const struct events_view *view);
size_t events_format_loss(char *buf, size_t avail,
			  const struct events_loss_info *loss);
size_t events_format_rec_bin(char *buf, size_t avail,
			     const struct events_rec *rec, const char *body,
			     u64 seq, const struct events_view *view);
size_t events_format_loss_bin(char *buf, size_t avail,
			      const struct events_loss_info *loss);

#endif /* _EVENTS_FORMAT_H */
