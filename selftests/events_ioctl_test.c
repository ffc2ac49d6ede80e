// SPDX-License-Identifier: GPL-2.0
/*
 * events_ioctl_test.c - selftests for the /dev/events ioctls and the
 * binary record format
 *
 * The binary records are parsed by byte offsets written down from the
 * format description (Documentation/userspace-api/events.rst), not
 * through the UAPI structure, and every byte the description does not
 * give a meaning must be zero. The UAPI header is checked against the
 * same offsets at compile time.
 *
 * Like events_test, every test opens its own readers, positions them
 * itself and finds its own events by a marker unique to the process. Tests
 * that clear or resize the ring restore the capacity they found.
 *
 * Run as root with the module loaded. The kernel-origin filter test loads
 * events_api_test.ko from $EVENTS_MODDIR (default /lib/events). The same
 * source builds as a 32-bit program (events_ioctl_test32) to exercise the
 * compat ioctl path.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/events.h>

#include "kselftest_harness.h"
#include "events_util.h"

#define NOBODY		65534
#define OVERFLOW_UID	65534
#define WAIT_MS		5000
#define HDR		64		/* binary record header */
#define LOSS_SIZE	88		/* header and struct events_loss */
#define SYSFS_DIR	"/sys/class/misc/events"

/* The layout the documentation gives, checked against the header. */
#define CHECK_OFF(s, f, o) \
	_Static_assert(offsetof(struct s, f) == (o), #s "." #f " at " #o)
CHECK_OFF(events_record, size, 0);
CHECK_OFF(events_record, hdr_size, 4);
CHECK_OFF(events_record, flags, 6);
CHECK_OFF(events_record, seq, 8);
CHECK_OFF(events_record, ts_real, 16);
CHECK_OFF(events_record, ts_boot, 24);
CHECK_OFF(events_record, pid, 32);
CHECK_OFF(events_record, uid, 36);
CHECK_OFF(events_record, payload_len, 40);
CHECK_OFF(events_record, __pad, 44);
CHECK_OFF(events_record, comm, 48);
_Static_assert(sizeof(struct events_record) == HDR, "record header size");
_Static_assert(sizeof(struct events_loss) == 24, "loss payload size");
_Static_assert(sizeof(struct events_format_args) == 8, "format args");
_Static_assert(sizeof(struct events_seek_args) == 32, "seek args");
_Static_assert(sizeof(struct events_filter_args) == 24, "filter args");
_Static_assert(sizeof(struct events_pattern) == 16, "pattern");
_Static_assert(sizeof(struct events_reader_stats) == 40, "reader stats");
_Static_assert(sizeof(struct events_stats) == 88, "stats");
_Static_assert(sizeof(struct events_resize_args) == 16, "resize args");
CHECK_OFF(events_log_args, entries, 8);
CHECK_OFF(events_log_args, len, 16);
CHECK_OFF(events_log_args, count, 20);
CHECK_OFF(events_log_args, seq, 24);
_Static_assert(sizeof(struct events_log_args) == 32, "log args");
_Static_assert(sizeof(struct events_entry) == 8, "log entry");

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static void *bad_ptr(uintptr_t v)
{
	volatile uintptr_t x = v;

	return (void *)x;
}

static uint64_t now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint64_t u64ptr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

static size_t align8(size_t n)
{
	return (n + 7) & ~(size_t)7;
}

/* ioctl(); returns 0 or the errno. */
static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static int set_format(int fd, uint32_t format)
{
	struct events_format_args a = { .size = sizeof(a), .format = format };

	return xioctl(fd, EVENTS_IOC_SET_FORMAT, &a);
}

static int seek_to(int fd, uint32_t whence, uint64_t value,
		   struct events_seek_args *out)
{
	struct events_seek_args a = {
		.size = sizeof(a), .whence = whence, .value = value,
	};
	int ret = xioctl(fd, EVENTS_IOC_SEEK, &a);

	if (out)
		*out = a;
	return ret;
}

static int dev_stats(int fd, struct events_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return xioctl(fd, EVENTS_IOC_STATS, st);
}

static int rd_stats(int fd, struct events_reader_stats *st)
{
	memset(st, 0, sizeof(*st));
	st->size = sizeof(*st);
	return xioctl(fd, EVENTS_IOC_READER_STATS, st);
}

static int resize_ring(int fd, uint64_t cap)
{
	struct events_resize_args a = { .size = sizeof(a), .capacity = cap };

	return xioctl(fd, EVENTS_IOC_RESIZE, &a);
}

/* A filter of up to four patterns given as "+prefix" or "-prefix". */
static int set_filter(int fd, uint32_t flags, uint32_t uid,
		      const char *const *pats, unsigned int n)
{
	struct events_pattern p[EVENTS_FILTER_PATTERNS_MAX] = { { 0 } };
	struct events_filter_args a = {
		.size = sizeof(a), .flags = flags, .uid = uid,
		.nr_patterns = n, .patterns = n ? u64ptr(p) : 0,
	};
	unsigned int i;

	for (i = 0; i < n; i++) {
		p[i].prefix = u64ptr(pats[i] + 1);
		p[i].len = strlen(pats[i] + 1);
		p[i].flags = pats[i][0] == '-' ? EVENTS_PATTERN_EXCLUDE : 0;
	}
	return xioctl(fd, EVENTS_IOC_SET_FILTER, &a);
}

/* ---- binary records, parsed from the documented layout ---------------- */

struct brec {
	uint32_t size;
	uint16_t hdr_size;
	uint16_t flags;
	uint64_t seq;
	uint64_t ts_real;
	uint64_t ts_boot;
	uint32_t pid;
	uint32_t uid;
	uint32_t payload_len;
	char comm[EV_COMM_MAX];
	const uint8_t *payload;
	/* loss records */
	uint64_t count;
	uint64_t first_seq;
	uint64_t last_seq;
};

static uint16_t ld16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t ld32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t ld64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* Parse one record at p (n bytes available). Returns 0 or -1 with err. */
static int parse_bin(const uint8_t *p, size_t n, struct brec *r,
		     char *err, size_t errlen)
{
	size_t i, nul;

	memset(r, 0, sizeof(*r));
	if (n < HDR) {
		snprintf(err, errlen, "torn record: %zu bytes left", n);
		return -1;
	}
	r->size = ld32(p);
	r->hdr_size = ld16(p + 4);
	r->flags = ld16(p + 6);
	r->seq = ld64(p + 8);
	r->ts_real = ld64(p + 16);
	r->ts_boot = ld64(p + 24);
	r->pid = ld32(p + 32);
	r->uid = ld32(p + 36);
	r->payload_len = ld32(p + 40);
	if (r->hdr_size != HDR) {
		snprintf(err, errlen, "hdr_size %u", r->hdr_size);
		return -1;
	}
	if (r->size % 8 || r->size < HDR || r->size > n) {
		snprintf(err, errlen, "size %u (%zu bytes left)", r->size, n);
		return -1;
	}
	if (r->size != align8(HDR + (size_t)r->payload_len)) {
		snprintf(err, errlen, "size %u for payload_len %u", r->size,
			 r->payload_len);
		return -1;
	}
	if (ld32(p + 44)) {
		snprintf(err, errlen, "__pad 0x%x", ld32(p + 44));
		return -1;
	}
	if ((r->flags & ~(EVENTS_RECORD_KERNEL | EVENTS_RECORD_LOSS)) ||
	    r->flags == (EVENTS_RECORD_KERNEL | EVENTS_RECORD_LOSS)) {
		snprintf(err, errlen, "flags 0x%x", r->flags);
		return -1;
	}
	if (!r->seq) {
		snprintf(err, errlen, "seq 0");
		return -1;
	}
	for (nul = 0; nul < EVENTS_COMM_LEN && p[48 + nul]; nul++)
		;
	if (nul == EVENTS_COMM_LEN) {
		snprintf(err, errlen, "comm without NUL");
		return -1;
	}
	for (i = nul; i < EVENTS_COMM_LEN; i++)
		if (p[48 + i]) {
			snprintf(err, errlen, "comm byte %zu after NUL is 0x%02x",
				 i, p[48 + i]);
			return -1;
		}
	memcpy(r->comm, p + 48, nul + 1);
	for (i = HDR + r->payload_len; i < r->size; i++)
		if (p[i]) {
			snprintf(err, errlen, "padding byte %zu is 0x%02x", i,
				 p[i]);
			return -1;
		}
	r->payload = p + HDR;
	if (r->flags & EVENTS_RECORD_LOSS) {
		if (r->payload_len != 24 || r->size != LOSS_SIZE || r->pid ||
		    r->uid || nul) {
			snprintf(err, errlen,
				 "loss record: len %u size %u pid %u uid %u comm '%s'",
				 r->payload_len, r->size, r->pid, r->uid, r->comm);
			return -1;
		}
		r->count = ld64(p + HDR);
		r->first_seq = ld64(p + HDR + 8);
		r->last_seq = ld64(p + HDR + 16);
		if (r->first_seq != r->seq || r->last_seq < r->first_seq ||
		    !r->count || r->count > r->last_seq - r->first_seq + 1) {
			snprintf(err, errlen,
				 "loss record seq %" PRIu64 ": count %" PRIu64
				 " range %" PRIu64 "-%" PRIu64, r->seq, r->count,
				 r->first_seq, r->last_seq);
			return -1;
		}
	} else if (!r->payload_len) {
		snprintf(err, errlen, "empty payload");
		return -1;
	}
	return 0;
}

static bool brec_is(const struct brec *r, const char *msg)
{
	return !(r->flags & EVENTS_RECORD_LOSS) &&
	       r->payload_len == strlen(msg) &&
	       !memcmp(r->payload, msg, r->payload_len);
}

static bool brec_has_prefix(const struct brec *r, const char *pfx)
{
	size_t n = strlen(pfx);

	return !(r->flags & EVENTS_RECORD_LOSS) && r->payload_len >= n &&
	       !memcmp(r->payload, pfx, n);
}

/* A binary reader: every read(2) must return whole records only. */
struct brd {
	int fd;
	uint8_t *buf;
	size_t cap;
	size_t off;
	size_t len;
	size_t rdsize;		/* count passed to read(2); 0: cap */
	char err[EV_ERR_MAX];
};

static int brd_init(struct brd *b, int fd, size_t cap)
{
	memset(b, 0, sizeof(*b));
	b->fd = fd;
	b->cap = cap;
	b->buf = malloc(cap);
	if (fd < 0 || !b->buf)
		return -1;
	return set_format(fd, EVENTS_FORMAT_BINARY) ? -1 : 0;
}

static void brd_free(struct brd *b)
{
	if (b->fd >= 0)
		close(b->fd);
	free(b->buf);
	b->buf = NULL;
}

/*
 * Next record: 1 and *r (valid until the next call), 0 if none arrived
 * within timeout_ms, -1 with b->err on an error or a malformed record.
 */
static int brd_next(struct brd *b, int timeout_ms, struct brec *r)
{
	int64_t end = ev_now_ms() + timeout_ms;

	if (b->off >= b->len) {
		for (;;) {
			struct pollfd p = { .fd = b->fd, .events = POLLIN };
			int64_t left;
			ssize_t n = read(b->fd, b->buf,
					 b->rdsize ? b->rdsize : b->cap);

			if (n > 0) {
				b->off = 0;
				b->len = n;
				break;
			}
			if (n == 0 || errno != EAGAIN) {
				snprintf(b->err, sizeof(b->err), "read: %zd %s",
					 n, n ? strerror(errno) : "EOF");
				return -1;
			}
			left = end - ev_now_ms();
			if (left <= 0)
				return 0;
			poll(&p, 1, left > 100 ? 100 : (int)left);
		}
	}
	if (parse_bin(b->buf + b->off, b->len - b->off, r, b->err,
		      sizeof(b->err)))
		return -1;
	b->off += r->size;
	return 1;
}

/* Seek the file and forget the records read ahead into the buffer. */
static int bseek(struct brd *b, uint32_t whence, uint64_t value,
		 struct events_seek_args *out)
{
	b->off = b->len = 0;
	return seek_to(b->fd, whence, value, out);
}

#define BNEXT(b, tmo, r) do {							\
	int __ret = brd_next((b), (tmo), (r));					\
	ASSERT_EQ(1, __ret) TH_LOG("no record within %d ms: %s", (int)(tmo),	\
				   __ret ? (b)->err : "timeout");		\
} while (0)

#define BNEXT_MSG(b, tmo, msg) do {						\
	struct brec __r;							\
	BNEXT(b, tmo, &__r);							\
	EXPECT_TRUE(brec_is(&__r, (msg)))					\
		TH_LOG("got seq %" PRIu64 " flags %u '%.*s', want '%s'",	\
		       __r.seq, __r.flags, (int)__r.payload_len,		\
		       (const char *)__r.payload, (msg));			\
} while (0)

/* Text lines */
#define NEXT_REC(rd, tmo, rec) do {						\
	const char *__l;							\
	size_t __n;								\
	char __e[EV_ERR_MAX];							\
	int __ret = evr_next((rd), (tmo), &__l, &__n);				\
	ASSERT_EQ(1, __ret)							\
		TH_LOG("no line within %d ms (ret %d: %s)", (int)(tmo),	\
		       __ret, __ret < 0 ? strerror(errno) : "timeout");	\
	ASSERT_EQ(0, ev_parse(__l, __n, (rec), __e, sizeof(__e)))		\
		TH_LOG("bad line '%.*s': %s", (int)__n - 1, __l, __e);		\
} while (0)

/* ---- module and sysfs helpers --------------------------------------- */

static const char *moddir(void)
{
	const char *d = getenv("EVENTS_MODDIR");

	return d && *d ? d : "/lib/events";
}

/* insmod events_api_test.ko with params, then rmmod it; 0 or errno. */
static int run_api_test(const char *params)
{
	char path[512];
	int fd, ret = 0;

	snprintf(path, sizeof(path), "%s/events_api_test.ko", moddir());
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (syscall(SYS_finit_module, fd, params, 0))
		ret = errno;
	close(fd);
	if (!ret && syscall(SYS_delete_module, "events_api_test", O_NONBLOCK))
		ret = errno;
	return ret;
}

/* A sysfs attribute of the device: one decimal number and a newline. */
static int sysfs_u64(const char *name, uint64_t *v)
{
	char path[256], buf[128], *end;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), SYSFS_DIR "/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 2 || buf[n - 1] != '\n')
		return -1;
	buf[n - 1] = '\0';
	if (buf[0] < '0' || buf[0] > '9' || (buf[0] == '0' && n > 2))
		return -1;
	errno = 0;
	*v = strtoull(buf, &end, 10);
	return errno || *end ? -1 : 0;
}

/* Drop CAP_SYS_ADMIN from every set (the uid stays 0). */
static int drop_sys_admin(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct d[2];

	if (syscall(SYS_capget, &h, d))
		return -1;
	d[CAP_SYS_ADMIN / 32].effective &= ~(1U << (CAP_SYS_ADMIN % 32));
	d[CAP_SYS_ADMIN / 32].permitted &= ~(1U << (CAP_SYS_ADMIN % 32));
	d[CAP_SYS_ADMIN / 32].inheritable &= ~(1U << (CAP_SYS_ADMIN % 32));
	return syscall(SYS_capset, &h, d) ? -1 : 0;
}

static int drop_to_uid(uid_t uid)
{
	if (setgroups(0, NULL) || setgid(uid) || setuid(uid))
		return -1;
	return 0;
}

/* Fork a child that becomes uid and writes msg through fd. */
static int write_as(int fd, uid_t uid, const char *msg)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (drop_to_uid(uid))
			_exit(90);
		_exit(ev_write_str(fd, msg) == (long)strlen(msg) ? 0 : 91);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* ---- fixture --------------------------------------------------------- */

FIXTURE(ioctl) {
	int fd;			/* O_RDWR, at the end, text format */
	struct events_stats st;	/* at setup */
	size_t rcap;		/* read buffer for binary records */
	size_t tcap;		/* read buffer for text lines */
	char mark[64];
};

