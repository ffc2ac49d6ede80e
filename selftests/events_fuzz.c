// SPDX-License-Identifier: GPL-2.0
/*
 * events_fuzz - syscall fuzzer for /dev/events
 *
 * Threads (two by default) run random operations on a shared pool of up
 * to 32 files of the device: open with random flags, read, readv, pread,
 * write, writev, pwrite (random sizes and bytes, bad pointers, buffers
 * that end next to an inaccessible page, bad iovecs), lseek (random offsets
 * and whence), poll, ioctl (random commands), EVENTS_IOC_LOG (random
 * batches, well-formed or spoiled in one place), mmap, close. Each result is
 * checked against the errno contract where the contract is precise:
 * EBADF for the wrong direction, EMSGSIZE for oversized writes, EFAULT for
 * bad pointers, ESPIPE/EINVAL for lseek, ENOTTY for ioctl, the documented
 * order of checks for a batch, EAGAIN only under O_NONBLOCK with nothing
 * pending.
 *
 * Every 1000 operations per thread the threads stop at a barrier and the
 * first one checks the state precisely: it drains every readable file
 * (lines must parse and follow each other), and runs probes: failing
 * writes must log nothing, failing reads must consume nothing, a random
 * payload must come back escaped exactly, a loss line must be exact.
 *
 * Blocking reads never hang: they are done only after poll() reported
 * data, under a lock that keeps other consumers of that file away.
 * A watchdog ends the run if an operation takes more than 20 s; at a
 * check, draining one file and running the probes each count as one
 * operation (draining all 32 files of a full ring can take longer than
 * that on an instrumented kernel under emulation).
 *
 * Prints "events_fuzz: seed <n>" first; exit status 0 when no violation
 * was seen, 1 otherwise, 4 to skip.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <linux/events.h>

#include "events_util.h"

#define KSFT_SKIP	4

#define PREFIX_MAX	160
#define NR_SLOTS	32
#define NR_THREADS_MAX	8
#define ROUND_OPS	1000	/* per thread between checks */
#define HANG_MS		20000
#define DESC_LEN	512
#define MAX_RW_COUNT	(INT_MAX & ~4095UL)
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))

/* Newer than some installed headers (linux/fs.h of 6.12). */
#ifndef FS_IOC_GETFSUUID
#define FS_IOC_GETFSUUID	_IOC(_IOC_READ, 0x15, 0, 17)
#endif
#ifndef FS_IOC_GETFSSYSFSPATH
#define FS_IOC_GETFSSYSFSPATH	_IOC(_IOC_READ, 0x15, 1, 129)
#endif

/* Pointers no process can use: the kernel half and a non-canonical one. */
#define KERNEL_PTR	((char *)0xffffffff81000000UL)
#define NONCANON_PTR	((char *)0x8000000000000000UL)

/* Bad pointers the compiler cannot see through. */
static char *volatile null_ptr;
static char *volatile one_ptr = (char *)1;

enum op {
	OP_OPEN, OP_CLOSE, OP_READ, OP_READV, OP_PREAD, OP_WRITE, OP_WRITEV,
	OP_PWRITE, OP_LSEEK, OP_POLL, OP_IOCTL, OP_MMAP, OP_FSTAT, OP_LOG,
	NR_OPS,
};

static const unsigned int op_weight[NR_OPS] = {
	[OP_OPEN] = 8, [OP_CLOSE] = 5, [OP_READ] = 22, [OP_READV] = 3,
	[OP_PREAD] = 2, [OP_WRITE] = 20, [OP_WRITEV] = 12, [OP_PWRITE] = 2,
	[OP_LSEEK] = 8, [OP_POLL] = 8, [OP_IOCTL] = 8, [OP_MMAP] = 1,
	[OP_FSTAT] = 1, [OP_LOG] = 6,
};

static const char *const op_name[NR_OPS] = {
	"open", "close", "read", "readv", "pread", "write", "writev",
	"pwrite", "lseek", "poll", "ioctl", "mmap", "fstat", "log",
};

struct slot {
	int fd;			/* -1: free */
	int acc;		/* O_RDONLY, O_WRONLY, O_RDWR or 3 */
	bool nonblock;
	int refs;		/* operations in flight */
	bool closing;
	pthread_mutex_t lock;	/* poll+read on a blocking file */
	/* read position: inside a line, or not known */
	bool midline, unsure;
};

static struct {
	uint64_t seed;
	uint64_t nr_ops;
	unsigned int cap_s;
	unsigned int nr_threads;
	bool verbose;
	uint64_t max_payload, ring_size;
	size_t max_line;
	size_t arena_len;
	long page;
	pid_t pid;

	pthread_mutex_t pool_lock;
	struct slot slots[NR_SLOTS];
	pthread_barrier_t barrier;
	int done;

	/* Writes and seeks change what files have pending. */
	uint64_t mut_gen;
	int mut_inflight;

	pthread_mutex_t fail_lock;
	unsigned int nr_fail;
	char first_fail[2048];
	uint64_t total_ops;
	uint64_t stat_ok, stat_err, stat_checks;
	uint64_t op_ok[NR_OPS], op_err[NR_OPS][8];
} g = {
	.nr_ops = 100000,
	.cap_s = 300,
	.nr_threads = 2,
	.pool_lock = PTHREAD_MUTEX_INITIALIZER,
	.fail_lock = PTHREAD_MUTEX_INITIALIZER,
};

static int64_t deadline_ms;

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define ADD(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_ACQ_REL)

/* Per-thread state. */
struct fz {
	unsigned int id;
	pthread_t thread;
	uint64_t rs;
	uint64_t op;		/* this thread's op number */
	uint64_t gop;		/* global op index */
	char desc[DESC_LEN];		/* the operation being done */
	char *arena;		/* arena_len bytes, then a PROT_NONE page */
	char *guard;
	char *ro;		/* a PROT_READ page, then a PROT_NONE page */
	char *none;
	char *tmp, *msg;
	char *batch;		/* EVENTS_IOC_LOG batches are built here */
	char comm[16];
	int cur_op;
	int64_t op_start_ms;	/* 0 when idle */
	uint64_t round;
	int64_t longest_ms;	/* the slowest operation so far */
	char longest[DESC_LEN];
};

static struct fz fzs[NR_THREADS_MAX];

/* Start timing an operation: the watchdog fails it after HANG_MS. */
static void op_begin(struct fz *z)
{
	STORE(z->op_start_ms, ev_now_ms());
}

static void op_end(struct fz *z)
{
	int64_t ms = ev_now_ms() - z->op_start_ms;

	if (ms > z->longest_ms) {
		z->longest_ms = ms;
		memcpy(z->longest, z->desc, sizeof(z->longest));
	}
	STORE(z->op_start_ms, 0);
}

static uint64_t rn(struct fz *z, uint64_t n)
{
	return n ? ev_rnd(&z->rs) % n : 0;
}

static bool coin(struct fz *z, unsigned int pct)
{
	return rn(z, 100) < pct;
}

__attribute__((format(printf, 2, 3)))
static void violation(struct fz *z, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&g.fail_lock);
	if (!g.nr_fail++)
		snprintf(g.first_fail, sizeof(g.first_fail),
			 "op %" PRIu64 " (thread %u op %" PRIu64 ", seed %"
			 PRIu64 "): %s: %s", z->gop, z->id, z->op, g.seed,
			 z->desc, msg);
	if (g.nr_fail <= 10)
		fprintf(stderr, "events_fuzz: violation at op %" PRIu64
			" (thread %u op %" PRIu64 ", seed %" PRIu64
			"): %s: %s\n",
			z->gop, z->id, z->op, g.seed, z->desc, msg);
	pthread_mutex_unlock(&g.fail_lock);
}

static const char *errname(int e)
{
	static const struct { int e; const char *n; } names[] = {
		{ EBADF, "EBADF" }, { EFAULT, "EFAULT" }, { EINVAL, "EINVAL" },
		{ EAGAIN, "EAGAIN" }, { EMSGSIZE, "EMSGSIZE" },
		{ ESPIPE, "ESPIPE" }, { ENOTTY, "ENOTTY" }, { EINTR, "EINTR" },
		{ ENOMEM, "ENOMEM" }, { ENODEV, "ENODEV" },
		{ EACCES, "EACCES" },
		{ EIO, "EIO" }, { EPERM, "EPERM" }, { EOVERFLOW, "EOVERFLOW" },
		{ EOPNOTSUPP, "EOPNOTSUPP" }, { ENOENT, "ENOENT" },
		{ E2BIG, "E2BIG" },
	};
	static __thread char buf[16];
	size_t i;

	for (i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].e == e)
			return names[i].n;
	snprintf(buf, sizeof(buf), "errno %d", e);
	return buf;
}

