/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * /dev/events: binary records and ioctls.
 *
 * Documentation/userspace-api/events.rst describes every structure and
 * ioctl here, with its errors.
 *
 * Rules for the argument structures: every one starts with __u32 size,
 * which the caller sets to sizeof() the structure it was built with. The
 * kernel accepts a smaller size as long as it covers the first version of
 * the structure, and a larger one as long as the bytes it does not know
 * are zero (E2BIG otherwise). Results (EVENTS_IOC_READER_STATS,
 * EVENTS_IOC_STATS, and the outputs of EVENTS_IOC_SEEK and EVENTS_IOC_LOG)
 * are written up to the smaller of the two sizes, the rest of a larger
 * caller structure is zeroed whatever it held, and size is set to the
 * number of bytes the kernel wrote. The size bits of the ioctl numbers are not checked: the
 * size field is. Padding and reserved fields must be zero.
 */
#ifndef _UAPI_LINUX_EVENTS_H
#define _UAPI_LINUX_EVENTS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define EVENTS_IOC_MAGIC	0xE6

#define EVENTS_COMM_LEN		16

/* struct events_record.flags */
#define EVENTS_RECORD_KERNEL	(1U << 0)	/* logged by kernel code */
#define EVENTS_RECORD_LOSS	(1U << 1)	/* payload: struct events_loss */

/**
 * struct events_record - header of a binary record
 * @size:	bytes of the whole record: header, payload and padding to a
 *		multiple of 8; the next record starts @size bytes further on
 * @hdr_size:	bytes of this header; the payload starts @hdr_size bytes
 *		after the start of the record
 * @flags:	EVENTS_RECORD_* bits
 * @seq:	sequence number; for a loss record, the first one lost
 * @ts_real:	CLOCK_REALTIME in ns when the event was logged (when the
 *		loss was noticed, for a loss record)
 * @ts_boot:	CLOCK_BOOTTIME in ns at the same moment
 * @pid:	the writer's process id, in the reader's pid namespace; 0 from
 *		interrupt context, in a loss record, or if it does not map
 * @uid:	the writer's user id, in the reader's user namespace; the
 *		overflow uid (65534) if it does not map
 * @payload_len: payload bytes; the padding after them is zero
 * @__pad:	zero
 * @comm:	the writer's command name, zero padded; empty from interrupt
 *		context and in a loss record
 */
struct events_record {
	__u32 size;
	__u16 hdr_size;
	__u16 flags;
	__u64 seq;
	__u64 ts_real;
	__u64 ts_boot;
	__u32 pid;
	__u32 uid;
	__u32 payload_len;
	__u32 __pad;
	char comm[EVENTS_COMM_LEN];
};

/**
 * struct events_loss - payload of a record with EVENTS_RECORD_LOSS
 * @count:	records this reader lost (with a filter: those that matched)
 * @first_seq:	first sequence number of the lost range
 * @last_seq:	last sequence number of the lost range
 */
struct events_loss {
	__u64 count;
	__u64 first_seq;
	__u64 last_seq;
};

/* EVENTS_IOC_SET_FORMAT */
#define EVENTS_FORMAT_TEXT	0	/* one line per record (default) */
#define EVENTS_FORMAT_BINARY	1	/* struct events_record, whole only */

/**
 * struct events_format_args - argument of EVENTS_IOC_SET_FORMAT
 * @size:	sizeof(struct events_format_args)
 * @format:	EVENTS_FORMAT_*
 */
struct events_format_args {
	__u32 size;
	__u32 format;
};

/* struct events_seek_args.whence */
#define EVENTS_SEEK_SEQ		0	/* @value is a sequence number */
#define EVENTS_SEEK_TIME	1	/* @value is CLOCK_REALTIME in ns */

/*
 * struct events_seek_args.result: the history did not reach back that far,
 * records were dropped
 */
#define EVENTS_SEEK_DROPPED	(1U << 0)

/**
 * struct events_seek_args - argument of EVENTS_IOC_SEEK
 * @size:	sizeof(struct events_seek_args)
 * @whence:	EVENTS_SEEK_SEQ or EVENTS_SEEK_TIME
 * @value:	the sequence number, or the time
 * @flags:	zero
 * @result:	out: EVENTS_SEEK_* bits
 * @seq:	out: sequence number of the next record this file reads
 *		(after the loss record, if one comes first)
 */
struct events_seek_args {
	__u32 size;
	__u32 whence;
	__u64 value;
	__u32 flags;
	__u32 result;
	__u64 seq;
};

/* struct events_filter_args.flags */
#define EVENTS_FILTER_UID	(1U << 0)	/* only records written by @uid */
#define EVENTS_FILTER_NO_KERNEL	(1U << 1)	/* no kernel-originated records */
#define EVENTS_FILTER_NO_USER	(1U << 2)	/* no records from write(2) */

/* struct events_pattern.flags */
#define EVENTS_PATTERN_EXCLUDE	(1U << 0)	/* drop records that match */

#define EVENTS_FILTER_PATTERNS_MAX	16
#define EVENTS_PATTERN_LEN_MAX		256

/**
 * struct events_pattern - one message-prefix pattern
 * @prefix:	user pointer to @len bytes the payload must start with
 * @len:	1 to EVENTS_PATTERN_LEN_MAX
 * @flags:	EVENTS_PATTERN_* bits
 *
 * A record passes the patterns if it matches none of the exclude patterns
 * and, when there is at least one include pattern, matches one of them.
 */
