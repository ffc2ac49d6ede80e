// SPDX-License-Identifier: GPL-2.0
/*
 * events_test.c - selftests for the /dev/events event bus
 *
 * Every test opens its own readers. The device is global and shared, so no
 * test assumes an empty ring: readers are positioned with SEEK_END before
 * the test writes, and the test finds its own events by a marker that is
 * unique to the test process.
 *
 * Run as root with the module loaded; without /dev/events every test skips.
 * "-f overflow" selects the tests worth repeating under each ring_size;
 * "-t stress_writers_readers" under a small ring makes its readers lose
 * events while writers keep going.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "kselftest_harness.h"
#include "events_util.h"

#define NOBODY		65534
#define WAIT_MS		5000	/* upper bound for an event to show up */

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* An address the compiler cannot see through (for EFAULT tests). */
static void *bad_ptr(uintptr_t v)
{
	volatile uintptr_t x = v;

	return (void *)x;
}

static pid_t ev_gettid(void)
{
	return syscall(SYS_gettid);
}

/* Is the thread asleep in the kernel (state 'S')? */
static int task_state(pid_t tid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : -1;
}

/* Wait until tid sleeps; without /proc fall back to a fixed delay. */
static void wait_sleeping(pid_t tid, int timeout_ms)
{
	int64_t end = ev_now_ms() + timeout_ms;
	int st;

	while ((st = task_state(tid)) != 'S') {
		if (st < 0) {
			sleep_ms(500);
			return;
		}
		if (ev_now_ms() > end)
			return;
		sleep_ms(5);
	}
	sleep_ms(20);	/* let it settle in wait_event */
}

/* Longest line the module can produce with the current max_payload. */
static size_t line_cap(uint64_t max_payload)
{
	return 4 * max_payload + 4096 > 65536 ? 4 * max_payload + 4096 : 65536;
}

/*
 * Read and parse the next line; fail the test if none arrives within
 * tmo milliseconds or it does not parse.
 */
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

/* The next item must be a record (not a loss line) with this raw message. */
#define EXPECT_NEXT_MSG(rd, tmo, msg) do {					\
	struct ev_rec __r;							\
	NEXT_REC(rd, tmo, &__r);						\
	EXPECT_EQ('u', __r.origin);						\
	EXPECT_TRUE(ev_msg_is(&__r, (msg)))					\
		TH_LOG("got '%.*s', want '%s'", (int)__r.msg_raw_len,		\
		       __r.msg_raw, (msg));					\
	ev_rec_free(&__r);							\
} while (0)

/* Nothing is pending for this reader (not even a partial line). */
#define ASSERT_QUIET(rd) do {							\
	ASSERT_EQ(0, (int)evr_pending(rd));						\
	ASSERT_EQ(0, ev_pending((rd)->fd));					\
} while (0)

#define COMMON_SETUP() do {							\
	self->fd = open(EV_DEV, O_RDWR | O_CLOEXEC);				\
	if (self->fd < 0 && errno == ENOENT)					\
		SKIP(return, EV_DEV " missing; module not loaded?");		\
	ASSERT_LE(0, self->fd) TH_LOG("open: %s", strerror(errno));		\
	ASSERT_EQ(0, lseek(self->fd, 0, SEEK_END));				\
	ASSERT_EQ(0, ev_param("ring_size", &self->ring_size));			\
	ASSERT_EQ(0, ev_param("max_payload", &self->max_payload));		\
	self->cap = line_cap(self->max_payload);				\
	ev_marker(self->mark, sizeof(self->mark), "m");				\
} while (0)

FIXTURE(events) {
	int fd;			/* O_RDWR, positioned at the end */
	uint64_t ring_size;
	uint64_t max_payload;
	size_t cap;		/* reader buffer that holds any line */
	char mark[64];		/* unique to this test process */
};

FIXTURE_SETUP(events)
{
	COMMON_SETUP();
}

FIXTURE_TEARDOWN(events)
{
	if (self->fd >= 0)
		close(self->fd);
}

/* A new open gets the whole history, then live events; readers are independent. */
TEST_F(events, history_then_live)
{
	struct ev_reader a, b;
	struct ev_stream sa = { 0 };
	char msg[3][128], live[128];
	uint64_t ours[3] = { 0 }, last_seq = 0;
	char e[EV_ERR_MAX];
	const char *la, *lb;
	size_t na, nb;
	int i, ret, found = 0;
	struct ev_rec rec;

	for (i = 0; i < 3; i++) {
		snprintf(msg[i], sizeof(msg[i]), "hist %s %d", self->mark, i);
		ASSERT_EQ((long)strlen(msg[i]), ev_write_str(self->fd, msg[i]));
	}
	/* One O_NONBLOCK and one blocking reader, both opened after the writes. */
	ASSERT_EQ(0, evr_init(&a, open(EV_DEV, O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_EQ(0, evr_init(&b, open(EV_DEV, O_RDONLY), self->cap));
	ASSERT_LE(0, a.fd);
	ASSERT_LE(0, b.fd);
	b.rdsize = 4096;	/* different chunking, same lines */

	for (;;) {
		ret = evr_next(&a, 0, &la, &na);
		ASSERT_LE(0, ret) TH_LOG("read: %s", strerror(errno));
		if (!ret)
			break;
		ASSERT_EQ(1, evr_next(&b, WAIT_MS, &lb, &nb));
		ASSERT_EQ(na, nb) TH_LOG("a '%.*s' b '%.*s'", (int)na - 1, la,
					 (int)nb - 1, lb);
		ASSERT_EQ(0, memcmp(la, lb, na));
		ASSERT_EQ(0, ev_parse(la, na, &rec, e, sizeof(e)))
			TH_LOG("bad line '%.*s': %s", (int)na - 1, la, e);
		/* History starts at a retained record: no loss, no gaps. */
		ASSERT_NE('l', rec.origin) TH_LOG("loss line in quiet history");
		ASSERT_EQ(0, evs_feed(&sa, &rec)) TH_LOG("%s", sa.err);
		if (found < 3 && ev_msg_is(&rec, msg[found]))
			ours[found++] = rec.seq;
		last_seq = rec.seq;
		ev_rec_free(&rec);
	}
	ASSERT_EQ(3, found);
	EXPECT_EQ(ours[0] + 1, ours[1]);
	EXPECT_EQ(ours[1] + 1, ours[2]);
	EXPECT_EQ(ours[2], last_seq) TH_LOG("our events are not the newest");
	ASSERT_QUIET(&b);

	/* Both then get a live event. */
	snprintf(live, sizeof(live), "live %s", self->mark);
	ASSERT_EQ((long)strlen(live), ev_write_str(self->fd, live));
	NEXT_REC(&a, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, live));
	EXPECT_EQ(last_seq + 1, rec.seq);
	ev_rec_free(&rec);
	NEXT_REC(&b, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, live));
	EXPECT_EQ(last_seq + 1, rec.seq);
	ev_rec_free(&rec);
	ASSERT_QUIET(&a);
	ASSERT_QUIET(&b);
	close(a.fd);
	close(b.fd);
	evr_free(&a);
	evr_free(&b);
}

/* SEEK_SET goes back to the oldest retained record, from anywhere. */
TEST_F(events, seek_set_oldest)
{
	char *buf = malloc(self->cap), first[512], msg[128];
	ssize_t n, flen;
	int fa, fb;
	char *nl;

	ASSERT_NE(NULL, buf);
	snprintf(msg, sizeof(msg), "seek %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));

	fa = open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fa);
	n = read(fa, buf, self->cap);
	ASSERT_LT(0, n) TH_LOG("history empty after a write: %s", strerror(errno));
	nl = memchr(buf, '\n', n);
	ASSERT_NE(NULL, nl);
	flen = nl + 1 - buf;
	ASSERT_GT((ssize_t)sizeof(first), flen);
	memcpy(first, buf, flen);

	/* After reading, SEEK_SET returns 0 and the oldest line comes again. */
	ASSERT_EQ(0, lseek(fa, 0, SEEK_SET));
	n = read(fa, buf, self->cap);
	ASSERT_LE(flen, n);
	EXPECT_EQ(0, memcmp(buf, first, flen));

	/* A second open starts at the same place. */
	fb = open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fb);
	n = read(fb, buf, self->cap);
	ASSERT_LE(flen, n);
	EXPECT_EQ(0, memcmp(buf, first, flen));

	/* From the end, SEEK_SET goes back too. */
	ASSERT_EQ(0, lseek(fa, 0, SEEK_END));
	EXPECT_EQ(-1, read(fa, buf, self->cap));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, lseek(fa, 0, SEEK_SET));
	n = read(fa, buf, self->cap);
	ASSERT_LE(flen, n);
	EXPECT_EQ(0, memcmp(buf, first, flen));

	/* From the middle of a partially read line: the whole line again. */
	ASSERT_EQ(0, lseek(fa, 0, SEEK_SET));
	ASSERT_EQ(3, read(fa, buf, 3));
	ASSERT_EQ(0, lseek(fa, 0, SEEK_SET));
	n = read(fa, buf, self->cap);
	ASSERT_LE(flen, n);
	EXPECT_EQ(0, memcmp(buf, first, flen));
	close(fa);
	close(fb);
	free(buf);
}

/* SEEK_END: only future events, also from the middle of a line. */
TEST_F(events, seek_end_live_only)
{
	struct ev_reader r;
	char msg[128], buf[16];
	int fd;

	fd = open(EV_DEV, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));

	snprintf(msg, sizeof(msg), "end1 %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	/* Half a line read, then SEEK_END: the rest must not show up. */
	ASSERT_EQ(3, read(fd, buf, 3));
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	EXPECT_EQ(0, ev_pending(fd));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);

	snprintf(msg, sizeof(msg), "end2 %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	EXPECT_NEXT_MSG(&r, WAIT_MS, msg);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* Nonzero offsets are ESPIPE, other whence values EINVAL; position kept. */
TEST_F(events, seek_errors)
{
	struct ev_reader r;
	char msg[128];
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));

	EXPECT_EQ(-1, lseek(fd, 1, SEEK_SET));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(fd, -1, SEEK_END));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(fd, 4096, SEEK_END));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_CUR));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_DATA));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(fd, 0, SEEK_HOLE));
	EXPECT_EQ(EINVAL, errno);
	EXPECT_EQ(-1, lseek(fd, 0, 42));
	EXPECT_EQ(EINVAL, errno);

	/* None of them moved the reader: it still sees the next event only. */
	snprintf(msg, sizeof(msg), "seekerr %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	EXPECT_NEXT_MSG(&r, WAIT_MS, msg);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* An empty O_NONBLOCK reader gets EAGAIN, also after fcntl(F_SETFL). */
TEST_F(events, nonblock_empty_eagain)
{
	char buf[4096];
	int fd, fl;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	EXPECT_EQ(-1, read(fd, buf, 1));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);

	fd = ev_open_live(O_RDONLY);
	ASSERT_LE(0, fd);
	fl = fcntl(fd, F_GETFL);
	ASSERT_LE(0, fl);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, fl | O_NONBLOCK));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
}