/* ---- expected results ---- */

#define MAX_ERRS 6

struct expect {
	bool ok;		/* success allowed */
	ssize_t exact;		/* success value, or -1: 1..max */
	size_t max;
	int errs[MAX_ERRS];
	int nerr;
};

static void exp_err(struct expect *e, int err)
{
	int i;

	for (i = 0; i < e->nerr; i++)
		if (e->errs[i] == err)
			return;
	if (e->nerr < MAX_ERRS)
		e->errs[e->nerr++] = err;
}

static void exp_ok(struct expect *e, ssize_t exact, size_t max)
{
	e->ok = true;
	e->exact = exact;
	e->max = max;
}

static void exp_str(const struct expect *e, char *buf, size_t cap)
{
	size_t o = 0;
	int i;

	buf[0] = 0;
	if (e->ok) {
		if (e->exact >= 0)
			o += snprintf(buf + o, cap - o, "%zd", e->exact);
		else
			o += snprintf(buf + o, cap - o, "1..%zu", e->max);
	}
	for (i = 0; i < e->nerr && o < cap; i++)
		o += snprintf(buf + o, cap - o, "%s%s", o ? " or " : "",
			      errname(e->errs[i]));
}

static const int stat_errs[8] = {
	EBADF, EFAULT, EINVAL, EAGAIN, EMSGSIZE, ESPIPE, ENOTTY, 0,
};

static int errslot(int err)
{
	int i;

	for (i = 0; i < 7 && stat_errs[i] != err; i++)
		;
	return i;
}

/* Returns true if ret/err match. */
static bool check(struct fz *z, const struct expect *e, ssize_t ret, int err)
{
	char want[128];
	int i;

	__atomic_fetch_add(&g.stat_checks, 1, __ATOMIC_RELAXED);
	if (ret >= 0) {
		__atomic_fetch_add(&g.stat_ok, 1, __ATOMIC_RELAXED);
		__atomic_fetch_add(&g.op_ok[z->cur_op], 1, __ATOMIC_RELAXED);
		if (e->ok && (e->exact >= 0 ? ret == e->exact :
			      (ret >= 1 && (size_t)ret <= e->max)))
			return true;
		exp_str(e, want, sizeof(want));
		violation(z, "returned %zd, want %s", ret, want);
		return false;
	}
	__atomic_fetch_add(&g.stat_err, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&g.op_err[z->cur_op][errslot(err)], 1,
			   __ATOMIC_RELAXED);
	for (i = 0; i < e->nerr; i++)
		if (e->errs[i] == err)
			return true;
	exp_str(e, want, sizeof(want));
	violation(z, "failed with %s, want %s", errname(err), want);
	return false;
}

/* ---- user buffers ---- */

struct ubuf {
	char *p;
	size_t valid;		/* usable bytes at p */
	bool suspect;		/* access_ok() may refuse: EFAULT too */
	const char *what;
};

/*
 * A buffer of count bytes: mostly good, sometimes bad. Good buffers end
 * at the guard page, so that the kernel can never touch memory past them.
 * For writes (src) the read-only page is usable.
 */
static void pick_buf(struct fz *z, size_t count, bool src, struct ubuf *b)
{
	size_t n = count < g.arena_len ? count : g.arena_len;

	b->suspect = count > g.arena_len;
	switch (coin(z, 75) ? 0 : rn(z, 8)) {
	case 0:
		b->p = z->guard - n;
		b->valid = n;
		b->what = "buf";
		break;
	case 1:
		b->p = NULL;
		b->valid = 0;
		b->what = "NULL";
		break;
	case 2:
		b->p = (char *)1;
		b->valid = 0;
		b->what = "(void *)1";
		break;
	case 3:
		b->p = z->none;
		b->valid = 0;
		b->what = "PROT_NONE page";
		break;
	case 4:
		n = n ? rn(z, n) : 0;
		b->p = z->guard - n;
		b->valid = n;
		b->what = "buf ending early at a PROT_NONE page";
		break;
	case 5:
		b->p = z->ro + (src ? 0 : rn(z, g.page));
		b->valid = src ? (size_t)g.page : 0;
		b->what = "read-only page";
		break;
	case 6:
		b->p = KERNEL_PTR;
		b->valid = 0;
		b->suspect = true;
		b->what = "kernel address";
		break;
	default:
		b->p = NONCANON_PTR;
		b->valid = 0;
		b->suspect = true;
		b->what = "non-canonical address";
		break;
	}
}

/* Fill n bytes at p with a random kind of content. */
static void fill(struct fz *z, char *p, size_t n)
{
	unsigned int style = rn(z, 6);
	size_t i;

	for (i = 0; i < n; i++) {
		uint64_t r = ev_rnd(&z->rs);

		switch (style) {
		case 0:		/* any byte */
			p[i] = r;
			break;
		case 1:		/* printable */
			p[i] = 0x20 + r % 95;
			break;
		case 2:		/* newlines and backslashes */
			p[i] = "\n\\a,;"[r % 5];
			break;
		default:	/* mostly printable */
			p[i] = r % 8 ? (char)(0x20 + (r >> 8) % 95) :
				       (char)(r >> 16);
			break;
		}
	}
	if (n && coin(z, 30))
		p[n - 1] = '\n';
}

/* A size for a write: around the limits, small, random, huge. */
static size_t pick_wsize(struct fz *z)
{
	size_t m = g.max_payload;

	switch (rn(z, 14)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return m;
	case 3:
		return m + 1;
	case 4:
		return m + 2;
	case 5:
		return m - 1;
	case 6:
		return m + 1 + rn(z, 4 * m);
	case 7:
		switch (rn(z, 5)) {
		case 0:
			return 1UL << 20;
		case 1:
			return MAX_RW_COUNT + 1;
		case 2:
			return (size_t)SSIZE_MAX + 1;
		case 3:
			return SIZE_MAX;
		default:
			return 1UL << (20 + rn(z, 30));
		}
	case 8:
	case 9:
		return 1 + rn(z, m + 1);
	default:
		return 1 + rn(z, 64);
	}
}

/* A size for a read: 0..2 * max line, sometimes tiny or huge. */
static size_t pick_rsize(struct fz *z)
{
	switch (rn(z, 10)) {
	case 0:
		return 0;
	case 1:
		return 1 + rn(z, 8);
	case 2:
		return coin(z, 50) ? SIZE_MAX : 1UL << (20 + rn(z, 30));
	default:
		return rn(z, 2 * g.max_line + 1);
	}
}

/* ---- the pool of files ---- */

static const char *acc_name(int acc)
{
	switch (acc) {
	case O_RDONLY:
		return "O_RDONLY";
	case O_WRONLY:
		return "O_WRONLY";
	case O_RDWR:
		return "O_RDWR";
	default:
		return "O_ACCMODE";
	}
}

static bool readable(const struct slot *s)
{
	return s->acc == O_RDONLY || s->acc == O_RDWR;
}

static bool writable(const struct slot *s)
{
	return s->acc == O_WRONLY || s->acc == O_RDWR;
}

static bool readable(const struct slot *s);
static bool writable(const struct slot *s);

/*
 * Take a reference on a random open file; NULL if none. Mostly one that
 * can do what the operation wants (want: 'r', 'w' or 0 for any).
 */
static struct slot *slot_get_for(struct fz *z, char want)
{
	unsigned int i, start = rn(z, NR_SLOTS);
	struct slot *s = NULL;
	int pass;

	if (coin(z, 15))
		want = 0;
	pthread_mutex_lock(&g.pool_lock);
	for (pass = 0; pass < 2 && !s; pass++) {
		for (i = 0; i < NR_SLOTS; i++) {
			struct slot *c = &g.slots[(start + i) % NR_SLOTS];

			if (c->fd < 0 || c->closing)
				continue;
			if (!pass && ((want == 'r' && !readable(c)) ||
				      (want == 'w' && !writable(c))))
				continue;
			s = c;
			if (++s->refs > 1)
				s->unsure = true;
			break;
		}
	}
	pthread_mutex_unlock(&g.pool_lock);
	return s;
}

static struct slot *slot_get(struct fz *z)
{
	return slot_get_for(z, 0);
}

static void slot_close_locked(struct fz *z, struct slot *s)
{
	int fd = s->fd;

	if (close(fd))
		violation(z, "close(%d) failed: %s", fd, errname(errno));
	s->fd = -1;
	s->closing = false;
}