struct events_pattern {
	__u64 prefix;
	__u32 len;
	__u32 flags;
};

/**
 * struct events_filter_args - argument of EVENTS_IOC_SET_FILTER
 * @size:	sizeof(struct events_filter_args)
 * @flags:	EVENTS_FILTER_* bits
 * @uid:	with EVENTS_FILTER_UID, a user id in the caller's user namespace
 * @nr_patterns: entries in @patterns, up to EVENTS_FILTER_PATTERNS_MAX
 * @patterns:	user pointer to an array of struct events_pattern
 *
 * Zero flags and no patterns remove the filter.
 */
struct events_filter_args {
	__u32 size;
	__u32 flags;
	__u32 uid;
	__u32 nr_patterns;
	__u64 patterns;
};

/**
 * struct events_reader_stats - result of EVENTS_IOC_READER_STATS
 * @size:	in: room the caller has; out: bytes the kernel wrote
 * @format:	EVENTS_FORMAT_* of this file
 * @seq:	sequence number of the next record this file reads
 * @read:	records read through this file, loss records not counted
 * @lost:	records this file lost (the sum of its loss records' counts,
 *		including the one it is about to read)
 * @filtered:	records its filter skipped
 */
struct events_reader_stats {
	__u32 size;
	__u32 format;
	__u64 seq;
	__u64 read;
	__u64 lost;
	__u64 filtered;
};

/**
 * struct events_stats - result of EVENTS_IOC_STATS
 * @size:	in: room the caller has; out: bytes the kernel wrote
 * @max_payload: largest payload a write may log
 * @capacity:	bytes of the ring
 * @used:	bytes the retained records take in it
 * @records:	records retained
 * @first_seq:	sequence number of the oldest retained record (@next_seq if
 *		there is none)
 * @next_seq:	sequence number the next record gets
 * @written:	records logged since the module was loaded
 * @dropped:	records dropped since then, to make room or by a clear
 * @readers:	open files of the device
 * @reader_bytes: kernel memory one open file takes, without its filter
 * @max_record:	largest binary record, in bytes
 */
struct events_stats {
	__u32 size;
	__u32 max_payload;
	__u64 capacity;
	__u64 used;
	__u64 records;
	__u64 first_seq;
	__u64 next_seq;
	__u64 written;
	__u64 dropped;
	__u64 readers;
	__u64 reader_bytes;
	__u64 max_record;
};

/**
 * struct events_resize_args - argument of EVENTS_IOC_RESIZE
 * @size:	sizeof(struct events_resize_args)
 * @flags:	zero
 * @capacity:	new ring size in bytes, as for the ring_size parameter
 */
struct events_resize_args {
	__u32 size;
	__u32 flags;
	__u64 capacity;
};

/**
 * struct events_entry - one event of a batch for EVENTS_IOC_LOG
 * @len:	payload bytes, 1 to the max_payload module parameter; the
 *		payload follows this header and is logged as it is
 * @flags:	zero
 *
 * The next entry starts EVENTS_ENTRY_SIZE(@len) bytes after this one: the
 * payload is padded to a multiple of 8 bytes, with any bytes.
 */
struct events_entry {
	__u32 len;
	__u32 flags;
};

#define EVENTS_ENTRY_SIZE(len) \
	((sizeof(struct events_entry) + (len) + 7) & ~(__u64)7)

/* Largest batch of entries EVENTS_IOC_LOG takes, in bytes. */
#define EVENTS_LOG_MAX		65536

/**
 * struct events_log_args - argument of EVENTS_IOC_LOG
 * @size:	sizeof(struct events_log_args)
 * @flags:	zero
 * @entries:	user pointer to the batch: whole entries, back to back
 * @len:	bytes of the batch, up to EVENTS_LOG_MAX
 * @count:	out: events logged
 * @seq:	out: sequence number of the first of them; the others have
 *		higher ones, in order (other writers' events may come in
 *		between)
 */
struct events_log_args {
	__u32 size;
	__u32 flags;
	__u64 entries;
	__u32 len;
	__u32 count;
	__u64 seq;
};

/* Per open file. */
#define EVENTS_IOC_SET_FORMAT	_IOW(EVENTS_IOC_MAGIC, 0x01, struct events_format_args)
#define EVENTS_IOC_SEEK		_IOWR(EVENTS_IOC_MAGIC, 0x02, struct events_seek_args)
#define EVENTS_IOC_SET_FILTER	_IOW(EVENTS_IOC_MAGIC, 0x03, struct events_filter_args)
#define EVENTS_IOC_READER_STATS	_IOWR(EVENTS_IOC_MAGIC, 0x04, struct events_reader_stats)
/* Needs a file open for writing. */
#define EVENTS_IOC_LOG		_IOWR(EVENTS_IOC_MAGIC, 0x08, struct events_log_args)

/* Device-wide. CLEAR and RESIZE need CAP_SYS_ADMIN; CLEAR takes no argument. */
#define EVENTS_IOC_STATS	_IOWR(EVENTS_IOC_MAGIC, 0x05, struct events_stats)
#define EVENTS_IOC_CLEAR	_IO(EVENTS_IOC_MAGIC, 0x06)
#define EVENTS_IOC_RESIZE	_IOW(EVENTS_IOC_MAGIC, 0x07, struct events_resize_args)

#endif /* _UAPI_LINUX_EVENTS_H */