#define POLL_ALL (POLLIN | POLLRDNORM | POLLPRI | POLLOUT | POLLWRNORM)

/* poll(timeout 0): readable exactly while something is pending; always writable. */
TEST_F(events, poll_timeout_zero)
{
	struct pollfd p;
	char msg[128], buf[256];
	ssize_t len, n;
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT | POLLWRNORM, p.revents);

	/* The writer's fd is writable too. */
	p = (struct pollfd){ .fd = self->fd, .events = POLLOUT | POLLWRNORM };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT | POLLWRNORM, p.revents);

	snprintf(msg, sizeof(msg), "poll0 %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, p.revents);

	/* The rest of a partially read line still counts as pending. */
	ASSERT_EQ(3, read(fd, buf, 3));
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, p.revents);

	len = read(fd, buf + 3, sizeof(buf) - 3);
	ASSERT_LT(0, len);
	n = len + 3;
	ASSERT_EQ('\n', buf[n - 1]);
	p = (struct pollfd){ .fd = fd, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&p, 1, 0));
	EXPECT_EQ(POLLOUT | POLLWRNORM, p.revents);
	close(fd);
}

struct delayed_write {
	int fd;
	int delay_ms;
	char msg[128];
	long ret;
};

static void *delayed_write_fn(void *arg)
{
	struct delayed_write *dw = arg;

	sleep_ms(dw->delay_ms);
	dw->ret = ev_write_str(dw->fd, dw->msg);
	return NULL;
}

/* A poll() sleeping in one thread wakes up on another thread's write. */
TEST_F(events, poll_wakeup_from_writer)
{
	struct delayed_write dw = { .fd = self->fd, .delay_ms = 300 };
	struct ev_reader r;
	struct pollfd p;
	pthread_t th;
	int64_t t0, dt;
	int fd, ret;

	fd = ev_open_live(O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	snprintf(dw.msg, sizeof(dw.msg), "pollwake %s", self->mark);
	ASSERT_EQ(0, ev_pending(fd));

	t0 = ev_now_ms();
	ASSERT_EQ(0, pthread_create(&th, NULL, delayed_write_fn, &dw));
	p = (struct pollfd){ .fd = fd, .events = POLLIN };
	ret = poll(&p, 1, 20000);
	dt = ev_now_ms() - t0;
	pthread_join(th, NULL);
	ASSERT_EQ((long)strlen(dw.msg), dw.ret);
	ASSERT_EQ(1, ret);
	EXPECT_EQ(POLLIN, p.revents & (POLLIN | POLLPRI | POLLERR));
	EXPECT_LE(250, dt) TH_LOG("poll returned before the write");
	EXPECT_GT(20000, dt);
	EXPECT_NEXT_MSG(&r, WAIT_MS, dw.msg);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* epoll_wait() wakes up on another thread's write (level and edge triggered). */
TEST_F(events, epoll_wakeup)
{
	struct delayed_write dw = { .fd = self->fd, .delay_ms = 300 };
	struct epoll_event ev = { 0 }, out[4];
	struct ev_reader r;
	int fd, fd_et, ep, ret, i;
	char buf[4096];
	pthread_t th;
	int64_t t0;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	fd_et = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd_et);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	ev.events = EPOLLIN;
	ev.data.u32 = 1;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
	ev.events = EPOLLIN | EPOLLET;
	ev.data.u32 = 2;
	ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fd_et, &ev));
	ASSERT_EQ(0, epoll_wait(ep, out, 4, 0));

	snprintf(dw.msg, sizeof(dw.msg), "epoll %s", self->mark);
	t0 = ev_now_ms();
	ASSERT_EQ(0, pthread_create(&th, NULL, delayed_write_fn, &dw));
	ret = epoll_wait(ep, out, 4, 20000);
	pthread_join(th, NULL);
	ASSERT_EQ((long)strlen(dw.msg), dw.ret);
	ASSERT_LE(1, ret);
	EXPECT_LE(250, ev_now_ms() - t0);
	/* Both fds become ready (maybe in two calls). */
	if (ret == 1) {
		int more = epoll_wait(ep, out + 1, 3, WAIT_MS);

		ASSERT_LE(1, more);
		ret += more;
	}
	for (i = 0; i < ret; i++) {
		EXPECT_TRUE(out[i].events & EPOLLIN);
	}

	EXPECT_NEXT_MSG(&r, WAIT_MS, dw.msg);
	ASSERT_QUIET(&r);
	/* Level triggered: quiet once drained. Edge triggered: no repeat. */
	ret = epoll_wait(ep, out, 4, 0);
	ASSERT_EQ(0, ret) TH_LOG("fd %u still reported", out[0].data.u32);
	ASSERT_LT(0, read(fd_et, buf, sizeof(buf)));
	close(ep);
	close(fd);
	close(fd_et);
	evr_free(&r);
}

static volatile sig_atomic_t sig_count;

static void on_sigusr1(int sig)
{
	(void)sig;
	sig_count++;
}

struct sig_ctx {
	pthread_t target;
	pid_t tid;
	int fd;
	bool restart;
	atomic_int reader_returned;
	bool still_blocked;	/* reader did not return after the signal */
	char msg[128];
	long wret;
};

static void *signal_fn(void *arg)
{
	struct sig_ctx *c = arg;
	int64_t end;

	if (!c->restart) {
		/* Keep signalling until the blocked read gives up. */
		while (!atomic_load(&c->reader_returned)) {
			wait_sleeping(c->tid, 2000);
			if (atomic_load(&c->reader_returned))
				break;
			pthread_kill(c->target, SIGUSR1);
			sleep_ms(200);
		}
		return NULL;
	}
	wait_sleeping(c->tid, 5000);
	pthread_kill(c->target, SIGUSR1);
	end = ev_now_ms() + 5000;
	while (!sig_count && ev_now_ms() < end)
		sleep_ms(5);
	sleep_ms(200);
	wait_sleeping(c->tid, 5000);	/* asleep again in the restarted read */
	c->still_blocked = !atomic_load(&c->reader_returned);
	c->wret = ev_write_str(c->fd, c->msg);
	return NULL;
}

/* A signal without SA_RESTART interrupts a blocked read with EINTR. */
TEST_F(events, signal_interrupts_read)
{
	struct sigaction sa = { .sa_handler = on_sigusr1 };
	struct sig_ctx c = { .restart = false };
	struct ev_reader r;
	char *buf = malloc(self->cap);
	pthread_t th;
	ssize_t n;
	int fd, err;

	ASSERT_NE(NULL, buf);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	fd = ev_open_live(O_RDONLY);
	ASSERT_LE(0, fd);
	c.target = pthread_self();
	c.tid = ev_gettid();
	ASSERT_EQ(0, pthread_create(&th, NULL, signal_fn, &c));
	n = read(fd, buf, self->cap);
	err = errno;
	atomic_store(&c.reader_returned, 1);
	pthread_join(th, NULL);
	ASSERT_EQ(-1, n) TH_LOG("read returned %zd '%.*s'", n, (int)n, buf);
	ASSERT_EQ(EINTR, err);
	ASSERT_LE(1, sig_count);

	/* The interrupted read consumed nothing; the next event comes whole. */
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	snprintf(c.msg, sizeof(c.msg), "sigintr %s", self->mark);
	ASSERT_EQ((long)strlen(c.msg), ev_write_str(self->fd, c.msg));
	EXPECT_NEXT_MSG(&r, WAIT_MS, c.msg);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
	free(buf);
}

/* With SA_RESTART the read keeps waiting and returns the next event. */
TEST_F(events, signal_restarts_read)
{
	struct sigaction sa = { .sa_handler = on_sigusr1, .sa_flags = SA_RESTART };
	struct sig_ctx c = { .restart = true };
	char *buf = malloc(self->cap);
	struct ev_rec rec;
	char e[EV_ERR_MAX];
	pthread_t th;
	ssize_t n;
	int fd, err;

	ASSERT_NE(NULL, buf);
	sigemptyset(&sa.sa_mask);
	ASSERT_EQ(0, sigaction(SIGUSR1, &sa, NULL));
	fd = ev_open_live(O_RDONLY);
	ASSERT_LE(0, fd);
	c.target = pthread_self();
	c.tid = ev_gettid();
	c.fd = self->fd;
	snprintf(c.msg, sizeof(c.msg), "sigrestart %s", self->mark);
	ASSERT_EQ(0, pthread_create(&th, NULL, signal_fn, &c));
	n = read(fd, buf, self->cap);
	err = errno;
	atomic_store(&c.reader_returned, 1);
	pthread_join(th, NULL);
	ASSERT_LT(0, n) TH_LOG("read failed: %s", strerror(err));
	ASSERT_EQ(1, sig_count);
	EXPECT_TRUE(c.still_blocked) TH_LOG("read returned before the write");
	ASSERT_EQ((long)strlen(c.msg), c.wret);
	ASSERT_EQ(0, ev_parse(buf, n, &rec, e, sizeof(e)))
		TH_LOG("'%.*s': %s", (int)n, buf, e);
	EXPECT_TRUE(ev_msg_is(&rec, c.msg));
	ev_rec_free(&rec);
	close(fd);
	free(buf);
}