static void slot_put(struct fz *z, struct slot *s)
{
	pthread_mutex_lock(&g.pool_lock);
	if (--s->refs > 0)
		s->unsure = true;
	if (!s->refs && s->closing)
		slot_close_locked(z, s);
	pthread_mutex_unlock(&g.pool_lock);
}

static void slot_desc(struct fz *z, const struct slot *s, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void slot_desc(struct fz *z, const struct slot *s, const char *fmt, ...)
{
	size_t o;
	va_list ap;

	o = snprintf(z->desc, sizeof(z->desc), "fd %d [%s%s]: ", s->fd,
		     acc_name(s->acc), s->nonblock ? "|O_NONBLOCK" : "");
	va_start(ap, fmt);
	vsnprintf(z->desc + o, sizeof(z->desc) - o, fmt, ap);
	va_end(ap);
}

/* ---- operations ---- */

static void op_open(struct fz *z)
{
	static const int accs[] = { O_RDONLY, O_WRONLY, O_RDWR, O_RDONLY,
				    O_RDWR, 3 };
	int acc = accs[rn(z, 6)];
	bool nb = coin(z, 50);
	int flags = acc | (nb ? O_NONBLOCK : 0) | (coin(z, 50) ? O_CLOEXEC : 0);
	struct slot *s = NULL;
	unsigned int i;
	int fd;

	snprintf(z->desc, sizeof(z->desc), "open(%s, %s%s)", EV_DEV,
		 acc_name(acc), nb ? "|O_NONBLOCK" : "");
	pthread_mutex_lock(&g.pool_lock);
	for (i = 0; i < NR_SLOTS; i++) {
		if (g.slots[i].fd < 0 && !g.slots[i].refs) {
			s = &g.slots[i];
			break;
		}
	}
	if (s) {
		fd = open(EV_DEV, flags);
		if (fd < 0) {
			violation(z, "failed: %s", errname(errno));
		} else {
			s->fd = fd;
			s->acc = acc;
			s->nonblock = nb;
			s->midline = false;
			s->unsure = false;
		}
	}
	pthread_mutex_unlock(&g.pool_lock);
}

static void op_close(struct fz *z)
{
	unsigned int i, start = rn(z, NR_SLOTS);

	snprintf(z->desc, sizeof(z->desc), "close");
	pthread_mutex_lock(&g.pool_lock);
	for (i = 0; i < NR_SLOTS; i++) {
		struct slot *s = &g.slots[(start + i) % NR_SLOTS];

		if (s->fd >= 0 && !s->closing) {
			snprintf(z->desc, sizeof(z->desc), "close(%d)", s->fd);
			s->closing = true;
			if (!s->refs)
				slot_close_locked(z, s);
			break;
		}
	}
	pthread_mutex_unlock(&g.pool_lock);
}

static void mut_begin(void)
{
	ADD(g.mut_inflight, 1);
}

static void mut_end(void)
{
	ADD(g.mut_gen, 1);
	ADD(g.mut_inflight, -1);
}

/* Text from the device: printable bytes and newlines only. */
static void check_text(struct fz *z, const char *p, size_t n)
{
	char tmp[200];
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = p[i];

		if (c != '\n' && (c < 0x20 || c >= 0x7f)) {
			violation(z, "read returned byte 0x%02x at %zu: %s", c,
				  i, ev_show(p, n, tmp, sizeof(tmp)));
			return;
		}
	}
}

/*
 * poll(2) with timeout 0, checked: POLLOUT always, POLLPRI only with
 * POLLIN, no error bits. Returns revents.
 */
static short poll0(struct fz *z, int fd)
{
	struct pollfd pfd = { fd, POLLIN | POLLPRI | POLLOUT | POLLRDNORM |
			      POLLWRNORM, 0 };
	int ret = poll(&pfd, 1, 0);

	if (ret != 1) {
		violation(z, "poll returned %d (%s)", ret,
			  ret < 0 ? errname(errno) : "no events");
		return 0;
	}
	if ((pfd.revents & (POLLOUT | POLLWRNORM)) != (POLLOUT | POLLWRNORM) ||
	    (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) ||
	    !(pfd.revents & POLLIN) != !(pfd.revents & POLLRDNORM) ||
	    ((pfd.revents & POLLPRI) && !(pfd.revents & POLLIN)))
		violation(z, "poll revents 0x%x", pfd.revents);
	return pfd.revents;
}

enum rkind { RD_READ, RD_READV, RD_PREAD };

static void op_read(struct fz *z, enum rkind kind)
{
	static const char *const kname[] = { "read", "readv", "pread" };
	struct slot *s = slot_get_for(z, 'r');
	size_t count = pick_rsize(z);
	struct expect e = { 0 };
	bool locked = false, empty = false;
	uint64_t gen0;
	int inflight0, err;
	struct ubuf b;
	ssize_t ret;
	off_t off = 0;

	if (!s)
		return;
	pick_buf(z, count, false, &b);
	if (kind == RD_PREAD)
		off = coin(z, 50) ? 0 : (off_t)rn(z, 1 << 20);
	slot_desc(z, s, "%s(%s, %zu%s)", kname[kind], b.what, count,
		  kind == RD_PREAD ? ", offset" : "");

	if (kind == RD_PREAD) {
		/* Positions are cursors, not offsets: no pread at all. */
		exp_err(&e, ESPIPE);
		ret = pread(s->fd, b.p, count, off);
		check(z, &e, ret, errno);
		slot_put(z, s);
		return;
	}
	if (!readable(s)) {
		exp_err(&e, EBADF);
		/* Before 6.12 the VFS imports an iovec before checking. */
		if (kind == RD_READV && (b.suspect || b.valid < count)) {
			exp_err(&e, EFAULT);
			exp_err(&e, EINVAL);
		}
	} else {
		if (!s->nonblock) {
			/* Only read what poll() says is there. */
			pthread_mutex_lock(&s->lock);
			locked = true;
			if (!(poll0(z, s->fd) & POLLIN)) {
				pthread_mutex_unlock(&s->lock);
				slot_put(z, s);
				return;
			}
		}
		if (b.suspect)
			exp_err(&e, EFAULT);
		if (b.suspect && count > (size_t)SSIZE_MAX)
			exp_err(&e, EINVAL);
		if (!count) {
			exp_ok(&e, 0, 0);
		} else {
			exp_ok(&e, -1, count < b.valid ? count : b.valid);
			if (b.valid < count)
				exp_err(&e, EFAULT);
			if (s->nonblock)
				exp_err(&e, EAGAIN);
		}
		if (kind == RD_PREAD)
			exp_err(&e, ESPIPE);
		if (kind == RD_PREAD && count > (size_t)SSIZE_MAX)
			exp_err(&e, EINVAL);
	}

	gen0 = LOAD(g.mut_gen);
	inflight0 = LOAD(g.mut_inflight);
	if (kind == RD_READ) {
		ret = read(s->fd, b.p, count);
	} else if (kind == RD_PREAD) {
		ret = pread(s->fd, b.p, count, off);
	} else {
		struct iovec iov[2] = {
			{ b.p, count / 2 },
			{ b.p + count / 2, count - count / 2 },
		};

		ret = readv(s->fd, iov, 2);
	}
	err = errno;
	if (check(z, &e, ret, err)) {
		if (ret > 0) {
			check_text(z, b.p, ret);
			s->midline = b.p[ret - 1] != '\n';
		}
		empty = ret < 0 && err == EAGAIN;
	}
	if (empty && !locked) {
		/* EAGAIN: nothing pending, unless someone wrote or seeked. */
		short rev = poll0(z, s->fd);

		if ((rev & POLLIN) && LOAD(g.mut_gen) == gen0 &&
		    !inflight0 && !LOAD(g.mut_inflight))
			violation(z, "EAGAIN, but poll reports data and "
				  "nothing was written meanwhile");
	}
	if (locked)
		pthread_mutex_unlock(&s->lock);
	slot_put(z, s);
}

/* Expected result of a write of total bytes whose last byte is last. */
static void expect_write(const struct slot *s, size_t total, bool bad_copy,
			 bool suspect, unsigned char last, struct expect *e)
{
	if (!writable(s)) {
		exp_err(e, EBADF);
		return;
	}
	if (suspect)
		exp_err(e, EFAULT);
	if (total > MAX_RW_COUNT)
		total = MAX_RW_COUNT;
	if (!total)
		exp_ok(e, 0, 0);
	else if (total > g.max_payload + 1)
		exp_err(e, EMSGSIZE);
	else if (bad_copy)
		exp_err(e, EFAULT);
	else if (total == g.max_payload + 1 && last != '\n')
		exp_err(e, EMSGSIZE);
	else
		exp_ok(e, total, 0);
}