#define IOCTL_SETUP() do {							\
	self->fd = open(EV_DEV, O_RDWR | O_CLOEXEC);				\
	if (self->fd < 0 && errno == ENOENT)					\
		SKIP(return, EV_DEV " missing; module not loaded?");		\
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));		\
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_END));				\
	ASSERT_EQ(0, dev_stats(self->fd, &self->st));				\
	self->rcap = 4 * self->st.max_record;					\
	self->tcap = 4 * self->st.max_payload + 65536;				\
	ev_marker(self->mark, sizeof(self->mark), "i");				\
} while (0)

FIXTURE_SETUP(ioctl)
{
	IOCTL_SETUP();
}

FIXTURE_TEARDOWN(ioctl)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* A binary reader positioned at the end. */
#define OPEN_BRD(b, self) do {							\
	ASSERT_EQ(0, brd_init((b), ev_open_live(O_RDONLY | O_NONBLOCK),		\
			      (self)->rcap));					\
} while (0)

#define WRITE(fd, msg) \
	ASSERT_EQ((long)strlen(msg), ev_write_str((fd), (msg)))

/* ---- SET_FORMAT and the binary records ------------------------------- */

/* Every field of user records; payload lengths across the padding. */
TEST_F(ioctl, binary_user_records)
{
	static const char comm[] = "evbin,x;y";
	uint64_t rb, ra, bb, ba, prev_seq = 0;
	char msg[20][160];
	struct brd b;
	struct brec r;
	int i;

	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	OPEN_BRD(&b, self);
	rb = now_ns(CLOCK_REALTIME);
	bb = now_ns(CLOCK_BOOTTIME);
	for (i = 0; i < 20; i++) {
		int n = snprintf(msg[i], sizeof(msg[i]), "b%s", self->mark);

		/* payload lengths len0 .. len0 + 19: every padding amount */
		memset(msg[i] + n, 'a' + i, i);
		msg[i][n + i] = '\0';
		WRITE(self->fd, msg[i]);
	}
	ra = now_ns(CLOCK_REALTIME);
	ba = now_ns(CLOCK_BOOTTIME);
	for (i = 0; i < 20; i++) {
		BNEXT(&b, WAIT_MS, &r);
		EXPECT_TRUE(brec_is(&r, msg[i])) TH_LOG("record %d", i);
		EXPECT_EQ(0, r.flags);
		if (i) {
			EXPECT_EQ(prev_seq + 1, r.seq);
		}
		prev_seq = r.seq;
		EXPECT_EQ((uint32_t)getpid(), r.pid);
		EXPECT_EQ(getuid(), r.uid);
		EXPECT_STREQ(comm, r.comm);
		EXPECT_LE(rb, r.ts_real);
		EXPECT_GE(ra, r.ts_real);
		EXPECT_LE(bb, r.ts_boot);
		EXPECT_GE(ba, r.ts_boot);
		EXPECT_EQ(align8(HDR + strlen(msg[i])), r.size);
	}
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	brd_free(&b);
}

/* Bytes after the payload, __pad and comm after its NUL are zero. */
TEST_F(ioctl, binary_zero_padding)
{
	static const char *const comms[] = {
		"abcdefghijklmno", "a", "abcdefgh", "x",
	};
	char msg[128];
	struct brd b;
	struct brec r;
	unsigned int i;

	OPEN_BRD(&b, self);
	/* A long name, then shorter ones: stale bytes would show. */
	for (i = 0; i < 4; i++) {
		ASSERT_EQ(0, prctl(PR_SET_NAME, comms[i]));
		snprintf(msg, sizeof(msg), "z%s%.*s", self->mark, (int)i, "123");
		WRITE(self->fd, msg);
	}
	for (i = 0; i < 4; i++) {
		snprintf(msg, sizeof(msg), "z%s%.*s", self->mark, (int)i, "123");
		BNEXT(&b, WAIT_MS, &r);	/* the parser checks every zero */
		EXPECT_TRUE(brec_is(&r, msg));
		EXPECT_STREQ(comms[i], r.comm);
	}
	brd_free(&b);
}

/* Whole records only; a buffer too small for the next one: EINVAL. */
TEST_F(ioctl, binary_read_sizes)
{
	char msg[3][128], *buf = malloc(self->rcap);
	struct brec r;
	size_t s0, s1;
	ssize_t n;
	char e[EV_ERR_MAX];
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_NE(NULL, buf);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, set_format(fd, EVENTS_FORMAT_BINARY));
	EXPECT_EQ(-1, read(fd, buf, self->rcap));
	EXPECT_EQ(EAGAIN, errno);
	snprintf(msg[0], sizeof(msg[0]), "rs %s one", self->mark);
	snprintf(msg[1], sizeof(msg[1]), "rs %s second", self->mark);
	snprintf(msg[2], sizeof(msg[2]), "rs %s third record", self->mark);
	for (n = 0; n < 3; n++)
		WRITE(self->fd, msg[n]);
	s0 = align8(HDR + strlen(msg[0]));
	s1 = align8(HDR + strlen(msg[1]));

	EXPECT_EQ(-1, read(fd, buf, HDR - 1));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, read(fd, buf, s0 - 1));
	EXPECT_EQ(EINVAL, errno);
	/* one and a half records: just the first */
	n = read(fd, buf, s0 + s1 / 2);
	ASSERT_EQ((ssize_t)s0, n);
	ASSERT_EQ(0, parse_bin((uint8_t *)buf, n, &r, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(brec_is(&r, msg[0]));
	/* exactly the second */
	n = read(fd, buf, s1);
	ASSERT_EQ((ssize_t)s1, n);
	ASSERT_EQ(0, parse_bin((uint8_t *)buf, n, &r, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(brec_is(&r, msg[1]));
	/* EFAULT consumes nothing either */
	EXPECT_EQ(-1, read(fd, bad_ptr(1), self->rcap));
	EXPECT_EQ(EFAULT, errno);
	n = read(fd, buf, self->rcap);
	ASSERT_EQ((ssize_t)align8(HDR + strlen(msg[2])), n);
	ASSERT_EQ(0, parse_bin((uint8_t *)buf, n, &r, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(brec_is(&r, msg[2]));
	EXPECT_EQ(0, ev_pending(fd));
	close(fd);
	free(buf);
}

/* The largest payload gives a record of exactly max_record bytes. */
TEST_F(ioctl, binary_max_record)
{
	size_t P = self->st.max_payload;
	char *msg = malloc(P + 1);
	struct brd b;
	struct brec r;

	ASSERT_NE(NULL, msg);
	EXPECT_EQ(align8(HDR + P), self->st.max_record);
	memset(msg, 'M', P);
	memcpy(msg, self->mark, strlen(self->mark) < P ? strlen(self->mark) : P);
	msg[P] = '\0';
	OPEN_BRD(&b, self);
	WRITE(self->fd, msg);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(self->st.max_record, r.size);
	EXPECT_TRUE(brec_is(&r, msg));
	brd_free(&b);
	free(msg);
}

TEST_F(ioctl, set_format_errors)
{
	struct events_format_args a = { .size = sizeof(a) };
	struct events_reader_stats rs;
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	a.format = 2;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SET_FORMAT, &a));
	a.format = ~0U;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SET_FORMAT, &a));
	EXPECT_EQ(EFAULT, xioctl(fd, EVENTS_IOC_SET_FORMAT, NULL));
	EXPECT_EQ(EFAULT, xioctl(fd, EVENTS_IOC_SET_FORMAT, bad_ptr(16)));
	ASSERT_EQ(0, rd_stats(fd, &rs));
	EXPECT_EQ(EVENTS_FORMAT_TEXT, rs.format) TH_LOG("a failed call changed it");
	EXPECT_EQ(0, set_format(fd, EVENTS_FORMAT_BINARY));
	ASSERT_EQ(0, rd_stats(fd, &rs));
	EXPECT_EQ(EVENTS_FORMAT_BINARY, rs.format);
	a.format = 7;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SET_FORMAT, &a));
	ASSERT_EQ(0, rd_stats(fd, &rs));
	EXPECT_EQ(EVENTS_FORMAT_BINARY, rs.format);
	EXPECT_EQ(0, set_format(fd, EVENTS_FORMAT_TEXT));
	ASSERT_EQ(0, rd_stats(fd, &rs));
	EXPECT_EQ(EVENTS_FORMAT_TEXT, rs.format);
	close(fd);
}

/* Switching formats drops the rest of a partly read line, never a record. */
TEST_F(ioctl, format_switch_discards_partial_line)
{
	char m1[128], m2[128], m3[128], buf[8];
	struct ev_reader tr;
	struct ev_rec rec;
	struct brd b;
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	snprintf(m1, sizeof(m1), "sw %s one", self->mark);
	snprintf(m2, sizeof(m2), "sw %s two", self->mark);
	snprintf(m3, sizeof(m3), "sw %s three", self->mark);
	WRITE(self->fd, m1);
	WRITE(self->fd, m2);
	WRITE(self->fd, m3);
	ASSERT_EQ((ssize_t)sizeof(buf), read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, brd_init(&b, fd, self->rcap));
	b.rdsize = align8(HDR + strlen(m2));	/* that record alone */
	BNEXT_MSG(&b, WAIT_MS, m2);
	EXPECT_EQ(b.len, b.rdsize);
	/* and back: a whole line, the third record */
	ASSERT_EQ(0, set_format(fd, EVENTS_FORMAT_TEXT));
	ASSERT_EQ(0, evr_init(&tr, fd, self->tcap));
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, m3));
	ev_rec_free(&rec);
	evr_free(&tr);
	brd_free(&b);
}

/* ---- sizes of the argument structures -------------------------------- */

struct sized_case {
	const char *name;
	unsigned long cmd;
	size_t base;		/* sizeof in this header */
	bool out;		/* the kernel writes it back */
	bool admin;
};

/*
 * Call cmd with base's first `base` bytes, the size field set to size
 * and the bytes from base to size filled with tail (the last one tail,
 * the others zero). Returns 0 or the errno; the buffer in *out.
 */
static int sized_call(int fd, const struct sized_case *c, const void *base,
		      uint32_t size, uint8_t tail, uint8_t **out)
{
	size_t len = 3 * sysconf(_SC_PAGESIZE);
	uint8_t *buf = calloc(1, len);
	int ret;

	if (!buf)
		return ENOMEM;
	memcpy(buf, base, c->base);
	memcpy(buf, &size, sizeof(size));
	if (tail && size > c->base && size <= len)
		buf[size - 1] = tail;
	ret = xioctl(fd, c->cmd, buf);
	*out = buf;
	return ret;
}

/* Every structure: too small, too large with nonzero tail, too large zero. */
TEST_F(ioctl, struct_sizes)
{
	uint32_t page = sysconf(_SC_PAGESIZE);
	struct events_format_args fa = { .format = EVENTS_FORMAT_TEXT };
	struct events_seek_args sa = { .whence = EVENTS_SEEK_SEQ };
	struct events_filter_args fia = { 0 };
	struct events_reader_stats rsa = { 0 };
	struct events_stats sta = { 0 };
	struct events_resize_args ra = { .capacity = self->st.capacity };
	struct events_log_args la = { 0 };
	const struct sized_case cases[] = {
		{ "SET_FORMAT", EVENTS_IOC_SET_FORMAT, sizeof(fa), false, false },
		{ "SEEK", EVENTS_IOC_SEEK, sizeof(sa), true, false },
		{ "SET_FILTER", EVENTS_IOC_SET_FILTER, sizeof(fia), false, false },
		{ "READER_STATS", EVENTS_IOC_READER_STATS, sizeof(rsa), true, false },
		{ "STATS", EVENTS_IOC_STATS, sizeof(sta), true, false },
		{ "RESIZE", EVENTS_IOC_RESIZE, sizeof(ra), false, true },
		{ "LOG", EVENTS_IOC_LOG, sizeof(la), true, false },
	};
	const void *bases[] = { &fa, &sa, &fia, &rsa, &sta, &ra, &la };
	unsigned int i;
	int rfd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, rfd);
	sa.value = self->st.next_seq;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct sized_case *c = &cases[i];
		/* LOG needs a file open for writing (an empty batch). */
		int fd = c->cmd == EVENTS_IOC_LOG ? self->fd : rfd;
		uint32_t sizes_small[] = { 0, 4, (uint32_t)c->base - 4,
					   (uint32_t)c->base - 1 };
		uint32_t sizes_ok[] = { (uint32_t)c->base, (uint32_t)c->base + 8,
					(uint32_t)c->base + 100, page };
		bool result_only;
		uint8_t *b;
		unsigned int k;
		int ret;

		if (c->cmd == EVENTS_IOC_SEEK) {
			struct events_stats now;

			ASSERT_EQ(0, dev_stats(fd, &now));
			sa.value = now.next_seq;
		}
		for (k = 0; k < 4; k++) {
			ret = sized_call(fd, c, bases[i], sizes_small[k], 0, &b);
			EXPECT_EQ(EINVAL, ret)
				TH_LOG("%s size %u", c->name, sizes_small[k]);
			free(b);
		}
		/*
		 * Larger with a nonzero byte the kernel does not know: an
		 * argument it reads is refused; a result it only writes is
		 * accepted, and the byte is zeroed.
		 */
		result_only = c->out && c->cmd != EVENTS_IOC_SEEK &&
			      c->cmd != EVENTS_IOC_LOG;
		ret = sized_call(fd, c, bases[i], c->base + 8, 1, &b);
		EXPECT_EQ(result_only ? 0 : E2BIG, ret)
			TH_LOG("%s size %zu, nonzero tail", c->name,
			       c->base + 8);
		if (result_only)
			EXPECT_EQ(0, b[c->base + 7])
				TH_LOG("%s: tail byte not zeroed", c->name);
		free(b);
		ret = sized_call(fd, c, bases[i], page, 0xff, &b);
		EXPECT_EQ(result_only ? 0 : E2BIG, ret)
			TH_LOG("%s size %u, nonzero last byte", c->name, page);
		if (result_only)
			EXPECT_EQ(0, b[page - 1])
				TH_LOG("%s: last byte not zeroed", c->name);
		free(b);
		/* beyond a page, even all zero */
		ret = sized_call(fd, c, bases[i], page + 1, 0, &b);
		EXPECT_EQ(E2BIG, ret) TH_LOG("%s size %u", c->name, page + 1);
		free(b);
		ret = sized_call(fd, c, bases[i], 2 * page, 0, &b);
		EXPECT_EQ(E2BIG, ret) TH_LOG("%s size %u", c->name, 2 * page);
		free(b);
		ret = sized_call(fd, c, bases[i], ~0U, 0, &b);
		EXPECT_EQ(E2BIG, ret) TH_LOG("%s size 0xffffffff", c->name);
		free(b);
		/* exact, or larger with zeros: accepted */
		for (k = 0; k < 4; k++) {
			uint32_t got;
			size_t j;

			ret = sized_call(fd, c, bases[i], sizes_ok[k], 0, &b);
			EXPECT_EQ(0, ret) TH_LOG("%s size %u: %s", c->name,
						 sizes_ok[k], strerror(ret));
			memcpy(&got, b, sizeof(got));
			if (c->out && !ret) {
				EXPECT_EQ(c->base, got)
					TH_LOG("%s size %u: size out", c->name,
					       sizes_ok[k]);
				for (j = c->base; j < sizes_ok[k]; j++)
					if (b[j])
						break;
				EXPECT_EQ(sizes_ok[k], j)
					TH_LOG("%s: byte %zu beyond the struct not zero",
					       c->name, j);
			}
			free(b);
		}
	}
	/* an output structure the caller built smaller than the kernel's is
	 * covered by "too small": the first version is the whole struct */
	close(rfd);
}