/* writev() joins its iovecs into one event; the trailing newline may be its own iovec. */
TEST_F(events, writev_one_event)
{
	char want[256], p2[128];
	struct iovec iov[6];
	struct ev_reader r;
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	snprintf(p2, sizeof(p2), "%s", self->mark);
	iov[0] = (struct iovec){ "wv ", 3 };
	iov[1] = (struct iovec){ p2, strlen(p2) };
	iov[2] = (struct iovec){ NULL, 0 };
	iov[3] = (struct iovec){ " a,b", 4 };
	iov[4] = (struct iovec){ ";c", 2 };
	iov[5] = (struct iovec){ "\n", 1 };
	snprintf(want, sizeof(want), "wv %s a,b;c", p2);
	ASSERT_EQ((ssize_t)strlen(want) + 1, writev(self->fd, iov, 6));
	EXPECT_NEXT_MSG(&r, WAIT_MS, want);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* Every byte outside 0x20..0x7e and the backslash is \xNN, lower case. */
TEST_F(events, escape_all_bytes)
{
	char msg[512], want[2048], head[128];
	struct ev_reader r;
	struct ev_rec rec;
	size_t hl, i;
	int fd;

	hl = snprintf(head, sizeof(head), "esc %s ", self->mark);
	if (self->max_payload < hl + 256)
		SKIP(return, "max_payload %llu too small",
		     (unsigned long long)self->max_payload);
	memcpy(msg, head, hl);
	for (i = 0; i < 256; i++)
		msg[hl + i] = (char)(255 - i);	/* ends with 0x00, not '\n' */
	ev_escape(msg, hl + 256, want, false);

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	ASSERT_EQ((ssize_t)(hl + 256), write(self->fd, msg, hl + 256));
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, want))
		TH_LOG("got '%.*s'", (int)rec.msg_raw_len, rec.msg_raw);
	ASSERT_EQ(hl + 256, rec.msg_len);
	EXPECT_EQ(0, memcmp(rec.msg, msg, hl + 256));
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* The escapes named by the spec, spelled out literally. */
TEST_F(events, escape_examples)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "a\nb", 3, "a\\x0ab" },
		{ "back\\slash", 10, "back\\x5cslash" },
		{ "del\x7f", 4, "del\\x7f" },
		{ "hi\xff", 3, "hi\\xff" },
		{ "tab\there\r", 9, "tab\\x09here\\x0d" },
		{ "nul\0x", 5, "nul\\x00x" },
		{ "esc\x1b[0m", 7, "esc\\x1b[0m" },
		{ "comma,semi;ok", 13, "comma,semi;ok" },
		{ "\x80\xc3\xa9", 3, "\\x80\\xc3\\xa9" },
	};
	struct ev_reader r;
	char in[256], want[512];
	size_t i, hl;
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		hl = snprintf(in, sizeof(in), "ex %s %zu ", self->mark, i);
		memcpy(in + hl, cases[i].in, cases[i].len);
		ASSERT_EQ((ssize_t)(hl + cases[i].len),
			  write(self->fd, in, hl + cases[i].len));
		snprintf(want, sizeof(want), "ex %s %zu %s", self->mark, i,
			 cases[i].out);
		EXPECT_NEXT_MSG(&r, WAIT_MS, want);
	}
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* One trailing newline is dropped, only one; "\n" alone logs nothing. */
TEST_F(events, trailing_newline)
{
	static const struct {
		const char *tail;
		const char *out;	/* NULL: nothing logged */
	} cases[] = {
		{ "a\n", "a" },
		{ "a\n\n", "a\\x0a" },
		{ "a\r\n", "a\\x0d" },
		{ "a\n\nb\n", "a\\x0a\\x0ab" },
	};
	struct ev_reader r;
	char in[256], want[512];
	struct ev_rec rec;
	uint64_t seq;
	size_t i;
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(in, sizeof(in), "nl %s %s", self->mark, cases[i].tail);
		ASSERT_EQ((long)strlen(in), ev_write_str(self->fd, in));
		snprintf(want, sizeof(want), "nl %s %s", self->mark, cases[i].out);
		EXPECT_NEXT_MSG(&r, WAIT_MS, want);
	}

	/* A write of just "\n" returns 1 and logs nothing, not even a seq. */
	snprintf(in, sizeof(in), "nl %s before", self->mark);
	ASSERT_EQ((long)strlen(in), ev_write_str(self->fd, in));
	NEXT_REC(&r, WAIT_MS, &rec);
	ASSERT_TRUE(ev_msg_is(&rec, in));
	seq = rec.seq;
	ev_rec_free(&rec);
	ASSERT_EQ(1, write(self->fd, "\n", 1));
	ASSERT_QUIET(&r);

	/* "\n\n" is one event whose payload is a newline. */
	ASSERT_EQ(2, write(self->fd, "\n\n", 2));
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, "\\x0a"));
	EXPECT_EQ(seq + 1, rec.seq);
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
}

/* max_payload bytes are fine (also with a newline on top); one more is EMSGSIZE. */
TEST_F(events, write_size_limits)
{
	size_t mp = self->max_payload, hl;
	char *buf = malloc(mp + 2), head[128];
	struct iovec iov[2];
	struct ev_reader r;
	struct ev_rec rec;
	int fd, i;

	ASSERT_NE(NULL, buf);
	hl = snprintf(head, sizeof(head), "sz %s ", self->mark);
	if (mp < hl + 1)
		SKIP(return, "max_payload %zu too small", mp);
	memset(buf, 'A', mp + 2);
	memcpy(buf, head, hl);

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));

	EXPECT_EQ(-1, write(self->fd, buf, mp + 1));
	EXPECT_EQ(EMSGSIZE, errno);
	buf[mp + 1] = '\n';	/* mp + 1 bytes even after dropping it */
	EXPECT_EQ(-1, write(self->fd, buf, mp + 2));
	EXPECT_EQ(EMSGSIZE, errno);
	iov[0] = (struct iovec){ buf, mp / 2 };
	iov[1] = (struct iovec){ buf + mp / 2, mp + 1 - mp / 2 };
	EXPECT_EQ(-1, writev(self->fd, iov, 2));
	EXPECT_EQ(EMSGSIZE, errno);
	ASSERT_QUIET(&r);

	EXPECT_EQ((ssize_t)mp, write(self->fd, buf, mp));
	buf[mp] = '\n';
	EXPECT_EQ((ssize_t)mp + 1, write(self->fd, buf, mp + 1));
	for (i = 0; i < 2; i++) {
		NEXT_REC(&r, WAIT_MS, &rec);
		EXPECT_EQ('u', rec.origin);
		ASSERT_EQ(mp, rec.msg_len);
		EXPECT_EQ(0, memcmp(rec.msg, buf, mp));
		ev_rec_free(&rec);
	}
	ASSERT_QUIET(&r);
	close(fd);
	evr_free(&r);
	free(buf);
}

/* Empty writes return 0 and bad pointers EFAULT; neither logs anything. */
TEST_F(events, write_empty_and_efault)
{
	long page = sysconf(_SC_PAGESIZE);
	char pre[128], post[128], *map;
	struct iovec iov[2];
	struct ev_reader r;
	struct ev_rec rec;
	uint64_t seq;
	int fd;

	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, evr_init(&r, fd, self->cap));
	snprintf(pre, sizeof(pre), "ef %s pre", self->mark);
	ASSERT_EQ((long)strlen(pre), ev_write_str(self->fd, pre));
	NEXT_REC(&r, WAIT_MS, &rec);
	ASSERT_TRUE(ev_msg_is(&rec, pre));
	seq = rec.seq;
	ev_rec_free(&rec);

	EXPECT_EQ(0, write(self->fd, pre, 0));
	EXPECT_EQ(0, write(self->fd, bad_ptr(0), 0));
	iov[0] = (struct iovec){ pre, 0 };
	EXPECT_EQ(0, writev(self->fd, iov, 1));

	EXPECT_EQ(-1, write(self->fd, bad_ptr(0), 16));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, write(self->fd, bad_ptr(1), 16));
	EXPECT_EQ(EFAULT, errno);

	/* A buffer running into an unmapped page. */
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	memset(map, 'x', page);
	EXPECT_EQ(-1, write(self->fd, map + page - 8, 16));
	EXPECT_EQ(EFAULT, errno);

	/* writev with one good and one bad iovec. */
	iov[0] = (struct iovec){ pre, strlen(pre) };
	iov[1] = (struct iovec){ bad_ptr(8), 16 };
	EXPECT_EQ(-1, writev(self->fd, iov, 2));
	EXPECT_EQ(EFAULT, errno);

	ASSERT_QUIET(&r);
	EXPECT_EQ(-1, read(fd, pre, 1));
	EXPECT_EQ(EAGAIN, errno);

	/* No sequence number was used up either. */
	snprintf(post, sizeof(post), "ef %s post", self->mark);
	ASSERT_EQ((long)strlen(post), ev_write_str(self->fd, post));
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, post));
	EXPECT_EQ(seq + 1, rec.seq);
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	munmap(map, page);
	close(fd);
	evr_free(&r);
}

/* Read one line completely with a big buffer (must be one whole line). */
static ssize_t read_line_raw(int fd, char *buf, size_t cap)
{
	ssize_t n = read(fd, buf, cap);

	if (n > 0 && (buf[n - 1] != '\n' || memchr(buf, '\n', n) != buf + n - 1))
		return -2;
	return n;
}