static void op_write(struct fz *z, bool positional)
{
	struct slot *s = slot_get_for(z, 'w');
	size_t count = pick_wsize(z);
	struct expect e = { 0 };
	unsigned char last = 0;
	struct ubuf b;
	ssize_t ret;
	int err;

	if (!s)
		return;
	pick_buf(z, count, true, &b);
	/* The device reads nothing of an oversized write. */
	if (b.valid && b.p != z->ro && count <= g.max_payload + 1)
		fill(z, b.p, b.valid < count ? b.valid : count);
	if (b.valid && b.valid >= count && count)
		last = b.p[count - 1];
	slot_desc(z, s, "%s(%s, %zu)", positional ? "pwrite" : "write",
		  b.what, count);
	if (positional) {
		/* Positions are cursors, not offsets: no pwrite at all. */
		exp_err(&e, ESPIPE);
		ret = pwrite(s->fd, b.p, count, rn(z, 1 << 20));
		check(z, &e, ret, errno);
		slot_put(z, s);
		return;
	}
	expect_write(s, count, b.valid < count, b.suspect, last, &e);
	if (count > (size_t)SSIZE_MAX && writable(s))
		exp_err(&e, EINVAL);
	if (positional && writable(s)) {
		exp_err(&e, ESPIPE);
		exp_err(&e, EINVAL);
	}
	mut_begin();
	if (positional)
		ret = pwrite(s->fd, b.p, count, rn(z, 1 << 20));
	else
		ret = write(s->fd, b.p, count);
	err = errno;
	mut_end();
	check(z, &e, ret, err);
	slot_put(z, s);
}

static void op_writev(struct fz *z)
{
	struct slot *s = slot_get_for(z, 'w');
	struct expect e = { 0 };
	int cnt = rn(z, 7), err, i, nseg;
	size_t total = 0, used = 0, o = 0, valid[8];
	bool bad_copy = false, suspect = false, neg = false;
	size_t half = g.arena_len / 2;
	unsigned char last = 0;
	struct iovec *iov;
	const char *arr = "iov";
	char *iovp;
	ssize_t ret;

	if (!s)
		return;
	if (coin(z, 3))
		cnt = coin(z, 50) ? 1025 : -1;
	/*
	 * The iovec array sits at the start of the arena, good data after
	 * it in the first half; buffers that end at the guard page are in
	 * the second half, and filled there only.
	 */
	iov = (struct iovec *)z->arena;
	iovp = (char *)iov;
	nseg = cnt < 0 ? 0 : cnt > 8 ? 8 : cnt;
	for (i = 0; i < nseg; i++) {
		size_t len = coin(z, 20) ? 0 :
			     pick_wsize(z) % (g.max_payload + 3);
		struct ubuf b;
		size_t n;

		if (coin(z, 5))
			len = pick_wsize(z);
		if (coin(z, 2))
			len = (size_t)-1 - rn(z, 100);	/* negative */
		pick_buf(z, len, true, &b);
		n = len < g.arena_len ? len : g.arena_len;
		if (b.p == z->guard - n && b.valid == n && n) {
			/* a good buffer: carve it from the first half */
			if (len <= half - 1024 - used) {
				b.p = z->arena + 1024 + used;
				used += len;
			} else {
				b.p = z->arena + 1024;
				b.valid = 0;	/* runs into other data */
				b.what = "overlong";
			}
		}
		n = b.valid < len ? b.valid : len;
		if (n && b.p != z->ro && n <= g.max_payload + 1 &&
		    (b.p >= z->arena + half || b.p + n <= z->arena + half))
			fill(z, b.p, n);
		iov[i].iov_base = b.p;
		iov[i].iov_len = len;
		valid[i] = b.valid;
		suspect |= b.suspect;
		o += snprintf(z->tmp + o, 64, "%s{%s,%zd}", i ? "," : "",
			      b.what, (ssize_t)len);
	}
	z->tmp[o] = 0;
	/* What the kernel will see, once everything is in place. */
	for (i = 0; i < nseg; i++) {
		size_t len = iov[i].iov_len;

		if ((ssize_t)len < 0) {
			neg = true;
			continue;
		}
		if (len && valid[i] < len)
			bad_copy = true;
		if (total + len > MAX_RW_COUNT)
			len = MAX_RW_COUNT - total;
		total += len;
		if (len && valid[i] >= len)
			last = ((char *)iov[i].iov_base)[len - 1];
	}
	if (coin(z, 4)) {
		iovp = coin(z, 50) ? NULL : z->none;
		arr = iovp ? "PROT_NONE" : "NULL";
	}
	slot_desc(z, s, "writev(%s [%s], %d)", arr, cnt > 8 ? "..." : z->tmp,
		  cnt);
	if (!writable(s)) {
		exp_err(&e, EBADF);
		/* Before 6.12 the VFS imports the iovec before checking. */
		if (cnt < 0 || cnt > 1024 || neg)
			exp_err(&e, EINVAL);
		if (iovp != (char *)iov || suspect)
			exp_err(&e, EFAULT);
	} else if (cnt < 0 || cnt > 1024) {
		exp_err(&e, EINVAL);
	} else if (!cnt) {
		exp_ok(&e, 0, 0);
	} else if (iovp != (char *)iov) {
		exp_err(&e, EFAULT);
	} else if (neg) {
		exp_err(&e, EINVAL);
	} else {
		expect_write(s, total, bad_copy, suspect, last, &e);
	}
	mut_begin();
	ret = writev(s->fd, (struct iovec *)iovp, cnt);
	err = errno;
	mut_end();
	check(z, &e, ret, err);
	slot_put(z, s);
}

static void op_lseek(struct fz *z)
{
	static const int whences[] = {
		SEEK_SET, SEEK_END, SEEK_SET, SEEK_END, SEEK_CUR, SEEK_DATA,
		SEEK_HOLE, 5, -1, 1000,
	};
	static const off_t offs[] = { 0, 0, 0, 1, -1, 4096, LLONG_MAX,
				      LLONG_MIN };
	struct slot *s = slot_get(z);
	int whence = whences[rn(z, 10)], err;
	off_t off = offs[rn(z, 8)], ret;
	struct expect e = { 0 };

	if (!s)
		return;
	if (coin(z, 5))
		off = ev_rnd(&z->rs);
	slot_desc(z, s, "lseek(%jd, %d)", (intmax_t)off, whence);
	if (whence < 0 || whence > SEEK_HOLE) {
		exp_err(&e, EINVAL);	/* the VFS refuses it first */
	} else {
		if (off)
			exp_err(&e, ESPIPE);
		if (whence != SEEK_SET && whence != SEEK_END)
			exp_err(&e, EINVAL);
		if (!e.nerr)
			exp_ok(&e, 0, 0);
	}
	if (!s->nonblock)
		pthread_mutex_lock(&s->lock);
	mut_begin();
	ret = lseek(s->fd, off, whence);
	err = errno;
	mut_end();
	if (check(z, &e, ret, err) && !ret)
		s->midline = false;
	if (!s->nonblock)
		pthread_mutex_unlock(&s->lock);
	slot_put(z, s);
}

static void op_poll(struct fz *z)
{
	struct slot *s = slot_get(z);

	if (!s)
		return;
	slot_desc(z, s, "poll(0)");
	poll0(z, s->fd);
	slot_put(z, s);
}

/* ioctl commands the VFS handles itself, for every file. */
static bool vfs_ioctl_cmd(unsigned int cmd)
{
	static const unsigned int cmds[] = {
		FIOCLEX, FIONCLEX, FIONBIO, FIOASYNC, FIOQSIZE, FIFREEZE,
		FITHAW, FS_IOC_FIEMAP, FIGETBSZ, FICLONE, FICLONERANGE,
		FIDEDUPERANGE, FS_IOC_GETFLAGS, FS_IOC_SETFLAGS,
		FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR, FS_IOC_GETFSUUID,
		FS_IOC_GETFSSYSFSPATH,
	};
	size_t i;

	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (cmds[i] == cmd)
			return true;
	return false;
}

static const unsigned int other_cmds[] = {
	TCGETS, TIOCGWINSZ, FIONREAD, TIOCOUTQ, SIOCGIFNAME, TIOCSTI, 0, ~0U,
};