/* Output structures: size set to what was written, the rest zeroed. */
TEST_F(ioctl, output_size_and_zeroing)
{
	uint8_t buf[256];
	uint32_t size;
	size_t j;

	memset(buf, 0, sizeof(buf));
	size = sizeof(buf);
	memcpy(buf, &size, sizeof(size));
	ASSERT_EQ(0, xioctl(self->fd, EVENTS_IOC_STATS, buf));
	memcpy(&size, buf, sizeof(size));
	EXPECT_EQ(sizeof(struct events_stats), size);
	for (j = sizeof(struct events_stats); j < sizeof(buf); j++) {
		ASSERT_EQ(0, buf[j]) TH_LOG("STATS byte %zu", j);
	}

	memset(buf, 0, sizeof(buf));
	size = sizeof(buf);
	memcpy(buf, &size, sizeof(size));
	ASSERT_EQ(0, xioctl(self->fd, EVENTS_IOC_READER_STATS, buf));
	memcpy(&size, buf, sizeof(size));
	EXPECT_EQ(sizeof(struct events_reader_stats), size);
	for (j = sizeof(struct events_reader_stats); j < sizeof(buf); j++) {
		ASSERT_EQ(0, buf[j]) TH_LOG("READER_STATS byte %zu", j);
	}
}

/* ---- ioctl numbers ---------------------------------------------------- */

TEST_F(ioctl, unknown_ioctls_enotty)
{
	const unsigned long cmds[] = {
		_IO(EVENTS_IOC_MAGIC, 0x00),
		_IO(EVENTS_IOC_MAGIC, 0x09),
		_IOWR(EVENTS_IOC_MAGIC, 0x09, struct events_stats),
		_IOW(EVENTS_IOC_MAGIC, 0x0a, struct events_resize_args),
		_IO(EVENTS_IOC_MAGIC, 0x7f),
		_IO(EVENTS_IOC_MAGIC, 0xff),
		_IOWR('E', 0x05, struct events_stats),
		_IOWR(EVENTS_IOC_MAGIC + 1, 0x05, struct events_stats),
		_IO(0, 0), 0x5401 /* TCGETS */, ~0UL & 0xffffffffUL,
	};
	struct events_stats st;
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		EXPECT_EQ(ENOTTY, xioctl(self->fd, cmds[i], &st))
			TH_LOG("cmd 0x%lx", cmds[i]);
	}
}

/* The size bits of the numbers do not matter: the size field does. */
TEST_F(ioctl, ioctl_size_bits_ignored)
{
	const unsigned int sizes[] = { 0, 1, 8, sizeof(struct events_stats),
				       200, (1 << 14) - 1 };
	struct events_stats st;
	unsigned int i;

	for (i = 0; i < 6; i++) {
		unsigned long cmd = _IOC(_IOC_READ | _IOC_WRITE, EVENTS_IOC_MAGIC,
					 _IOC_NR(EVENTS_IOC_STATS), sizes[i]);

		memset(&st, 0, sizeof(st));
		st.size = sizeof(st);
		EXPECT_EQ(0, xioctl(self->fd, cmd, &st)) TH_LOG("size bits %u",
								 sizes[i]);
		EXPECT_EQ(self->st.capacity, st.capacity);
	}
	{
		unsigned long cmd = _IOC(_IOC_WRITE, EVENTS_IOC_MAGIC,
					 _IOC_NR(EVENTS_IOC_SET_FORMAT), 99);
		struct events_format_args a = { sizeof(a), EVENTS_FORMAT_BINARY };
		struct events_reader_stats rs;

		EXPECT_EQ(0, xioctl(self->fd, cmd, &a));
		ASSERT_EQ(0, rd_stats(self->fd, &rs));
		EXPECT_EQ(EVENTS_FORMAT_BINARY, rs.format);
	}
}

/* Every ioctl works on a file of any access mode. */
TEST_F(ioctl, any_open_mode)
{
	const int modes[] = { O_RDONLY, O_WRONLY, O_RDWR };
	const char *const pats[] = { "+x" };
	unsigned int i;

	for (i = 0; i < 3; i++) {
		struct events_reader_stats rs;
		struct events_seek_args sa;
		struct events_stats st;
		int fd = open(EV_DEV, modes[i] | O_CLOEXEC);

		ASSERT_LE(0, fd);
		EXPECT_EQ(0, set_format(fd, EVENTS_FORMAT_BINARY)) TH_LOG("mode %d", modes[i]);
		EXPECT_EQ(0, dev_stats(fd, &st));
		EXPECT_EQ(0, seek_to(fd, EVENTS_SEEK_SEQ, st.next_seq, &sa));
		EXPECT_EQ(0, seek_to(fd, EVENTS_SEEK_TIME, 0, &sa));
		EXPECT_EQ(0, set_filter(fd, EVENTS_FILTER_NO_KERNEL, 0, pats, 1));
		EXPECT_EQ(0, set_filter(fd, 0, 0, NULL, 0));
		EXPECT_EQ(0, rd_stats(fd, &rs));
		EXPECT_EQ(EVENTS_FORMAT_BINARY, rs.format);
		EXPECT_EQ(0, resize_ring(fd, st.capacity));
		close(fd);
	}
}

/* Bad pointers: EFAULT from every ioctl that takes one. */
TEST_F(ioctl, efault)
{
	const unsigned long cmds[] = {
		EVENTS_IOC_SET_FORMAT, EVENTS_IOC_SEEK, EVENTS_IOC_SET_FILTER,
		EVENTS_IOC_READER_STATS, EVENTS_IOC_STATS, EVENTS_IOC_RESIZE,
		EVENTS_IOC_LOG,
	};
	unsigned int i;

	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		EXPECT_EQ(EFAULT, xioctl(self->fd, cmds[i], NULL)) TH_LOG("cmd %u", i);
		EXPECT_EQ(EFAULT, xioctl(self->fd, cmds[i], bad_ptr(4096)));
		EXPECT_EQ(EFAULT, xioctl(self->fd, cmds[i], bad_ptr(~(uintptr_t)0 - 15)));
	}
}

/* ---- LOG: batches of events ---------------------------------------------- */

/* A batch being built: entries back to back in buf. */
struct batch {
	uint8_t buf[EVENTS_LOG_MAX + 64];
	size_t len;
	unsigned int n;
};

/* Append an entry of len bytes; the padding is filled with 0xee. */
static void batch_add(struct batch *b, const void *msg, uint32_t len)
{
	struct events_entry e = { .len = len };
	size_t size = EVENTS_ENTRY_SIZE(len);

	memset(b->buf + b->len, 0xee, size);
	memcpy(b->buf + b->len, &e, sizeof(e));
	memcpy(b->buf + b->len + sizeof(e), msg, len);
	b->len += size;
	b->n++;
}

/* EVENTS_IOC_LOG of the first len bytes of b; 0 or the errno. */
static int log_batch(int fd, const struct batch *b, size_t len,
		     struct events_log_args *out)
{
	struct events_log_args a = {
		.size = sizeof(a), .entries = u64ptr(b->buf), .len = len,
		.count = 0xdeadbeef, .seq = 0xcccccccccccccccc,
	};
	int ret = xioctl(fd, EVENTS_IOC_LOG, &a);

	if (out)
		*out = a;
	return ret;
}

/*
 * Every entry becomes one event, its payload exactly as given (newlines
 * and NULs too), in order, with one time stamp and the caller's identity.
 */
TEST_F(ioctl, log_batch)
{
	static const char comm[] = "evbatch";
	struct batch *b = calloc(1, sizeof(*b));
	char msg[24][200];
	size_t len[24];
	struct events_log_args la;
	uint64_t rb, ra;
	struct brd bin;
	struct brec r;
	int i;

	ASSERT_NE(NULL, b);
	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	OPEN_BRD(&bin, self);
	for (i = 0; i < 24; i++) {
		int n = snprintf(msg[i], sizeof(msg[i]), "lb%s ", self->mark);

		/* every padding amount, and bytes write(2) would handle */
		memset(msg[i] + n, 'a' + i, i);
		len[i] = n + i;
		if (i == 5)
			msg[i][len[i]++] = '\n';
		if (i == 6) {
			msg[i][len[i]++] = '\0';
			msg[i][len[i]++] = '\\';
		}
		batch_add(b, msg[i], len[i]);
	}
	rb = now_ns(CLOCK_REALTIME);
	ASSERT_EQ(0, log_batch(self->fd, b, b->len, &la));
	ra = now_ns(CLOCK_REALTIME);
	EXPECT_EQ(sizeof(la), la.size);
	EXPECT_EQ(24, la.count);

	for (i = 0; i < 24; i++) {
		BNEXT(&bin, WAIT_MS, &r);
		EXPECT_EQ(len[i], r.payload_len) TH_LOG("entry %d", i);
		EXPECT_EQ(0, memcmp(r.payload, msg[i], len[i]))
			TH_LOG("entry %d", i);
		/* nothing else logs while the test runs */
		EXPECT_EQ(la.seq + i, r.seq);
		EXPECT_EQ(0, r.flags);
		EXPECT_EQ((uint32_t)getpid(), r.pid);
		EXPECT_EQ(getuid(), r.uid);
		EXPECT_STREQ(comm, r.comm);
		EXPECT_LE(rb, r.ts_real);
		EXPECT_GE(ra, r.ts_real);
	}
	EXPECT_EQ(0, brd_next(&bin, 0, &r));
	brd_free(&bin);
	free(b);
}

#define LM_LEN	48

/* Entry i of log_batch_max: LM_LEN bytes, the marker and i, dot padded. */
static void lm_msg(char *msg, size_t size, const char *mark, unsigned int i)
{
	int n = snprintf(msg, size, "lm%s %u ", mark, i);

	memset(msg + n, '.', LM_LEN - n);
	msg[LM_LEN] = '\0';
}

/* A batch of EVENTS_LOG_MAX bytes; text readers see the usual lines. */
TEST_F(ioctl, log_batch_max)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct events_log_args la;
	struct ev_reader rd;
	struct ev_rec rec;
	char msg[128];
	unsigned int i, n;

	ASSERT_NE(NULL, b);
	ASSERT_GT(LM_LEN - 12, strlen(self->mark) + 2);
	ASSERT_EQ(0, evr_init(&rd, ev_open_live(O_RDONLY | O_NONBLOCK),
			      self->tcap));
	while (b->len + EVENTS_ENTRY_SIZE(LM_LEN) < EVENTS_LOG_MAX) {
		lm_msg(msg, sizeof(msg), self->mark, b->n);
		batch_add(b, msg, LM_LEN);
	}
	/* fill the rest exactly with one more entry */
	n = EVENTS_LOG_MAX - b->len - sizeof(struct events_entry);
	ASSERT_LT(0, n);
	ASSERT_GE(LM_LEN, n);
	memset(msg, 'z', n);
	batch_add(b, msg, n);
	ASSERT_EQ(EVENTS_LOG_MAX, b->len);
	ASSERT_EQ(0, log_batch(self->fd, b, b->len, &la));
	EXPECT_EQ(b->n, la.count);

	for (i = 0; i < b->n; i++) {
		NEXT_REC(&rd, WAIT_MS, &rec);
		EXPECT_EQ(la.seq + i, rec.seq);
		if (i == b->n - 1) {
			EXPECT_EQ(n, rec.msg_len);
		} else {
			lm_msg(msg, sizeof(msg), self->mark, i);
			EXPECT_STREQ(msg, rec.msg) TH_LOG("entry %u", i);
		}
		ev_rec_free(&rec);
	}
	evr_free(&rd);
	free(b);
}

/* Bad batches: a clear errno, nothing logged. */
TEST_F(ioctl, log_batch_errors)
{
	struct batch *b = calloc(1, sizeof(*b));
	struct events_log_args la;
	struct events_entry e;
	struct events_stats st0, st;
	char *big;
	int rfd;

	ASSERT_NE(NULL, b);
	big = malloc(self->st.max_payload + 1);
	ASSERT_NE(NULL, big);
	memset(big, 'B', self->st.max_payload + 1);
	ASSERT_EQ(0, dev_stats(self->fd, &st0));

	batch_add(b, "good", 4);
	/* a file not open for writing */
	rfd = open(EV_DEV, O_RDONLY | O_CLOEXEC);
	ASSERT_LE(0, rfd);
	EXPECT_EQ(EBADF, log_batch(rfd, b, b->len, NULL));
	close(rfd);
	/* flags */
	la = (struct events_log_args){ .size = sizeof(la), .flags = 1,
				       .entries = u64ptr(b->buf), .len = b->len };
	EXPECT_EQ(EINVAL, xioctl(self->fd, EVENTS_IOC_LOG, &la));
	/* an entry cut short, or without its padding */
	EXPECT_EQ(EINVAL, log_batch(self->fd, b, 4, NULL));
	EXPECT_EQ(EINVAL, log_batch(self->fd, b, 8 + 3, NULL));
	batch_add(b, "abc", 3);
	EXPECT_EQ(EINVAL, log_batch(self->fd, b, b->len - 1, NULL));
	/* an empty entry, one with flags, one too long */
	e = (struct events_entry){ .len = 0 };
	memcpy(b->buf + b->len, &e, sizeof(e));
	EXPECT_EQ(EINVAL, log_batch(self->fd, b, b->len + 8, NULL));
	e = (struct events_entry){ .len = 1, .flags = 1 };
	memcpy(b->buf + b->len, &e, sizeof(e));
	EXPECT_EQ(EINVAL, log_batch(self->fd, b, b->len + 16, NULL));
	batch_add(b, big, self->st.max_payload);
	EXPECT_EQ(0, log_batch(self->fd, b, b->len, &la));
	EXPECT_EQ(3, la.count);
	EXPECT_EQ(0, dev_stats(self->fd, &st0));
	batch_add(b, big, self->st.max_payload + 1);
	EXPECT_EQ(EMSGSIZE, log_batch(self->fd, b, b->len, NULL));
	/* too big a batch, bad pointers */
	EXPECT_EQ(E2BIG, log_batch(self->fd, b, EVENTS_LOG_MAX + 8, NULL));
	la = (struct events_log_args){ .size = sizeof(la),
				       .entries = u64ptr(bad_ptr(4096)), .len = 16 };
	EXPECT_EQ(EFAULT, xioctl(self->fd, EVENTS_IOC_LOG, &la));
	/* the valid entries before a bad one were not logged either */
	ASSERT_EQ(0, dev_stats(self->fd, &st));
	EXPECT_EQ(st0.next_seq, st.next_seq);

	/* an empty batch logs nothing and succeeds */
	EXPECT_EQ(0, log_batch(self->fd, b, 0, &la));
	EXPECT_EQ(0, la.count);
	EXPECT_EQ(0, la.seq);
	ASSERT_EQ(0, dev_stats(self->fd, &st));
	EXPECT_EQ(st0.next_seq, st.next_seq);
	free(big);
	free(b);
}

/* A filtered reader sees the entries of a batch that match, and no more. */
TEST_F(ioctl, log_batch_filtered)
{
	struct batch *b = calloc(1, sizeof(*b));
	char keep[96], drop[96], msg[128];
	const char *pats[1];
	struct brd bin;
	struct brec r;
	int i;

	ASSERT_NE(NULL, b);
	snprintf(keep, sizeof(keep), "+lk%s", self->mark);
	snprintf(drop, sizeof(drop), "ld%s", self->mark);
	pats[0] = keep;
	OPEN_BRD(&bin, self);
	ASSERT_EQ(0, set_filter(bin.fd, 0, 0, pats, 1));
	for (i = 0; i < 100; i++) {
		snprintf(msg, sizeof(msg), "%s %d", i % 3 ? drop : keep + 1, i);
		batch_add(b, msg, strlen(msg));
	}
	ASSERT_EQ(0, log_batch(self->fd, b, b->len, NULL));
	for (i = 0; i < 100; i += 3) {
		snprintf(msg, sizeof(msg), "%s %d", keep + 1, i);
		BNEXT_MSG(&bin, WAIT_MS, msg);
	}
	EXPECT_EQ(0, brd_next(&bin, 0, &r));
	brd_free(&bin);
	free(b);
}

/* ---- SEEK ------------------------------------------------------------- */

