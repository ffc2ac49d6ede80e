// SPDX-License-Identifier: GPL-2.0
/*
 * events_stress - bounded-time stress test of /dev/events
 *
 * Runs at once, for -d seconds: writer threads (write, writev and
 * EVENTS_IOC_LOG batches, payloads up to max_payload), readers of several
 * kinds (blocking, poll, epoll edge-triggered, tiny buffers, seeking), a
 * thread that opens and closes the device, a thread that interrupts
 * readers with signals, a thread that tries to unload the module (it must
 * fail while files are open) and, with -k, a thread that loads and
 * unloads the in-kernel API test module.
 *
 * Every reader checks every line: the strict record format, sequence
 * numbers (+1, or a loss line that starts at the expected number), the
 * exact payload each writer wrote (payloads are a function of the seed,
 * the writer and its counter), per-writer and per-context counters, and
 * the read(2) boundaries (whole lines, or pieces of one line).
 * After the run, a trickle of "tick" events under signals makes sleeping
 * readers see EINTR and retry, "ping" events (one at a time, no signals)
 * check that every sleeping reader is woken, and an end marker lets
 * readers compare what they saw with what was written. The sequence
 * numbers of a start and an end marker account for every event: the
 * device must be used by this program alone.
 *
 * Exit status: 0 pass, 1 a violation (the first is printed), 4 skip.
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
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include <linux/events.h>

#include "events_util.h"

#define KSFT_SKIP	4

#define PREFIX_MAX	160		/* longest line prefix (format) */
#define POOL_SIZE	(1 << 17)	/* filler bytes, > 2 * max_payload */
#define NR_WRITERS_MAX	16
#define NR_READERS	5
#define NR_PINGS	200
#define TICK_MS		2000	/* slow events under signals */
#define TICK_US		3000
#define PING_TIMEOUT_S	30
#define END_TIMEOUT_S	60
#define BIG_READ	(256 * 1024)
#define KLOAD_TIMEOUT_S	60	/* per context, for each api test load */
#define FLOOD_BURST_MAX	100000
#define FLOOD_TIMEOUT_S	120	/* per context, for each flood load */
#define FLOOD_CAP_S	360	/* no new flood load after this */
#define FLOOD_READER_PAUSE_US	1000000

#define NR_KCTX		4
static const char *const kctx_name[NR_KCTX] = {
	"hardirq", "softirq", "process", "burst"
};

/* Configuration and results shared by all threads. */
static struct {
	unsigned int duration;
	uint64_t min_events;
	const char *kmod_path;
	char kmod_name[64];
	unsigned int kcount;
	unsigned int kburst;
	uint64_t flood;
	uint64_t seed;
	unsigned int nr_writers;
	int reader_nice;
	bool verbose;

	uint64_t max_payload;
	uint64_t ring_size;
	size_t max_line;
	pid_t pid;
	uid_t uid;
	int64_t t_start;	/* CLOCK_REALTIME seconds at start */
	uint64_t base_seq;	/* seq of the start marker */
	uint64_t end_seq;	/* seq of the end marker */
	char writer_name[NR_WRITERS_MAX][16];
	unsigned char pool[POOL_SIZE];

	/* flags, read and written with __atomic builtins */
	int stop;		/* main phase over (or a violation) */
	int stop_kwriter;
	int stop_aux;		/* opener, unloader */
	int stop_signals;
	int stopping;		/* no more seeks; protected by seek_lock */
	int flooding;		/* readers pause between reads */
	int abort;		/* readers: give up */
	pthread_mutex_t seek_lock;

	/* results */
	uint64_t written[NR_WRITERS_MAX];
	uint64_t kloads, kload_fail;
	uint64_t kevents;	/* logged by the api test loads */
	uint64_t kburst_max;	/* largest burst asked for */
	uint64_t flood_loads, flood_events, flood_ms;
	uint64_t opens, unload_tries, signals;

	pthread_mutex_t fail_lock;
	unsigned int nr_fail;
	char first_fail[1024];
} g = {
	.duration = 20,
	.kcount = 2000,
	.nr_writers = 4,
	.seek_lock = PTHREAD_MUTEX_INITIALIZER,
	.fail_lock = PTHREAD_MUTEX_INITIALIZER,
};

#define LOAD(x)		__atomic_load_n(&(x), __ATOMIC_ACQUIRE)
#define STORE(x, v)	__atomic_store_n(&(x), (v), __ATOMIC_RELEASE)
#define INC(x)		__atomic_fetch_add(&(x), 1, __ATOMIC_RELAXED)
#define ADD(x, v)	__atomic_fetch_add(&(x), (v), __ATOMIC_RELAXED)

__attribute__((format(printf, 1, 2)))
static void fail(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&g.fail_lock);
	if (!g.nr_fail++)
		snprintf(g.first_fail, sizeof(g.first_fail), "%s", msg);
	if (g.nr_fail <= 10)
		fprintf(stderr, "events_stress: violation: %s\n", msg);
	pthread_mutex_unlock(&g.fail_lock);
	STORE(g.stop, 1);
}

static bool failed(void)
{
	bool ret;

	pthread_mutex_lock(&g.fail_lock);
	ret = g.nr_fail;
	pthread_mutex_unlock(&g.fail_lock);
	return ret;
}

static void sleep_us(unsigned int us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000L };

	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* ---- what writers write ---- */

struct wmsg {
	size_t flen;	/* filler bytes */
	size_t foff;	/* their offset in the pool */
	bool add_nl;	/* write a trailing '\n' (dropped by the device) */
	bool vec;	/* writev rather than write */
	unsigned int split;
};

static size_t fmt_u64(char *p, uint64_t v)
{
	char tmp[20];
	size_t n = 0, i;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	for (i = 0; i < n; i++)
		p[i] = tmp[n - 1 - i];
	return n;
}

/* "w<id> <n> " */
static size_t fmt_hdr(char *p, unsigned int id, uint64_t n)
{
	size_t o = 0;

	p[o++] = 'w';
	o += fmt_u64(p + o, id);
	p[o++] = ' ';
	o += fmt_u64(p + o, n);
	p[o++] = ' ';
	return o;
}

/*
 * The event writer @id writes as its @n-th: mostly short, sometimes up to
 * and exactly max_payload. @room is max_payload minus the header.
 */
static void wmsg_gen(unsigned int id, uint64_t n, size_t room, struct wmsg *m)
{
	uint64_t h = ev_mix64(g.seed ^ ((uint64_t)(id + 1) << 56) ^
			   (n * 0xd1b54a32d192ed03ULL));
	unsigned int r = h % 1000;
	uint64_t h2 = h >> 10;
	size_t len;

	if (r < 850)
		len = h2 % 41;
	else if (r < 970)
		len = h2 % 401;
	else if (r < 995)
		len = h2 % (room + 1);
	else
		len = room;
	if (len > room)
		len = room;
	m->flen = len;
	m->foff = ev_mix64(h) % (POOL_SIZE - len + 1);
	m->add_nl = (h >> 50) & 1;
	m->vec = ((h >> 52) & 3) == 0;
	m->split = h >> 56;
}

/*
 * Bytes of the filler that the device logs for @m: write(2) drops one
 * trailing newline, the writer's own or the filler's last byte.
 */
static size_t wmsg_logged_len(const struct wmsg *m)
{
	if (!m->add_nl && m->flen && g.pool[m->foff + m->flen - 1] == '\n')
		return m->flen - 1;
	return m->flen;
}