static void op_ioctl(struct fz *z)
{
	struct slot *s = slot_get(z);
	struct expect e = { 0 };
	unsigned long arg;
	unsigned int cmd;
	struct ubuf b;
	int ret, err;

	if (!s)
		return;
	switch (rn(z, 4)) {
	case 0:
		cmd = ev_rnd(&z->rs);
		break;
	case 1:		/* a well-formed command of any type */
		cmd = _IOC(rn(z, 4), rn(z, 256), rn(z, 256), rn(z, 1 << 14));
		break;
	case 2:		/* magic a future ioctl may use */
		cmd = _IOC(rn(z, 4), "Ee\xee\xba"[rn(z, 4)],
			   coin(z, 50) ? rn(z, 256) :
			   rn(z, 4) + (coin(z, 50) ? 0x80 : 0),
			   rn(z, 2) ? 8 * rn(z, 16) : rn(z, 1 << 14));
		break;
	default:	/* tty and socket commands */
		cmd = other_cmds[rn(z, ARRAY_SIZE(other_cmds))];
		break;
	}
	if (vfs_ioctl_cmd(cmd))
		cmd ^= 0x1000;
	/*
	 * The device's own commands (any size bits) do things and have
	 * their own test; move a random hit to a number nobody uses.
	 */
	if (_IOC_TYPE(cmd) == EVENTS_IOC_MAGIC && _IOC_NR(cmd) >= 1 &&
	    _IOC_NR(cmd) <= 0x7f)
		cmd |= _IOC(0, 0, 0x80, 0);
	pick_buf(z, 4096, false, &b);
	arg = coin(z, 20) ? ev_rnd(&z->rs) : (unsigned long)b.p;
	slot_desc(z, s, "ioctl(0x%08x, 0x%lx)", cmd, arg);
	exp_err(&e, ENOTTY);
	ret = ioctl(s->fd, cmd, arg);
	err = errno;
	check(z, &e, ret, err);
	slot_put(z, s);
}

/*
 * The documented checks of a batch, in their order: 0 for a good one,
 * and its entries in *nr, or the errno of the first bad entry.
 */
static int batch_errno(const char *p, size_t len, unsigned int *nr)
{
	size_t off = 0;

	*nr = 0;
	while (off < len) {
		struct events_entry e;

		if (len - off < sizeof(e))
			return EINVAL;
		memcpy(&e, p + off, sizeof(e));
		if (e.flags || !e.len)
			return EINVAL;
		if (e.len > g.max_payload)
			return EMSGSIZE;
		if (EVENTS_ENTRY_SIZE(e.len) > len - off)
			return EINVAL;
		off += EVENTS_ENTRY_SIZE(e.len);
		(*nr)++;
	}
	return 0;
}

/*
 * EVENTS_IOC_LOG: a random batch at the end of the arena (so the kernel
 * can never read past it), well-formed or spoiled in one place, and now
 * and then a bad pointer, nonzero flags or too long a batch.
 */
static void op_log(struct fz *z)
{
	struct slot *s = slot_get_for(z, 'w');
	size_t cap = g.arena_len < EVENTS_LOG_MAX + 64 ?
		     g.arena_len : EVENTS_LOG_MAX + 64;
	struct events_log_args la = { .size = sizeof(la) };
	unsigned int n = 0, want_n, i, nr = rn(z, 4) ? rn(z, 8) : rn(z, 400);
	struct expect e = { 0 };
	char *batch = z->batch;
	int ret, err, bad, bad_errno;
	size_t len = 0;

	if (!s)
		return;
	for (i = 0; i < nr; i++) {
		uint32_t plen = coin(z, 90) ? 1 + rn(z, 100) :
				1 + rn(z, g.max_payload);
		struct events_entry h = { .len = plen };

		if (len + EVENTS_ENTRY_SIZE(plen) > cap)
			break;
		memcpy(batch + len, &h, sizeof(h));
		fill(z, batch + len + sizeof(h), EVENTS_ENTRY_SIZE(plen) -
						sizeof(h));
		len += EVENTS_ENTRY_SIZE(plen);
		n++;
	}
	bad = coin(z, 70) ? 0 : 1 + rn(z, 5);
	if (bad && n) {
		size_t off = 0, k = rn(z, n);
		struct events_entry h;

		for (i = 0; i < k; i++) {
			memcpy(&h, batch + off, sizeof(h));
			off += EVENTS_ENTRY_SIZE(h.len);
		}
		memcpy(&h, batch + off, sizeof(h));
		switch (bad) {
		case 1:
			h.len = 0;
			break;
		case 2:
			h.flags = 1u << rn(z, 32);
			break;
		case 3:
			h.len = g.max_payload + 1 + rn(z, 3);
			break;
		case 4:
			h.len = rn(z, 2) ? ~0u : h.len + 8 * (1 + rn(z, 4));
			break;
		default:
			len -= 1 + rn(z, 7);	/* the last entry cut short */
			break;
		}
		memcpy(batch + off, &h, sizeof(h));
	}
	bad_errno = batch_errno(batch, len, &want_n);
	la.len = coin(z, 3) ? EVENTS_LOG_MAX + 1 + rn(z, 1 << 20) : len;
	la.flags = coin(z, 3) ? 1u << rn(z, 32) : 0;
	la.entries = (uintptr_t)(z->guard - len);
	memmove(z->guard - len, batch, len);
	if (coin(z, 3))
		la.entries = coin(z, 50) ? 0 : (uintptr_t)z->none;

	if (!writable(s))
		exp_err(&e, EBADF);
	else if (la.flags)
		exp_err(&e, EINVAL);
	else if (la.len > EVENTS_LOG_MAX)
		exp_err(&e, E2BIG);
	else if (!la.len)
		exp_ok(&e, 0, 0);
	else if (la.entries != (uintptr_t)(z->guard - len))
		exp_err(&e, EFAULT);
	else if (bad_errno)
		exp_err(&e, bad_errno);
	else
		exp_ok(&e, 0, 0);
	slot_desc(z, s, "ioctl(EVENTS_IOC_LOG, %u entries, %zu bytes, spoiled %d, len %u, flags 0x%x)",
		  n, len, bad, la.len, la.flags);
	mut_begin();
	ret = ioctl(s->fd, EVENTS_IOC_LOG, &la);
	err = errno;
	mut_end();
	if (check(z, &e, ret, err) && !ret && la.count != (la.len ? want_n : 0))
		violation(z, "logged %u events, want %u", la.count, want_n);
	slot_put(z, s);
}

static void op_mmap(struct fz *z)
{
	struct slot *s = slot_get(z);
	void *p;

	if (!s)
		return;
	slot_desc(z, s, "mmap(4096, PROT_READ, MAP_SHARED)");
	p = mmap(NULL, g.page, PROT_READ, MAP_SHARED, s->fd, 0);
	if (p != MAP_FAILED) {
		violation(z, "mmap of /dev/events succeeded");
		munmap(p, g.page);
	} else if (errno != ENODEV && errno != EACCES) {
		violation(z, "failed with %s, want ENODEV or EACCES",
			  errname(errno));
	}
	slot_put(z, s);
}

static void op_fstat(struct fz *z)
{
	struct slot *s = slot_get(z);
	struct stat st;

	if (!s)
		return;
	slot_desc(z, s, "fstat");
	if (fstat(s->fd, &st) || !S_ISCHR(st.st_mode))
		violation(z, "fstat failed or not a character device");
	slot_put(z, s);
}

/* ---- precise checks, run by one thread while the others wait ---- */

/* Stream checker for drained lines. */
struct stream {
	uint64_t expect;
};

static void stream_line(struct fz *z, struct stream *st, const char *line,
			size_t len)
{
	char tmp[200], why[EV_ERR_MAX];
	struct ev_rec l;

	if (len > g.max_line) {
		violation(z, "line of %zu bytes", len);
		return;
	}
	if (ev_parse_buf(line, len, &l, z->msg, g.max_payload, why,
			 sizeof(why))) {
		violation(z, "%s: %s", why,
			  ev_show(line, len, tmp, sizeof(tmp)));
		st->expect = 0;
		return;
	}
	if (st->expect && l.seq != st->expect) {
		violation(z, "%s at seq %" PRIu64 ", want %" PRIu64 ": %s",
			  l.origin == 'l' ? "loss line" : "record", l.seq,
			  st->expect, ev_show(line, len, tmp, sizeof(tmp)));
	}
	st->expect = l.origin == 'l' ? l.lost_last + 1 : l.seq + 1;
}

