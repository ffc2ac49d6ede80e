/* SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause */
/*
 * libevents - read and write /dev/events.
 *
 * A reader is an opaque handle on one open file of the device, in binary
 * record mode and non-blocking. evl_poll() waits for records and hands each
 * one to a callback; loss records go to a callback of their own. evl_fd()
 * exposes the descriptor for callers with their own epoll loop: when it is
 * readable, call evl_consume().
 *
 * Every function that can fail returns a negative errno value. The library
 * never prints and never exits. See libevents(3).
 */
#ifndef LIBEVENTS_H
#define LIBEVENTS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EVL_DEFAULT_DEVICE	"/dev/events"
#define EVL_COMM_LEN		16

/* struct evl_event.origin */
enum evl_origin {
	EVL_ORIGIN_USER = 0,	/* logged by write(2) */
	EVL_ORIGIN_KERNEL = 1,	/* logged by kernel code */
};

/* One event, valid only during the callback. */
struct evl_event {
	uint64_t seq;
	uint64_t ts_real;		/* CLOCK_REALTIME, ns */
	uint64_t ts_boot;		/* CLOCK_BOOTTIME, ns */
	uint32_t pid;
	uint32_t uid;
	enum evl_origin origin;
	char comm[EVL_COMM_LEN + 1];	/* NUL-terminated */
	const unsigned char *data;	/* payload, not NUL-terminated */
	size_t len;
};

/* Records this reader lost, seq first_seq to last_seq. */
struct evl_loss {
	uint64_t count;
	uint64_t first_seq;
	uint64_t last_seq;
	uint64_t ts_real;		/* when the loss was noticed */
	uint64_t ts_boot;
};

/*
 * Callbacks return 0 to go on; a non-zero value stops evl_poll() or
 * evl_consume(), which return it.
 */
typedef int (*evl_event_fn)(void *ctx, const struct evl_event *ev);
typedef int (*evl_loss_fn)(void *ctx, const struct evl_loss *loss);

/* evl_open() options. Set sz to sizeof(struct evl_opts). */
struct evl_opts {
	size_t sz;
	const char *path;	/* NULL: EVL_DEFAULT_DEVICE */
	evl_event_fn event_cb;	/* may be NULL */
	evl_loss_fn loss_cb;	/* may be NULL: losses are then skipped */
	void *ctx;		/* passed to the callbacks */
	size_t buf_size;	/* read buffer; 0: 64 KiB or the largest record */
};

struct evl_reader;

int evl_open(struct evl_reader **rp, const struct evl_opts *opts);
void evl_close(struct evl_reader *r);
int evl_fd(const struct evl_reader *r);

/*
 * Wait up to timeout_ms (-1: forever) for records, then handle all that
 * are pending. Returns the number of records handled (loss records
 * included), 0 on timeout, a callback's non-zero value, or -errno
 * (-EINTR if a signal interrupted the wait).
 */
int evl_poll(struct evl_reader *r, int timeout_ms);
/* Handle all pending records without waiting. Returns as evl_poll(). */
int evl_consume(struct evl_reader *r);

/* Positioning */
struct evl_seek_result {
	uint64_t next_seq;	/* next record read (after any loss record) */
	int dropped;		/* the history did not reach back that far */
};
int evl_seek_seq(struct evl_reader *r, uint64_t seq,
		 struct evl_seek_result *res);
int evl_seek_time(struct evl_reader *r, uint64_t ts_real_ns,
		  struct evl_seek_result *res);
int evl_seek_start(struct evl_reader *r);	/* oldest retained */
int evl_seek_end(struct evl_reader *r);		/* only new events */

/* Filters */
#define EVL_PATTERN_EXCLUDE	(1U << 0)

struct evl_pattern {
	const char *prefix;	/* the message must start with these bytes */
	size_t len;		/* 0: strlen(prefix) */
	unsigned int flags;	/* EVL_PATTERN_* */
};

#define EVL_FILTER_UID		(1U << 0)
#define EVL_FILTER_NO_KERNEL	(1U << 1)
#define EVL_FILTER_NO_USER	(1U << 2)

struct evl_filter {
	size_t sz;		/* sizeof(struct evl_filter) */
	unsigned int flags;	/* EVL_FILTER_* */
	uint32_t uid;
	size_t nr_patterns;	/* up to 16 */
	const struct evl_pattern *patterns;
};
/* NULL removes the filter. */
int evl_set_filter(struct evl_reader *r, const struct evl_filter *f);