/* ---- writers ---- */

struct writer {
	unsigned int id;
	int fd;
	char *buf;
	char *batch;		/* EVENTS_LOG_MAX bytes */
	pthread_t thread;
};

/* Every BATCH_EVERY-th event starts a batch of up to BATCH_EVENTS. */
#define BATCH_EVERY	64
#define BATCH_EVENTS	16

/*
 * Log the events @n.. of writer @w with one EVENTS_IOC_LOG: the payloads
 * write(2) would log for them (a batch keeps a trailing newline, so leave
 * out the one write(2) drops), as many as fit in a batch, up to
 * BATCH_EVENTS. Returns how many, or 0 after a failure.
 */
static unsigned int write_batch(struct writer *w, uint64_t n)
{
	struct events_log_args la = {
		.size = sizeof(la), .entries = (uintptr_t)w->batch,
	};
	unsigned int k;

	for (k = 0; k < BATCH_EVENTS; k++) {
		char *e = w->batch + la.len;
		struct events_entry h = { 0 };
		size_t hl = fmt_hdr(w->buf, w->id, n + k);
		struct wmsg m;

		wmsg_gen(w->id, n + k, g.max_payload - hl, &m);
		h.len = hl + wmsg_logged_len(&m);
		if (EVENTS_ENTRY_SIZE(h.len) > EVENTS_LOG_MAX - la.len)
			break;
		memcpy(e, &h, sizeof(h));
		memcpy(e + sizeof(h), w->buf, hl);
		memcpy(e + sizeof(h) + hl, g.pool + m.foff, h.len - hl);
		la.len += EVENTS_ENTRY_SIZE(h.len);
	}
	if (ioctl(w->fd, EVENTS_IOC_LOG, &la) || la.count != k) {
		fail("writer %u: EVENTS_IOC_LOG of %u events (from %" PRIu64
		     ") logged %u (%s)", w->id, k, n, la.count,
		     strerror(errno));
		return 0;
	}
	return k;
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	size_t cap = g.max_payload;
	uint64_t n;

	prctl(PR_SET_NAME, g.writer_name[w->id]);
	for (n = 0; !LOAD(g.stop); n++) {
		size_t hl, want;
		struct iovec iov[5];
		struct wmsg m;
		ssize_t ret;
		int cnt = 0;

		if (n % BATCH_EVERY == BATCH_EVERY - 1) {
			unsigned int k = write_batch(w, n);

			if (!k)
				break;
			n += k - 1;
			STORE(g.written[w->id], n);
			continue;
		}
		hl = fmt_hdr(w->buf, w->id, n);
		wmsg_gen(w->id, n, cap - hl, &m);
		want = hl + m.flen + m.add_nl;
		if (!m.vec) {
			memcpy(w->buf + hl, g.pool + m.foff, m.flen);
			if (m.add_nl)
				w->buf[hl + m.flen] = '\n';
			ret = write(w->fd, w->buf, want);
		} else {
			size_t cut = m.flen ? m.split % (m.flen + 1) : 0;

			iov[cnt++] = (struct iovec){ w->buf, hl };
			iov[cnt++] = (struct iovec){ g.pool + m.foff, cut };
			if (m.split & 1)
				iov[cnt++] = (struct iovec){ w->buf, 0 };
			iov[cnt++] = (struct iovec){ g.pool + m.foff + cut,
						     m.flen - cut };
			if (m.add_nl)
				iov[cnt++] = (struct iovec){ "\n", 1 };
			ret = writev(w->fd, iov, cnt);
		}
		if (ret != (ssize_t)want) {
			fail("writer %u: %s of %zu bytes (event %" PRIu64
			     ") returned %zd (%s)", w->id,
			     m.vec ? "writev" : "write", want, n, ret,
			     ret < 0 ? strerror(errno) : "short");
			break;
		}
		if (!(n & 1023))
			STORE(g.written[w->id], n);
	}
	STORE(g.written[w->id], n);
	return NULL;
}

/* ---- readers ---- */

enum rkind { RK_BLOCK, RK_POLL, RK_EPOLL, RK_TINY, RK_SEEK };

static const char *const rkind_name[] = {
	"blocking", "poll", "epoll-et", "tiny", "seek",
};

struct ctr {
	bool seen;
	uint64_t last;
	uint64_t n;	/* events in the current run of this counter */
	uint64_t epoch;	/* reader's loss epoch at the last record */
};

struct reader {
	enum rkind kind;
	const char *name;
	int fd;
	pthread_t thread;
	uint64_t rnd;

	char *buf;		/* read buffer */
	size_t bufsz;
	char *line;		/* a line being reassembled */
	size_t line_len, line_cap;
	char *msg;		/* decoded message */
	int64_t now_s;		/* CLOCK_REALTIME at the last read */

	/* expectations; reset on a seek */
	uint64_t expect;	/* next seq; 0 = unknown */
	uint64_t epoch;		/* loss lines seen */
	bool prev_loss;
	bool start_seen;
	uint64_t start_epoch;
	bool want_loss;		/* EPOLLPRI: a loss line comes next */
	struct ctr w[NR_WRITERS_MAX];
	struct ctr k[NR_KCTX];
	int64_t last_ping;
	int64_t last_tick;

	int in_call;		/* in read/poll/epoll_wait: signal it */

	/* results */
	bool done;		/* saw the end marker */
	uint64_t end_seq;
	int64_t ping;		/* last ping seen, for the main thread */
	uint64_t lines, records, loss_lines, lost, eintr, reads, seeks;
	uint64_t bytes, extra;
};

static struct reader readers[NR_READERS];

__attribute__((format(printf, 4, 5)))
static void rfail(struct reader *rd, const char *line, size_t len,
		  const char *fmt, ...)
{
	char msg[512], tmp[300];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line)
		fail("reader %s: %s; line: %s", rd->name, msg,
		     ev_show(line, len, tmp, sizeof(tmp)));
	else
		fail("reader %s: %s", rd->name, msg);
}

static void rd_reset(struct reader *rd)
{
	rd->line_len = 0;
	rd->expect = 0;
	rd->prev_loss = false;
	rd->start_seen = false;
	rd->want_loss = false;
	memset(rd->w, 0, sizeof(rd->w));
	memset(rd->k, 0, sizeof(rd->k));
	rd->last_ping = -1;
	rd->last_tick = -1;
}

/* Saw the start marker and lost nothing since: every event is in view. */
static bool rd_complete(const struct reader *rd)
{
	return rd->start_seen && rd->start_epoch == rd->epoch;
}