TEST_F(ioctl, seek_seq)
{
	struct events_seek_args sa;
	struct events_reader_stats rs;
	struct events_stats st;
	char m[3][128];
	uint64_t s0;
	struct brd b;
	struct brec r;
	struct ev_reader tr;
	struct ev_rec rec;
	int i;

	OPEN_BRD(&b, self);
	for (i = 0; i < 3; i++) {
		snprintf(m[i], sizeof(m[i]), "seek %s %d", self->mark, i);
		WRITE(self->fd, m[i]);
	}
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(brec_is(&r, m[0]));
	s0 = r.seq;
	BNEXT_MSG(&b, WAIT_MS, m[1]);
	BNEXT_MSG(&b, WAIT_MS, m[2]);
	EXPECT_EQ(0, ev_pending(b.fd));

	/* back to the second */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, s0 + 1, &sa));
	EXPECT_EQ(0, sa.result);
	EXPECT_EQ(s0 + 1, sa.seq);
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(s0 + 1, rs.seq);
	BNEXT_MSG(&b, WAIT_MS, m[1]);
	BNEXT_MSG(&b, WAIT_MS, m[2]);
	/* to next_seq: live only */
	ASSERT_EQ(0, dev_stats(b.fd, &st));
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, st.next_seq, &sa));
	EXPECT_EQ(0, sa.result);
	EXPECT_EQ(st.next_seq, sa.seq);
	EXPECT_EQ(0, ev_pending(b.fd));
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	/* the oldest retained: no loss */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, st.first_seq, &sa));
	EXPECT_EQ(0, sa.result);
	EXPECT_EQ(st.first_seq, sa.seq);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(st.first_seq, r.seq);
	EXPECT_FALSE(r.flags & EVENTS_RECORD_LOSS);

	/* text: the seek lands on a whole line */
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	ASSERT_EQ(0, seek_to(tr.fd, EVENTS_SEEK_SEQ, s0 + 2, &sa));
	EXPECT_EQ(s0 + 2, sa.seq);
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_EQ(s0 + 2, rec.seq);
	EXPECT_TRUE(ev_msg_is(&rec, m[2]));
	ev_rec_free(&rec);
	close(tr.fd);
	evr_free(&tr);
	brd_free(&b);
}

/* A seek discards the unread rest of a partly read text line. */
TEST_F(ioctl, seek_discards_partial_line)
{
	char m1[128], m2[128], buf[5];
	struct events_seek_args sa;
	struct ev_reader tr;
	struct ev_rec rec;
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	uint64_t s1;

	ASSERT_LE(0, fd);
	snprintf(m1, sizeof(m1), "sp %s one", self->mark);
	snprintf(m2, sizeof(m2), "sp %s two", self->mark);
	WRITE(self->fd, m1);
	WRITE(self->fd, m2);
	ASSERT_EQ(0, evr_init(&tr, fd, self->tcap));
	NEXT_REC(&tr, WAIT_MS, &rec);
	s1 = rec.seq;
	ev_rec_free(&rec);
	ASSERT_EQ(0, seek_to(fd, EVENTS_SEEK_SEQ, s1, &sa));
	ASSERT_EQ((ssize_t)sizeof(buf), read(fd, buf, sizeof(buf)));
	ASSERT_EQ(0, seek_to(fd, EVENTS_SEEK_SEQ, s1 + 1, &sa));
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_EQ(s1 + 1, rec.seq);
	EXPECT_TRUE(ev_msg_is(&rec, m2));
	ev_rec_free(&rec);
	evr_free(&tr);
	close(fd);
}

TEST_F(ioctl, seek_errors)
{
	struct events_seek_args sa = { .size = sizeof(sa) };
	struct events_stats st;
	struct events_reader_stats before, after;
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	ASSERT_EQ(0, dev_stats(fd, &st));
	ASSERT_EQ(0, rd_stats(fd, &before));
	EXPECT_EQ(ERANGE, seek_to(fd, EVENTS_SEEK_SEQ, st.next_seq + 1, NULL));
	EXPECT_EQ(ERANGE, seek_to(fd, EVENTS_SEEK_SEQ, st.next_seq + 1000000, NULL));
	EXPECT_EQ(ERANGE, seek_to(fd, EVENTS_SEEK_SEQ, ~0ULL, NULL));
	EXPECT_EQ(EINVAL, seek_to(fd, 2, 1, NULL));
	EXPECT_EQ(EINVAL, seek_to(fd, ~0U, 1, NULL));
	sa.whence = EVENTS_SEEK_SEQ;
	sa.value = st.next_seq;
	sa.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SEEK, &sa));
	sa.flags = 0x80000000;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SEEK, &sa));
	sa.whence = EVENTS_SEEK_TIME;
	sa.flags = 2;
	EXPECT_EQ(EINVAL, xioctl(fd, EVENTS_IOC_SEEK, &sa));
	ASSERT_EQ(0, rd_stats(fd, &after));
	EXPECT_EQ(before.seq, after.seq) TH_LOG("a failed seek moved the file");
	/* a time in the future: live */
	ASSERT_EQ(0, seek_to(fd, EVENTS_SEEK_TIME, ~0ULL, &sa));
	EXPECT_EQ(0, sa.result);
	ASSERT_EQ(0, dev_stats(fd, &st));
	EXPECT_EQ(st.next_seq, sa.seq);
	close(fd);
}

/* Write events with sleeps between; seek between them by time. */
TEST_F_TIMEOUT(ioctl, seek_time, 60)
{
	struct events_seek_args sa;
	struct events_stats st;
	uint64_t ts[3], seq[3];
	char m[3][128];
	struct brd b;
	struct brec r;
	struct ev_reader tr;
	struct ev_rec rec;
	int i;

	OPEN_BRD(&b, self);
	for (i = 0; i < 3; i++) {
		if (i)
			sleep_ms(100);
		snprintf(m[i], sizeof(m[i]), "time %s %d", self->mark, i);
		WRITE(self->fd, m[i]);
	}
	for (i = 0; i < 3; i++) {
		BNEXT(&b, WAIT_MS, &r);
		ASSERT_TRUE(brec_is(&r, m[i]));
		ts[i] = r.ts_real;
		seq[i] = r.seq;
	}
	ASSERT_LT(ts[0], ts[1]);
	ASSERT_LT(ts[1], ts[2]);

	/* between the first and the second: the second */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, (ts[0] + ts[1]) / 2, &sa));
	EXPECT_EQ(0, sa.result);
	EXPECT_EQ(seq[1], sa.seq);
	BNEXT_MSG(&b, WAIT_MS, m[1]);
	/* exactly the first one's time: the first */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, ts[0], &sa));
	EXPECT_EQ(seq[0], sa.seq);
	BNEXT_MSG(&b, WAIT_MS, m[0]);
	/* one ns after the first: the second */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, ts[0] + 1, &sa));
	EXPECT_EQ(seq[1], sa.seq);
	/* between the second and the third */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, ts[2] - 1, &sa));
	EXPECT_EQ(seq[2], sa.seq);
	BNEXT_MSG(&b, WAIT_MS, m[2]);
	/* after the last: next_seq, nothing to read */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, ts[2] + 1, &sa));
	ASSERT_EQ(0, dev_stats(b.fd, &st));
	EXPECT_EQ(st.next_seq, sa.seq);
	EXPECT_EQ(0, sa.result);
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	/* time 0: the oldest retained, and never a loss record */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, 0, &sa));
	EXPECT_EQ(st.first_seq, sa.seq);
	EXPECT_EQ(st.first_seq > 1 ? EVENTS_SEEK_DROPPED : 0, sa.result);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(st.first_seq, r.seq);
	EXPECT_FALSE(r.flags & EVENTS_RECORD_LOSS);

	/* text format too */
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	ASSERT_EQ(0, seek_to(tr.fd, EVENTS_SEEK_TIME, (ts[1] + ts[2]) / 2, &sa));
	EXPECT_EQ(seq[2], sa.seq);
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, m[2]));
	ev_rec_free(&rec);
	close(tr.fd);
	evr_free(&tr);
	brd_free(&b);
}

/* Seek below the oldest after a clear: one exact loss record first. */
TEST_F(ioctl, seek_to_dropped_seq)
{
	struct events_seek_args sa;
	struct events_stats st;
	struct events_reader_stats rs;
	char m[128];
	struct brd b;
	struct brec r;
	struct ev_reader tr;
	struct ev_rec rec;
	uint64_t first, v, lost = 0;

	snprintf(m, sizeof(m), "sd %s before", self->mark);
	WRITE(self->fd, m);
	ASSERT_EQ(0, xioctl(self->fd, EVENTS_IOC_CLEAR, NULL));
	snprintf(m, sizeof(m), "sd %s after", self->mark);
	WRITE(self->fd, m);
	ASSERT_EQ(0, dev_stats(self->fd, &st));
	first = st.first_seq;
	ASSERT_LT(1, first);
	ASSERT_EQ(1, st.records);
	ASSERT_EQ(first + 1, st.next_seq);

	OPEN_BRD(&b, self);
	for (v = 0; v < 3; v++) {
		uint64_t value = v ? first - v : 0;
		uint64_t want_first = value ? value : 1;	/* max(value, 1) */
		uint64_t t0 = now_ns(CLOCK_REALTIME), t1;

		ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, value, &sa));
		EXPECT_EQ(EVENTS_SEEK_DROPPED, sa.result);
		EXPECT_EQ(first, sa.seq);
		ASSERT_EQ(0, rd_stats(b.fd, &rs));
		lost += first - want_first;
		EXPECT_EQ(lost, rs.lost) TH_LOG("pending loss counted");
		/* a buffer too small for the loss record: EINVAL, nothing consumed */
		EXPECT_EQ(-1, read(b.fd, b.buf, LOSS_SIZE - 1));
		EXPECT_EQ(EINVAL, errno);
		BNEXT(&b, WAIT_MS, &r);
		t1 = now_ns(CLOCK_REALTIME);
		ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
		EXPECT_EQ(want_first, r.seq);
		EXPECT_EQ(want_first, r.first_seq);
		EXPECT_EQ(first - 1, r.last_seq);
		EXPECT_EQ(first - want_first, r.count);
		EXPECT_LE(t0, r.ts_real);
		EXPECT_GE(t1, r.ts_real);
		BNEXT_MSG(&b, WAIT_MS, m);
		EXPECT_EQ(0, brd_next(&b, 0, &r));
	}
	/* a filter does not make the count smaller for a seek */
	{
		const char *const pats[] = { "+no such prefix" };

		ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));
		ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, 1, &sa));
		EXPECT_EQ(EVENTS_SEEK_DROPPED, sa.result);
		BNEXT(&b, WAIT_MS, &r);
		ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
		EXPECT_EQ(1, r.first_seq);
		EXPECT_EQ(first - 1, r.last_seq);
		EXPECT_EQ(first - 1, r.count);
		EXPECT_EQ(0, brd_next(&b, 0, &r));
	}

	/* the same as a text loss line */
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	ASSERT_EQ(0, seek_to(tr.fd, EVENTS_SEEK_SEQ, 1, &sa));
	EXPECT_EQ(EVENTS_SEEK_DROPPED, sa.result);
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_EQ('l', rec.origin);
	EXPECT_EQ(1, rec.lost_first);
	EXPECT_EQ(first - 1, rec.lost_last);
	EXPECT_EQ(first - 1, rec.lost);
	ev_rec_free(&rec);
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, m));
	ev_rec_free(&rec);
	close(tr.fd);
	evr_free(&tr);

	/* time seeks after drops: DROPPED but no loss record */
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, NULL, 0));
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, 0, &sa));
	EXPECT_EQ(EVENTS_SEEK_DROPPED, sa.result);
	EXPECT_EQ(first, sa.seq);
	BNEXT_MSG(&b, WAIT_MS, m);
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, first, &sa));
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, r.ts_real, &sa));
	EXPECT_EQ(0, sa.result) TH_LOG("exact time of the oldest is not a drop");
	EXPECT_EQ(first, sa.seq);
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_TIME, r.ts_real - 1, &sa));
	EXPECT_EQ(EVENTS_SEEK_DROPPED, sa.result);
	EXPECT_EQ(first, sa.seq);
	BNEXT_MSG(&b, WAIT_MS, m);
	brd_free(&b);
}

/* ---- SET_FILTER ------------------------------------------------------- */

TEST_F(ioctl, filter_prefixes)
{
	const char *const pats[] = { "+fa", "+fb", "-fab" };
	const char *const msgs[] = { "fa1", "fb1", "fab1", "fc1", "fabc", "f",
				     "fa", "fbab" };
	const bool pass[] = { 1, 1, 0, 0, 0, 0, 1, 1 };
	struct events_reader_stats rs;
	struct ev_reader tr;
	struct ev_rec rec;
	char m[160], end[160];
	struct brd b;
	struct brec r;
	unsigned int i;

	OPEN_BRD(&b, self);
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 3));
	ASSERT_EQ(0, set_filter(tr.fd, 0, 0, pats, 3));
	for (i = 0; i < 8; i++) {
		snprintf(m, sizeof(m), "%s %s", msgs[i], self->mark);
		WRITE(self->fd, m);
	}
	snprintf(end, sizeof(end), "fb end %s", self->mark);
	WRITE(self->fd, end);
	for (i = 0; i < 8; i++) {
		if (!pass[i])
			continue;
		snprintf(m, sizeof(m), "%s %s", msgs[i], self->mark);
		BNEXT_MSG(&b, WAIT_MS, m);
		NEXT_REC(&tr, WAIT_MS, &rec);
		EXPECT_TRUE(ev_msg_is(&rec, m));
		ev_rec_free(&rec);
	}
	BNEXT_MSG(&b, WAIT_MS, end);
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(5, rs.read);
	EXPECT_EQ(4, rs.filtered);
	EXPECT_EQ(0, rs.lost);

	/* only excludes: everything else passes */
	{
		const char *const ex[] = { "-fa", "-fb" };

		ASSERT_EQ(0, set_filter(b.fd, 0, 0, ex, 2));
		for (i = 0; i < 8; i++) {
			snprintf(m, sizeof(m), "%s %s", msgs[i], self->mark);
			WRITE(self->fd, m);
		}
		snprintf(m, sizeof(m), "fc1 %s", self->mark);
		BNEXT_MSG(&b, WAIT_MS, m);
		snprintf(m, sizeof(m), "f %s", self->mark);
		BNEXT_MSG(&b, WAIT_MS, m);
		EXPECT_EQ(0, brd_next(&b, 0, &r));
	}
	/* a prefix of full length (256 bytes) and binary bytes */
	{
		char pfx[EVENTS_PATTERN_LEN_MAX + 2], msg[400];
		struct events_pattern p = { .len = EVENTS_PATTERN_LEN_MAX };
		struct events_filter_args a = {
			.size = sizeof(a), .nr_patterns = 1, .patterns = u64ptr(&p),
		};

		pfx[0] = '+';
		for (i = 1; i <= EVENTS_PATTERN_LEN_MAX; i++)
			pfx[i] = 1 + (i * 7) % 250;
		p.prefix = u64ptr(pfx + 1);
		ASSERT_EQ(0, xioctl(b.fd, EVENTS_IOC_SET_FILTER, &a));
		memcpy(msg, pfx + 1, EVENTS_PATTERN_LEN_MAX - 1);
		msg[EVENTS_PATTERN_LEN_MAX - 1] = 'X';	/* differs in the last */
		msg[EVENTS_PATTERN_LEN_MAX] = '\0';
		ASSERT_EQ(EVENTS_PATTERN_LEN_MAX,
			  write(self->fd, msg, EVENTS_PATTERN_LEN_MAX));
		memcpy(msg, pfx + 1, EVENTS_PATTERN_LEN_MAX);
		snprintf(msg + EVENTS_PATTERN_LEN_MAX, 100, "%s", self->mark);
		ASSERT_EQ((ssize_t)strlen(msg + EVENTS_PATTERN_LEN_MAX) + EVENTS_PATTERN_LEN_MAX,
			  write(self->fd, msg, EVENTS_PATTERN_LEN_MAX +
				strlen(msg + EVENTS_PATTERN_LEN_MAX)));
		BNEXT_MSG(&b, WAIT_MS, msg);
		EXPECT_EQ(0, brd_next(&b, 0, &r));
	}
	/* flags 0 and no patterns: no filter */
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, NULL, 0));
	snprintf(m, sizeof(m), "zz %s", self->mark);
	WRITE(self->fd, m);
	BNEXT_MSG(&b, WAIT_MS, m);
	close(tr.fd);
	evr_free(&tr);
	brd_free(&b);
}