/* Read everything pending on a file and check it. */
static void drain(struct fz *z, struct slot *s)
{
	struct stream st = { 0 };
	bool skip = s->unsure || s->midline;
	size_t have = 0, cap = g.arena_len / 2;
	char *buf = z->arena + cap;
	int rounds = 0;

	slot_desc(z, s, "drain");
	for (;;) {
		short rev = poll0(z, s->fd);
		ssize_t n;
		char *p, *nl;

		if (!(rev & POLLIN)) {
			if (!s->nonblock)
				break;
		}
		n = read(s->fd, buf + have, cap - have);
		if (n < 0 && errno == EAGAIN && s->nonblock) {
			if (rev & POLLIN)
				violation(z, "EAGAIN after POLLIN");
			break;
		}
		if (n <= 0) {
			violation(z, "read returned %zd (%s)", n,
				  n ? errname(errno) : "EOF");
			break;
		}
		if (!(rev & POLLIN))
			violation(z, "read returned data, poll said none");
		check_text(z, buf + have, n);
		have += n;
		p = buf;
		if (skip) {
			nl = memchr(buf, '\n', have);
			if (!nl) {
				have = 0;
				continue;
			}
			p = nl + 1;
			skip = false;
		}
		while ((nl = memchr(p, '\n', buf + have - p))) {
			stream_line(z, &st, p, nl + 1 - p);
			p = nl + 1;
		}
		memmove(buf, p, buf + have - p);
		have = buf + have - p;
		if (have > g.max_line) {
			violation(z, "line longer than %zu", g.max_line);
			break;
		}
		if (++rounds > 100000) {
			violation(z, "draining does not end");
			break;
		}
	}
	if (have)
		violation(z, "%zu bytes of a line left after draining", have);
	s->midline = false;
	s->unsure = false;
}

/* Write a line and read it back; returns its seq, or 0. */
static uint64_t echo(struct fz *z, int fd, const char *text, size_t len,
		     struct ev_rec *l)
{
	char *buf = z->arena + g.arena_len / 2, why[EV_ERR_MAX];
	ssize_t n;

	if (write(fd, text, len) != (ssize_t)len) {
		violation(z, "probe write of %zu bytes: %s", len,
			  errname(errno));
		return 0;
	}
	n = read(fd, buf, g.max_line + 1);
	if (n <= 0 || buf[n - 1] != '\n' ||
	    memchr(buf, '\n', n) != buf + n - 1) {
		violation(z, "probe read back returned %zd (%s)", n,
			  n < 0 ? errname(errno) : "not one line");
		return 0;
	}
	if (ev_parse_buf(buf, n, l, z->msg, g.max_payload, why,
			 sizeof(why))) {
		violation(z, "probe line: %s", why);
		return 0;
	}
	return l->seq;
}

#define PROBE(z, cond, ...) do {					\
	if (!(cond))							\
		violation(z, __VA_ARGS__);				\
} while (0)

static void expect_call(struct fz *z, const char *what, ssize_t ret,
			ssize_t want_ret, int want_err)
{
	int err = errno;

	snprintf(z->desc, sizeof(z->desc), "probe %s", what);
	if (want_ret >= 0)
		PROBE(z, ret == want_ret, "returned %zd (%s), want %zd", ret,
		      ret < 0 ? errname(err) : "-", want_ret);
	else
		PROBE(z, ret == -1 && err == want_err,
		      "returned %zd (%s), want %s", ret,
		      ret < 0 ? errname(err) : "-", errname(want_err));
}