static void rd_writer_rec(struct reader *rd, const struct ev_rec *l,
			  const char *line, size_t len)
{
	const char *p = l->msg, *end = l->msg + l->msg_len;
	uint64_t id, n;
	char hdr[48];
	struct wmsg m;
	struct ctr *c;
	size_t hl, flen;

	if (!ev_eat(&p, end, "w") || !ev_eat_u64(&p, end, &id) ||
	    id >= g.nr_writers || !ev_eat(&p, end, " ") ||
	    !ev_eat_u64(&p, end, &n) || !ev_eat(&p, end, " ")) {
		rfail(rd, line, len, "our event with an unknown message");
		return;
	}
	hl = fmt_hdr(hdr, id, n);
	if ((size_t)(p - l->msg) != hl) {
		rfail(rd, line, len, "bad writer header");
		return;
	}
	if (strcmp(l->comm, g.writer_name[id])) {
		rfail(rd, line, len, "comm is not the writer's thread name");
		return;
	}
	wmsg_gen(id, n, g.max_payload - hl, &m);
	flen = wmsg_logged_len(&m);
	if (l->msg_len != hl + flen ||
	    memcmp(l->msg + hl, g.pool + m.foff, flen)) {
		rfail(rd, line, len,
		      "payload differs from what writer %" PRIu64
		      " wrote (%zu bytes, want %zu)", id, l->msg_len,
		      hl + flen);
		return;
	}

	c = &rd->w[id];
	if (c->seen) {
		if (n <= c->last)
			rfail(rd, line, len,
			      "writer %" PRIu64 " counter %" PRIu64
			      " after %" PRIu64 " (duplicate or reorder)",
			      id, n, c->last);
		else if (n != c->last + 1 && c->epoch == rd->epoch)
			rfail(rd, line, len,
			      "writer %" PRIu64 " counter jumps %" PRIu64
			      " -> %" PRIu64 " without a loss line", id,
			      c->last, n);
	} else if (rd_complete(rd) && n) {
		rfail(rd, line, len, "first event of writer %" PRIu64
		      " seen is %" PRIu64 ", with nothing lost", id, n);
	}
	c->seen = true;
	c->last = n;
	c->epoch = rd->epoch;
}

/* The comm field is "-": an event logged from interrupt context. */
static bool no_task(const struct ev_rec *l)
{
	return l->comm_raw_len == 1 && l->comm_raw[0] == '-';
}

static void rd_kernel_rec(struct reader *rd, const struct ev_rec *l,
			  const char *line, size_t len)
{
	const char *p = l->msg, *end = l->msg + l->msg_len;
	uint64_t i, n;
	struct ctr *c;
	int ctx;

	if (!ev_eat(&p, end, "api ")) {
		rfail(rd, line, len, "unexpected kernel event");
		return;
	}
	for (ctx = 0; ctx < NR_KCTX; ctx++)
		if (ev_eat(&p, end, kctx_name[ctx]))
			break;
	n = g.kcount;
	if (ctx == NR_KCTX || !ev_eat(&p, end, " ") ||
	    !ev_eat_u64(&p, end, &i) ||
	    (ctx == 3 && (!ev_eat(&p, end, "/") || !ev_eat_u64(&p, end, &n))) ||
	    p != end) {
		rfail(rd, line, len, "bad api test message");
		return;
	}
	if (ctx < 2 && (l->pid || l->uid || !no_task(l))) {
		rfail(rd, line, len, "irq-context event with pid/uid/comm");
		return;
	}
	if (ctx >= 2 && (!l->pid || no_task(l))) {
		rfail(rd, line, len, "process-context event without a task");
		return;
	}
	if (!g.kmod_path || i >= n || (ctx == 3 && n > LOAD(g.kburst_max))) {
		rfail(rd, line, len, "api test event we did not ask for");
		return;
	}
	c = &rd->k[ctx];
	if (c->seen) {
		if (i != c->last + 1 && !(i == 0 && c->last == c->n - 1) &&
		    c->epoch == rd->epoch)
			rfail(rd, line, len, "%s counter %" PRIu64 " -> %"
			      PRIu64 " without a loss line", kctx_name[ctx],
			      c->last, i);
	} else if (rd_complete(rd) && i) {
		rfail(rd, line, len, "first %s event seen is %" PRIu64
		      ", with nothing lost", kctx_name[ctx], i);
	}
	c->seen = true;
	c->last = i;
	c->n = n;
	c->epoch = rd->epoch;
}

/* The end marker: what this reader saw must match what was written. */
static void rd_end(struct reader *rd, const struct ev_rec *l)
{
	unsigned int i;
	int ctx;

	rd->done = true;
	rd->end_seq = l->seq;
	for (i = 0; i < g.nr_writers; i++) {
		uint64_t w = LOAD(g.written[i]);
		struct ctr *c = &rd->w[i];

		if (c->seen && c->epoch == rd->epoch && c->last + 1 != w)
			rfail(rd, NULL, 0, "last event of writer %u seen is %"
			      PRIu64 " but it wrote %" PRIu64
			      " (nothing lost after it)", i, c->last, w);
		if (c->seen && c->last >= w)
			rfail(rd, NULL, 0, "saw event %" PRIu64 " of writer %u"
			      " which wrote only %" PRIu64, c->last, i, w);
		if (!c->seen && rd_complete(rd) && w)
			rfail(rd, NULL, 0, "saw none of the %" PRIu64
			      " events of writer %u", w, i);
	}
	for (ctx = 0; ctx < NR_KCTX && LOAD(g.kloads); ctx++) {
		struct ctr *c = &rd->k[ctx];

		if (ctx == 3 && !LOAD(g.kburst_max))
			continue;
		if (c->seen && c->epoch == rd->epoch && c->last != c->n - 1)
			rfail(rd, NULL, 0, "last %s event seen is %" PRIu64
			      " of %" PRIu64 " (nothing lost after it)",
			      kctx_name[ctx], c->last, c->n);
		if (!c->seen && rd_complete(rd))
			rfail(rd, NULL, 0, "saw no %s event", kctx_name[ctx]);
	}
}

/* Our own control events: start, tick, ping, end. */
static void rd_control(struct reader *rd, const struct ev_rec *l,
		       const char *line, size_t len)
{
	const char *p = l->msg, *end = l->msg + l->msg_len;
	uint64_t v;

	if (ev_eat(&p, end, "events_stress start ")) {
		if (l->seq != g.base_seq)
			rfail(rd, line, len, "start marker with a new seq");
		rd->start_seen = true;
		rd->start_epoch = rd->epoch;
	} else if (ev_eat(&p, end, "events_stress ping ")) {
		if (!ev_eat_u64(&p, end, &v) || p != end) {
			rfail(rd, line, len, "bad ping");
		} else if ((rd->last_ping >= 0 || rd_complete(rd)) &&
			   (int64_t)v != rd->last_ping + 1) {
			rfail(rd, line, len, "ping %" PRIu64 " after %" PRId64,
			      v, rd->last_ping);
		}
		rd->last_ping = v;
		STORE(rd->ping, (int64_t)v);
	} else if (ev_eat(&p, end, "events_stress tick ")) {
		if (!ev_eat_u64(&p, end, &v) || p != end) {
			rfail(rd, line, len, "bad tick");
		} else if ((rd->last_tick >= 0 || rd_complete(rd)) &&
			   (int64_t)v != rd->last_tick + 1) {
			rfail(rd, line, len, "tick %" PRIu64 " after %" PRId64,
			      v, rd->last_tick);
		}
		rd->last_tick = v;
	} else if (ev_eat(&p, end, "events_stress end")) {
		rd_end(rd, l);
	} else {
		rfail(rd, line, len, "our event with an unknown message");
	}
}