TEST_F(ioctl, filter_errors)
{
	struct events_pattern p[EVENTS_FILTER_PATTERNS_MAX + 1];
	struct events_filter_args a;
	char big[EVENTS_PATTERN_LEN_MAX + 1];
	struct events_reader_stats rs;
	unsigned int i;
	int fd = ev_open_live(O_RDONLY | O_NONBLOCK);

	ASSERT_LE(0, fd);
	memset(big, 'b', sizeof(big));
	for (i = 0; i <= EVENTS_FILTER_PATTERNS_MAX; i++)
		p[i] = (struct events_pattern){ .prefix = u64ptr("p"), .len = 1 };
#define FILT(fl, u, n, ptr) (a = (struct events_filter_args){			\
	.size = sizeof(a), .flags = (fl), .uid = (u), .nr_patterns = (n),	\
	.patterns = (ptr) }, xioctl(fd, EVENTS_IOC_SET_FILTER, &a))
	EXPECT_EQ(EINVAL, FILT(1U << 3, 0, 0, 0));
	EXPECT_EQ(EINVAL, FILT(1U << 31, 0, 0, 0));
	EXPECT_EQ(EINVAL, FILT(EVENTS_FILTER_NO_KERNEL | EVENTS_FILTER_NO_USER, 0, 0, 0));
	EXPECT_EQ(EINVAL, FILT(EVENTS_FILTER_UID, (uint32_t)-1, 0, 0));
	EXPECT_EQ(EINVAL, FILT(EVENTS_FILTER_NO_USER | EVENTS_FILTER_UID, (uint32_t)-1, 0, 0));
	EXPECT_EQ(EINVAL, FILT(0, 0, EVENTS_FILTER_PATTERNS_MAX + 1, u64ptr(p)));
	EXPECT_EQ(EINVAL, FILT(0, 0, ~0U, u64ptr(p)));
	/* no patterns, but a pointer to them */
	EXPECT_EQ(EINVAL, FILT(0, 0, 0, u64ptr(p)));
	EXPECT_EQ(EINVAL, FILT(EVENTS_FILTER_NO_KERNEL, 0, 0, u64ptr(p)));
	EXPECT_EQ(0, FILT(0, 0, EVENTS_FILTER_PATTERNS_MAX, u64ptr(p)));
	EXPECT_EQ(EFAULT, FILT(0, 0, 1, 0));
	EXPECT_EQ(EFAULT, FILT(0, 0, 1, u64ptr(bad_ptr(4096))));
	/* the array ends in an unmapped page */
	{
		long pg = sysconf(_SC_PAGESIZE);
		uint8_t *m = mmap(NULL, 2 * pg, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

		ASSERT_NE(MAP_FAILED, m);
		ASSERT_EQ(0, munmap(m + pg, pg));
		memcpy(m + pg - sizeof(p[0]), &p[0], sizeof(p[0]));
		EXPECT_EQ(0, FILT(0, 0, 1, u64ptr(m + pg - sizeof(p[0]))));
		EXPECT_EQ(EFAULT, FILT(0, 0, 2, u64ptr(m + pg - sizeof(p[0]))));
		/* a prefix that runs into the hole */
		memcpy(m + pg - 4, "abcd", 4);
		p[1] = (struct events_pattern){ .prefix = u64ptr(m + pg - 4), .len = 4 };
		EXPECT_EQ(0, FILT(0, 0, 2, u64ptr(p)));
		p[1].len = 5;
		EXPECT_EQ(EFAULT, FILT(0, 0, 2, u64ptr(p)));
		munmap(m, pg);
	}
	p[1] = (struct events_pattern){ .prefix = 0, .len = 1 };
	EXPECT_EQ(EFAULT, FILT(0, 0, 2, u64ptr(p)));
	p[1] = (struct events_pattern){ .prefix = u64ptr(bad_ptr(8)), .len = 1 };
	EXPECT_EQ(EFAULT, FILT(0, 0, 2, u64ptr(p)));
	p[1] = (struct events_pattern){ .prefix = u64ptr(big), .len = 0 };
	EXPECT_EQ(EINVAL, FILT(0, 0, 2, u64ptr(p)));
	p[1].len = EVENTS_PATTERN_LEN_MAX + 1;
	EXPECT_EQ(EINVAL, FILT(0, 0, 2, u64ptr(p)));
	p[1].len = ~0U;
	EXPECT_EQ(EINVAL, FILT(0, 0, 2, u64ptr(p)));
	p[1].len = EVENTS_PATTERN_LEN_MAX;
	EXPECT_EQ(0, FILT(0, 0, 2, u64ptr(p)));
	p[1].flags = 1U << 1;
	EXPECT_EQ(EINVAL, FILT(0, 0, 2, u64ptr(p)));
	p[1].flags = 1U << 31;
	EXPECT_EQ(EINVAL, FILT(0, 0, 2, u64ptr(p)));
	p[1].flags = EVENTS_PATTERN_EXCLUDE;
	EXPECT_EQ(0, FILT(0, 0, 2, u64ptr(p)));
	EXPECT_EQ(0, FILT(EVENTS_FILTER_NO_KERNEL, 0, 0, 0));
	EXPECT_EQ(0, FILT(EVENTS_FILTER_UID, 0, 0, 0));
	EXPECT_EQ(0, FILT(EVENTS_FILTER_UID, NOBODY, 0, 0));
	EXPECT_EQ(0, FILT(0, 0, 0, 0));
#undef FILT
	ASSERT_EQ(0, rd_stats(fd, &rs));
	EXPECT_EQ(0, rs.filtered);
	close(fd);
}

/* A failed SET_FILTER leaves the old filter in place. */
/* Lines of buf (n bytes) whose message starts with pfx. */
static int count_prefixed(const char *buf, ssize_t n, const char *pfx,
			  int *next)
{
	const char *p = buf, *end = buf + n;
	int found = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *m = memchr(p, ';', nl ? nl - p : end - p);
		int i;

		if (m && !strncmp(m + 1, pfx, strlen(pfx)) &&
		    sscanf(m + 1 + strlen(pfx), "%d", &i) == 1) {
			if (i == *next)
				found++;
			*next = i + 2;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
	return found;
}

/*
 * A filter set on retained records: every one it passes can be read, in
 * order, whatever number of reads it takes, and poll() says so until the
 * last; the same after a seek back.
 */
TEST_F(ioctl, filter_many_retained)
{
	char keep[96], msg[160], buf[512];
	const char *pats[1] = { keep };
	struct pollfd pfd;
	int fd, i, round;

	snprintf(keep, sizeof(keep), "+fm%s ", self->mark);
	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	for (i = 0; i < 300; i++) {
		snprintf(msg, sizeof(msg), "%s%d", i % 2 ? "fmx " : keep + 1, i);
		WRITE(self->fd, msg);
	}
	ASSERT_EQ(0, set_filter(fd, 0, 0, pats, 1));
	for (round = 0; round < 2; round++) {
		int got = 0, next = 0;
		ssize_t n;

		while ((n = read(fd, buf, sizeof(buf))) > 0) {
			pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
			got += count_prefixed(buf, n, keep + 1, &next);
			if (got < 150)
				ASSERT_EQ(1, poll(&pfd, 1, 0))
					TH_LOG("round %d: poll after %d lines",
					       round, got);
		}
		EXPECT_EQ(-1, n);
		EXPECT_EQ(EAGAIN, errno);
		EXPECT_EQ(150, got) TH_LOG("round %d", round);
		pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
		EXPECT_EQ(0, poll(&pfd, 1, 0));
		ASSERT_EQ(0, lseek(fd, 0, SEEK_SET));
	}
	close(fd);
}

TEST_F(ioctl, filter_failed_keeps_old)
{
	const char *const pats[] = { "+keep" };
	struct events_pattern bad = { .prefix = 0, .len = 0 };
	struct events_filter_args a = {
		.size = sizeof(a), .nr_patterns = 1, .patterns = u64ptr(&bad),
	};
	char m1[128], m2[128];
	struct brd b;

	OPEN_BRD(&b, self);
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));
	EXPECT_EQ(EINVAL, xioctl(b.fd, EVENTS_IOC_SET_FILTER, &a));
	snprintf(m1, sizeof(m1), "drop %s", self->mark);
	snprintf(m2, sizeof(m2), "keep %s", self->mark);
	WRITE(self->fd, m1);
	WRITE(self->fd, m2);
	BNEXT_MSG(&b, WAIT_MS, m2);
	brd_free(&b);
}

TEST_F(ioctl, filter_uid)
{
	char mine[128], other[128], other2[128];
	struct brd b, all;
	struct brec r;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	OPEN_BRD(&b, self);
	OPEN_BRD(&all, self);
	ASSERT_EQ(0, set_filter(b.fd, EVENTS_FILTER_UID, NOBODY, NULL, 0));
	snprintf(mine, sizeof(mine), "uid %s root", self->mark);
	snprintf(other, sizeof(other), "uid %s nobody", self->mark);
	snprintf(other2, sizeof(other2), "uid %s 1000", self->mark);
	WRITE(self->fd, mine);
	ASSERT_EQ(0, write_as(self->fd, NOBODY, other));
	ASSERT_EQ(0, write_as(self->fd, 1000, other2));
	WRITE(self->fd, mine);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, other));
	EXPECT_EQ(NOBODY, r.uid);
	EXPECT_EQ(0, brd_next(&b, 200, &r));
	BNEXT_MSG(&all, WAIT_MS, mine);
	BNEXT(&all, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, other));
	EXPECT_EQ(NOBODY, r.uid);
	BNEXT(&all, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, other2));
	EXPECT_EQ(1000, r.uid);
	BNEXT_MSG(&all, WAIT_MS, mine);
	/* uid and a prefix together */
	{
		const char *const pats[] = { "-uid" };

		ASSERT_EQ(0, set_filter(b.fd, EVENTS_FILTER_UID, 0, pats, 1));
		WRITE(self->fd, mine);
		snprintf(other, sizeof(other), "root %s", self->mark);
		WRITE(self->fd, other);
		BNEXT_MSG(&b, WAIT_MS, other);
		EXPECT_EQ(0, brd_next(&b, 0, &r));
	}
	brd_free(&b);
	brd_free(&all);
}

/* Kernel records and origin filters (events from events_api_test.ko). */
TEST_F_TIMEOUT(ioctl, filter_origin_kernel_records, 180)
{
	const unsigned int N = 20;
	char m1[128], m2[128], path[512];
	unsigned int hard = 0, soft = 0, proc = 0, i;
	struct brd nok, nou, all;
	struct ev_reader tr;
	struct brec r;
	int ret;

	snprintf(path, sizeof(path), "%s/events_api_test.ko", moddir());
	if (access(path, R_OK))
		SKIP(return, "%s not found (set EVENTS_MODDIR)", path);
	OPEN_BRD(&nok, self);
	OPEN_BRD(&nou, self);
	OPEN_BRD(&all, self);
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	ASSERT_EQ(0, set_filter(nok.fd, EVENTS_FILTER_NO_KERNEL, 0, NULL, 0));
	ASSERT_EQ(0, set_filter(nou.fd, EVENTS_FILTER_NO_USER, 0, NULL, 0));
	ASSERT_EQ(0, set_filter(tr.fd, EVENTS_FILTER_NO_USER, 0, NULL, 0));
	snprintf(m1, sizeof(m1), "orig %s before", self->mark);
	snprintf(m2, sizeof(m2), "orig %s after", self->mark);
	WRITE(self->fd, m1);
	ret = run_api_test("count=20");
	ASSERT_EQ(0, ret) TH_LOG("insmod events_api_test.ko: %s", strerror(ret));
	WRITE(self->fd, m2);

	BNEXT_MSG(&nok, WAIT_MS, m1);
	BNEXT_MSG(&nok, WAIT_MS, m2);
	EXPECT_EQ(0, brd_next(&nok, 0, &r));

	for (i = 0; i < 3 * N; i++) {
		struct ev_rec rec;

		BNEXT(&nou, WAIT_MS, &r);
		ASSERT_EQ(EVENTS_RECORD_KERNEL, r.flags);
		EXPECT_EQ(0, r.uid);
		if (brec_has_prefix(&r, "api hardirq ")) {
			hard++;
			EXPECT_EQ(0, r.pid);
			EXPECT_STREQ("", r.comm);
		} else if (brec_has_prefix(&r, "api softirq ")) {
			soft++;
			EXPECT_EQ(0, r.pid);
			EXPECT_STREQ("", r.comm);
		} else if (brec_has_prefix(&r, "api process ")) {
			proc++;
			EXPECT_LT(0, r.pid);
			EXPECT_NE(0, r.comm[0]);
		} else {
			ASSERT_TRUE(0) TH_LOG("unexpected kernel record '%.*s'",
					      (int)r.payload_len, r.payload);
		}
		NEXT_REC(&tr, WAIT_MS, &rec);
		EXPECT_EQ('k', rec.origin);
		EXPECT_EQ(r.seq, rec.seq);
		ev_rec_free(&rec);
	}
	EXPECT_EQ(N, hard);
	EXPECT_EQ(N, soft);
	EXPECT_EQ(N, proc);
	EXPECT_EQ(0, brd_next(&nou, 0, &r));

	BNEXT_MSG(&all, WAIT_MS, m1);
	for (i = 0; i < 3 * N; i++) {
		BNEXT(&all, WAIT_MS, &r);
		EXPECT_EQ(EVENTS_RECORD_KERNEL, r.flags);
	}
	BNEXT_MSG(&all, WAIT_MS, m2);
	{
		struct events_reader_stats rs;

		ASSERT_EQ(0, rd_stats(nok.fd, &rs));
		EXPECT_EQ(2, rs.read);
		EXPECT_EQ(3 * N, rs.filtered);
		ASSERT_EQ(0, rd_stats(nou.fd, &rs));
		EXPECT_EQ(3 * N, rs.read);
		/* m1 was passed; m2 only if the last read looked past it */
		EXPECT_LE(1, rs.filtered);
		EXPECT_GE(2, rs.filtered);
	}
	close(tr.fd);
	evr_free(&tr);
	brd_free(&nok);
	brd_free(&nou);
	brd_free(&all);
}

/* Records a filter skips do not make the file readable. */
TEST_F(ioctl, filter_no_wakeup)
{
	const char *const pats[] = { "+keep" };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	char m[128];
	struct brd b;
	struct brec r;
	int ep, i;

	OPEN_BRD(&b, self);
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &ev));
	for (i = 0; i < 10; i++) {
		snprintf(m, sizeof(m), "drop %s %d", self->mark, i);
		WRITE(self->fd, m);
		EXPECT_EQ(0, ev_pending(b.fd));
		EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	}
	EXPECT_EQ(-1, read(b.fd, b.buf, b.cap));
	EXPECT_EQ(EAGAIN, errno);
	snprintf(m, sizeof(m), "keep %s", self->mark);
	WRITE(self->fd, m);
	EXPECT_EQ(1, ev_pending(b.fd));
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	BNEXT_MSG(&b, WAIT_MS, m);
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	close(ep);
	brd_free(&b);
}

/* A blocked reader sleeps through skipped records. */
struct blocked {
	int fd;
	uint8_t buf[4096];
	ssize_t n;
	atomic_int done;
};

static void *blocked_fn(void *arg)
{
	struct blocked *bl = arg;

	bl->n = read(bl->fd, bl->buf, sizeof(bl->buf));
	atomic_store(&bl->done, 1);
	return NULL;
}