static void probes(struct fz *z)
{
	size_t m = g.max_payload, big = g.arena_len / 4, n, plen;
	char *good = z->arena + 4096, *buf = z->arena + g.arena_len / 2;
	char text[128], line[512], why[EV_ERR_MAX];
	int fd, rofd, wofd, k, len;
	uint64_t seq_a, seq_b;
	struct ev_rec l;
	struct iovec iov[2];
	ssize_t ret;

	if (big < m + 2)
		big = m + 2;
	fd = open(EV_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	rofd = open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	wofd = open(EV_DEV, O_WRONLY | O_CLOEXEC);
	snprintf(z->desc, sizeof(z->desc), "probe open");
	if (fd < 0 || rofd < 0 || wofd < 0) {
		violation(z, "open: %s", errname(errno));
		goto out;
	}
	expect_call(z, "lseek(0, SEEK_END)", lseek(fd, 0, SEEK_END), 0, 0);
	snprintf(z->desc, sizeof(z->desc), "probe poll at the end");
	PROBE(z, !(poll0(z, fd) & POLLIN), "POLLIN with nothing pending");
	expect_call(z, "read at the end", read(fd, buf, 100), -1, EAGAIN);

	/* Failing writes log nothing. */
	len = snprintf(text, sizeof(text), "fuzz probe %" PRIu64 " A",
		       z->round);
	snprintf(z->desc, sizeof(z->desc), "probe echo A");
	seq_a = echo(z, fd, text, len, &l);
	memset(good, 'x', big);
	expect_call(z, "write(NULL, 10)", write(fd, null_ptr, 10), -1, EFAULT);
	expect_call(z, "write(1, 1)", write(fd, one_ptr, 1), -1, EFAULT);
	expect_call(z, "write(PROT_NONE, 100)", write(fd, z->none, 100), -1,
		    EFAULT);
	expect_call(z, "write(5 bytes before PROT_NONE, 10)",
		    write(fd, z->guard - 5, 10), -1, EFAULT);
	expect_call(z, "write(kernel address, 10)",
		    write(fd, KERNEL_PTR, 10), -1, EFAULT);
	expect_call(z, "write(max_payload + 1, no newline)",
		    write(fd, good, m + 1), -1, EMSGSIZE);
	good[m + 1] = '\n';
	expect_call(z, "write(max_payload + 2, newline)",
		    write(fd, good, m + 2), -1, EMSGSIZE);
	good[m + 1] = 'x';
	expect_call(z, "write(large)", write(fd, good, big), -1, EMSGSIZE);
	expect_call(z, "write(PROT_NONE, max_payload + 2)",
		    write(fd, z->none, m + 2), -1, EMSGSIZE);
	iov[0] = (struct iovec){ good, 5 };
	iov[1] = (struct iovec){ NULL, 5 };
	expect_call(z, "writev({buf,5},{NULL,5})", writev(fd, iov, 2), -1,
		    EFAULT);
	iov[1] = (struct iovec){ good, m };
	expect_call(z, "writev({buf,5},{buf,max_payload})",
		    writev(fd, iov, 2), -1, EMSGSIZE);
	expect_call(z, "writev(NULL, 2)",
		    writev(fd, (struct iovec *)null_ptr, 2), -1, EFAULT);
	expect_call(z, "write(\"\\n\")", write(fd, "\n", 1), 1, 0);
	expect_call(z, "write(0 bytes)", write(fd, good, 0), 0, 0);
	expect_call(z, "write(NULL, 0)", write(fd, null_ptr, 0), 0, 0);
	expect_call(z, "writev(iov, 0)", writev(fd, iov, 0), 0, 0);
	expect_call(z, "write to O_RDONLY", write(rofd, "x", 1), -1, EBADF);
	expect_call(z, "read from O_WRONLY", read(wofd, buf, 100), -1, EBADF);
	len = snprintf(text, sizeof(text), "fuzz probe %" PRIu64 " B",
		       z->round);
	snprintf(z->desc, sizeof(z->desc), "probe echo B");
	seq_b = echo(z, fd, text, len, &l);
	PROBE(z, !seq_a || !seq_b || seq_b == seq_a + 1,
	      "seq %" PRIu64 " after %" PRIu64 ": a failed write was logged",
	      seq_b, seq_a);
	PROBE(z, l.pid == g.pid && !strcmp(l.comm, z->comm) &&
	      l.origin == 'u', "pid %" PRId64 " comm \"%s\" origin %c",
	      l.pid, l.comm, l.origin);

	/* Failing reads consume nothing; a long line comes in pieces. */
	len = snprintf(text, sizeof(text), "fuzz probe %" PRIu64
		       " C ........................................",
		       z->round);
	if (write(fd, text, len) != len)
		violation(z, "probe write C: %s", errname(errno));
	snprintf(z->desc, sizeof(z->desc), "probe poll with a line pending");
	PROBE(z, (poll0(z, fd) & (POLLIN | POLLPRI)) == POLLIN,
	      "want POLLIN without POLLPRI");
	expect_call(z, "read(NULL, 100)", read(fd, null_ptr, 100), -1, EFAULT);
	expect_call(z, "read(NULL, 4096)", read(fd, null_ptr, 4096), -1,
		    EFAULT);
	expect_call(z, "read(10 bytes before PROT_NONE, 4096)",
		    read(fd, z->guard - 10, 4096), -1, EFAULT);
	expect_call(z, "read(PROT_NONE, 4096)", read(fd, z->none, 4096), -1,
		    EFAULT);
	expect_call(z, "read(read-only page, 100)", read(fd, z->ro, 100), -1,
		    EFAULT);
	expect_call(z, "read(10 bytes before PROT_NONE, 100)",
		    read(fd, z->guard - 10, 100), -1, EFAULT);
	expect_call(z, "read(kernel address, 100)",
		    read(fd, KERNEL_PTR, 100), -1, EFAULT);
	expect_call(z, "read(7)", read(fd, line, 7), 7, 0);
	snprintf(z->desc, sizeof(z->desc), "probe poll with a partial line");
	PROBE(z, (poll0(z, fd) & (POLLIN | POLLPRI)) == POLLIN,
	      "want POLLIN without POLLPRI");
	expect_call(z, "read(NULL, 100) inside a line", read(fd, null_ptr, 100),
		    -1, EFAULT);
	expect_call(z, "read(3 bytes before PROT_NONE, 100) inside a line",
		    read(fd, z->guard - 3, 100), -1, EFAULT);
	ret = read(fd, line + 7, sizeof(line) - 8);
	snprintf(z->desc, sizeof(z->desc), "probe read of the rest");
	if (ret <= 0 || line[7 + ret - 1] != '\n' ||
	    memchr(line + 7, '\n', ret) != line + 7 + ret - 1) {
		violation(z, "returned %zd (%s)", ret,
			  ret < 0 ? errname(errno) : "not the rest of a line");
	} else if (ev_parse_buf(line, 7 + ret, &l, z->msg, m, why,
				sizeof(why)) ||
		   l.msg_len != (size_t)len || memcmp(l.msg, text, len) ||
		   (seq_b && l.seq != seq_b + 1)) {
		violation(z, "pieces do not make the line: %s",
			  ev_show(line, 7 + ret, buf, 300));
	}
	expect_call(z, "read when drained", read(fd, buf, 100), -1, EAGAIN);
	snprintf(z->desc, sizeof(z->desc), "probe poll when drained");
	PROBE(z, !(poll0(z, fd) & POLLIN), "POLLIN with nothing pending");

	/* A random payload comes back escaped, exactly. */
	plen = 1 + rn(z, coin(z, 50) ? 64 : m);
	fill(z, good, plen);
	if (plen == m && coin(z, 50))
		good[plen++] = '\n';
	n = plen - (good[plen - 1] == '\n');
	snprintf(z->desc, sizeof(z->desc), "probe echo of %zu random bytes",
		 plen);
	if (n && echo(z, fd, good, plen, &l)) {
		PROBE(z, l.msg_len == n && !memcmp(l.msg, good, n),
		      "payload differs (%zu bytes back, want %zu)", l.msg_len,
		      n);
	} else if (!n) {
		expect_call(z, "write(\"\\n\") again", write(fd, "\n", 1), 1,
			    0);
	}

	/* lseek */
	expect_call(z, "lseek(1, SEEK_SET)", lseek(fd, 1, SEEK_SET), -1,
		    ESPIPE);
	expect_call(z, "lseek(-1, SEEK_END)", lseek(fd, -1, SEEK_END), -1,
		    ESPIPE);
	expect_call(z, "lseek(0, SEEK_CUR)", lseek(fd, 0, SEEK_CUR), -1,
		    EINVAL);
	expect_call(z, "lseek(0, SEEK_DATA)", lseek(fd, 0, SEEK_DATA), -1,
		    EINVAL);
	expect_call(z, "lseek(0, SEEK_HOLE)", lseek(fd, 0, SEEK_HOLE), -1,
		    EINVAL);
	expect_call(z, "lseek(0, 7)", lseek(fd, 0, 7), -1, EINVAL);
	expect_call(z, "ioctl(TCGETS)", ioctl(fd, TCGETS, buf), -1, ENOTTY);
	expect_call(z, "lseek(0, SEEK_SET)", lseek(fd, 0, SEEK_SET), 0, 0);
	ret = read(fd, buf, g.max_line + 1);
	snprintf(z->desc, sizeof(z->desc), "probe read after SEEK_SET");
	if (ret <= 0 || ev_parse_buf(buf, memchr(buf, '\n', ret) ?
				     (size_t)((char *)memchr(buf, '\n', ret) -
					      buf + 1) : (size_t)ret,
				     &l, z->msg, m, why, sizeof(why)))
		violation(z, "returned %zd (%s)", ret,
			  ret < 0 ? errname(errno) : "no valid line");
	else
		PROBE(z, l.origin != 'l', "a loss line right after SEEK_SET");
	expect_call(z, "lseek(0, SEEK_END)", lseek(fd, 0, SEEK_END), 0, 0);
	expect_call(z, "read after SEEK_END", read(fd, buf, 100), -1, EAGAIN);

	/* Overflow this file: one exact loss line, then the oldest record. */
	if (g.ring_size <= (4u << 20) && seq_b &&
	    g.ring_size / (m + 64) < 100000) {
		int nr = 2 * (g.ring_size / (m + 64)) + 3;
		uint64_t first = 0, expect;
		size_t have = 0;
		char *p, *nl;

		len = snprintf(text, sizeof(text), "fuzz probe %" PRIu64 " D",
			       z->round);
		snprintf(z->desc, sizeof(z->desc), "probe echo D");
		first = echo(z, fd, text, len, &l) + 1;
		memset(good, 'L', m);
		for (k = 0; k < nr; k++)
			if (write(wofd, good, m) != (ssize_t)m)
				violation(z, "probe big write: %s",
					  errname(errno));
		snprintf(z->desc, sizeof(z->desc),
			 "probe poll after %d big writes", nr);
		PROBE(z, (poll0(z, fd) & (POLLIN | POLLPRI)) ==
		      (POLLIN | POLLPRI), "want POLLIN|POLLPRI");
		snprintf(z->desc, sizeof(z->desc), "probe overflow read");
		expect = 0;
		k = 0;
		for (;;) {
			ret = read(fd, buf + have, g.arena_len / 2 - have);
			if (ret <= 0)
				break;
			have += ret;
			for (p = buf; (nl = memchr(p, '\n', buf + have - p));
			     p = nl + 1, k++) {
				if (ev_parse_buf(p, nl + 1 - p, &l, z->msg, m,
						 why, sizeof(why))) {
					violation(z, "line %d: %s", k, why);
					break;
				}
				if (!k) {
					PROBE(z, l.origin == 'l' &&
					      l.lost_first == first,
					      "first line is not a loss line "
					      "from seq %" PRIu64 ": %s",
					      first,
					      ev_show(p, nl + 1 - p, line,
						      200));
					expect = l.lost_last + 1;
					continue;
				}
				PROBE(z, l.origin == 'u' && l.seq == expect &&
				      l.msg_len == m && l.msg[0] == 'L',
				      "line %d: seq %" PRIu64 " (want %"
				      PRIu64 ")", k, l.seq, expect);
				expect = l.seq + 1;
			}
			memmove(buf, p, buf + have - p);
			have = buf + have - p;
		}
		PROBE(z, ret < 0 && errno == EAGAIN && !have,
		      "read ends with %zd (%s), %zu bytes left", ret,
		      ret < 0 ? errname(errno) : "-", have);
		PROBE(z, expect == first + nr, "read up to seq %" PRIu64
		      ", the last write was %" PRIu64, expect - 1,
		      first + nr - 1);
	}
out:
	if (fd >= 0)
		close(fd);
	if (rofd >= 0)
		close(rofd);
	if (wofd >= 0)
		close(wofd);
}

static void quiet_checks(struct fz *z)
{
	unsigned int i;

	for (i = 0; i < NR_SLOTS; i++) {
		struct slot *s = &g.slots[i];

		if (s->fd >= 0 && !s->closing && readable(s)) {
			/* Each drain is one operation for the watchdog. */
			op_begin(z);
			drain(z, s);
			op_end(z);
		}
	}
	op_begin(z);
	probes(z);
	op_end(z);
}

/* ---- threads ---- */

static void do_op(struct fz *z)
{
	unsigned int total = 0, r, i;

	for (i = 0; i < NR_OPS; i++)
		total += op_weight[i];
	r = rn(z, total);
	for (i = 0; r >= op_weight[i]; i++)
		r -= op_weight[i];
	snprintf(z->desc, sizeof(z->desc), "%s", op_name[i]);
	z->cur_op = i;
	switch (i) {
	case OP_OPEN:
		op_open(z);
		break;
	case OP_CLOSE:
		op_close(z);
		break;
	case OP_READ:
		op_read(z, RD_READ);
		break;
	case OP_READV:
		op_read(z, RD_READV);
		break;
	case OP_PREAD:
		op_read(z, RD_PREAD);
		break;
	case OP_WRITE:
		op_write(z, false);
		break;
	case OP_PWRITE:
		op_write(z, true);
		break;
	case OP_WRITEV:
		op_writev(z);
		break;
	case OP_LSEEK:
		op_lseek(z);
		break;
	case OP_POLL:
		op_poll(z);
		break;
	case OP_IOCTL:
		op_ioctl(z);
		break;
	case OP_MMAP:
		op_mmap(z);
		break;
	case OP_LOG:
		op_log(z);
		break;
	default:
		op_fstat(z);
		break;
	}
}

static void *fuzz_main(void *arg)
{
	struct fz *z = arg;
	unsigned int i;

	prctl(PR_SET_NAME, z->comm);
	for (;;) {
		for (i = 0; i < ROUND_OPS && ev_now_ms() < deadline_ms; i++) {
			z->gop = ADD(g.total_ops, 1);
			if (z->gop >= g.nr_ops) {
				ADD(g.total_ops, -1);
				break;
			}
			op_begin(z);
			do_op(z);
			op_end(z);
			z->op++;
		}
		pthread_barrier_wait(&g.barrier);
		if (z->id == 0) {
			z->round++;
			quiet_checks(z);
			if (LOAD(g.total_ops) >= g.nr_ops ||
			    ev_now_ms() > deadline_ms)
				STORE(g.done, 1);
		}
		pthread_barrier_wait(&g.barrier);
		if (LOAD(g.done))
			break;
	}
	return NULL;
}

static void on_alarm(int sig)
{
	static const char msg[] = "events_fuzz: FAIL: watchdog: the run did "
				  "not end in time\nnot ok 1 events_fuzz\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static int setup_thread(struct fz *z, unsigned int id)
{
	size_t len = g.arena_len + g.page;
	char *p;

	z->id = id;
	z->rs = g.seed * 0x100000001b3ULL + id;
	snprintf(z->comm, sizeof(z->comm), "fz%u,;\\\x02\x7f", id % 10);
	p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	z->arena = p;
	z->guard = p + g.arena_len;
	if (mprotect(z->guard, g.page, PROT_NONE))
		return -1;
	p = mmap(NULL, 2 * g.page, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	memset(p, 'r', g.page);
	if (mprotect(p, g.page, PROT_READ) ||
	    mprotect(p + g.page, g.page, PROT_NONE))
		return -1;
	z->ro = p;
	z->none = p + g.page;
	z->tmp = malloc(4096);
	z->batch = malloc(EVENTS_LOG_MAX + 64);
	z->msg = malloc(EV_MSGBUF_SIZE(g.max_payload));
	return z->tmp && z->msg && z->batch ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"\nUsage:\n"
		" events_fuzz [options]\n\n"
		"Options:\n"
		" -s, --seed <n>      random seed (default: time)\n"
		" -n, --ops <n>       operations in all (default 100000)\n"
		" -d, --duration <s>  stop after <s> seconds (default 300)\n"
		" -t, --threads <n>   threads (default 2; 1 is reproducible)\n"
		" -v, --verbose       progress\n"
		" -h, --help          this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "ops", required_argument, NULL, 'n' },
		{ "duration", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sigaction sa = { .sa_handler = on_alarm };
	int64_t t0, last = 0;
	unsigned int i;
	int c;

	g.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((c = getopt_long(argc, argv, "s:n:d:t:vh", longopts, NULL)) !=
	       -1) {
		switch (c) {
		case 's':
			g.seed = strtoull(optarg, NULL, 0);
			break;
		case 'n':
			g.nr_ops = strtoull(optarg, NULL, 0);
			break;
		case 'd':
			g.cap_s = strtoul(optarg, NULL, 0);
			break;
		case 't':
			g.nr_threads = strtoul(optarg, NULL, 0);
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			fprintf(stderr, "Try 'events_fuzz --help'.\n");
			return 1;
		}
	}
	if (optind != argc || !g.nr_threads || g.nr_threads > NR_THREADS_MAX) {
		fprintf(stderr, "events_fuzz: bad usage\n");
		return 1;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("events_fuzz: seed %" PRIu64 "\n", g.seed);

	if (access(EV_DEV, F_OK)) {
		printf("events_fuzz: SKIP: %s missing; module not loaded?\n"
		       "ok 1 events_fuzz # SKIP\n", EV_DEV);
		return KSFT_SKIP;
	}
	if (ev_param("max_payload", &g.max_payload) ||
	    ev_param("ring_size", &g.ring_size) || !g.max_payload) {
		printf("events_fuzz: cannot read %s/\nnot ok 1 events_fuzz\n",
		       EV_PARAM_DIR);
		return 1;
	}
	g.page = sysconf(_SC_PAGESIZE);
	g.pid = getpid();
	g.max_line = PREFIX_MAX + 4 * g.max_payload;
	g.arena_len = 8 * g.max_line + (1 << 20);
	g.arena_len = (g.arena_len + g.page - 1) & ~(g.page - 1);
	for (i = 0; i < NR_SLOTS; i++) {
		g.slots[i].fd = -1;
		pthread_mutex_init(&g.slots[i].lock, NULL);
	}
	pthread_barrier_init(&g.barrier, NULL, g.nr_threads);
	sigaction(SIGALRM, &sa, NULL);
	alarm(g.cap_s + 120);

	t0 = ev_now_ms();
	deadline_ms = t0 + g.cap_s * 1000LL;
	for (i = 0; i < g.nr_threads; i++) {
		if (setup_thread(&fzs[i], i)) {
			printf("events_fuzz: setup: %s\nnot ok 1 events_fuzz\n",
			       strerror(errno));
			return 1;
		}
	}
	for (i = 0; i < g.nr_threads; i++)
		pthread_create(&fzs[i].thread, NULL, fuzz_main, &fzs[i]);

	/* Watchdog: no operation may take more than HANG_MS. */
	while (!LOAD(g.done)) {
		int64_t now = ev_now_ms();

		for (i = 0; i < g.nr_threads; i++) {
			int64_t st = LOAD(fzs[i].op_start_ms);

			if (st && now - st > HANG_MS) {
				printf("events_fuzz: FAIL: op %" PRIu64
				       " (thread %u op %" PRIu64 ", seed %"
				       PRIu64 ") hangs for %" PRId64 " ms: %s\n"
				       "not ok 1 events_fuzz\n", fzs[i].gop, i,
				       fzs[i].op, g.seed, now - st,
				       fzs[i].desc);
				_exit(1);
			}
		}
		if (g.verbose && now - last >= 2000) {
			last = now;
			printf("events_fuzz: %.1f s: %" PRIu64 " ops\n",
			       (now - t0) / 1000.0, LOAD(g.total_ops));
		}
		usleep(100000);
	}
	for (i = 0; i < g.nr_threads; i++)
		pthread_join(fzs[i].thread, NULL);
	for (i = 0; i < NR_SLOTS; i++)
		if (g.slots[i].fd >= 0)
			close(g.slots[i].fd);

	printf("events_fuzz: %" PRIu64 " ops (%u threads, %" PRIu64
	       " check rounds) in %.1f s: %" PRIu64 " calls succeeded, %"
	       PRIu64 " failed as expected or not\n", LOAD(g.total_ops),
	       g.nr_threads, fzs[0].round, (ev_now_ms() - t0) / 1000.0,
	       g.stat_ok, g.stat_err);
	for (i = 0; i < g.nr_threads; i++)
		printf("events_fuzz: thread %u: slowest operation %" PRId64
		       " ms (watchdog %d ms): %s\n", i, fzs[i].longest_ms,
		       HANG_MS, fzs[i].longest);
	if (LOAD(g.total_ops) < g.nr_ops)
		printf("events_fuzz: stopped by the %u s cap before %" PRIu64
		       " ops\n", g.cap_s, g.nr_ops);
	if (g.verbose) {
		for (i = 0; i < NR_OPS; i++) {
			int k;

			printf("events_fuzz: %-7s ok %6" PRIu64, op_name[i],
			       g.op_ok[i]);
			for (k = 0; k < 8; k++)
				if (g.op_err[i][k])
					printf(" %s %" PRIu64,
					       k < 7 ? errname(stat_errs[k]) :
					       "other", g.op_err[i][k]);
			printf("\n");
		}
	}
	if (g.nr_fail) {
		printf("events_fuzz: FAIL: %s (%u violations)\n"
		       "not ok 1 events_fuzz\n", g.first_fail, g.nr_fail);
		return 1;
	}
	printf("events_fuzz: PASS\nok 1 events_fuzz\n");
	return 0;
}