static void rd_line(struct reader *rd, const char *line, size_t len)
{
	char why[EV_ERR_MAX];
	struct ev_rec l;

	rd->lines++;
	if (len > g.max_line) {
		rfail(rd, line, len, "line of %zu bytes, longer than %zu",
		      len, g.max_line);
		goto resync;
	}
	if (ev_parse_buf(line, len, &l, rd->msg, g.max_payload, why,
			 sizeof(why))) {
		rfail(rd, line, len, "%s", why);
		goto resync;
	}
	rd->extra += l.extra_fields;
	if (rd->want_loss && l.origin != 'l')
		rfail(rd, line, len, "poll reported EPOLLPRI but the next "
		      "line is not a loss line");
	rd->want_loss = false;

	if (l.origin == 'l') {
		if (rd->expect && l.lost_first != rd->expect) {
			rfail(rd, line, len, "loss line starts at %" PRIu64
			      ", expected seq %" PRIu64, l.lost_first,
			      rd->expect);
			goto resync;
		}
		rd->loss_lines++;
		rd->lost += l.lost;
		rd->epoch++;
		rd->expect = l.lost_last + 1;
		rd->prev_loss = true;
		return;
	}
	if (rd->expect && l.seq != rd->expect) {
		rfail(rd, line, len, "seq %" PRIu64 " where %" PRIu64
		      " was expected%s", l.seq, rd->expect,
		      rd->prev_loss ? " (right after a loss line)" : "");
		goto resync;
	}
	rd->expect = l.seq + 1;
	rd->prev_loss = false;
	rd->records++;
	if (l.seq <= g.base_seq) {
		if (l.seq == g.base_seq)
			rd_control(rd, &l, line, len);
		return;		/* history from before this run */
	}
	if ((int64_t)l.sec < g.t_start - 2 || (int64_t)l.sec > rd->now_s + 2)
		rfail(rd, line, len, "time stamp outside of this run");
	if (l.origin == 'k') {
		rd_kernel_rec(rd, &l, line, len);
		return;
	}
	if (l.pid != g.pid || l.uid != g.uid) {
		rfail(rd, line, len, "event from another process (pid %"
		      PRId64 "): the device must be used by this test alone",
		      l.pid);
		return;
	}
	if (l.msg_len && l.msg[0] == 'w')
		rd_writer_rec(rd, &l, line, len);
	else
		rd_control(rd, &l, line, len);
	return;

resync:
	rd->expect = 0;
	rd->start_seen = false;
}

/*
 * Take the n bytes a read(fd, buf, count) returned. Checks the boundaries:
 * whole lines, or the first count bytes of a line that does not fit, or
 * (continuing such a line) at most its rest.
 */
static void rd_feed(struct reader *rd, const char *data, size_t n,
		    size_t count)
{
	const char *p = data, *end = data + n, *nl;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	rd->now_s = ts.tv_sec;
	rd->reads++;
	rd->bytes += n;
	nl = memchr(data, '\n', n);
	if (rd->line_len) {
		if (nl && nl != end - 1) {
			rfail(rd, data, n, "read returned more than the rest "
			      "of a partly read line");
			goto resync;
		}
		if (!nl && n < count) {
			rfail(rd, data, n, "short read (%zu of %zu) inside a "
			      "line", n, count);
			goto resync;
		}
	} else if (end[-1] != '\n') {
		if (nl) {
			rfail(rd, data, n, "read ends inside a line after "
			      "whole lines");
			goto resync;
		}
		if (n < count) {
			rfail(rd, data, n, "read returned %zu bytes of a line"
			      " into a %zu-byte buffer", n, count);
			goto resync;
		}
	}

	if (rd->line_len) {
		size_t take = nl ? (size_t)(nl + 1 - p) : n;

		if (rd->line_len + take > rd->line_cap) {
			rfail(rd, rd->line, rd->line_len,
			      "line longer than %zu", g.max_line);
			goto resync;
		}
		memcpy(rd->line + rd->line_len, p, take);
		rd->line_len += take;
		p += take;
		if (!nl)
			return;
		rd_line(rd, rd->line, rd->line_len);
		rd->line_len = 0;
	}
	while (p < end && !rd->done) {
		nl = memchr(p, '\n', end - p);
		if (!nl) {
			if ((size_t)(end - p) > rd->line_cap) {
				rfail(rd, p, end - p, "line longer than %zu",
				      g.max_line);
				goto resync;
			}
			memcpy(rd->line, p, end - p);
			rd->line_len = end - p;
			return;
		}
		rd_line(rd, p, nl + 1 - p);
		p = nl + 1;
	}
	if (p < end)
		rfail(rd, p, end - p, "data after the end marker");
	return;

resync:
	rd->line_len = 0;
	rd->expect = 0;
	rd->start_seen = false;
}

/*
 * During the flood, readers pause after each read: they fall behind and
 * must account for every gap with an exact loss line, while the kernel
 * writer gets the CPU. Readers that kept up with every event made the
 * flood twenty times slower than the kernel alone on the debug kernel.
 */
static void rd_flood_pause(void)
{
	if (LOAD(g.flooding))
		sleep_us(FLOOD_READER_PAUSE_US);
}

static bool rd_stop(struct reader *rd)
{
	return rd->done || LOAD(g.abort);
}

static void rd_blocking(struct reader *rd)
{
	while (!rd_stop(rd)) {
		size_t count = rd->bufsz;
		ssize_t n;

		if (rd->kind == RK_TINY)
			count = 1 + ev_rnd(&rd->rnd) % 64;
		else if (rd->kind == RK_SEEK)
			switch (ev_rnd(&rd->rnd) % 4) {
			case 0:
				count = 1 + ev_rnd(&rd->rnd) % 200;
				break;
			case 1:
				count = 1 + ev_rnd(&rd->rnd) % 20000;
				break;
			case 2:
				count = 65536;
				break;
			}
		STORE(rd->in_call, 1);
		n = read(rd->fd, rd->buf, count);
		STORE(rd->in_call, 0);
		if (n < 0 && errno == EINTR) {
			rd->eintr++;
			continue;
		}
		if (n <= 0) {
			rfail(rd, NULL, 0, "read(%zu) returned %zd (%s)", count,
			      n, n ? strerror(errno) : "EOF");
			break;
		}
		rd_feed(rd, rd->buf, n, count);
		rd_flood_pause();

		if (rd->kind == RK_SEEK && !rd->done &&
		    ev_rnd(&rd->rnd) % 64 == 0) {
			bool set = ev_rnd(&rd->rnd) & 1;
			off_t ret;

			pthread_mutex_lock(&g.seek_lock);
			if (LOAD(g.stopping)) {
				pthread_mutex_unlock(&g.seek_lock);
				continue;
			}
			ret = lseek(rd->fd, 0, set ? SEEK_SET : SEEK_END);
			pthread_mutex_unlock(&g.seek_lock);
			if (ret) {
				rfail(rd, NULL, 0, "lseek(0, %s) returned %jd"
				      " (%s)", set ? "SEEK_SET" : "SEEK_END",
				      (intmax_t)ret, strerror(errno));
				break;
			}
			rd->seeks++;
			rd_reset(rd);
		}
	}
}