TEST_F(ioctl, filter_blocking_read_sleeps)
{
	const char *const pats[] = { "+keep" };
	struct blocked bl = { 0 };
	char m[128];
	pthread_t th;
	struct brec r;
	char e[EV_ERR_MAX];
	int i;

	bl.fd = ev_open_live(O_RDONLY);
	ASSERT_LE(0, bl.fd);
	ASSERT_EQ(0, set_format(bl.fd, EVENTS_FORMAT_BINARY));
	ASSERT_EQ(0, set_filter(bl.fd, 0, 0, pats, 1));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_fn, &bl));
	sleep_ms(200);
	for (i = 0; i < 5; i++) {
		snprintf(m, sizeof(m), "drop %s %d", self->mark, i);
		WRITE(self->fd, m);
	}
	sleep_ms(300);
	EXPECT_EQ(0, atomic_load(&bl.done)) TH_LOG("read returned %zd", bl.n);
	snprintf(m, sizeof(m), "keep %s", self->mark);
	WRITE(self->fd, m);
	for (i = 0; i < 500 && !atomic_load(&bl.done); i++)
		sleep_ms(10);
	ASSERT_EQ(1, atomic_load(&bl.done));
	pthread_join(th, NULL);
	ASSERT_LT(0, bl.n);
	ASSERT_EQ(0, parse_bin(bl.buf, bl.n, &r, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(brec_is(&r, m));
	EXPECT_EQ((ssize_t)r.size, bl.n);
	close(bl.fd);
}

/* ---- filters while the ring overflows --------------------------------- */

FIXTURE(ovf) {
	int fd;
	struct events_stats st;
	size_t rcap;
	size_t tcap;
	char mark[64];
	size_t P;		/* payload of the flood records */
};

FIXTURE_SETUP(ovf)
{
	IOCTL_SETUP();
	self->P = self->st.capacity / 64;
	if (self->P > self->st.max_payload)
		self->P = self->st.max_payload;
	if (self->P > 2048)
		self->P = 2048;
	if (self->P < 48)
		SKIP(return, "max_payload too small");
}

FIXTURE_TEARDOWN(ovf)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* Flood record i: "<keep|drop> <mark> <i> ppp" of exactly P bytes. */
static bool flood_keep(unsigned long i)
{
	return i % 3 == 0;
}

static int flood_write(int fd, size_t P, const char *mark, unsigned long i,
		       bool keep)
{
	char buf[4096];
	int hl = snprintf(buf, sizeof(buf), "%s %s %lu ", keep ? "keep" : "drop",
			  mark, i);

	memset(buf + hl, 'p', P - hl);
	return write(fd, buf, P) == (ssize_t)P ? 0 : -1;
}

static bool flood_is(const struct brec *r, size_t P, const char *mark,
		     unsigned long i, bool keep)
{
	char buf[4096];
	int hl = snprintf(buf, sizeof(buf), "%s %s %lu ", keep ? "keep" : "drop",
			  mark, i);

	memset(buf + hl, 'p', P - hl);
	return r->payload_len == P && !memcmp(r->payload, buf, P);
}

/*
 * Write flood records until the oldest retained seq passes stop;
 * returns how many (first has seq base + 1), or -1.
 */
static long flood_until(int fd, size_t P, const char *mark, uint64_t stop,
			bool (*keep)(unsigned long), int poll_fd, int *woke)
{
	struct events_stats st;
	unsigned long i;

	for (i = 0;; i++) {
		if (flood_write(fd, P, mark, i, keep ? keep(i) : false))
			return -1;
		if (poll_fd >= 0 && ev_pending(poll_fd))
			*woke = 1;
		if (i % 8 == 7) {
			if (dev_stats(fd, &st))
				return -1;
			if (st.first_seq > stop)
				return i + 1;
		}
	}
}

/*
 * A filtered reader that does not read while the ring overflows: one loss
 * record counting exactly the dropped records that would have passed,
 * then the rest; read + lost + filtered account for every sequence number.
 */
TEST_F_TIMEOUT(ovf, filter_loss_exact, 300)
{
	const char *const pats[] = { "+keep" };
	struct events_reader_stats rs;
	struct events_stats st;
	char start[160], endm[160];
	uint64_t S, F, want_count = 0, seq, read_n = 0;
	unsigned long n, i;
	struct brd b;
	struct brec r;

	OPEN_BRD(&b, self);
	snprintf(start, sizeof(start), "keep %s start", self->mark);
	WRITE(self->fd, start);
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(brec_is(&r, start));
	S = r.seq;
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));

	/* overwrite the ring about twice */
	n = flood_until(self->fd, self->P, self->mark, S + 2 * self->st.capacity /
			(self->P + 64), flood_keep, -1, NULL);
	ASSERT_LT(0, (long)n);
	snprintf(endm, sizeof(endm), "keep %s end", self->mark);
	WRITE(self->fd, endm);
	ASSERT_EQ(0, dev_stats(self->fd, &st));
	F = st.first_seq;
	ASSERT_EQ(S + n + 2, st.next_seq) TH_LOG("another writer was active");
	ASSERT_LT(S + 1, F);
	for (i = 0; S + 1 + i < F; i++)
		want_count += flood_keep(i);

	EXPECT_EQ(1, ev_pending(b.fd));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(want_count, rs.lost) TH_LOG("pending loss not in stats");
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
	EXPECT_EQ(S + 1, r.first_seq);
	EXPECT_EQ(F - 1, r.last_seq);
	EXPECT_EQ(want_count, r.count);
	for (seq = F; seq < S + 1 + n; seq++) {
		i = seq - S - 1;
		if (!flood_keep(i))
			continue;
		BNEXT(&b, WAIT_MS, &r);
		ASSERT_EQ(seq, r.seq);
		ASSERT_TRUE(flood_is(&r, self->P, self->mark, i, true))
			TH_LOG("record %" PRIu64 " is not flood record %lu", seq, i);
		read_n++;
	}
	BNEXT_MSG(&b, WAIT_MS, endm);
	read_n++;
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(read_n + 1, rs.read);		/* and the start record */
	EXPECT_EQ(want_count, rs.lost);
	EXPECT_EQ(S + n + 2, rs.seq);
	/* every record from start to end is read, lost or filtered */
	EXPECT_EQ(n + 2, rs.read + rs.lost + rs.filtered)
		TH_LOG("read %" PRIu64 " lost %" PRIu64 " filtered %" PRIu64,
		       rs.read, rs.lost, rs.filtered);
	brd_free(&b);
}

/*
 * Only records the filter skips overflow the ring: the reader is never
 * woken, gets no loss record, and then reads the next match alone.
 */
TEST_F_TIMEOUT(ovf, filter_overflow_silent, 300)
{
	const char *const pats[] = { "+keep" };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct events_reader_stats rs;
	char keep[160];
	int woke = 0, ep;
	uint64_t S;
	long n;
	struct brd b;
	struct brec r;

	OPEN_BRD(&b, self);
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, b.fd, &ev));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	S = rs.seq;
	n = flood_until(self->fd, self->P, self->mark,
			S + 2 * self->st.capacity / (self->P + 64), NULL, b.fd,
			&woke);
	ASSERT_LT(0, n);
	EXPECT_EQ(0, woke) TH_LOG("poll reported skipped records");
	EXPECT_EQ(0, ev_pending(b.fd));
	EXPECT_EQ(0, epoll_wait(ep, &out, 1, 0));
	EXPECT_EQ(-1, read(b.fd, b.buf, b.cap));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(0, rs.lost);
	EXPECT_EQ(0, rs.read);

	snprintf(keep, sizeof(keep), "keep %s", self->mark);
	WRITE(self->fd, keep);
	EXPECT_EQ(1, epoll_wait(ep, &out, 1, 1000));
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_FALSE(r.flags & EVENTS_RECORD_LOSS) TH_LOG("loss record of %"
		PRIu64 " for records the filter skips", r.count);
	if (r.flags & EVENTS_RECORD_LOSS)
		BNEXT(&b, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, keep));
	EXPECT_EQ(S + n, r.seq);
	EXPECT_EQ(0, brd_next(&b, 0, &r));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(1, rs.read);
	EXPECT_EQ(0, rs.lost);
	EXPECT_EQ((uint64_t)n, rs.filtered)
		TH_LOG("the skipped records dropped before they were read count too");
	close(ep);
	brd_free(&b);
}

/* Records dropped before the filter is set count as lost, all of them. */
TEST_F_TIMEOUT(ovf, filter_set_after_drop, 300)
{
	const char *const pats[] = { "+keep" };
	struct events_stats st;
	char start[160];
	uint64_t S;
	long n;
	struct brd b;
	struct brec r;

	OPEN_BRD(&b, self);
	snprintf(start, sizeof(start), "keep %s start", self->mark);
	WRITE(self->fd, start);
	BNEXT(&b, WAIT_MS, &r);
	S = r.seq;
	n = flood_until(self->fd, self->P, self->mark,
			S + self->st.capacity / (self->P + 64), flood_keep, -1, NULL);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, dev_stats(self->fd, &st));
	ASSERT_EQ(0, set_filter(b.fd, 0, 0, pats, 1));
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
	EXPECT_EQ(S + 1, r.first_seq);
	EXPECT_EQ(st.first_seq - 1, r.last_seq);
	EXPECT_EQ(st.first_seq - S - 1, r.count);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(0, r.flags);
	EXPECT_TRUE(flood_keep(r.seq - S - 1));
	brd_free(&b);
}

/* ---- statistics ------------------------------------------------------ */

static const char *const sysfs_names[] = {
	"capacity", "used", "records", "first_seq", "next_seq", "written",
	"dropped", "readers", "reader_bytes", "max_payload",
};

static uint64_t stat_field(const struct events_stats *st, unsigned int i)
{
	const uint64_t v[] = {
		st->capacity, st->used, st->records, st->first_seq, st->next_seq,
		st->written, st->dropped, st->readers, st->reader_bytes,
		st->max_payload,
	};

	return v[i];
}

TEST_F(ioctl, stats_and_sysfs)
{
	struct events_stats a, b;
	uint64_t v, ring_size, max_payload;
	struct stat sb;
	char path[256];
	unsigned int i;
	int fds[3];

	ASSERT_EQ(0, ev_param("ring_size", &ring_size));
	ASSERT_EQ(0, ev_param("max_payload", &max_payload));
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	EXPECT_EQ(sizeof(a), a.size);
	EXPECT_EQ(ring_size, a.capacity);
	EXPECT_EQ(max_payload, a.max_payload);
	EXPECT_EQ(align8(HDR + max_payload), a.max_record);
	EXPECT_EQ(a.next_seq - a.first_seq, a.records);
	EXPECT_LE(a.used, a.capacity);
	EXPECT_EQ(a.records == 0, a.used == 0);
	EXPECT_EQ(a.next_seq - 1, a.written) TH_LOG("seq starts at 1 at load");
	EXPECT_EQ(a.written - a.records, a.dropped);
	EXPECT_LE(1, a.readers);
	EXPECT_LT(0, a.reader_bytes);

	/* sysfs: same values, each "N\n", mode 0444 */
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), SYSFS_DIR "/%s", sysfs_names[i]);
		ASSERT_EQ(0, stat(path, &sb)) TH_LOG("%s", path);
		EXPECT_EQ(0444, sb.st_mode & 07777) TH_LOG("%s", path);
		ASSERT_EQ(0, sysfs_u64(sysfs_names[i], &v)) TH_LOG("%s", path);
		EXPECT_EQ(stat_field(&a, i), v) TH_LOG("%s", sysfs_names[i]);
		EXPECT_EQ(-1, open(path, O_WRONLY | O_CLOEXEC));
	}

	/* writes, opens, closes */
	for (i = 0; i < 3; i++) {
		fds[i] = open(EV_DEV, O_RDONLY | O_CLOEXEC);
		ASSERT_LE(0, fds[i]);
	}
	for (i = 0; i < 5; i++) {
		char m[128];

		snprintf(m, sizeof(m), "st %s %u", self->mark, i);
		WRITE(self->fd, m);
	}
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(a.readers + 3, b.readers);
	EXPECT_EQ(a.written + 5, b.written);
	EXPECT_EQ(a.next_seq + 5, b.next_seq);
	EXPECT_EQ(b.written - b.records, b.dropped);
	EXPECT_EQ(b.next_seq - b.first_seq, b.records);
	for (i = 0; i < 10; i++) {
		ASSERT_EQ(0, sysfs_u64(sysfs_names[i], &v));
		EXPECT_EQ(stat_field(&b, i), v) TH_LOG("%s", sysfs_names[i]);
	}
	for (i = 0; i < 3; i++)
		close(fds[i]);
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(a.readers, b.readers);
	ASSERT_EQ(0, sysfs_u64("readers", &v));
	EXPECT_EQ(a.readers, v);
}

TEST_F(ioctl, reader_stats)
{
	struct events_reader_stats rs;
	char m[4][128], buf[4];
	struct brd b;
	struct brec r;
	struct events_seek_args sa;
	int i, tfd;

	OPEN_BRD(&b, self);
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(sizeof(rs), rs.size);
	EXPECT_EQ(EVENTS_FORMAT_BINARY, rs.format);
	EXPECT_EQ(self->st.next_seq, rs.seq);
	EXPECT_EQ(0, rs.read);
	EXPECT_EQ(0, rs.lost);
	EXPECT_EQ(0, rs.filtered);
	for (i = 0; i < 4; i++) {
		snprintf(m[i], sizeof(m[i]), "rst %s %d", self->mark, i);
		WRITE(self->fd, m[i]);
	}
	BNEXT(&b, WAIT_MS, &r);
	BNEXT(&b, WAIT_MS, &r);
	BNEXT(&b, WAIT_MS, &r);
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(4, rs.read);
	EXPECT_EQ(r.seq + 1, rs.seq);
	/* reading again after a seek counts again */
	ASSERT_EQ(0, bseek(&b, EVENTS_SEEK_SEQ, r.seq, &sa));
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(r.seq, rs.seq);
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_EQ(0, rd_stats(b.fd, &rs));
	EXPECT_EQ(5, rs.read);

	/* text: a partly read line is read, and counted once */
	tfd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, tfd);
	ASSERT_EQ(0, seek_to(tfd, EVENTS_SEEK_SEQ, r.seq, &sa));
	ASSERT_EQ(0, rd_stats(tfd, &rs));
	EXPECT_EQ(EVENTS_FORMAT_TEXT, rs.format);
	ASSERT_EQ(4, read(tfd, buf, 4));
	ASSERT_EQ(0, rd_stats(tfd, &rs));
	EXPECT_EQ(r.seq + 1, rs.seq);
	EXPECT_EQ(1, rs.read);
	close(tfd);
	brd_free(&b);
}

/* ---- CLEAR ------------------------------------------------------------ */