/* Counters */
struct evl_reader_stats {
	size_t sz;
	uint64_t seq;		/* next record this reader reads */
	uint64_t read;
	uint64_t lost;
	uint64_t filtered;
};
struct evl_device_stats {
	size_t sz;
	uint64_t max_payload;
	uint64_t capacity;
	uint64_t used;
	uint64_t records;
	uint64_t first_seq;
	uint64_t next_seq;
	uint64_t written;
	uint64_t dropped;
	uint64_t readers;
	uint64_t reader_bytes;
	uint64_t max_record;
};
int evl_reader_stats(struct evl_reader *r, struct evl_reader_stats *st);
int evl_device_stats(struct evl_reader *r, struct evl_device_stats *st);

/*
 * Log one event: open path (NULL: the default device), write, close.
 * Returns 0 or -errno (-EMSGSIZE: longer than the max_payload parameter).
 */
int evl_log(const char *path, const void *msg, size_t len);
/* Log one event on an already open descriptor. */
int evl_log_fd(int fd, const void *msg, size_t len);

/*
 * A batch of events to log with one system call (EVENTS_IOC_LOG): up to
 * 64 KiB of them, each 8 bytes of header and its payload padded to 8.
 * Events in a batch are logged as they are: no trailing newline is
 * dropped, and they all carry the same time stamp.
 */
struct evl_batch;

struct evl_batch *evl_batch_new(void);	/* NULL and errno on failure */
void evl_batch_free(struct evl_batch *b);
/*
 * Add one event. Returns 0, -EINVAL for len 0, -ENOSPC if the batch has
 * no room left for it (log the batch, then add it again), or -EMSGSIZE
 * if it is too long for any batch.
 */
int evl_batch_add(struct evl_batch *b, const void *msg, size_t len);
size_t evl_batch_count(const struct evl_batch *b);
/*
 * Log the events of the batch on fd (open for writing) and empty it.
 * Returns 0 and, if first_seq is not NULL, the first event's sequence
 * number there; or -errno, with nothing logged and the batch kept
 * (-EMSGSIZE: an event is longer than the max_payload parameter). A
 * module without EVENTS_IOC_LOG gets one write(2) per event instead
 * (write(2) drops one trailing newline; on an error the batch keeps the
 * events not logged yet), and *first_seq is 0.
 */
int evl_batch_log(int fd, struct evl_batch *b, uint64_t *first_seq);

/*
 * Parsers, usable without a device.
 *
 * evl_parse_record() parses the binary record at buf (len bytes available).
 * Returns EVL_REC_EVENT (ev filled, ev->data points into buf) or
 * EVL_REC_LOSS (loss filled), with the record's size in *rec_size;
 * -EAGAIN if len does not hold the whole record; -EINVAL if it is malformed.
 */
#define EVL_REC_EVENT	1
#define EVL_REC_LOSS	2
int evl_parse_record(const void *buf, size_t len, struct evl_event *ev,
		     struct evl_loss *loss, size_t *rec_size);

/*
 * evl_parse_line() parses one text line of the device (without or with its
 * newline) into ev or loss. The message is unescaped into msgbuf (at
 * least len bytes) and ev->data points to it. Returns as evl_parse_record().
 */
int evl_parse_line(const char *line, size_t len, struct evl_event *ev,
		   struct evl_loss *loss, unsigned char *msgbuf);

/*
 * evl_parse_time() reads a time the way people write it: ISO 8601
 * ("2026-11-25T14:00:00Z", "2026-11-25 14:00:00.5+01:00", "2026-11-25";
 * no zone: local time), "-10m"/"-2h"/"-30s"/"-1d"/"-1w" (before now),
 * "now", "today", "yesterday" (local midnight), "@1795607096[.5]".
 * now_ns is CLOCK_REALTIME. Returns 0 and *out_ns, or -EINVAL.
 */
int evl_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns);

/*
 * evl_parse_since(): a decimal number alone is a sequence number
 * (returns EVL_SINCE_SEQ), anything else a time as for evl_parse_time()
 * (returns EVL_SINCE_TIME), or -EINVAL.
 */
#define EVL_SINCE_SEQ	1
#define EVL_SINCE_TIME	2
int evl_parse_since(const char *s, uint64_t now_ns, uint64_t *value);

const char *evl_version(void);

#ifdef __cplusplus
}
#endif

#endif /* LIBEVENTS_H */