/* Drain an O_NONBLOCK fd after poll/epoll said it is readable. */
static void rd_drain(struct reader *rd, unsigned int revents)
{
	bool first = true;

	if (!(revents & POLLIN)) {
		if (revents & POLLPRI)
			rfail(rd, NULL, 0, "EPOLLPRI without EPOLLIN");
		return;
	}
	if ((revents & POLLPRI) && !rd->line_len)
		rd->want_loss = true;
	while (!rd_stop(rd)) {
		ssize_t n = read(rd->fd, rd->buf, rd->bufsz);

		if (n < 0 && errno == EINTR) {
			rd->eintr++;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			if (first)
				rfail(rd, NULL, 0, "EAGAIN right after poll "
				      "reported EPOLLIN");
			break;
		}
		if (n <= 0) {
			rfail(rd, NULL, 0, "read returned %zd (%s)", n,
			      n ? strerror(errno) : "EOF");
			STORE(g.abort, 1);
			break;
		}
		first = false;
		rd_feed(rd, rd->buf, n, rd->bufsz);
		rd_flood_pause();
	}
	rd->want_loss = false;
}

static void rd_poll(struct reader *rd)
{
	while (!rd_stop(rd)) {
		struct pollfd pfd = { rd->fd, POLLIN | POLLPRI, 0 };
		int ret;

		STORE(rd->in_call, 1);
		ret = poll(&pfd, 1, -1);
		STORE(rd->in_call, 0);

		if (ret < 0 && errno == EINTR) {
			rd->eintr++;
			continue;
		}
		if (ret != 1) {
			rfail(rd, NULL, 0, "poll returned %d (%s)", ret,
			      strerror(errno));
			break;
		}
		if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
			rfail(rd, NULL, 0, "poll revents 0x%x", pfd.revents);
			break;
		}
		rd_drain(rd, pfd.revents);
	}
}

static void rd_epoll(struct reader *rd)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI | EPOLLET };
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, rd->fd, &ev)) {
		rfail(rd, NULL, 0, "epoll setup: %s", strerror(errno));
		return;
	}
	while (!rd_stop(rd)) {
		int ret;

		STORE(rd->in_call, 1);
		ret = epoll_wait(ep, &ev, 1, -1);
		STORE(rd->in_call, 0);

		if (ret < 0 && errno == EINTR) {
			rd->eintr++;
			continue;
		}
		if (ret != 1) {
			rfail(rd, NULL, 0, "epoll_wait returned %d (%s)", ret,
			      strerror(errno));
			break;
		}
		if (ev.events & (EPOLLERR | EPOLLHUP)) {
			rfail(rd, NULL, 0, "epoll events 0x%x", ev.events);
			break;
		}
		rd_drain(rd, ev.events);
	}
	close(ep);
}

static void *reader_main(void *arg)
{
	struct reader *rd = arg;

	/* Per thread on Linux: favours the writers when asked. */
	if (g.reader_nice &&
	    setpriority(PRIO_PROCESS, syscall(SYS_gettid), g.reader_nice))
		fail("setpriority(%d): %s", g.reader_nice, strerror(errno));

	switch (rd->kind) {
	case RK_POLL:
		rd_poll(rd);
		break;
	case RK_EPOLL:
		rd_epoll(rd);
		break;
	default:
		rd_blocking(rd);
		break;
	}
	return NULL;
}

/* ---- background threads ---- */

static void *opener_main(void *arg)
{
	static const int acc[] = { O_RDONLY, O_WRONLY, O_RDWR };
	uint64_t rs = g.seed ^ 0x6f70656e;
	char buf[4096], tmp[300], why[EV_ERR_MAX];
	char *msg = malloc(EV_MSGBUF_SIZE(g.max_payload));

	(void)arg;
	while (!LOAD(g.stop_aux) && msg) {
		int mode = acc[ev_rnd(&rs) % 3];
		int flags = mode | O_CLOEXEC |
			    (ev_rnd(&rs) & 1 ? O_NONBLOCK : 0);
		int fd = open(EV_DEV, flags), what = ev_rnd(&rs) % 8;
		struct pollfd pfd = { fd, POLLIN | POLLRDNORM | POLLPRI |
				      POLLOUT | POLLWRNORM, 0 };

		if (fd < 0) {
			fail("opener: open: %s", strerror(errno));
			break;
		}
		INC(g.opens);
		if (poll(&pfd, 1, 0) < 0) {
			fail("opener: poll: %s", strerror(errno));
		} else if ((pfd.revents & (POLLOUT | POLLWRNORM)) !=
			   (POLLOUT | POLLWRNORM)) {
			fail("opener: poll revents 0x%x without POLLOUT",
			     pfd.revents);
		} else if (!(pfd.revents & POLLIN) !=
			   !(pfd.revents & POLLRDNORM) ||
			   ((pfd.revents & POLLPRI) &&
			    !(pfd.revents & POLLIN))) {
			fail("opener: poll revents 0x%x", pfd.revents);
		}
		if (mode != O_WRONLY && what < 4 && (pfd.revents & POLLIN)) {
			size_t count = what == 3 ? 1 + ev_rnd(&rs) % 8 :
				       sizeof(buf);
			ssize_t n = read(fd, buf, count);
			struct ev_rec l;
			char *nl;

			if (n < 0 && errno != EINTR) {
				fail("opener: read after POLLIN: %s",
				     strerror(errno));
			} else if (n > 0) {
				nl = memchr(buf, '\n', n);
				if (nl && ev_parse_buf(buf, nl + 1 - buf, &l,
						       msg, g.max_payload, why,
						       sizeof(why)))
					fail("opener: first line after open: "
					     "%s: %s", why,
					     ev_show(buf, nl + 1 - buf, tmp,
						  sizeof(tmp)));
			}
		} else if (what == 4) {
			off_t r = lseek(fd, 0, ev_rnd(&rs) & 1 ? SEEK_SET :
					SEEK_END);

			if (r)
				fail("opener: lseek returned %jd (%s)",
				     (intmax_t)r, strerror(errno));
		}
		if (close(fd))
			fail("opener: close: %s", strerror(errno));
	}
	free(msg);
	return NULL;
}

static void *unloader_main(void *arg)
{
	uint64_t rs = g.seed ^ 0x726d6d6f64;

	(void)arg;
	while (!LOAD(g.stop_aux)) {
		long ret = syscall(SYS_delete_module, "events", O_NONBLOCK);

		INC(g.unload_tries);
		if (!ret) {
			fail("delete_module(events) succeeded while "
			     "/dev/events is open");
			break;
		}
		if (errno != EAGAIN && errno != EBUSY) {
			fail("delete_module(events): %s, want EBUSY or "
			     "EAGAIN", strerror(errno));
			break;
		}
		sleep_us(1000 + ev_rnd(&rs) % 9000);
	}
	return NULL;
}

/*
 * Load the api test module once (it logs its events before init returns)
 * and unload it. Returns 0, or -1 after recording a violation.
 */
static int kload(int fd, unsigned int burst, unsigned int timeout)
{
	char params[96];
	int tries;

	snprintf(params, sizeof(params), "count=%u burst=%u timeout=%u",
		 g.kcount, burst, timeout);
	if (LOAD(g.kburst_max) < burst)
		STORE(g.kburst_max, burst);
	if (syscall(SYS_finit_module, fd, params, 0)) {
		INC(g.kload_fail);
		fail("finit_module(%s %s): %s", g.kmod_path, params,
		     strerror(errno));
		return -1;
	}
	INC(g.kloads);
	ADD(g.kevents, 3ULL * g.kcount + burst);
	for (tries = 0; ; tries++) {
		if (!syscall(SYS_delete_module, g.kmod_name, O_NONBLOCK))
			return 0;
		if ((errno != EAGAIN && errno != EBUSY) || tries > 1000) {
			fail("delete_module(%s): %s", g.kmod_name,
			     strerror(errno));
			return -1;
		}
		sleep_us(1000);
	}
}