TEST_F(ioctl, clear)
{
	struct events_stats a, b;
	struct events_reader_stats rs;
	struct ev_reader tr;
	struct ev_rec rec;
	char m[3][128], after[128];
	struct brd br, done;
	struct brec r;
	uint64_t s0;
	int i;

	OPEN_BRD(&br, self);
	OPEN_BRD(&done, self);
	ASSERT_EQ(0, evr_init(&tr, ev_open_live(O_RDONLY | O_NONBLOCK), self->tcap));
	ASSERT_LE(0, tr.fd);
	for (i = 0; i < 3; i++) {
		snprintf(m[i], sizeof(m[i]), "clr %s %d", self->mark, i);
		WRITE(self->fd, m[i]);
	}
	/* br reads one, done reads all, tr none */
	br.rdsize = align8(HDR + strlen(m[0]));
	BNEXT(&br, WAIT_MS, &r);
	br.rdsize = 0;
	ASSERT_TRUE(brec_is(&r, m[0]));
	s0 = r.seq;
	for (i = 0; i < 3; i++)
		BNEXT_MSG(&done, WAIT_MS, m[i]);
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	EXPECT_EQ(EINVAL, xioctl(self->fd, EVENTS_IOC_CLEAR, (void *)1));
	EXPECT_EQ(EINVAL, xioctl(self->fd, EVENTS_IOC_CLEAR, bad_ptr(4096)));
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(a.records, b.records) TH_LOG("a failed clear dropped records");
	ASSERT_EQ(0, xioctl(self->fd, EVENTS_IOC_CLEAR, NULL));
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(0, b.records);
	EXPECT_EQ(0, b.used);
	EXPECT_EQ(a.next_seq, b.next_seq);
	EXPECT_EQ(a.next_seq, b.first_seq);
	EXPECT_EQ(a.written, b.written);
	EXPECT_EQ(a.dropped + a.records, b.dropped);
	{
		uint64_t v;

		ASSERT_EQ(0, sysfs_u64("records", &v));
		EXPECT_EQ(0, v);
		ASSERT_EQ(0, sysfs_u64("dropped", &v));
		EXPECT_EQ(b.dropped, v);
	}
	/* a clear of an empty ring: nothing more */
	ASSERT_EQ(0, xioctl(self->fd, EVENTS_IOC_CLEAR, NULL));
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	EXPECT_EQ(b.dropped, a.dropped);

	snprintf(after, sizeof(after), "clr %s after", self->mark);
	WRITE(self->fd, after);
	/* sequence numbers continue */
	BNEXT(&done, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, after));
	EXPECT_EQ(b.next_seq, r.seq);
	EXPECT_EQ(0, brd_next(&done, 0, &r));
	/* br had read one: it lost two */
	ASSERT_EQ(0, rd_stats(br.fd, &rs));
	EXPECT_EQ(2, rs.lost);
	BNEXT(&br, WAIT_MS, &r);
	ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
	EXPECT_EQ(s0 + 1, r.first_seq);
	EXPECT_EQ(s0 + 2, r.last_seq);
	EXPECT_EQ(2, r.count);
	BNEXT_MSG(&br, WAIT_MS, after);
	/* tr, text, lost all three */
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_EQ('l', rec.origin);
	EXPECT_EQ(s0, rec.lost_first);
	EXPECT_EQ(s0 + 2, rec.lost_last);
	EXPECT_EQ(3, rec.lost);
	ev_rec_free(&rec);
	NEXT_REC(&tr, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, after));
	ev_rec_free(&rec);
	close(tr.fd);
	evr_free(&tr);
	brd_free(&br);
	brd_free(&done);
}

/* ---- RESIZE ----------------------------------------------------------- */

TEST_F_TIMEOUT(ioctl, resize, 120)
{
	const uint64_t bad[] = { 0, 1, 4095, 4097, 12288, 3 * 65536,
				 268435456ULL * 2, 1ULL << 32, ~0ULL };
	struct events_resize_args ra = { .size = sizeof(ra) };
	uint64_t orig = self->st.capacity, v, small, seq0;
	struct events_stats a, b;
	struct brd rd, lag;
	struct brec r;
	char m[160];
	unsigned int i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		EXPECT_EQ(EINVAL, resize_ring(self->fd, bad[i]))
			TH_LOG("capacity %" PRIu64, bad[i]);
	}
	/* too small for one record of max_payload */
	for (v = 4096; v < 268435456ULL && v < self->st.max_record + 48; v *= 2) {
		EXPECT_EQ(EINVAL, resize_ring(self->fd, v))
			TH_LOG("capacity %" PRIu64 " < a largest record", v);
	}
	ra.capacity = orig;
	ra.flags = 1;
	EXPECT_EQ(EINVAL, xioctl(self->fd, EVENTS_IOC_RESIZE, &ra));
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	EXPECT_EQ(orig, a.capacity);

	/* grow: nothing lost, positions kept */
	OPEN_BRD(&rd, self);
	OPEN_BRD(&lag, self);
	snprintf(m, sizeof(m), "rsz %s 0", self->mark);
	WRITE(self->fd, m);
	BNEXT(&rd, WAIT_MS, &r);
	seq0 = r.seq;
	ASSERT_EQ(0, resize_ring(self->fd, orig * 2 <= 268435456ULL ? orig * 2 : orig / 2));
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(orig * 2 <= 268435456ULL ? orig * 2 : orig / 2, b.capacity);
	ASSERT_EQ(0, ev_param("ring_size", &v));
	EXPECT_EQ(b.capacity, v);
	ASSERT_EQ(0, sysfs_u64("capacity", &v));
	EXPECT_EQ(b.capacity, v);
	EXPECT_EQ(a.next_seq + 1, b.next_seq);
	snprintf(m, sizeof(m), "rsz %s 1", self->mark);
	WRITE(self->fd, m);
	BNEXT(&rd, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, m));
	EXPECT_EQ(seq0 + 1, r.seq);
	EXPECT_EQ(0, brd_next(&rd, 0, &r));

	/* shrink to the smallest size that holds a largest record */
	for (small = 4096; small < self->st.max_record + 48; small *= 2)
		;
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	for (i = 0; i < 2 * small / 64; i++) {
		snprintf(m, sizeof(m), "rsz %s fill %u", self->mark, i);
		WRITE(self->fd, m);
	}
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	ASSERT_EQ(0, resize_ring(self->fd, small));
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(small, b.capacity);
	EXPECT_LE(b.used, small);
	EXPECT_EQ(a.next_seq, b.next_seq);
	EXPECT_LT(a.first_seq, b.first_seq) TH_LOG("nothing dropped by shrinking");
	EXPECT_EQ(a.dropped + (b.first_seq - a.first_seq), b.dropped);
	EXPECT_EQ(b.next_seq - b.first_seq, b.records);
	EXPECT_LT(0, b.records) TH_LOG("the newest records are kept");
	ASSERT_EQ(0, ev_param("ring_size", &v));
	EXPECT_EQ(small, v);
	/* rd read up to "1": a loss record for exactly what it missed */
	BNEXT(&rd, WAIT_MS, &r);
	ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
	EXPECT_EQ(seq0 + 2, r.first_seq);
	EXPECT_EQ(b.first_seq - 1, r.last_seq);
	EXPECT_EQ(b.first_seq - seq0 - 2, r.count);
	BNEXT(&rd, WAIT_MS, &r);
	EXPECT_EQ(b.first_seq, r.seq);
	snprintf(m, sizeof(m), "rsz %s fill %u", self->mark,
		 (unsigned int)(r.seq - seq0 - 2));
	EXPECT_TRUE(brec_is(&r, m));
	for (v = b.first_seq + 1; v < b.next_seq; v++) {
		BNEXT(&rd, WAIT_MS, &r);
		EXPECT_EQ(v, r.seq);
	}
	EXPECT_EQ(0, brd_next(&rd, 0, &r));
	/* lag had read nothing */
	BNEXT(&lag, WAIT_MS, &r);
	ASSERT_TRUE(r.flags & EVENTS_RECORD_LOSS);
	EXPECT_EQ(seq0, r.first_seq);
	EXPECT_EQ(b.first_seq - 1, r.last_seq);

	/* and back */
	ASSERT_EQ(0, resize_ring(self->fd, orig));
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	EXPECT_EQ(orig, a.capacity);
	EXPECT_EQ(b.first_seq, a.first_seq) TH_LOG("growing dropped records");
	EXPECT_EQ(b.records, a.records);
	ASSERT_EQ(0, ev_param("ring_size", &v));
	EXPECT_EQ(orig, v);
	brd_free(&rd);
	brd_free(&lag);
}

/* ---- privileges ------------------------------------------------------- */

/*
 * Files opened as root, then CAP_SYS_ADMIN dropped (or the uid changed):
 * CLEAR and RESIZE fail with EPERM; everything else still works.
 */
TEST_F(ioctl, eperm_without_cap_sys_admin)
{
	int *res, status, k;
	struct events_stats a, b;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	res = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	for (k = 0; k < 2; k++) {
		memset(res, 0xcc, 4096);
		pid = fork();
		ASSERT_LE(0, pid);
		if (pid == 0) {
			int fds[3] = {
				open(EV_DEV, O_RDONLY | O_CLOEXEC),
				open(EV_DEV, O_WRONLY | O_CLOEXEC),
				open(EV_DEV, O_RDWR | O_CLOEXEC),
			};
			struct events_stats st;
			uint64_t other = a.capacity < 268435456ULL ?
					 2 * a.capacity : a.capacity / 2;
			int i;

			if (k == 0 ? drop_sys_admin() : drop_to_uid(NOBODY))
				_exit(90);
			for (i = 0; i < 3; i++) {
				res[8 * i + 0] = xioctl(fds[i], EVENTS_IOC_CLEAR, NULL);
				res[8 * i + 1] = resize_ring(fds[i], a.capacity);
				res[8 * i + 2] = resize_ring(fds[i], other);
				res[8 * i + 3] = dev_stats(fds[i], &st);
				res[8 * i + 4] = set_format(fds[i], EVENTS_FORMAT_BINARY);
				res[8 * i + 5] = seek_to(fds[i], EVENTS_SEEK_TIME, 0, NULL);
				res[8 * i + 6] = set_filter(fds[i], EVENTS_FILTER_UID, 0, NULL, 0);
				res[8 * i + 7] = xioctl(fds[i], EVENTS_IOC_CLEAR, (void *)1);
			}
			/* a new open is refused by the mode (0600 root) */
			res[30] = open(EV_DEV, O_RDONLY) < 0 ? errno : 0;
			_exit(0);
		}
		ASSERT_EQ(pid, waitpid(pid, &status, 0));
		ASSERT_EQ(0, status);
		for (int i = 0; i < 3; i++) {
			EXPECT_EQ(EPERM, res[8 * i + 0]) TH_LOG("case %d fd %d", k, i);
			EXPECT_EQ(EPERM, res[8 * i + 1]);
			EXPECT_EQ(EPERM, res[8 * i + 2]);
			EXPECT_EQ(0, res[8 * i + 3]);
			EXPECT_EQ(0, res[8 * i + 4]);
			EXPECT_EQ(0, res[8 * i + 5]);
			EXPECT_EQ(0, res[8 * i + 6]);
			/* the privilege check or the argument check: either fails */
			EXPECT_NE(0, res[8 * i + 7]);
		}
		if (k == 1) {
			EXPECT_EQ(EACCES, res[30]);
		}
	}
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	EXPECT_EQ(a.capacity, b.capacity);
	EXPECT_EQ(a.first_seq, b.first_seq) TH_LOG("records were cleared");
	munmap(res, 4096);
}

/* ---- clear and resize racing with readers and writers ----------------- */

struct race {
	int wfd[2];
	atomic_int stop;
	atomic_ulong writes;
	char mark[64];
	size_t rcap;
	/* reader results */
	char err[2][EV_ERR_MAX];
	uint64_t records[2], losses[2], lost[2];
	atomic_int readers_done;
	uint64_t end_seq;
	atomic_llong end_ms;
	atomic_int end_known;
};

/* Filler after the "race <mark> w<id> <i> " prefix of record i. */
static size_t race_fill(unsigned long i)
{
	return (i * 37) % 300;
}

struct race_w {
	struct race *rc;
	int id;
};

static void *race_writer(void *arg)
{
	struct race_w *rw = arg;
	struct race *rc = rw->rc;
	int id = rw->id;
	unsigned long i;
	char buf[512];

	for (i = 0; !atomic_load(&rc->stop); i++) {
		int hl = snprintf(buf, sizeof(buf), "race %s w%d %lu ", rc->mark,
				  id, i);
		size_t len = hl + race_fill(i);

		memset(buf + hl, 'a' + (i + id) % 26, len - hl);
		if (write(rc->wfd[id], buf, len) != (ssize_t)len)
			break;
		atomic_fetch_add(&rc->writes, 1);
	}
	return NULL;
}

/* Check a record of the race: its payload is the writer's pattern. */
static int race_check_payload(const struct race *rc, const uint8_t *p,
			      size_t n)
{
	char pfx[160];
	unsigned long i;
	int id, hl;
	size_t k;

	hl = snprintf(pfx, sizeof(pfx), "race %s w", rc->mark);
	if (n < (size_t)hl || memcmp(p, pfx, hl))
		return 0;	/* not ours (end marker or another event) */
	if (sscanf((const char *)p + hl, "%d %lu ", &id, &i) != 2)
		return -1;
	hl = snprintf(pfx, sizeof(pfx), "race %s w%d %lu ", rc->mark, id, i);
	if (n != hl + race_fill(i) || memcmp(p, pfx, hl))
		return -1;
	for (k = hl; k < n; k++)
		if (p[k] != 'a' + (i + id) % 26)
			return -1;
	return 0;
}

/* The end marker must arrive within 30 s of being written. */
static bool race_overdue(struct race *rc, char *err)
{
	if (!atomic_load(&rc->end_known) ||
	    ev_now_ms() < atomic_load(&rc->end_ms) + 30000)
		return false;
	snprintf(err, EV_ERR_MAX, "the end marker (seq %" PRIu64
		 ") did not arrive", rc->end_seq);
	return true;
}

struct race_reader {
	struct race *rc;
	int idx;
	int fd;
};

static void *race_reader_bin(void *arg)
{
	struct race_reader *rr = arg;
	struct race *rc = rr->rc;
	struct brd b;
	struct brec r;
	uint64_t expect = 0;
	char *err = rc->err[rr->idx];

	if (brd_init(&b, rr->fd, rc->rcap)) {
		snprintf(err, EV_ERR_MAX, "binary reader setup");
		goto out;
	}
	for (;;) {
		int ret = brd_next(&b, 100, &r);

		if (ret < 0) {
			snprintf(err, EV_ERR_MAX, "%s", b.err);
			break;
		}
		if (!ret) {
			if (atomic_load(&rc->end_known) && expect > rc->end_seq)
				break;
			if (race_overdue(rc, err))
				break;
			continue;
		}
		if (r.flags & EVENTS_RECORD_LOSS) {
			if (expect && r.first_seq != expect) {
				snprintf(err, EV_ERR_MAX, "loss from %" PRIu64
					 ", expected %" PRIu64, r.first_seq, expect);
				break;
			}
			expect = r.last_seq + 1;
			rc->losses[rr->idx]++;
			rc->lost[rr->idx] += r.count;
			continue;
		}
		if (expect && r.seq != expect) {
			snprintf(err, EV_ERR_MAX, "seq %" PRIu64 ", expected %"
				 PRIu64, r.seq, expect);
			break;
		}
		expect = r.seq + 1;
		if (race_check_payload(rc, r.payload, r.payload_len)) {
			snprintf(err, EV_ERR_MAX, "torn payload at seq %" PRIu64,
				 r.seq);
			break;
		}
		rc->records[rr->idx]++;
	}
	brd_free(&b);
out:
	atomic_fetch_add(&rc->readers_done, 1);
	return NULL;
}

static void *race_reader_text(void *arg)
{
	struct race_reader *rr = arg;
	struct race *rc = rr->rc;
	struct ev_stream s = { 0 };
	struct ev_reader tr;
	char *err = rc->err[rr->idx];

	if (evr_init(&tr, rr->fd, 4 * 4096 + 65536)) {
		snprintf(err, EV_ERR_MAX, "text reader setup");
		goto out;
	}
	for (;;) {
		const char *l;
		struct ev_rec rec;
		size_t n;
		int ret = evr_next(&tr, 100, &l, &n);

		if (ret < 0) {
			snprintf(err, EV_ERR_MAX, "read: %s", strerror(errno));
			break;
		}
		if (!ret) {
			if (atomic_load(&rc->end_known) && s.expect > rc->end_seq)
				break;
			if (race_overdue(rc, err))
				break;
			continue;
		}
		if (ev_parse(l, n, &rec, err, EV_ERR_MAX))
			break;
		if (evs_feed(&s, &rec)) {
			snprintf(err, EV_ERR_MAX, "%s", s.err);
			ev_rec_free(&rec);
			break;
		}
		if (rec.origin != 'l' &&
		    race_check_payload(rc, (const uint8_t *)rec.msg, rec.msg_len)) {
			snprintf(err, EV_ERR_MAX, "torn line at seq %" PRIu64,
				 rec.seq);
			ev_rec_free(&rec);
			break;
		}
		ev_rec_free(&rec);
	}
	rc->records[rr->idx] = s.records;
	rc->losses[rr->idx] = s.loss_lines;
	rc->lost[rr->idx] = s.lost;
	evr_free(&tr);
out:
	close(rr->fd);
	atomic_fetch_add(&rc->readers_done, 1);
	return NULL;
}