/* A read into a bad pointer fails with EFAULT and consumes nothing. */
TEST_F(events, read_efault_consumes_nothing)
{
	char *buf = malloc(self->cap), msg[128], line[512];
	struct ev_rec rec;
	char e[EV_ERR_MAX];
	ssize_t n, len;
	int fd;

	ASSERT_NE(NULL, buf);
	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	snprintf(msg, sizeof(msg), "rf %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));

	EXPECT_EQ(-1, read(fd, bad_ptr(0), 4096));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(fd, bad_ptr(1), 4096));
	EXPECT_EQ(EFAULT, errno);
	EXPECT_EQ(-1, read(fd, bad_ptr(0), 3));	/* also when splitting */
	EXPECT_EQ(EFAULT, errno);

	memset(buf, 0xcc, self->cap);
	len = read_line_raw(fd, buf, self->cap);
	ASSERT_LT(0, len) TH_LOG("read after EFAULT: %zd %s", len, strerror(errno));
	ASSERT_GT((ssize_t)sizeof(line), len);
	EXPECT_EQ((char)0xcc, buf[len]);
	ASSERT_EQ(0, ev_parse(buf, len, &rec, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(ev_msg_is(&rec, msg));
	ev_rec_free(&rec);
	memcpy(line, buf, len);

	/* EFAULT in the middle of a split line: the rest is still delivered. */
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	ASSERT_EQ(5, read(fd, buf, 5));
	EXPECT_EQ(-1, read(fd, bad_ptr(0), 4096));
	EXPECT_EQ(EFAULT, errno);
	n = read(fd, buf + 5, self->cap - 5);
	ASSERT_LT(0, n);
	n += 5;
	ASSERT_EQ(0, ev_parse(buf, n, &rec, e, sizeof(e)))
		TH_LOG("'%.*s': %s", (int)n, buf, e);
	EXPECT_TRUE(ev_msg_is(&rec, msg));
	EXPECT_NE(0, memcmp(buf, line, len)) TH_LOG("same seq twice");
	ev_rec_free(&rec);
	EXPECT_EQ(-1, read(fd, buf, 1));
	EXPECT_EQ(EAGAIN, errno);
	close(fd);
	free(buf);
}

/* A buffer that runs into an unmapped page: no line is lost. */
TEST_F(events, read_efault_partial_buffer)
{
	long page = sysconf(_SC_PAGESIZE);
	char *map, *dst, *buf = malloc(self->cap), *got = malloc(self->cap);
	char m1[128], m2[128];
	ssize_t n, l1, total, rest;
	struct ev_rec rec;
	char e[EV_ERR_MAX];
	int fd, fd2;

	ASSERT_NE(NULL, buf);
	ASSERT_NE(NULL, got);
	map = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, map);
	ASSERT_EQ(0, munmap(map + page, page));
	fd = ev_open_live(O_RDONLY | O_NONBLOCK);
	fd2 = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fd);
	ASSERT_LE(0, fd2);
	snprintf(m1, sizeof(m1), "pf1 %s", self->mark);
	snprintf(m2, sizeof(m2), "pf2 %s", self->mark);

	/* One line, 8 valid bytes: EFAULT, then the whole line. */
	ASSERT_EQ((long)strlen(m1), ev_write_str(self->fd, m1));
	EXPECT_EQ(-1, read(fd, map + page - 8, 4096));
	EXPECT_EQ(EFAULT, errno);
	n = read_line_raw(fd, buf, self->cap);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, ev_parse(buf, n, &rec, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(ev_msg_is(&rec, m1));
	ev_rec_free(&rec);
	ASSERT_EQ(0, lseek(fd2, 0, SEEK_END));

	/*
	 * Two lines, room for the first one only: either the first line is
	 * returned, or EFAULT and nothing consumed. The second is never lost.
	 */
	ASSERT_EQ((long)strlen(m1), ev_write_str(self->fd, m1));
	ASSERT_EQ((long)strlen(m2), ev_write_str(self->fd, m2));
	total = read(fd2, buf, self->cap);	/* the same two lines */
	ASSERT_LT(0, total);
	l1 = (char *)memchr(buf, '\n', total) + 1 - buf;
	ASSERT_GT(total, l1);
	dst = map + page - (l1 + 5);
	n = read(fd, dst, 4096);
	TH_LOG("read into a short mapping returned %zd (line 1 is %zd bytes)",
	       n, l1);
	if (n == -1) {
		ASSERT_EQ(EFAULT, errno);
		l1 = 0;
	} else {
		ASSERT_EQ(l1, n);
		EXPECT_EQ(0, memcmp(dst, buf, l1));
	}
	rest = read(fd, got, self->cap);
	ASSERT_EQ(total - l1, rest);
	EXPECT_EQ(0, memcmp(got, buf + l1, rest));
	EXPECT_EQ(-1, read(fd, got, 1));
	EXPECT_EQ(EAGAIN, errno);
	munmap(map, page);
	close(fd);
	close(fd2);
	free(buf);
	free(got);
}

/* 1-byte reads give exactly the byte stream one big read gives. */
TEST_F(events, read_one_byte_stream)
{
	char *a = malloc(self->cap), *b = malloc(self->cap);
	char m1[128], m1e[512], m3[128], m2[400];
	ssize_t na = 0, nb, n;
	unsigned char c[2];
	int fa, fb, lines, i;
	char *p;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	fa = ev_open_live(O_RDONLY | O_NONBLOCK);
	fb = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	snprintf(m1, sizeof(m1), "ob %s 1 \\ \x01 ,; \xff", self->mark);
	snprintf(m2, sizeof(m2), "ob %s 2 %0300d", self->mark, 7);
	snprintf(m3, sizeof(m3), "ob %s 3", self->mark);
	ev_escape(m1, strlen(m1), m1e, false);

	ASSERT_EQ((long)strlen(m1), ev_write_str(self->fd, m1));
	for (i = 0; i < 5; i++) {
		c[1] = 0xcc;
		ASSERT_EQ(1, read(fa, c, 1));
		ASSERT_EQ(0xcc, c[1]);
		a[na++] = c[0];
	}
	/* More events while a line is half read: they queue up behind it. */
	ASSERT_EQ((long)strlen(m2), ev_write_str(self->fd, m2));
	ASSERT_EQ((long)strlen(m3), ev_write_str(self->fd, m3));
	for (;;) {
		n = read(fa, c, 1);
		if (n < 0 && errno == EAGAIN)
			break;
		ASSERT_EQ(1, n) TH_LOG("1-byte read: %s", strerror(errno));
		ASSERT_GT((ssize_t)self->cap, na);
		a[na++] = c[0];
	}

	/* One big read: all three lines at once, nothing written past them. */
	memset(b, 0xcc, self->cap);
	nb = read(fb, b, self->cap);
	ASSERT_LT(0, nb);
	for (i = 0; i < 64 && nb + i < (ssize_t)self->cap; i++) {
		ASSERT_EQ((char)0xcc, b[nb + i]);
	}
	ASSERT_EQ(nb, na);
	EXPECT_EQ(0, memcmp(a, b, na));
	for (p = b, lines = 0; p < b + nb; lines++) {
		struct ev_rec rec;
		char e[EV_ERR_MAX], *nl = memchr(p, '\n', b + nb - p);

		ASSERT_NE(NULL, nl) TH_LOG("torn line at the end of a read");
		ASSERT_EQ(0, ev_parse(p, nl + 1 - p, &rec, e, sizeof(e)))
			TH_LOG("%s", e);
		EXPECT_TRUE(ev_msg_is(&rec, lines == 0 ? m1e :
				      lines == 1 ? m2 : m3));
		ev_rec_free(&rec);
		p = nl + 1;
	}
	EXPECT_EQ(3, lines);
	EXPECT_EQ(-1, read(fb, b, self->cap));
	EXPECT_EQ(EAGAIN, errno);
	close(fa);
	close(fb);
	free(a);
	free(b);
}

/* A buffer smaller than the line: the line comes in pieces, nothing lost. */
TEST_F(events, read_small_buffer_splits_line)
{
	char *a = malloc(self->cap), *b = malloc(self->cap), m1[300], m2[128];
	ssize_t na = 0, nb, n;
	int fa, fb, reads = 0;

	ASSERT_NE(NULL, a);
	ASSERT_NE(NULL, b);
	fa = ev_open_live(O_RDONLY | O_NONBLOCK);
	fb = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	snprintf(m1, sizeof(m1), "sb %s %0200d", self->mark, 1);
	snprintf(m2, sizeof(m2), "sb %s 2", self->mark);
	ASSERT_EQ((long)strlen(m1), ev_write_str(self->fd, m1));

	/* The first count bytes of the line, exactly. */
	ASSERT_EQ(7, read(fa, a, 7));
	na = 7;
	ASSERT_EQ((long)strlen(m2), ev_write_str(self->fd, m2));
	for (;;) {
		n = read(fa, a + na, 7);
		if (n < 0 && errno == EAGAIN)
			break;
		ASSERT_LT(0, n) TH_LOG("read: %s", strerror(errno));
		ASSERT_GE(7, n);
		na += n;
		reads++;
	}
	nb = read(fb, b, self->cap);
	ASSERT_EQ(nb, na);
	EXPECT_EQ(0, memcmp(a, b, nb));
	EXPECT_LE((int)(nb / 7), reads);
	close(fa);
	close(fb);
	free(a);
	free(b);
}

/* A read returns as many whole lines as fit, and never a torn line after them. */
TEST_F(events, read_whole_lines_only)
{
	char *b = malloc(self->cap), buf[4096], msg[4][256];
	ssize_t len[4], off[5], nb, n;
	int fa, fb, i;
	char *p;

	ASSERT_NE(NULL, b);
	fa = ev_open_live(O_RDONLY | O_NONBLOCK);
	fb = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fa);
	ASSERT_LE(0, fb);
	for (i = 0; i < 4; i++) {
		snprintf(msg[i], sizeof(msg[i]), "wl %s %d %.*s", self->mark, i,
			 20 + 30 * i, "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		ASSERT_EQ((long)strlen(msg[i]), ev_write_str(self->fd, msg[i]));
	}
	/* Learn the line lengths from an independent reader. */
	nb = read(fb, b, self->cap);
	ASSERT_LT(0, nb);
	for (i = 0, p = b, off[0] = 0; i < 4; i++) {
		char *nl = memchr(p, '\n', b + nb - p);

		ASSERT_NE(NULL, nl);
		len[i] = nl + 1 - p;
		p = nl + 1;
		off[i + 1] = p - b;
	}
	ASSERT_EQ(off[4], nb);

	/* Room for two and a half lines: two lines. */
	n = read(fa, buf, len[0] + len[1] + len[2] / 2);
	ASSERT_EQ(len[0] + len[1], n);
	EXPECT_EQ(0, memcmp(buf, b, n));
	/* Room for line 3 plus one byte: line 3 only. */
	n = read(fa, buf, len[2] + 1);
	ASSERT_EQ(len[2], n);
	EXPECT_EQ(0, memcmp(buf, b + off[2], n));
	/* One byte short of line 4: its first len - 1 bytes, then the '\n'. */
	n = read(fa, buf, len[3] - 1);
	ASSERT_EQ(len[3] - 1, n);
	EXPECT_EQ(0, memcmp(buf, b + off[3], n));
	n = read(fa, buf, sizeof(buf));
	ASSERT_EQ(1, n);
	EXPECT_EQ('\n', buf[0]);
	EXPECT_EQ(-1, read(fa, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	close(fa);
	close(fb);
	free(b);
}

/* Read exactly one line with 1-byte reads, so nothing after it is consumed. */
static ssize_t read_line_bytewise(int fd, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap) {
		ssize_t r = read(fd, buf + n, 1);

		if (r != 1)
			return -1;
		if (buf[n++] == '\n')
			return n;
	}
	return -1;
}

/* Records of size P, enough of them to overwrite the whole ring twice. */
static size_t flood_payload(uint64_t ring_size, uint64_t max_payload)
{
	size_t p = ring_size / 16;

	if (p > 1024)
		p = 1024;
	if (p > max_payload)
		p = max_payload;
	return p < 64 ? 64 : p;
}

static unsigned long flood_count(uint64_t ring_size, size_t payload)
{
	return 2 * ring_size / payload + 8;
}

/* Flood message i: "ovf <mark> <i> ppp..." of exactly len bytes. */
static void flood_msg(char *buf, size_t len, const char *mark, unsigned long i)
{
	size_t hl = snprintf(buf, len + 1, "ovf %s %lu ", mark, i);

	memset(buf + hl, 'p', len - hl);
	buf[len] = '\0';
}

FIXTURE(overflow) {
	int fd;
	uint64_t ring_size;
	uint64_t max_payload;
	size_t cap;
	char mark[64];
};

FIXTURE_SETUP(overflow)
{
	COMMON_SETUP();
	if (self->max_payload < 64)
		SKIP(return, "max_payload %llu too small for the flood",
		     (unsigned long long)self->max_payload);
}

FIXTURE_TEARDOWN(overflow)
{
	if (self->fd >= 0)
		close(self->fd);
}

/*
 * Reader a sits right after the "start" event (seq S) and does not read
 * while the ring is overwritten twice. It must then get exactly one loss
 * line "S+1..L", then L+1 ... up to the "end" event, contiguous.
 */
static void overflow_run(struct __test_metadata *_metadata,
			 FIXTURE_DATA(overflow) *self, size_t rdsize)
{
	size_t P = flood_payload(self->ring_size, self->max_payload);
	unsigned long N = flood_count(self->ring_size, P), i;
	char *msg = malloc(P + 1), *want = malloc(P + 1);
	char *line = malloc(self->cap), start[128], endm[128];
	uint64_t S, b0, L, lost, expect, delivered = 0, bytes = 0;
	struct ev_reader a, b;
	struct ev_rec rec;
	char e[EV_ERR_MAX];
	struct pollfd pf;
	int fc;
	ssize_t n;

	ASSERT_NE(NULL, msg);
	ASSERT_NE(NULL, want);
	ASSERT_NE(NULL, line);
	ASSERT_EQ(0, evr_init(&a, ev_open_live(O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, a.fd);
	a.rdsize = rdsize;
	fc = ev_open_live(O_RDONLY | O_NONBLOCK);
	ASSERT_LE(0, fc);

	snprintf(start, sizeof(start), "ovf %s start", self->mark);
	snprintf(endm, sizeof(endm), "ovf %s end", self->mark);
	ASSERT_EQ((long)strlen(start), ev_write_str(self->fd, start));
	NEXT_REC(&a, WAIT_MS, &rec);
	ASSERT_TRUE(ev_msg_is(&rec, start));
	S = rec.seq;
	ev_rec_free(&rec);
	ASSERT_LT(0, read_line_bytewise(fc, line, self->cap));

	/* Reader b: at the oldest record, having read just that one. */
	ASSERT_EQ(0, evr_init(&b, open(EV_DEV, O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, b.fd);
	n = read_line_bytewise(b.fd, line, self->cap);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, ev_parse(line, n, &rec, e, sizeof(e))) TH_LOG("%s", e);
	ASSERT_NE('l', rec.origin);
	b0 = rec.seq;
	ev_rec_free(&rec);
	ASSERT_GE(S, b0);

	for (i = 0; i < N; i++) {
		flood_msg(msg, P, self->mark, i);
		ASSERT_EQ((ssize_t)P, write(self->fd, msg, P));
	}
	ASSERT_EQ((long)strlen(endm), ev_write_str(self->fd, endm));

	/* A pending loss line adds POLLPRI; once read, POLLPRI goes away. */
	pf = (struct pollfd){ .fd = fc, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&pf, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLPRI | POLLOUT | POLLWRNORM,
		  pf.revents);
	n = read_line_bytewise(fc, line, self->cap);
	ASSERT_LT(0, n);
	ASSERT_EQ(0, ev_parse(line, n, &rec, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_EQ('l', rec.origin);
	EXPECT_EQ(S + 1, rec.lost_first);
	ev_rec_free(&rec);
	pf = (struct pollfd){ .fd = fc, .events = POLL_ALL };
	ASSERT_EQ(1, poll(&pf, 1, 0));
	EXPECT_EQ(POLLIN | POLLRDNORM | POLLOUT | POLLWRNORM, pf.revents);

	/* Reader a: one loss line with the exact range and count. */
	NEXT_REC(&a, WAIT_MS, &rec);
	ASSERT_EQ('l', rec.origin);
	ASSERT_EQ(S + 1, rec.lost_first);
	L = rec.lost_last;
	lost = rec.lost;
	ev_rec_free(&rec);
	ASSERT_EQ(L - S, lost);
	ASSERT_GT(S + N + 1, L) TH_LOG("even the newest event was lost");

	/* Then the retained records, contiguous, ending with "end". */
	for (expect = L + 1; ; expect++) {
		NEXT_REC(&a, WAIT_MS, &rec);
		ASSERT_NE('l', rec.origin) TH_LOG("second loss line at %llu",
						  (unsigned long long)expect);
		ASSERT_EQ(expect, rec.seq);
		delivered++;
		bytes += rec.msg_len;
		if (rec.seq == S + N + 1) {
			EXPECT_TRUE(ev_msg_is(&rec, endm));
			ev_rec_free(&rec);
			break;
		}
		ASSERT_GT(S + N + 1, rec.seq);
		flood_msg(want, P, self->mark, rec.seq - S - 1);
		EXPECT_TRUE(ev_msg_is(&rec, want))
			TH_LOG("seq %llu: '%.40s...'", (unsigned long long)rec.seq,
			       rec.msg);
		ev_rec_free(&rec);
	}
	ASSERT_QUIET(&a);
	EXPECT_EQ(N + 1, delivered + lost) TH_LOG("delivered + lost != written");
	EXPECT_LT(0, delivered);
	EXPECT_GE(self->ring_size, bytes) TH_LOG("retained more than the ring holds");
	TH_LOG("ring_size %llu, payload %zu: wrote %lu, lost %llu, retained %llu (%llu%% of the ring)",
	       (unsigned long long)self->ring_size, P, N + 1,
	       (unsigned long long)lost, (unsigned long long)delivered,
	       (unsigned long long)(bytes * 100 / self->ring_size));

	/* Reader b lost everything from b0 + 1 up to the same L. */
	NEXT_REC(&b, WAIT_MS, &rec);
	ASSERT_EQ('l', rec.origin);
	EXPECT_EQ(b0 + 1, rec.lost_first);
	EXPECT_EQ(L, rec.lost_last);
	ev_rec_free(&rec);
	NEXT_REC(&b, WAIT_MS, &rec);
	EXPECT_EQ(L + 1, rec.seq);
	ev_rec_free(&rec);

	close(a.fd);
	close(b.fd);
	close(fc);
	evr_free(&a);
	evr_free(&b);
	free(msg);
	free(want);
	free(line);
}

TEST_F_TIMEOUT(overflow, loss_line_exact, 120)
{
	overflow_run(_metadata, self, 0);
}

/* The same with 5-byte reads: the loss line may be split too. */
TEST_F_TIMEOUT(overflow, loss_line_small_reads, 240)
{
	overflow_run(_metadata, self, 5);
}

/* After a flood, a new reader's history is contiguous and fits the ring. */
TEST_F_TIMEOUT(overflow, history_fits_ring, 120)
{
	size_t P = flood_payload(self->ring_size, self->max_payload);
	unsigned long N = flood_count(self->ring_size, P), i;
	size_t ml = strlen(self->mark);
	uint64_t bytes = 0, first = 0;
	struct ev_stream st = { 0 };
	char *msg = malloc(P + 1), endm[128];
	struct ev_reader r;
	struct ev_rec rec;
	bool end = false;

	ASSERT_NE(NULL, msg);
	for (i = 0; i < N; i++) {
		flood_msg(msg, P, self->mark, i);
		ASSERT_EQ((ssize_t)P, write(self->fd, msg, P));
	}
	snprintf(endm, sizeof(endm), "ovf %s end", self->mark);
	ASSERT_EQ((long)strlen(endm), ev_write_str(self->fd, endm));

	ASSERT_EQ(0, evr_init(&r, open(EV_DEV, O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, r.fd);
	while (!end) {
		NEXT_REC(&r, WAIT_MS, &rec);
		ASSERT_NE('l', rec.origin) TH_LOG("history starts with a loss line");
		ASSERT_EQ(0, evs_feed(&st, &rec)) TH_LOG("%s", st.err);
		if (!first) {
			/* The oldest retained record is one of ours. */
			EXPECT_TRUE(rec.msg_len > 4 + ml &&
				    !memcmp(rec.msg, "ovf ", 4) &&
				    !memcmp(rec.msg + 4, self->mark, ml))
				TH_LOG("oldest is '%.60s'", rec.msg);
			first = rec.seq;
		}
		bytes += rec.msg_len;
		end = ev_msg_is(&rec, endm);
		ev_rec_free(&rec);
	}
	ASSERT_QUIET(&r);
	EXPECT_LT(0, st.records);
	EXPECT_GT(N + 1, st.records) TH_LOG("nothing was dropped?");
	EXPECT_GE(self->ring_size, bytes);
	TH_LOG("ring_size %llu: %llu records, %llu payload bytes retained",
	       (unsigned long long)self->ring_size,
	       (unsigned long long)st.records, (unsigned long long)bytes);
	close(r.fd);
	evr_free(&r);
	free(msg);
}

/*
 * A max_payload event is never lost silently, even in the smallest ring:
 * a live reader gets it, or a loss line for exactly its seq.
 */
TEST_F(overflow, max_payload_never_silent)
{
	size_t mp = self->max_payload;
	char *buf = malloc(mp), pre[128], post[128];
	struct ev_reader r;
	struct ev_rec rec;
	uint64_t s0;

	ASSERT_NE(NULL, buf);
	ASSERT_EQ(0, evr_init(&r, ev_open_live(O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, r.fd);
	snprintf(pre, sizeof(pre), "mp %s pre", self->mark);
	snprintf(post, sizeof(post), "mp %s post", self->mark);
	memset(buf, 'M', mp);
	ASSERT_EQ((long)strlen(pre), ev_write_str(self->fd, pre));
	NEXT_REC(&r, WAIT_MS, &rec);
	ASSERT_TRUE(ev_msg_is(&rec, pre));
	s0 = rec.seq;
	ev_rec_free(&rec);

	ASSERT_EQ((ssize_t)mp, write(self->fd, buf, mp));
	NEXT_REC(&r, WAIT_MS, &rec);
	if (rec.origin == 'l') {
		TH_LOG("ring_size %llu cannot hold a %zu byte payload",
		       (unsigned long long)self->ring_size, mp);
		EXPECT_EQ(s0 + 1, rec.lost_first);
		EXPECT_EQ(s0 + 1, rec.lost_last);
	} else {
		EXPECT_EQ(s0 + 1, rec.seq);
		EXPECT_EQ(mp, rec.msg_len);
	}
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	ASSERT_EQ((long)strlen(post), ev_write_str(self->fd, post));
	NEXT_REC(&r, WAIT_MS, &rec);
	ASSERT_NE('l', rec.origin) TH_LOG("the small event after it was lost");
	EXPECT_TRUE(ev_msg_is(&rec, post));
	EXPECT_EQ(s0 + 2, rec.seq);
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	close(r.fd);
	evr_free(&r);
	free(buf);
}

static bool default_mode(void)
{
	char buf[32];

	if (ev_param_str("mode", buf, sizeof(buf)))
		return false;
	return !strcmp(buf, "384") || !strcmp(buf, "0600") ||
	       !strcmp(buf, "600") || !strcmp(buf, "0o600");
}

static int drop_to_nobody(void)
{
	if (setgroups(0, NULL) || setgid(NOBODY) || setuid(NOBODY))
		return -1;
	return 0;
}

/* A thread blocked in read() on a file holds up nobody else using it. */
static void *blocked_reader(void *arg)
{
	int fd = *(int *)arg;
	char buf[8192];

	return (void *)(intptr_t)read(fd, buf, sizeof(buf));
}

TEST_F(events, blocked_read_does_not_block_shared_file)
{
	struct timespec t0, t1;
	pthread_t th;
	void *ret;
	char buf[8192];
	char msg[128];
	int fd, flags;

	fd = open(EV_DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	ASSERT_EQ(0, pthread_create(&th, NULL, blocked_reader, &fd));
	usleep(200000);	/* let it block */

	/* lseek on the same file returns at once. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT_EQ(0, lseek(fd, 0, SEEK_END));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	EXPECT_GT(2, t1.tv_sec - t0.tv_sec) TH_LOG("lseek waited for the reader");

	/* So does a non-blocking read of the same file: EAGAIN. */
	flags = fcntl(fd, F_GETFL);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags | O_NONBLOCK));
	EXPECT_EQ(-1, read(fd, buf, sizeof(buf)));
	EXPECT_EQ(EAGAIN, errno);
	ASSERT_EQ(0, fcntl(fd, F_SETFL, flags));

	/* An event wakes the blocked reader with it. */
	snprintf(msg, sizeof(msg), "shared %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	ASSERT_EQ(0, pthread_join(th, &ret));
	EXPECT_LT(0, (intptr_t)ret);
	close(fd);
}

/* readv() fills its iovecs like one read: no wait once it has data. */
TEST_F(events, readv_returns_what_is_there)
{
	struct iovec iov[2];
	char msg[128], first[8192], second[8192];
	ssize_t n;
	int fd;

	fd = open(EV_DEV, O_RDONLY);
	ASSERT_LE(0, fd);
	ASSERT_EQ(0, lseek(fd, 0, SEEK_END));
	snprintf(msg, sizeof(msg), "readv %s", self->mark);

	/* Learn the length of a line, then readv with exactly that first. */
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	n = read(fd, first, sizeof(first));
	ASSERT_LT(0, n);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));

	alarm(10);	/* a readv that waits for a second event fails here */
	iov[0].iov_base = first;
	iov[0].iov_len = n;
	iov[1].iov_base = second;
	iov[1].iov_len = sizeof(second);
	EXPECT_LT(0, readv(fd, iov, 2));
	alarm(0);
	close(fd);
}

/* Positions are cursors, not offsets: pread() and pwrite() make no sense. */
TEST_F(events, pread_pwrite_espipe)
{
	char buf[64];

	EXPECT_EQ(-1, pread(self->fd, buf, sizeof(buf), 0));
	EXPECT_EQ(ESPIPE, errno);
	EXPECT_EQ(-1, pwrite(self->fd, "x", 1, 0));
	EXPECT_EQ(ESPIPE, errno);
}


/* Mode 0600 root:root: an unprivileged user can neither read nor write. */
TEST_F(events, default_mode_denies_unprivileged)
{
	int *res;	/* fd, errno, fd, errno: shared with the child */
	struct stat st;
	int status;
	pid_t pid;

	if (!default_mode())
		SKIP(return, "module loaded with a non-default mode");
	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, stat(EV_DEV, &st));
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT_EQ(0600, st.st_mode & 07777);
	EXPECT_EQ(0, st.st_uid);
	EXPECT_EQ(0, st.st_gid);

	res = mmap(NULL, 4 * sizeof(int), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0xcc, 4 * sizeof(int));
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (drop_to_nobody())
			_exit(90);
		res[0] = open(EV_DEV, O_RDONLY);
		res[1] = errno;
		res[2] = open(EV_DEV, O_WRONLY);
		res[3] = errno;
		_exit(0);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	EXPECT_EQ(-1, res[0]);
	EXPECT_EQ(EACCES, res[1]);
	EXPECT_EQ(-1, res[2]);
	EXPECT_EQ(EACCES, res[3]);
	munmap(res, 4 * sizeof(int));
}

/* pid, uid and comm are the writer's, also through an inherited fd. */
TEST_F(events, fields_of_other_writer)
{
	struct ev_reader r;
	struct ev_rec rec;
	char msg[128];
	int status;
	pid_t pid;

	if (geteuid() != 0)
		SKIP(return, "needs root to switch users");
	ASSERT_EQ(0, evr_init(&r, ev_open_live(O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, r.fd);
	snprintf(msg, sizeof(msg), "nobody %s", self->mark);
	pid = fork();
	ASSERT_LE(0, pid);
	if (pid == 0) {
		if (drop_to_nobody())
			_exit(90);
		prctl(PR_SET_NAME, "evnobody");
		_exit(ev_write_str(self->fd, msg) == (long)strlen(msg) ? 0 : 91);
	}
	ASSERT_EQ(pid, waitpid(pid, &status, 0));
	ASSERT_EQ(0, status);
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, msg));
	EXPECT_EQ('u', rec.origin);
	EXPECT_EQ(pid, rec.pid);
	EXPECT_EQ(NOBODY, rec.uid);
	EXPECT_STREQ("evnobody", rec.comm);
	ev_rec_free(&rec);
	close(r.fd);
	evr_free(&r);
}

struct thread_write {
	int fd;
	char msg[128];
	long ret;
};

static void *thread_write_fn(void *arg)
{
	struct thread_write *t = arg;

	prctl(PR_SET_NAME, "evthr,2");
	t->ret = ev_write_str(t->fd, t->msg);
	return NULL;
}

/* Every field of a user record, with a comm that needs escaping. */
TEST_F(events, record_fields)
{
	static const char comm[] = "ev,f;ld\\1";
	static const char comm_esc[] = "ev\\x2cf\\x3bld\\x5c1";
	struct thread_write tw = { .fd = self->fd };
	struct timespec before, after;
	uint64_t prev_seq = 0, prev_t = 0;
	struct ev_reader r;
	struct ev_rec rec;
	char msg[128];
	pthread_t th;
	int i;

	ASSERT_EQ(0, prctl(PR_SET_NAME, comm));
	ASSERT_EQ(0, evr_init(&r, ev_open_live(O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, r.fd);
	clock_gettime(CLOCK_REALTIME, &before);
	for (i = 0; i < 3; i++) {
		snprintf(msg, sizeof(msg), "fld %s %d", self->mark, i);
		ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	}
	clock_gettime(CLOCK_REALTIME, &after);

	for (i = 0; i < 3; i++) {
		uint64_t t;

		snprintf(msg, sizeof(msg), "fld %s %d", self->mark, i);
		NEXT_REC(&r, WAIT_MS, &rec);
		EXPECT_TRUE(ev_msg_is(&rec, msg));
		if (i) {
			EXPECT_EQ(prev_seq + 1, rec.seq);
		}
		prev_seq = rec.seq;
		EXPECT_EQ('u', rec.origin);
		EXPECT_EQ(getpid(), rec.pid);
		EXPECT_EQ(getuid(), rec.uid);
		EXPECT_STREQ(comm, rec.comm);
		EXPECT_EQ(strlen(comm_esc), rec.comm_raw_len);
		EXPECT_EQ(0, memcmp(rec.comm_raw, comm_esc, rec.comm_raw_len));
		t = rec.sec * 1000000000ULL + rec.nsec;
		EXPECT_LE(prev_t, t) TH_LOG("time went backwards");
		prev_t = t;
		EXPECT_LE((uint64_t)before.tv_sec - 2, rec.sec);
		EXPECT_GE((uint64_t)after.tv_sec + 2, rec.sec);
		if (rec.extra_fields)
			TH_LOG("%u unknown header fields ignored", rec.extra_fields);
		ev_rec_free(&rec);
	}

	/* A thread: pid is the thread group id, comm the thread's own. */
	snprintf(tw.msg, sizeof(tw.msg), "fld %s thread", self->mark);
	ASSERT_EQ(0, pthread_create(&th, NULL, thread_write_fn, &tw));
	pthread_join(th, NULL);
	ASSERT_EQ((long)strlen(tw.msg), tw.ret);
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, tw.msg));
	EXPECT_EQ(prev_seq + 1, rec.seq);
	EXPECT_EQ(getpid(), rec.pid);
	EXPECT_STREQ("evthr,2", rec.comm);
	ev_rec_free(&rec);
	ASSERT_QUIET(&r);
	close(r.fd);
	evr_free(&r);
}

struct pidns_result {
	int ready;
	int seen_inner;		/* pid of the inner writer, seen inside */
	int seen_outer;		/* pid of the outer writer, seen inside */
	int err;
};

/* Runs as pid 1 of a new pid namespace. */
static void pidns_child(struct pidns_result *res, const char *inner,
			const char *outer, size_t cap)
{
	int64_t end = ev_now_ms() + 20000;
	struct ev_reader r;
	const char *l;
	int got = 0;
	size_t n;

	res->err = 1;
	if (evr_init(&r, ev_open_live(O_RDWR | O_NONBLOCK), cap) || r.fd < 0)
		_exit(1);
	if (ev_write_str(r.fd, inner) != (long)strlen(inner))
		_exit(2);
	__atomic_store_n(&res->ready, 1, __ATOMIC_SEQ_CST);
	while (got != 3 && ev_now_ms() < end) {
		struct ev_rec rec;
		char e[EV_ERR_MAX];

		if (evr_next(&r, 100, &l, &n) != 1)
			continue;
		if (ev_parse(l, n, &rec, e, sizeof(e)))
			_exit(3);
		if (ev_msg_is(&rec, inner)) {
			res->seen_inner = rec.pid;
			got |= 1;
		} else if (ev_msg_is(&rec, outer)) {
			res->seen_outer = rec.pid;
			got |= 2;
		}
		ev_rec_free(&rec);
	}
	res->err = got == 3 ? 0 : 4;
	_exit(0);
}

/* pids are shown in the reader's pid namespace; unmapped ones are 0. */
TEST_F(events, pid_namespace)
{
	char inner[128], outer[128];
	struct pidns_result *res;
	struct ev_reader r;
	struct ev_rec rec;
	pid_t child, gc = 0;
	int status, i;
	int pfd[2];

	if (geteuid() != 0)
		SKIP(return, "needs root for unshare(CLONE_NEWPID)");
	res = mmap(NULL, sizeof(*res), PROT_READ | PROT_WRITE,
		   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	ASSERT_NE(MAP_FAILED, res);
	memset(res, 0, sizeof(*res));
	ASSERT_EQ(0, pipe(pfd));
	ASSERT_EQ(0, evr_init(&r, ev_open_live(O_RDONLY | O_NONBLOCK), self->cap));
	ASSERT_LE(0, r.fd);
	snprintf(inner, sizeof(inner), "pidns %s inner", self->mark);
	snprintf(outer, sizeof(outer), "pidns %s outer", self->mark);

	child = fork();
	ASSERT_LE(0, child);
	if (child == 0) {
		pid_t p;

		if (unshare(CLONE_NEWPID))
			_exit(KSFT_SKIP);
		p = fork();
		if (p == 0)
			pidns_child(res, inner, outer, self->cap);
		if (write(pfd[1], &p, sizeof(p)) != sizeof(p))
			_exit(1);
		_exit(p > 0 && waitpid(p, &status, 0) == p && status == 0 ? 0 : 1);
	}
	close(pfd[1]);
	if (read(pfd[0], &gc, sizeof(gc)) != sizeof(gc)) {
		ASSERT_EQ(child, waitpid(child, &status, 0));
		if (WIFEXITED(status) && WEXITSTATUS(status) == KSFT_SKIP)
			SKIP(return, "no pid namespaces");
		ASSERT_TRUE(0) TH_LOG("namespace child failed: 0x%x", status);
	}
	ASSERT_LT(0, gc);
	for (i = 0; i < 4000 && !__atomic_load_n(&res->ready, __ATOMIC_SEQ_CST); i++)
		sleep_ms(5);
	ASSERT_TRUE(res->ready);
	ASSERT_EQ((long)strlen(outer), ev_write_str(self->fd, outer));
	ASSERT_EQ(child, waitpid(child, &status, 0));
	ASSERT_EQ(0, status);
	ASSERT_EQ(0, res->err);
	EXPECT_EQ(1, res->seen_inner);
	EXPECT_EQ(0, res->seen_outer) TH_LOG("an unmapped pid must read 0");

	/* Seen from here, the inner writer has its global pid. */
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, inner));
	EXPECT_EQ(gc, rec.pid);
	ev_rec_free(&rec);
	NEXT_REC(&r, WAIT_MS, &rec);
	EXPECT_TRUE(ev_msg_is(&rec, outer));
	EXPECT_EQ(getpid(), rec.pid);
	ev_rec_free(&rec);
	close(r.fd);
	evr_free(&r);
	munmap(res, sizeof(*res));
}

#define MANY_EPOLL	1000
#define MANY_THREADS	100

struct blocked_reader {
	pthread_t th;
	pid_t tid;
	int fd;
	atomic_int *started;
	char buf[512];
	ssize_t n;
	int err;
};

static void *blocked_reader_fn(void *arg)
{
	struct blocked_reader *br = arg;

	br->tid = ev_gettid();
	atomic_fetch_add(br->started, 1);
	br->n = read(br->fd, br->buf, sizeof(br->buf));
	br->err = errno;
	return NULL;
}

/*
 * Wait until @n reader threads have started (they count themselves in
 * *@started) and each of @arr[i].tid sleeps.
 */
#define WAIT_ASLEEP(arr, n, started) do {					\
	int64_t __end = ev_now_ms() + 30000;					\
	int __i;								\
										\
	while (atomic_load(started) < (n) && ev_now_ms() < __end)		\
		sleep_ms(10);							\
	ASSERT_EQ((n), atomic_load(started));					\
	for (__i = 0; __i < (n); __i++)						\
		wait_sleeping((arr)[__i].tid, 2000);				\
} while (0)

/* Join with a timeout in seconds; pthread_timedjoin_np() wants REALTIME. */
static int join_within(pthread_t th, int sec)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += sec;
	return pthread_timedjoin_np(th, NULL, &ts);
}

/* 1000 epoll'ed readers and 100 threads blocked in read(): one write wakes all. */
TEST_F_TIMEOUT(events, many_readers_one_write, 180)
{
	struct blocked_reader *br = calloc(MANY_THREADS, sizeof(*br));
	struct epoll_event *evs = calloc(MANY_EPOLL, sizeof(*evs));
	bool *seen = calloc(MANY_EPOLL, sizeof(*seen));
	int *fds = calloc(MANY_EPOLL, sizeof(*fds));
	struct rlimit rl = { 4096, 4096 };
	char msg[128], line[512], buf[512];
	atomic_int started = 0;
	pthread_attr_t attr;
	int64_t deadline;
	struct ev_rec rec;
	char e[EV_ERR_MAX];
	ssize_t len, n;
	int ep, i, count = 0;

	ASSERT_NE(NULL, br);
	ASSERT_NE(NULL, evs);
	ASSERT_NE(NULL, seen);
	ASSERT_NE(NULL, fds);
	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		ASSERT_EQ(0, getrlimit(RLIMIT_NOFILE, &rl));
		if (rl.rlim_cur < MANY_EPOLL + MANY_THREADS + 64)
			SKIP(return, "RLIMIT_NOFILE %lu too low",
			     (unsigned long)rl.rlim_cur);
	}
	ep = epoll_create1(EPOLL_CLOEXEC);
	ASSERT_LE(0, ep);
	for (i = 0; i < MANY_EPOLL; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		fds[i] = ev_open_live(O_RDONLY | O_NONBLOCK);
		ASSERT_LE(0, fds[i]) TH_LOG("reader %d: %s", i, strerror(errno));
		ASSERT_EQ(0, epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev));
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	for (i = 0; i < MANY_THREADS; i++) {
		br[i].fd = ev_open_live(O_RDONLY);
		ASSERT_LE(0, br[i].fd);
		br[i].started = &started;
		ASSERT_EQ(0, pthread_create(&br[i].th, &attr, blocked_reader_fn,
					    &br[i]));
	}
	WAIT_ASLEEP(br, MANY_THREADS, &started);
	ASSERT_EQ(0, epoll_wait(ep, evs, MANY_EPOLL, 0));

	snprintf(msg, sizeof(msg), "many %s", self->mark);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));

	deadline = ev_now_ms() + 60000;
	while (count < MANY_EPOLL && ev_now_ms() < deadline) {
		n = epoll_wait(ep, evs, MANY_EPOLL, 1000);
		ASSERT_LE(0, n);
		for (i = 0; i < n; i++) {
			EXPECT_TRUE(evs[i].events & EPOLLIN);
			if (!seen[evs[i].data.u32]) {
				seen[evs[i].data.u32] = true;
				count++;
			}
		}
	}
	ASSERT_EQ(MANY_EPOLL, count);

	len = read_line_raw(fds[0], line, sizeof(line));
	ASSERT_LT(0, len);
	ASSERT_EQ(0, ev_parse(line, len, &rec, e, sizeof(e))) TH_LOG("%s", e);
	EXPECT_TRUE(ev_msg_is(&rec, msg));
	ev_rec_free(&rec);
	for (i = 1; i < MANY_EPOLL; i++) {
		n = read(fds[i], buf, sizeof(buf));
		ASSERT_EQ(len, n) TH_LOG("reader %d", i);
		ASSERT_EQ(0, memcmp(buf, line, len));
	}
	for (i = 0; i < MANY_EPOLL; i++) {
		EXPECT_EQ(-1, read(fds[i], buf, sizeof(buf)));
		EXPECT_EQ(EAGAIN, errno);
	}

	for (i = 0; i < MANY_THREADS; i++) {
		ASSERT_EQ(0, join_within(br[i].th, 60))
			TH_LOG("thread %d still blocked", i);
		ASSERT_EQ(len, br[i].n) TH_LOG("thread %d: %s", i,
					       strerror(br[i].err));
		EXPECT_EQ(0, memcmp(br[i].buf, line, len));
		close(br[i].fd);
	}
	for (i = 0; i < MANY_EPOLL; i++)
		close(fds[i]);
	close(ep);
	free(br);
	free(evs);
	free(seen);
	free(fds);
}

#define BURST_READERS	16
#define BURST_EVENTS	50

struct burst_reader {
	pthread_t th;
	pid_t tid;
	int fd;
	atomic_int *started;
	const char *prefix;
	int lines;		/* lines of the burst, in order */
	int bad;
	char buf[8192];
};

static void *burst_reader_fn(void *arg)
{
	struct burst_reader *br = arg;

	br->tid = ev_gettid();
	atomic_fetch_add(br->started, 1);
	while (br->lines < BURST_EVENTS && !br->bad) {
		ssize_t n = read(br->fd, br->buf, sizeof(br->buf) - 1);
		char *p = br->buf, *nl;

		if (n <= 0) {
			br->bad = 1;
			break;
		}
		br->buf[n] = '\0';
		for (; (nl = strchr(p, '\n')); p = nl + 1) {
			char want[160], *m = strchr(p, ';');

			snprintf(want, sizeof(want), "%s%d\n", br->prefix,
				 br->lines);
			if (!m || strncmp(m + 1, want, strlen(want)))
				br->bad = 1;
			br->lines++;
		}
	}
	return NULL;
}

/*
 * A burst wakes readers once for many records, and the records that came
 * after a round of wake-ups are not left behind: every reader blocked in
 * read() gets every record of the burst, the last one included, with no
 * further write to wake it.
 */
TEST_F_TIMEOUT(events, burst_wakes_readers_for_every_record, 120)
{
	struct burst_reader *br = calloc(BURST_READERS, sizeof(*br));
	atomic_int started = 0;
	char prefix[96], msg[160];
	int i;

	ASSERT_NE(NULL, br);
	snprintf(prefix, sizeof(prefix), "burst %s ", self->mark);
	for (i = 0; i < BURST_READERS; i++) {
		br[i].fd = ev_open_live(O_RDONLY);
		ASSERT_LE(0, br[i].fd);
		br[i].started = &started;
		br[i].prefix = prefix;
		ASSERT_EQ(0, pthread_create(&br[i].th, NULL, burst_reader_fn,
					    &br[i]));
	}
	WAIT_ASLEEP(br, BURST_READERS, &started);

	for (i = 0; i < BURST_EVENTS; i++) {
		snprintf(msg, sizeof(msg), "%s%d", prefix, i);
		ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	}
	for (i = 0; i < BURST_READERS; i++) {
		ASSERT_EQ(0, join_within(br[i].th, 60))
			TH_LOG("reader %d still blocked after %d of %d records",
			       i, br[i].lines, BURST_EVENTS);
		EXPECT_EQ(0, br[i].bad) TH_LOG("reader %d", i);
		EXPECT_EQ(BURST_EVENTS, br[i].lines) TH_LOG("reader %d", i);
		close(br[i].fd);
	}
	free(br);
}

#define ST_WRITERS	4
#define ST_READERS	3
#define ST_PER_WRITER	1500
#define ST_PAD_MAX	200

enum { ST_BLOCKING, ST_POLL, ST_NONBLOCK };

struct st_shared {
	char prefix[96];	/* "st <mark> " */
	size_t cap;
	int64_t deadline;	/* readers give up */
};

struct st_writer {
	pthread_t th;
	int k;
	int fd;
	long written;
	int64_t stop_at;
	char err[EV_ERR_MAX];
	struct st_shared *sh;
};

struct st_reader {
	pthread_t th;
	int mode;
	int fd;
	struct st_shared *sh;
	struct ev_stream s;
	long last_n[ST_WRITERS];
	uint64_t got[ST_WRITERS];
	uint64_t ours;		/* our records, begin and end included */
	uint64_t foreign;
	bool saw_end;
	char err[2 * EV_ERR_MAX];
};

static size_t st_pad(int k, long n)
{
	return (n * 7 + k * 13) % ST_PAD_MAX;
}

static void *st_writer_fn(void *arg)
{
	struct st_writer *w = arg;
	char msg[512];
	long n;

	for (n = 0; n < ST_PER_WRITER && ev_now_ms() < w->stop_at; n++) {
		int l = snprintf(msg, sizeof(msg), "%sw%d n%ld ",
				 w->sh->prefix, w->k, n);
		size_t pad = st_pad(w->k, n);
		ssize_t ret;

		memset(msg + l, 'a' + w->k, pad);
		ret = write(w->fd, msg, l + pad);
		if (ret != (ssize_t)(l + pad)) {
			snprintf(w->err, sizeof(w->err), "write %ld: %zd %s",
				 n, ret, strerror(errno));
			break;
		}
		w->written++;
		if (!(n & 63))
			sched_yield();
	}
	return NULL;
}

/* Check one of our messages: "w<k> n<n> <pad>" after the prefix. */
static int st_check(struct st_reader *rd, const struct ev_rec *rec)
{
	const char *m = rec->msg + strlen(rd->sh->prefix);
	int k, used = 0;
	size_t i, pad;
	long n;

	if (!strcmp(m, "begin"))
		return 0;
	if (!strcmp(m, "end")) {
		rd->saw_end = true;
		return 0;
	}
	if (sscanf(m, "w%d n%ld %n", &k, &n, &used) != 2 || !used ||
	    k < 0 || k >= ST_WRITERS || n < 0) {
		snprintf(rd->err, sizeof(rd->err), "torn: '%.80s'", rec->msg);
		return -1;
	}
	pad = st_pad(k, n);
	if (strlen(m + used) != pad) {
		snprintf(rd->err, sizeof(rd->err), "torn pad: '%.80s'", rec->msg);
		return -1;
	}
	for (i = 0; i < pad; i++) {
		if (m[used + i] != 'a' + k) {
			snprintf(rd->err, sizeof(rd->err),
				 "torn pad byte: '%.80s'", rec->msg);
			return -1;
		}
	}
	if (n <= rd->last_n[k]) {
		snprintf(rd->err, sizeof(rd->err),
			 "writer %d: n%ld after n%ld (duplicate/reordered)",
			 k, n, rd->last_n[k]);
		return -1;
	}
	if (!rd->s.lost && n != rd->last_n[k] + 1) {
		snprintf(rd->err, sizeof(rd->err),
			 "writer %d: n%ld after n%ld without a loss line",
			 k, n, rd->last_n[k]);
		return -1;
	}
	rd->last_n[k] = n;
	rd->got[k]++;
	return 0;
}

static void *st_reader_fn(void *arg)
{
	struct st_reader *rd = arg;
	struct ev_reader r;
	const char *l;
	size_t n;
	int k;

	for (k = 0; k < ST_WRITERS; k++)
		rd->last_n[k] = -1;
	if (evr_init(&r, rd->fd, rd->sh->cap)) {
		snprintf(rd->err, sizeof(rd->err), "no memory");
		return NULL;
	}
	switch (rd->mode) {
	case ST_BLOCKING:
		r.blocking = true;	/* plain blocking read(2) */
		r.rdsize = 61;		/* lines arrive in pieces */
		break;
	case ST_POLL:
		r.rdsize = 4096;
		break;
	case ST_NONBLOCK:
		r.blocking = true;	/* read(2) until EAGAIN, no poll */
		break;
	}
	while (!rd->saw_end) {
		struct ev_rec rec;
		char e[EV_ERR_MAX];
		int ret = evr_next(&r, 200, &l, &n);

		if (ret < 0) {
			snprintf(rd->err, sizeof(rd->err), "read: %s",
				 strerror(errno));
			break;
		}
		if (ret == 0) {
			if (ev_now_ms() > rd->sh->deadline) {
				snprintf(rd->err, sizeof(rd->err),
					 "no end event before the deadline");
				break;
			}
			continue;
		}
		if (ev_parse(l, n, &rec, e, sizeof(e))) {
			snprintf(rd->err, sizeof(rd->err), "'%.*s': %s",
				 (int)(n > 100 ? 100 : n), l, e);
			break;
		}
		if (evs_feed(&rd->s, &rec)) {
			snprintf(rd->err, sizeof(rd->err), "%s", rd->s.err);
			ev_rec_free(&rec);
			break;
		}
		if (rec.origin == 'l') {
			ev_rec_free(&rec);
			continue;
		}
		if (ev_msg_has_prefix(&rec, rd->sh->prefix)) {
			rd->ours++;
			if (st_check(rd, &rec)) {
				ev_rec_free(&rec);
				break;
			}
		} else {
			rd->foreign++;
		}
		ev_rec_free(&rec);
	}
	evr_free(&r);
	return NULL;
}

/*
 * 4 writers, and 3 readers (blocking with small reads, poll, O_NONBLOCK):
 * no torn, duplicated or reordered records; every gap is a loss line with
 * the exact count; delivered + lost == written.
 */
TEST_F_TIMEOUT(events, stress_writers_readers, 240)
{
	struct st_writer w[ST_WRITERS] = { 0 };
	struct st_reader rd[ST_READERS] = { 0 };
	struct st_shared sh = { .cap = self->cap };
	char msg[128];
	long written = 2;	/* begin and end */
	int i, k;

	snprintf(sh.prefix, sizeof(sh.prefix), "st %s ", self->mark);
	sh.deadline = ev_now_ms() + 150000;
	for (i = 0; i < ST_READERS; i++) {
		rd[i].mode = i;
		rd[i].sh = &sh;
		rd[i].fd = ev_open_live(i == ST_NONBLOCK ? O_RDONLY | O_NONBLOCK
						      : O_RDONLY);
		ASSERT_LE(0, rd[i].fd);
	}
	snprintf(msg, sizeof(msg), "%sbegin", sh.prefix);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));
	for (i = 0; i < ST_READERS; i++) {
		ASSERT_EQ(0, pthread_create(&rd[i].th, NULL, st_reader_fn, &rd[i]));
	}
	for (k = 0; k < ST_WRITERS; k++) {
		w[k].k = k;
		w[k].sh = &sh;
		w[k].stop_at = ev_now_ms() + 60000;
		w[k].fd = open(EV_DEV, O_WRONLY | O_CLOEXEC);
		ASSERT_LE(0, w[k].fd);
		ASSERT_EQ(0, pthread_create(&w[k].th, NULL, st_writer_fn, &w[k]));
	}
	for (k = 0; k < ST_WRITERS; k++) {
		pthread_join(w[k].th, NULL);
		close(w[k].fd);
		EXPECT_EQ(0, w[k].err[0]) TH_LOG("writer %d: %s", k, w[k].err);
		written += w[k].written;
	}
	snprintf(msg, sizeof(msg), "%send", sh.prefix);
	ASSERT_EQ((long)strlen(msg), ev_write_str(self->fd, msg));

	for (i = 0; i < ST_READERS; i++) {
		ASSERT_EQ(0, join_within(rd[i].th, 90))
			TH_LOG("reader %d (mode %d) is stuck", i, rd[i].mode);
	}
	for (i = 0; i < ST_READERS; i++) {
		TH_LOG("reader %d: %llu records, %llu lost in %llu loss lines",
		       i, (unsigned long long)rd[i].s.records,
		       (unsigned long long)rd[i].s.lost,
		       (unsigned long long)rd[i].s.loss_lines);
		EXPECT_EQ(0, rd[i].err[0]) TH_LOG("reader %d: %s", i, rd[i].err);
		EXPECT_TRUE(rd[i].saw_end);
		EXPECT_EQ(0, rd[i].foreign) TH_LOG("someone else wrote meanwhile");
		EXPECT_EQ((uint64_t)written, rd[i].ours + rd[i].s.lost)
			TH_LOG("reader %d: delivered %llu + lost %llu != written %ld",
			       i, (unsigned long long)rd[i].ours,
			       (unsigned long long)rd[i].s.lost, written);
		for (k = 0; k < ST_WRITERS; k++) {
			EXPECT_GE((uint64_t)w[k].written, rd[i].got[k]);
			if (!rd[i].s.lost) {
				EXPECT_EQ((uint64_t)w[k].written, rd[i].got[k]);
			}
		}
		close(rd[i].fd);
	}
}

TEST_HARNESS_MAIN