static void *kwriter_main(void *arg)
{
	uint64_t rs = g.seed ^ 0x6b6d6f64;
	int fd;

	(void)arg;
	fd = open(g.kmod_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", g.kmod_path, strerror(errno));
		return NULL;
	}
	while (!LOAD(g.stop_kwriter)) {
		if (kload(fd, g.kburst, KLOAD_TIMEOUT_S))
			break;
		sleep_us(ev_rnd(&rs) % 20000);
	}
	close(fd);
	return NULL;
}

/*
 * After the main phase: kernel bursts alone, with the readers still
 * checking everything, until the run has logged g.flood events. Under
 * emulation with sanitizers, user space manages a few thousand events/s
 * and a kernel thread tens of thousands: this is how a run reaches a
 * million events in its time budget.
 */
static uint64_t user_written(void)
{
	uint64_t n = 0;
	unsigned int i;

	for (i = 0; i < g.nr_writers; i++)
		n += LOAD(g.written[i]);
	return n;
}

static void flood(uint64_t logged)
{
	int64_t start = ev_now_ms();
	int fd;

	if (!g.kmod_path || logged >= g.flood)
		return;
	fd = open(g.kmod_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fail("open %s: %s", g.kmod_path, strerror(errno));
		return;
	}
	STORE(g.flooding, 1);
	while (!failed() && logged < g.flood &&
	       ev_now_ms() - start < FLOOD_CAP_S * 1000LL) {
		uint64_t burst = g.flood - logged;

		if (burst > FLOOD_BURST_MAX)
			burst = FLOOD_BURST_MAX;
		if (kload(fd, burst, FLOOD_TIMEOUT_S))
			break;
		logged += 3ULL * g.kcount + burst;
		g.flood_loads++;
		g.flood_events += 3ULL * g.kcount + burst;
	}
	STORE(g.flooding, 0);
	g.flood_ms = ev_now_ms() - start;
	close(fd);
}

static void on_signal(int sig)
{
	(void)sig;
}

static void *signaller_main(void *arg)
{
	uint64_t rs = g.seed ^ 0x7369676e;

	(void)arg;
	while (!LOAD(g.stop_signals)) {
		struct reader *rd = &readers[ev_rnd(&rs) % NR_READERS];
		int tries;

		/* Prefer a reader that waits in the kernel. */
		for (tries = 0; tries < 8 && !LOAD(rd->in_call); tries++)
			rd = &readers[ev_rnd(&rs) % NR_READERS];
		if (!rd->done && !pthread_kill(rd->thread, SIGUSR1))
			INC(g.signals);
		sleep_us(100 + ev_rnd(&rs) % 2000);
	}
	return NULL;
}

static void on_alarm(int sig)
{
	static const char msg[] =
		"events_stress: FAIL: watchdog: the test did not finish in "
		"time (a reader or a syscall hangs?)\nnot ok 1 events_stress\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* ---- main ---- */

/*
 * Write a control event through fd (at SEEK_END) and return its seq, read
 * back through the same fd; 0 on failure.
 */
static uint64_t control_event(int fd, const char *text)
{
	char buf[65536], *msg = malloc(EV_MSGBUF_SIZE(g.max_payload));
	int64_t deadline = ev_now_ms() + 30000;
	size_t len = strlen(text), have = 0;
	uint64_t seq = 0;
	char why[EV_ERR_MAX];
	struct ev_rec l;

	if (!msg)
		return 0;
	if (lseek(fd, 0, SEEK_END) || write(fd, text, len) != (ssize_t)len) {
		fail("control event: %s", strerror(errno));
		goto out;
	}
	while (!seq && ev_now_ms() < deadline) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;
		char *p, *nl;

		if (poll(&pfd, 1, 1000) <= 0)
			continue;
		n = read(fd, buf + have, sizeof(buf) - have);
		if (n <= 0)
			continue;
		have += n;
		for (p = buf; (nl = memchr(p, '\n', buf + have - p));
		     p = nl + 1) {
			if (ev_parse_buf(p, nl + 1 - p, &l, msg, g.max_payload,
					 why, sizeof(why))) {
				fail("control event: bad line: %s", why);
				goto out;
			}
			if (l.origin == 'u' && l.pid == g.pid &&
			    l.msg_len == len && !memcmp(l.msg, text, len)) {
				seq = l.seq;
				break;
			}
		}
		memmove(buf, p, buf + have - p);
		have = buf + have - p;
	}
	if (!seq)
		fail("control event \"%s\" not read back", text);
out:
	free(msg);
	return seq;
}

static void usage(FILE *f)
{
	fprintf(f,
		"\nUsage:\n"
		" events_stress [options]\n\n"
		"Options:\n"
		" -d, --duration <s>    seconds of stress (default 20)\n"
		" -e, --min-events <n>  fail if fewer events were written\n"
		" -k, --kmod <path>     events_api_test.ko to load repeatedly\n"
		" -K, --kcount <n>      its count parameter (default 2000)\n"
		" -B, --kburst <n>      its burst parameter (default 0)\n"
		" -F, --flood <n>       then kernel bursts alone until the run\n"
		"                       has logged n events\n"
		" -w, --writers <n>     writer threads (default 4, max %d)\n"
		" -n, --reader-nice <n> nice value of the readers (default 0)\n"
		" -s, --seed <n>        random seed (default: time)\n"
		" -v, --verbose         progress every second\n"
		" -h, --help            this text\n", NR_WRITERS_MAX);
}

