// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libevents: the reader handle, seeking, filters, counters, logging.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <linux/events.h>

#include "libevents.h"

#define EVL_BUF_MIN	(64 * 1024)

struct evl_reader {
	int fd;
	evl_event_fn event_cb;
	evl_loss_fn loss_cb;
	void *ctx;
	unsigned char *buf;
	size_t buf_size;
};

/* The part of a caller's options struct that both sides know. */
#define OPT(o, field, def) \
	((o) && (o)->sz >= offsetof(typeof(*(o)), field) + sizeof((o)->field) ? \
	 (o)->field : (def))

static int dev_stats(int fd, struct events_stats *ks)
{
	memset(ks, 0, sizeof(*ks));
	ks->size = sizeof(*ks);
	return ioctl(fd, EVENTS_IOC_STATS, ks) ? -errno : 0;
}

int evl_open(struct evl_reader **rp, const struct evl_opts *opts)
{
	const char *path = OPT(opts, path, NULL);
	struct events_format_args fmt = {
		.size = sizeof(fmt),
		.format = EVENTS_FORMAT_BINARY,
	};
	struct events_stats ks;
	struct evl_reader *r;
	int err;

	if (!rp || (opts && opts->sz < sizeof(size_t)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->event_cb = OPT(opts, event_cb, NULL);
	r->loss_cb = OPT(opts, loss_cb, NULL);
	r->ctx = OPT(opts, ctx, NULL);
	r->buf_size = OPT(opts, buf_size, (size_t)0);
	r->fd = open(path ? path : EVL_DEFAULT_DEVICE,
		     O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (r->fd < 0) {
		err = -errno;
		goto fail;
	}
	if (ioctl(r->fd, EVENTS_IOC_SET_FORMAT, &fmt)) {
		err = errno == ENOTTY ? -EOPNOTSUPP : -errno;
		goto fail;
	}
	err = dev_stats(r->fd, &ks);
	if (err)
		goto fail;
	if (!r->buf_size)
		r->buf_size = EVL_BUF_MIN;
	if (r->buf_size < ks.max_record)
		r->buf_size = ks.max_record;
	r->buf = malloc(r->buf_size);
	if (!r->buf) {
		err = -ENOMEM;
		goto fail;
	}
	*rp = r;
	return 0;
fail:
	if (r->fd >= 0)
		close(r->fd);
	free(r);
	return err;
}

void evl_close(struct evl_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	free(r->buf);
	free(r);
}

int evl_fd(const struct evl_reader *r)
{
	return r->fd;
}

static int handle(struct evl_reader *r, const unsigned char *p, size_t len,
		  int *count)
{
	while (len) {
		struct evl_event ev;
		struct evl_loss loss;
		size_t size;
		int ret = evl_parse_record(p, len, &ev, &loss, &size);

		if (ret < 0)
			return -EPROTO;
		if (ret == EVL_REC_EVENT && r->event_cb)
			ret = r->event_cb(r->ctx, &ev);
		else if (ret == EVL_REC_LOSS && r->loss_cb)
			ret = r->loss_cb(r->ctx, &loss);
		else
			ret = 0;
		(*count)++;
		if (ret)
			return ret;
		p += size;
		len -= size;
	}
	return 0;
}

int evl_consume(struct evl_reader *r)
{
	int count = 0, empty = 0, ret;

	for (;;) {
		ssize_t n = read(r->fd, r->buf, r->buf_size);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				break;
			if (errno == EINVAL) {
				/* The next record outgrew the buffer. */
				struct events_stats ks;
				unsigned char *nb;

				ret = dev_stats(r->fd, &ks);
				if (ret)
					return ret;
				if (ks.max_record <= r->buf_size)
					return -EINVAL;
				nb = realloc(r->buf, ks.max_record);
				if (!nb)
					return -ENOMEM;
				r->buf = nb;
				r->buf_size = ks.max_record;
				continue;
			}
			return -errno;
		}
		if (n == 0) {
			/* The filter skipped what was pending. */
			if (++empty > 64)
				break;
			continue;
		}
		ret = handle(r, r->buf, n, &count);
		if (ret)
			return ret;
	}
	return count;
}

int evl_poll(struct evl_reader *r, int timeout_ms)
{
	struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
	int n = poll(&pfd, 1, timeout_ms);

	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	return evl_consume(r);
}

static int do_seek(struct evl_reader *r, __u32 whence, uint64_t value,
		   struct evl_seek_result *res)
{
	struct events_seek_args a = {
		.size = sizeof(a),
		.whence = whence,
		.value = value,
	};

	if (ioctl(r->fd, EVENTS_IOC_SEEK, &a))
		return -errno;
	if (res) {
		res->next_seq = a.seq;
		res->dropped = !!(a.result & EVENTS_SEEK_DROPPED);
	}
	return 0;
}

int evl_seek_seq(struct evl_reader *r, uint64_t seq,
		 struct evl_seek_result *res)
{
	return do_seek(r, EVENTS_SEEK_SEQ, seq, res);
}

int evl_seek_time(struct evl_reader *r, uint64_t ts_real_ns,
		  struct evl_seek_result *res)
{
	return do_seek(r, EVENTS_SEEK_TIME, ts_real_ns, res);
}

int evl_seek_start(struct evl_reader *r)
{
	return lseek(r->fd, 0, SEEK_SET) < 0 ? -errno : 0;
}

int evl_seek_end(struct evl_reader *r)
{
	return lseek(r->fd, 0, SEEK_END) < 0 ? -errno : 0;
}

int evl_set_filter(struct evl_reader *r, const struct evl_filter *f)
{
	struct events_pattern kp[EVENTS_FILTER_PATTERNS_MAX];
	struct events_filter_args a = { .size = sizeof(a) };
	size_t i, n = f ? OPT(f, nr_patterns, (size_t)0) : 0;
	const struct evl_pattern *p = f ? OPT(f, patterns, NULL) : NULL;
	unsigned int flags = f ? OPT(f, flags, 0U) : 0;

	if (n > EVENTS_FILTER_PATTERNS_MAX || (n && !p))
		return -EINVAL;
	if (flags & ~(EVL_FILTER_UID | EVL_FILTER_NO_KERNEL |
		      EVL_FILTER_NO_USER))
		return -EINVAL;
	memset(kp, 0, sizeof(kp));
	for (i = 0; i < n; i++) {
		size_t len = p[i].len ? p[i].len : strlen(p[i].prefix);

		if (!len || len > EVENTS_PATTERN_LEN_MAX ||
		    (p[i].flags & ~EVL_PATTERN_EXCLUDE))
			return -EINVAL;
		kp[i].prefix = (uintptr_t)p[i].prefix;
		kp[i].len = len;
		kp[i].flags = p[i].flags & EVL_PATTERN_EXCLUDE ?
			      EVENTS_PATTERN_EXCLUDE : 0;
	}
	if (flags & EVL_FILTER_UID)
		a.flags |= EVENTS_FILTER_UID;
	if (flags & EVL_FILTER_NO_KERNEL)
		a.flags |= EVENTS_FILTER_NO_KERNEL;
	if (flags & EVL_FILTER_NO_USER)
		a.flags |= EVENTS_FILTER_NO_USER;
	a.uid = f ? OPT(f, uid, 0U) : 0;
	a.nr_patterns = n;
	a.patterns = n ? (uintptr_t)kp : 0;
	return ioctl(r->fd, EVENTS_IOC_SET_FILTER, &a) ? -errno : 0;
}

int evl_reader_stats(struct evl_reader *r, struct evl_reader_stats *st)
{
	struct events_reader_stats k = { .size = sizeof(k) };
	struct evl_reader_stats o;

	if (!st || st->sz < sizeof(size_t))
		return -EINVAL;
	if (ioctl(r->fd, EVENTS_IOC_READER_STATS, &k))
		return -errno;
	o.sz = st->sz < sizeof(o) ? st->sz : sizeof(o);
	o.seq = k.seq;
	o.read = k.read;
	o.lost = k.lost;
	o.filtered = k.filtered;
	memcpy(st, &o, o.sz);
	return 0;
}

int evl_device_stats(struct evl_reader *r, struct evl_device_stats *st)
{
	struct evl_device_stats o;
	struct events_stats k;
	int ret;

	if (!st || st->sz < sizeof(size_t))
		return -EINVAL;
	ret = dev_stats(r->fd, &k);
	if (ret)
		return ret;
	o.sz = st->sz < sizeof(o) ? st->sz : sizeof(o);
	o.max_payload = k.max_payload;
	o.capacity = k.capacity;
	o.used = k.used;
	o.records = k.records;
	o.first_seq = k.first_seq;
	o.next_seq = k.next_seq;
	o.written = k.written;
	o.dropped = k.dropped;
	o.readers = k.readers;
	o.reader_bytes = k.reader_bytes;
	o.max_record = k.max_record;
	memcpy(st, &o, o.sz);
	return 0;
}

int evl_log_fd(int fd, const void *msg, size_t len)
{
	ssize_t n;

	do
		n = write(fd, msg, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

int evl_log(const char *path, const void *msg, size_t len)
{
	int fd = open(path ? path : EVL_DEFAULT_DEVICE, O_WRONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = evl_log_fd(fd, msg, len);
	close(fd);
	return ret;
}

struct evl_batch {
	size_t len;
	size_t count;
	/* Entries are read as struct events_entry: keep them aligned. */
	uint64_t buf[EVENTS_LOG_MAX / sizeof(uint64_t)];
};

struct evl_batch *evl_batch_new(void)
{
	return calloc(1, sizeof(struct evl_batch));
}

void evl_batch_free(struct evl_batch *b)
{
	free(b);
}

size_t evl_batch_count(const struct evl_batch *b)
{
	return b->count;
}

int evl_batch_add(struct evl_batch *b, const void *msg, size_t len)
{
	struct events_entry *e;
	size_t size;

	if (!len)
		return -EINVAL;
	if (len > EVENTS_LOG_MAX - sizeof(*e))
		return -EMSGSIZE;
	size = EVENTS_ENTRY_SIZE(len);
	if (size > EVENTS_LOG_MAX - b->len)
		return -ENOSPC;
	e = (struct events_entry *)((char *)b->buf + b->len);
	e->len = len;
	e->flags = 0;
	memcpy(e + 1, msg, len);
	memset((char *)(e + 1) + len, 0, size - sizeof(*e) - len);
	b->len += size;
	b->count++;
	return 0;
}

/*
 * For a module without EVENTS_IOC_LOG: one write(2) per event. On an
 * error the batch keeps the events not logged yet.
 */
static int evl_batch_write(int fd, struct evl_batch *b)
{
	size_t off = 0, done = 0;
	int ret = 0;

	while (off < b->len) {
		const struct events_entry *e =
			(const void *)((const char *)b->buf + off);

		ret = evl_log_fd(fd, e + 1, e->len);
		if (ret)
			break;
		off += EVENTS_ENTRY_SIZE(e->len);
		done++;
	}
	memmove(b->buf, (char *)b->buf + off, b->len - off);
	b->len -= off;
	b->count -= done;
	return ret;
}

int evl_batch_log(int fd, struct evl_batch *b, uint64_t *first_seq)
{
	struct events_log_args a = {
		.size = sizeof(a),
		.entries = (uintptr_t)b->buf,
		.len = b->len,
	};
	int ret;

	if (first_seq)
		*first_seq = 0;
	if (!b->count)
		return 0;
	while ((ret = ioctl(fd, EVENTS_IOC_LOG, &a)) < 0 && errno == EINTR)
		;
	if (ret < 0)
		return errno == ENOTTY ? evl_batch_write(fd, b) : -errno;
	if (first_seq)
		*first_seq = a.seq;
	b->len = 0;
	b->count = 0;
	return 0;
}

const char *evl_version(void)
{
	return LIBEVENTS_VERSION;
}