TEST_F_TIMEOUT(ioctl, clear_resize_race, 300)
{
	const uint64_t sizes[] = { 65536, 8192, 1048576, 16384, 262144, 32768 };
	struct events_stats a, b;
	struct events_reader_stats rs;
	pthread_t w[2], rt[2];
	struct race_reader rr[2];
	struct race_w rw[2];
	struct race *rc = calloc(1, sizeof(*rc));
	char endm[160];
	uint64_t start_seq;
	int i, ops = 0, bin_fd;
	int64_t end;

	ASSERT_NE(NULL, rc);
	if (self->st.max_record + 48 > 8192)
		SKIP(return, "max_payload %u too large for the small sizes",
		     self->st.max_payload);
	snprintf(rc->mark, sizeof(rc->mark), "%s", self->mark);
	rc->rcap = self->rcap;
	for (i = 0; i < 2; i++) {
		rc->wfd[i] = open(EV_DEV, O_WRONLY | O_CLOEXEC);
		ASSERT_LE(0, rc->wfd[i]);
	}
	ASSERT_EQ(0, dev_stats(self->fd, &a));
	start_seq = a.next_seq;
	bin_fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	rr[0] = (struct race_reader){ rc, 0, bin_fd };
	rr[1] = (struct race_reader){ rc, 1, ev_open_live(O_RDONLY | O_NONBLOCK) };
	ASSERT_LE(0, rr[0].fd);
	ASSERT_LE(0, rr[1].fd);
	/* the binary reader's fd stays open in brd_free's close: dup it */
	bin_fd = dup(bin_fd);
	ASSERT_LE(0, bin_fd);
	ASSERT_EQ(0, pthread_create(&rt[0], NULL, race_reader_bin, &rr[0]));
	ASSERT_EQ(0, pthread_create(&rt[1], NULL, race_reader_text, &rr[1]));
	for (i = 0; i < 2; i++) {
		rw[i] = (struct race_w){ rc, i };
		ASSERT_EQ(0, pthread_create(&w[i], NULL, race_writer, &rw[i]));
	}

	end = ev_now_ms() + 8000;
	for (i = 0; ev_now_ms() < end; i++) {
		if (i % 2) {
			EXPECT_EQ(0, xioctl(self->fd, EVENTS_IOC_CLEAR, NULL));
		} else {
			EXPECT_EQ(0, resize_ring(self->fd, sizes[(i / 2) % 6]));
		}
		ops++;
		sleep_ms(20 + (i * 13) % 50);
	}
	atomic_store(&rc->stop, 1);
	for (i = 0; i < 2; i++)
		pthread_join(w[i], NULL);
	ASSERT_EQ(0, resize_ring(self->fd, self->st.capacity));
	snprintf(endm, sizeof(endm), "race %s end", self->mark);
	WRITE(self->fd, endm);
	ASSERT_EQ(0, dev_stats(self->fd, &b));
	rc->end_seq = b.next_seq - 1;
	atomic_store(&rc->end_ms, ev_now_ms());
	atomic_store(&rc->end_known, 1);
	for (i = 0; i < 2; i++)
		pthread_join(rt[i], NULL);

	TH_LOG("%d clears/resizes, %lu writes; binary: %" PRIu64 " records, %"
	       PRIu64 " losses (%" PRIu64 " lost); text: %" PRIu64 " records, %"
	       PRIu64 " losses (%" PRIu64 " lost)", ops,
	       atomic_load(&rc->writes), rc->records[0], rc->losses[0],
	       rc->lost[0], rc->records[1], rc->losses[1], rc->lost[1]);
	EXPECT_STREQ("", rc->err[0]);
	EXPECT_STREQ("", rc->err[1]);
	EXPECT_EQ(a.written + atomic_load(&rc->writes) + 1, b.written);
	EXPECT_EQ(b.written - b.records, b.dropped);
	for (i = 0; i < 2; i++) {
		EXPECT_EQ(b.next_seq - start_seq, rc->records[i] + rc->lost[i])
			TH_LOG("reader %d: every seq read or lost", i);
	}
	ASSERT_EQ(0, rd_stats(bin_fd, &rs));
	EXPECT_EQ(rc->records[0], rs.read);
	EXPECT_EQ(rc->lost[0], rs.lost);
	EXPECT_EQ(b.next_seq, rs.seq);
	EXPECT_EQ(self->st.capacity, b.capacity);
	close(bin_fd);
	for (i = 0; i < 2; i++)
		close(rc->wfd[i]);
	free(rc);
}

/* ---- namespaces -------------------------------------------------------- */

struct ns_result {
	int err;
	char why[320];
	int64_t text_uid[3], bin_uid[3], text_pid[3], bin_pid[3];
	int64_t inh_pid[3], inh_uid[3];	/* through a file opened outside */
};

/* Read the three messages through a file opened outside the namespace. */
static int ns_read_inherited(struct ns_result *res, struct brd *b,
			     char msgs[3][160])
{
	struct brec r;
	int k;

	for (k = 0; k < 3; k++) {
		if (brd_next(b, WAIT_MS, &r) != 1 || !brec_is(&r, msgs[k])) {
			snprintf(res->why, sizeof(res->why),
				 "inherited file, record %d: %s", k, b->err);
			return 17;
		}
		res->inh_pid[k] = r.pid;
		res->inh_uid[k] = r.uid;
	}
	return 0;
}

/*
 * In the child: open a text and a binary reader, seek both to seq and read
 * the three messages; store the uids and pids seen.
 */
static int ns_read(struct ns_result *res, uint64_t seq, char msgs[3][160],
		   size_t rcap)
{
	struct ev_reader tr;
	struct brd b;
	struct brec r;
	int i;

	res->err = 1;
	if (evr_init(&tr, open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC),
		     65536 + 4 * 4096) || tr.fd < 0) {
		snprintf(res->why, sizeof(res->why), "open: %s", strerror(errno));
		return 1;
	}
	if (brd_init(&b, open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC), rcap)) {
		snprintf(res->why, sizeof(res->why), "open binary: %s",
			 strerror(errno));
		return 1;
	}
	if (seek_to(tr.fd, EVENTS_SEEK_SEQ, seq, NULL) ||
	    bseek(&b, EVENTS_SEEK_SEQ, seq, NULL)) {
		snprintf(res->why, sizeof(res->why), "seek failed");
		return 1;
	}
	for (i = 0; i < 3; i++) {
		const char *l;
		size_t n;
		struct ev_rec rec;
		char e[EV_ERR_MAX];

		if (evr_next(&tr, WAIT_MS, &l, &n) != 1 ||
		    ev_parse(l, n, &rec, e, sizeof(e)) || !ev_msg_is(&rec, msgs[i])) {
			snprintf(res->why, sizeof(res->why), "text record %d", i);
			return 2;
		}
		res->text_uid[i] = rec.uid;
		res->text_pid[i] = rec.pid;
		ev_rec_free(&rec);
		if (brd_next(&b, WAIT_MS, &r) != 1 || !brec_is(&r, msgs[i])) {
			snprintf(res->why, sizeof(res->why), "binary record %d: %s",
				 i, b.err);
			return 3;
		}
		res->bin_uid[i] = r.uid;
		res->bin_pid[i] = r.pid;
	}
	res->err = 0;
	return 0;
}

static int write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = write(fd, s, strlen(s));
	close(fd);
	return n == (ssize_t)strlen(s) ? 0 : -1;
}

/*
 * A reader opened in a new user namespace, where outside uid 1000 is 0
 * and outside 0 is 5: root's events read uid 5, uid 1000's read 0, and
 * uid 2000 (not mapped) reads 65534, in text and binary.
 */
TEST_F(ioctl, userns_uid_translation)
{
	char msgs[3][160], path[64];
	struct ns_result *res;
	struct brd b;
	struct brec r;
	int go[2], ready[2], status;
	uint64_t seq;
	pid_t child;
	char c;
	struct brd outside;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	OPEN_BRD(&b, self);
	/* opened here, read in the namespace: uids as seen from here */
	OPEN_BRD(&outside, self);
	snprintf(msgs[0], 160, "userns %s root", self->mark);
	snprintf(msgs[1], 160, "userns %s 1000", self->mark);
	snprintf(msgs[2], 160, "userns %s 2000", self->mark);
	WRITE(self->fd, msgs[0]);
	ASSERT_EQ(0, write_as(self->fd, 1000, msgs[1]));
	ASSERT_EQ(0, write_as(self->fd, 2000, msgs[2]));
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(brec_is(&r, msgs[0]));
	seq = r.seq;

	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		close(go[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER))
			_exit(KSFT_SKIP);
		c = 1;
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1 || c != 1)
			_exit(5);
		c = ns_read(res, seq, msgs, self->rcap);
		_exit(c ? c : ns_read_inherited(res, &outside, msgs));
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		ASSERT_EQ(child, waitpid(child, &status, 0));
		if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
			SKIP(return, "no user namespaces");
		ASSERT_TRUE(0) TH_LOG("child failed: 0x%x", status);
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	c = write_file(path, "0 1000 1\n5 0 1\n") ? 0 : 1;
	EXPECT_EQ(1, c) TH_LOG("writing %s: %s", path, strerror(errno));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	EXPECT_EQ(0, status) TH_LOG("child: %s", res->why);
	ASSERT_EQ(0, res->err) TH_LOG("%s", res->why);
	EXPECT_EQ(5, res->text_uid[0]);
	EXPECT_EQ(5, res->bin_uid[0]);
	EXPECT_EQ(0, res->text_uid[1]);
	EXPECT_EQ(0, res->bin_uid[1]);
	EXPECT_EQ(OVERFLOW_UID, res->text_uid[2]);
	EXPECT_EQ(OVERFLOW_UID, res->bin_uid[2]);
	/* the opener's namespace counts, not the reading task's */
	EXPECT_EQ(0, res->inh_uid[0]);
	EXPECT_EQ(1000, res->inh_uid[1]);
	EXPECT_EQ(2000, res->inh_uid[2]);
	/* and here, in the initial namespace, the real uids */
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(1000, r.uid);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_EQ(2000, r.uid);
	close(go[1]);
	close(ready[0]);
	brd_free(&b);
	brd_free(&outside);
	munmap(res, sizeof(*res));
}

/* The filter's uid is taken in the caller's user namespace. */
TEST_F(ioctl, userns_filter_uid)
{
	struct ns_result *res;
	int go[2], ready[2], status;
	char path[64], c;
	pid_t child;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	ASSERT_EQ(0, pipe(go));
	ASSERT_EQ(0, pipe(ready));
	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		int fd;

		close(go[1]);
		close(ready[0]);
		if (unshare(CLONE_NEWUSER))
			_exit(KSFT_SKIP);
		c = 1;
		if (write(ready[1], &c, 1) != 1 || read(go[0], &c, 1) != 1)
			_exit(5);
		fd = open(EV_DEV, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(6);
		/* 5 maps (to 0 outside); 0 and 1000 do not */
		res->text_uid[0] = set_filter(fd, EVENTS_FILTER_UID, 5, NULL, 0);
		res->text_uid[1] = set_filter(fd, EVENTS_FILTER_UID, 1000, NULL, 0);
		res->text_uid[2] = set_filter(fd, EVENTS_FILTER_UID, 0, NULL, 0);
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (read(ready[0], &c, 1) != 1) {
		ASSERT_EQ(child, waitpid(child, &status, 0));
		SKIP(return, "no user namespaces");
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)child);
	EXPECT_EQ(0, write_file(path, "5 0 1\n"));
	ASSERT_EQ(1, write(go[1], &c, 1));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(0, res->text_uid[0]);
	EXPECT_EQ(EINVAL, res->text_uid[1]);
	EXPECT_EQ(EINVAL, res->text_uid[2]);
	close(go[1]);
	close(ready[0]);
	munmap(res, sizeof(*res));
}

/*
 * A reader in a new pid namespace: a writer outside reads pid 0, writers
 * inside their namespace pids (1 and 2), in text and binary.
 */
TEST_F(ioctl, pidns_pid_translation)
{
	char msgs[3][160];
	struct ns_result *res;
	struct brd b;
	struct brec r;
	int status, i;
	uint64_t seq;
	pid_t child;
	int pfd[2];
	struct brd outside;

	if (geteuid() != 0)
		SKIP(return, "needs root");
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	res->err = -1;
	OPEN_BRD(&b, self);
	/* opened here, read in the namespace: pids as seen from here */
	OPEN_BRD(&outside, self);
	snprintf(msgs[0], 160, "pidns %s outer", self->mark);
	snprintf(msgs[1], 160, "pidns %s init", self->mark);
	snprintf(msgs[2], 160, "pidns %s second", self->mark);
	WRITE(self->fd, msgs[0]);
	BNEXT(&b, WAIT_MS, &r);
	ASSERT_TRUE(brec_is(&r, msgs[0]));
	seq = r.seq;
	ASSERT_EQ(0, pipe(pfd));

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t p;

		if (unshare(CLONE_NEWPID))
			_exit(KSFT_SKIP);
		p = fork();
		if (p == 0) {		/* pid 1 */
			int hold[2], done[2], st;
			pid_t q;
			char c;

			if (ev_write_str(self->fd, msgs[1]) != (long)strlen(msgs[1]))
				_exit(10);
			if (pipe(hold) || pipe(done))
				_exit(13);
			q = fork();
			if (q == 0) {	/* pid 2: alive until the records are read */
				close(hold[1]);
				close(done[0]);
				c = ev_write_str(self->fd, msgs[2]) ==
				    (long)strlen(msgs[2]) ? 0 : 11;
				if (write(done[1], &c, 1) != 1)
					_exit(14);
				_exit(read(hold[0], &c, 1) == 0 ? 0 : 15);
			}
			close(hold[0]);
			close(done[1]);
			if (q != 2 || read(done[0], &c, 1) != 1 || c)
				_exit(12);
			st = ns_read(res, seq, msgs, self->rcap);
			if (!st)
				st = ns_read_inherited(res, &outside, msgs);
			close(hold[1]);
			if (waitpid(q, &status, 0) != q || status)
				_exit(16);
			_exit(st);
		}
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		_exit(p > 0 && waitpid(p, &status, 0) == p && status == 0 ? 0 :
		      WIFEXITED(status) ? WEXITSTATUS(status) : 99);
	}
	close(pfd[1]);
	ASSERT_EQ(child, waitpid(child, &status, 0));
	if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
		SKIP(return, "no pid namespaces");
	EXPECT_EQ(0, status) TH_LOG("child: 0x%x %s", status, res->why);
	ASSERT_EQ(0, res->err) TH_LOG("%s", res->why);
	EXPECT_EQ(0, res->text_pid[0]) TH_LOG("an outside writer reads 0");
	EXPECT_EQ(0, res->bin_pid[0]);
	EXPECT_EQ(1, res->text_pid[1]);
	EXPECT_EQ(1, res->bin_pid[1]);
	EXPECT_EQ(2, res->text_pid[2]);
	EXPECT_EQ(2, res->bin_pid[2]);
	for (i = 0; i < 3; i++) {
		EXPECT_EQ(0, res->text_uid[i]);
		EXPECT_EQ(0, res->bin_uid[i]);
	}
	/* the opener's namespace counts, not the reading task's */
	EXPECT_EQ(getpid(), res->inh_pid[0]);
	EXPECT_LT(2, res->inh_pid[1]);
	EXPECT_LT(2, res->inh_pid[2]);
	/* outside, the inner writers have their global pids */
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, msgs[1]));
	EXPECT_LT(2, r.pid);
	BNEXT(&b, WAIT_MS, &r);
	EXPECT_TRUE(brec_is(&r, msgs[2]));
	EXPECT_LT(2, r.pid);
	close(pfd[0]);
	brd_free(&b);
	brd_free(&outside);
	munmap(res, sizeof(*res));
}

TEST_HARNESS_MAIN