static int parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "duration", required_argument, NULL, 'd' },
		{ "min-events", required_argument, NULL, 'e' },
		{ "kmod", required_argument, NULL, 'k' },
		{ "kcount", required_argument, NULL, 'K' },
		{ "kburst", required_argument, NULL, 'B' },
		{ "flood", required_argument, NULL, 'F' },
		{ "writers", required_argument, NULL, 'w' },
		{ "reader-nice", required_argument, NULL, 'n' },
		{ "seed", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *base, *dot;
	int c;

	g.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	while ((c = getopt_long(argc, argv, "d:e:k:K:B:F:w:n:s:vh", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			g.duration = strtoul(optarg, NULL, 0);
			break;
		case 'e':
			g.min_events = strtoull(optarg, NULL, 0);
			break;
		case 'k':
			g.kmod_path = optarg;
			break;
		case 'K':
			g.kcount = strtoul(optarg, NULL, 0);
			break;
		case 'B':
			g.kburst = strtoul(optarg, NULL, 0);
			break;
		case 'F':
			g.flood = strtoull(optarg, NULL, 0);
			break;
		case 'w':
			g.nr_writers = strtoul(optarg, NULL, 0);
			break;
		case 'n':
			g.reader_nice = strtol(optarg, NULL, 0);
			break;
		case 's':
			g.seed = strtoull(optarg, NULL, 0);
			break;
		case 'v':
			g.verbose = true;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			fprintf(stderr, "Try 'events_stress --help'.\n");
			exit(1);
		}
	}
	if (optind != argc || !g.nr_writers ||
	    g.nr_writers > NR_WRITERS_MAX || !g.kcount) {
		fprintf(stderr, "events_stress: bad usage\n");
		exit(1);
	}
	if (g.kmod_path) {
		base = strrchr(g.kmod_path, '/');
		base = base ? base + 1 : g.kmod_path;
		dot = strstr(base, ".ko");
		snprintf(g.kmod_name, sizeof(g.kmod_name), "%.*s",
			 (int)(dot ? dot - base : (long)strlen(base)), base);
		for (c = 0; g.kmod_name[c]; c++)
			if (g.kmod_name[c] == '-')
				g.kmod_name[c] = '_';
	}
	return 0;
}

static int open_reader(struct reader *rd, enum rkind kind)
{
	int flags = O_RDONLY | O_CLOEXEC;

	if (kind == RK_POLL || kind == RK_EPOLL)
		flags |= O_NONBLOCK;
	rd->kind = kind;
	rd->name = rkind_name[kind];
	rd->rnd = g.seed ^ (0x7265616465720000ULL + kind);
	rd->fd = open(EV_DEV, flags);
	rd->bufsz = BIG_READ > 2 * g.max_line ? BIG_READ : 2 * g.max_line;
	rd->buf = malloc(rd->bufsz);
	rd->line_cap = g.max_line;
	rd->line = malloc(rd->line_cap);
	rd->msg = malloc(EV_MSGBUF_SIZE(g.max_payload));
	rd->ping = -1;
	rd_reset(rd);
	if (rd->fd < 0 || !rd->buf || !rd->line || !rd->msg)
		return -1;
	return 0;
}

/* Wait for fn(arg) to hold; false after timeout_s. */
static bool wait_for(bool (*fn)(void *), void *arg, int timeout_s)
{
	int64_t deadline = ev_now_ms() + timeout_s * 1000LL;

	while (!fn(arg)) {
		if (ev_now_ms() > deadline)
			return false;
		sleep_us(1000);
	}
	return true;
}

static int64_t ping_want;

static bool all_pinged(void *arg)
{
	int i;

	(void)arg;
	for (i = 0; i < NR_READERS; i++)
		if (LOAD(readers[i].ping) < ping_want)
			return false;
	return true;
}

static bool reader_done(void *arg)
{
	return pthread_tryjoin_np(*(pthread_t *)arg, NULL) == 0;
}

int main(int argc, char **argv)
{
	pthread_t opener, unloader, kwriter, signaller;
	struct writer writers[NR_WRITERS_MAX];
	uint64_t total_user = 0, total_k, total, rs;
	struct sigaction sa = { .sa_handler = on_signal };
	int64_t t0 = 0, t1 = 0, t2, last_report;
	uint64_t ticks = 0;
	bool root = geteuid() == 0, joined[NR_READERS] = { 0 };
	char text[128];
	struct timespec ts;
	unsigned int i;
	int ctl, shared_wfd = -1;
	double secs;

	parse_args(argc, argv);
	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("events_stress: seed %" PRIu64 "\n", g.seed);

	if (access(EV_DEV, F_OK)) {
		printf("events_stress: SKIP: %s missing; module not loaded?\n"
		       "ok 1 events_stress # SKIP\n", EV_DEV);
		return KSFT_SKIP;
	}
	if (ev_param("max_payload", &g.max_payload) ||
	    ev_param("ring_size", &g.ring_size)) {
		printf("events_stress: cannot read %s/\n"
		       "not ok 1 events_stress\n", EV_PARAM_DIR);
		return 1;
	}
	if (g.max_payload < 32 || g.max_payload > POOL_SIZE / 2) {
		printf("events_stress: SKIP: max_payload=%" PRIu64
		       " not supported (32..%d)\nok 1 events_stress # SKIP\n",
		       g.max_payload, POOL_SIZE / 2);
		return KSFT_SKIP;
	}
	g.max_line = PREFIX_MAX + 4 * g.max_payload;
	g.pid = getpid();
	g.uid = getuid();
	clock_gettime(CLOCK_REALTIME, &ts);
	g.t_start = ts.tv_sec;

	/* Mostly printable filler, with control, 8-bit, '\\' and '\n'. */
	rs = g.seed;
	for (i = 0; i < POOL_SIZE; i++) {
		uint64_t r = ev_rnd(&rs);

		g.pool[i] = r % 100 < 85 ? 0x20 + (r >> 8) % 95 : r >> 16;
	}
	/* Thread names with bytes the comm field must escape. */
	for (i = 0; i < g.nr_writers; i++)
		snprintf(g.writer_name[i], sizeof(g.writer_name[i]),
			 "esw%u,;\\\x01\x7f\xe9", i % 16);

	sigaction(SIGUSR1, &sa, NULL);	/* no SA_RESTART */
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(g.duration + 2 * END_TIMEOUT_S + 2 * PING_TIMEOUT_S + 120 +
	      (g.flood ? FLOOD_CAP_S + 4 * FLOOD_TIMEOUT_S : 0));

	if (g.kmod_path && !root) {
		printf("events_stress: not root: no kernel writer\n");
		g.kmod_path = NULL;
	}
	if (g.kmod_path) {
		if (access(g.kmod_path, R_OK)) {
			printf("events_stress: %s: %s\n"
			       "not ok 1 events_stress\n", g.kmod_path,
			       strerror(errno));
			return 1;
		}
		syscall(SYS_delete_module, g.kmod_name, O_NONBLOCK);
	}

	/* This file stays open until the end: the module must stay busy. */
	ctl = open(EV_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (ctl < 0) {
		printf("events_stress: open %s: %s\nnot ok 1 events_stress\n",
		       EV_DEV, strerror(errno));
		return 1;
	}
	snprintf(text, sizeof(text), "events_stress start %d %" PRIu64,
		 g.pid, g.seed);
	g.base_seq = control_event(ctl, text);
	if (!g.base_seq)
		goto report;

	for (i = 0; i < NR_READERS; i++) {
		if (open_reader(&readers[i], i)) {
			fail("reader %s setup: %s", rkind_name[i],
			     strerror(errno));
			goto report;
		}
	}
	for (i = 0; i < g.nr_writers; i++) {
		writers[i].id = i;
		writers[i].buf = malloc(g.max_payload + 64);
		writers[i].batch = malloc(EVENTS_LOG_MAX);
		/* Writers 2 and up share one file. */
		if (i < 2 || shared_wfd < 0)
			writers[i].fd = open(EV_DEV, O_WRONLY | O_CLOEXEC);
		else
			writers[i].fd = shared_wfd;
		if (i == 2)
			shared_wfd = writers[i].fd;
		if (writers[i].fd < 0 || !writers[i].buf || !writers[i].batch) {
			fail("writer setup: %s", strerror(errno));
			goto report;
		}
	}

	printf("events_stress: %u s, %u writers, %d readers, ring_size %"
	       PRIu64 ", max_payload %" PRIu64 ", kernel writer %s"
	       " (count=%u burst=%u)\n",
	       g.duration, g.nr_writers, NR_READERS, g.ring_size,
	       g.max_payload, g.kmod_path ? g.kmod_path : "off", g.kcount,
	       g.kburst);

	for (i = 0; i < NR_READERS; i++)
		pthread_create(&readers[i].thread, NULL, reader_main,
			       &readers[i]);
	pthread_create(&signaller, NULL, signaller_main, NULL);
	pthread_create(&opener, NULL, opener_main, NULL);
	if (root)
		pthread_create(&unloader, NULL, unloader_main, NULL);
	if (g.kmod_path)
		pthread_create(&kwriter, NULL, kwriter_main, NULL);
	t0 = ev_now_ms();
	for (i = 0; i < g.nr_writers; i++)
		pthread_create(&writers[i].thread, NULL, writer_main,
			       &writers[i]);

	last_report = t0;
	while (!LOAD(g.stop) && ev_now_ms() - t0 < g.duration * 1000LL) {
		sleep_us(50000);
		if (g.verbose && ev_now_ms() - last_report >= 1000) {
			uint64_t w = 0;

			for (i = 0; i < g.nr_writers; i++)
				w += LOAD(g.written[i]);
			last_report = ev_now_ms();
			printf("events_stress: %.1f s: %" PRIu64 " written, %"
			       PRIu64 " api loads, lines read %" PRIu64 "/%"
			       PRIu64 "/%" PRIu64 "/%" PRIu64 "/%" PRIu64 "\n",
			       (last_report - t0) / 1000.0, w, LOAD(g.kloads),
			       readers[0].lines, readers[1].lines,
			       readers[2].lines, readers[3].lines,
			       readers[4].lines);
		}
	}

	/* Writers and the kernel writer stop; readers catch up. */
	STORE(g.stop, 1);
	for (i = 0; i < g.nr_writers; i++)
		pthread_join(writers[i].thread, NULL);
	t1 = ev_now_ms();
	STORE(g.stop_kwriter, 1);
	if (g.kmod_path)
		pthread_join(kwriter, NULL);
	flood(user_written() + g.kevents);
	pthread_mutex_lock(&g.seek_lock);
	STORE(g.stopping, 1);
	pthread_mutex_unlock(&g.seek_lock);

	/*
	 * Ticks: a slow trickle of events while the signals go on, so that
	 * readers are interrupted while they sleep, and must lose nothing.
	 */
	for (t2 = ev_now_ms(); !failed() && ev_now_ms() - t2 < TICK_MS;
	     ticks++) {
		int n = snprintf(text, sizeof(text), "events_stress tick %"
				 PRIu64, ticks);

		if (write(ctl, text, n) != n) {
			fail("tick write: %s", strerror(errno));
			break;
		}
		sleep_us(TICK_US);
	}
	STORE(g.stop_signals, 1);
	pthread_join(signaller, NULL);

	/*
	 * Pings: one event at a time, written while the readers sleep in
	 * read, poll and epoll_wait; each must wake up and see it.
	 */
	for (ping_want = 0; ping_want < NR_PINGS; ping_want++) {
		int n = snprintf(text, sizeof(text), "events_stress ping %"
				 PRId64, ping_want);

		if (write(ctl, text, n) != n) {
			fail("ping write: %s", strerror(errno));
			break;
		}
		if (!wait_for(all_pinged, NULL, PING_TIMEOUT_S)) {
			for (i = 0; i < NR_READERS; i++)
				if (LOAD(readers[i].ping) < ping_want)
					fail("reader %s did not see ping %"
					     PRId64 " within %d s (last %"
					     PRId64 "): lost wake-up?",
					     readers[i].name, ping_want,
					     PING_TIMEOUT_S,
					     LOAD(readers[i].ping));
			break;
		}
	}

	snprintf(text, sizeof(text), "events_stress end %d", g.pid);
	g.end_seq = control_event(ctl, text);

	for (i = 0; i < NR_READERS; i++) {
		joined[i] = wait_for(reader_done, &readers[i].thread,
				     END_TIMEOUT_S);
		if (!joined[i]) {
			fail("reader %s did not reach the end marker within "
			     "%d s", readers[i].name, END_TIMEOUT_S);
			break;
		}
	}
	STORE(g.abort, 1);
	for (i = 0; i < NR_READERS; i++) {
		while (!joined[i]) {
			pthread_kill(readers[i].thread, SIGUSR1);
			joined[i] = wait_for(reader_done, &readers[i].thread,
					     1);
		}
	}
	STORE(g.stop_aux, 1);
	pthread_join(opener, NULL);
	if (root)
		pthread_join(unloader, NULL);

	/* Every event between the markers is accounted for. */
	for (i = 0; i < g.nr_writers; i++)
		total_user += g.written[i];
	total_k = g.kevents;
	if (g.end_seq && !failed() &&
	    g.end_seq - g.base_seq - 1 !=
	    total_user + total_k + ticks + NR_PINGS)
		fail("the markers are %" PRIu64 " seqs apart, but %" PRIu64
		     " user + %" PRIu64 " kernel + %" PRIu64 " ticks + %d "
		     "pings were logged", g.end_seq - g.base_seq - 1,
		     total_user, total_k, ticks, NR_PINGS);
	for (i = 0; i < NR_READERS && !failed(); i++)
		if (readers[i].end_seq != g.end_seq)
			fail("reader %s saw the end marker at seq %" PRIu64
			     ", not %" PRIu64, readers[i].name,
			     readers[i].end_seq, g.end_seq);

report:
	total_k = g.kevents;
	total_user = 0;
	for (i = 0; i < g.nr_writers; i++)
		total_user += g.written[i];
	total = total_user + total_k;
	secs = (t1 - t0) / 1000.0;
	if (g.base_seq && secs > 0) {
		uint64_t main_k = total_k - g.flood_events;

		printf("events_stress: %" PRIu64 " events in %.1f s (%.0f/s): %"
		       PRIu64 " written by %u writers, %" PRIu64
		       " by %" PRIu64 " api test loads\n",
		       total_user + main_k, secs, (total_user + main_k) / secs,
		       total_user, g.nr_writers, main_k,
		       g.kloads - g.flood_loads);
		if (g.flood_loads)
			printf("events_stress: flood: %" PRIu64 " events in "
			       "%.1f s (%.0f/s) by %" PRIu64 " api test loads "
			       "alone\n", g.flood_events, g.flood_ms / 1000.0,
			       g.flood_events * 1000.0 / (g.flood_ms ? : 1),
			       g.flood_loads);
		printf("events_stress: %" PRIu64 " events in all\n", total);
		for (i = 0; i < NR_READERS; i++) {
			struct reader *rd = &readers[i];

			printf("events_stress: reader %-8s %10" PRIu64
			       " lines %10" PRIu64 " records %7" PRIu64
			       " loss lines %10" PRIu64 " lost %7" PRIu64
			       " reads %6" PRIu64 " EINTR %5" PRIu64
			       " seeks\n", rd->name, rd->lines, rd->records,
			       rd->loss_lines, rd->lost, rd->reads, rd->eintr,
			       rd->seeks);
			if (rd->extra)
				printf("events_stress: reader %s: %" PRIu64
				       " unknown fields ignored\n", rd->name,
				       rd->extra);
		}
		printf("events_stress: %" PRIu64 " opens, %" PRIu64
		       " signals, %" PRIu64 " rmmod attempts (all refused), %"
		       PRIu64 " api test loads, %" PRIu64 " ticks, %d pings\n",
		       g.opens, g.signals, g.unload_tries, g.kloads, ticks,
		       NR_PINGS);
	}
	if (!failed() && total < g.min_events)
		fail("only %" PRIu64 " events written, want at least %" PRIu64,
		     total, g.min_events);
	if (failed()) {
		printf("events_stress: FAIL: %s (%u violations, seed %" PRIu64
		       ")\nnot ok 1 events_stress\n", g.first_fail, g.nr_fail,
		       g.seed);
		return 1;
	}
	printf("events_stress: PASS\nok 1 events_stress\n");
	return 0;
}
