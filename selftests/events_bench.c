// SPDX-License-Identifier: GPL-2.0
/*
 * events_bench - /dev/events against pipes, AF_UNIX and /dev/kmsg, side by
 * side in one run on one machine.
 *
 * Every figure is measured here, in this run: only ratios between figures
 * of the same run mean anything (under an emulator absolute times are
 * inflated, and unevenly). Writes are measured one event per write(2)
 * and in EVENTS_IOC_LOG batches; drains are shown beside the floor of any
 * read(2) here, reads of a file in tmpfs, which only copy bytes out. Prints a table and one "ratio:" line per
 * comparison with its goal. It never fails on a timing; it exits non-zero
 * only if a measurement could not be made.
 *
 * Needs root, the events module loaded, and /dev/kmsg writable without
 * rate limit (boot with printk.devkmsg=on).
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <linux/events.h>

#define DEV		"/dev/events"
#define READ_BUF	(64 * 1024)
#define MAX_READERS	256

static double seconds = 1.0;	/* length of each timed run */
static unsigned int sections = ~0u;	/* bit n: run section n */
static bool quick;
static int failures;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void die(const char *what)
{
	fprintf(stderr, "events_bench: %s: %s\n", what, strerror(errno));
	exit(2);
}

static int open_dev(int flags)
{
	int fd = open(DEV, flags | O_CLOEXEC);

	if (fd < 0)
		die("open " DEV);
	return fd;
}

static unsigned long read_param(const char *name)
{
	char path[128];
	unsigned long v = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/module/events/parameters/%s", name);
	f = fopen(path, "r");
	if (!f || fscanf(f, "%lu", &v) != 1)
		die(path);
	fclose(f);
	return v;
}

/* Lines in a text buffer, and how many events the loss lines among them report. */
static void count_lines(const char *buf, size_t len, uint64_t *lines,
			uint64_t *lost)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *f = memchr(p, ',', (nl ? nl : end) - p);

		if (f)
			f = memchr(f + 1, ',', (nl ? nl : end) - f - 1);
		if (f && f[1] == 'l' && f[2] == ',') {
			const char *c = strstr(f, ";lost ");

			if (c)
				*lost += strtoull(c + 6, NULL, 10);
		} else {
			(*lines)++;
		}
		if (!nl)
			break;
		p = nl + 1;
	}
}

/*
 * Records in @n bytes of binary records; the records that loss records
 * report lost are added to *@lost.
 */
static uint64_t count_bin(const char *buf, size_t n, uint64_t *lost)
{
	uint64_t records = 0;
	size_t off = 0;

	while (off + sizeof(struct events_record) <= n) {
		const struct events_record *rec = (const void *)(buf + off);

		if (rec->size < sizeof(*rec) || rec->size % 8)
			die("bad binary record");
		if (rec->flags & EVENTS_RECORD_LOSS) {
			const struct events_loss *loss =
				(const void *)(buf + off + rec->hdr_size);

			if (rec->size < rec->hdr_size + sizeof(*loss))
				die("short loss record");
			*lost += loss->count;
		} else {
			records++;
		}
		off += rec->size;
	}
	if (off != n)
		die("binary read ends inside a record");
	return records;
}

/* ---- result table ------------------------------------------------------ */

struct row {
	char figure[64];
	char value[48];
};

static struct row rows[64];
static int nrows;
static char ratios[64][160];
static int nratios;

static void row(const char *figure, const char *fmt, ...)
{
	va_list ap;

	snprintf(rows[nrows].figure, sizeof(rows[nrows].figure), "%s", figure);
	va_start(ap, fmt);
	vsnprintf(rows[nrows].value, sizeof(rows[nrows].value), fmt, ap);
	va_end(ap);
	printf("  %-44s %s\n", rows[nrows].figure, rows[nrows].value);
	fflush(stdout);
	nrows++;
}

/* ratio of a/b against a goal; "higher" says which way is better. */
static void ratio(const char *name, double a, double b, double goal,
		  bool higher)
{
	double r = b > 0 ? a / b : 0;
	bool met = higher ? r >= goal : r <= goal;

	snprintf(ratios[nratios++], sizeof(ratios[0]),
		 "ratio: %-40s %8.2f  (goal %s %.2f: %s)", name, r,
		 higher ? ">=" : "<=", goal, met ? "met" : "NOT met");
}

/* Writes of @size bytes to @fd for the run length; returns writes per second. */
static double write_loop(int fd, const char *buf, size_t size)
{
	uint64_t start = now_ns(), end = start + seconds * 1e9, n = 0, t;

	do {
		for (int i = 0; i < 64; i++) {
			if (write(fd, buf, size) != (ssize_t)size)
				die("write");
		}
		n += 64;
		t = now_ns();
	} while (t < end);
	return n / ((t - start) / 1e9);
}

/* ---- two writers ------------------------------------------------------- */

struct writer_arg {
	int fd;
	const char *buf;
	size_t size;
	double rate;
};

static void *writer_thread(void *p)
{
	struct writer_arg *a = p;

	a->rate = write_loop(a->fd, a->buf, a->size);
	return NULL;
}

static double two_writers(int fd0, int fd1, const char *buf, size_t size)
{
	struct writer_arg a[2] = {
		{ .fd = fd0, .buf = buf, .size = size },
		{ .fd = fd1, .buf = buf, .size = size },
	};
	pthread_t t;

	pthread_create(&t, NULL, writer_thread, &a[1]);
	writer_thread(&a[0]);
	pthread_join(t, NULL);
	return a[0].rate + a[1].rate;
}

/* ---- drained baselines: a child process empties a pipe or a socket ---- */

static pid_t drain_child(int fd, bool dgram)
{
	pid_t pid = fork();

	if (pid < 0)
		die("fork");
	if (pid == 0) {
		static char buf[READ_BUF];

		for (;;) {
			ssize_t n = dgram ? recv(fd, buf, sizeof(buf), 0) :
					    read(fd, buf, sizeof(buf));

			if (n == 0 || (n < 0 && errno != EINTR))
				_exit(0);
		}
	}
	return pid;
}

static void reap(pid_t pid, int fd)
{
	close(fd);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/*
 * EVENTS_IOC_LOG: batches of as many @size-byte events as fit in
 * EVENTS_LOG_MAX, for the run length; returns events per second.
 */
static double rate_events_batched(const char *buf, size_t size)
{
	static uint64_t batch[EVENTS_LOG_MAX / sizeof(uint64_t)];
	size_t esize = EVENTS_ENTRY_SIZE(size), per = EVENTS_LOG_MAX / esize;
	struct events_log_args la = {
		.size = sizeof(la),
		.entries = (uintptr_t)batch,
		.len = per * esize,
	};
	uint64_t start = now_ns(), end = start + seconds * 1e9, n = 0, t;
	int fd = open_dev(O_WRONLY);

	for (size_t i = 0; i < per; i++) {
		struct events_entry *e = (void *)((char *)batch + i * esize);

		e->len = size;
		e->flags = 0;
		memcpy(e + 1, buf, size);
	}
	do {
		if (ioctl(fd, EVENTS_IOC_LOG, &la) || la.count != per)
			die("EVENTS_IOC_LOG");
		n += per;
		t = now_ns();
	} while (t < end);
	close(fd);
	return n / ((t - start) / 1e9);
}

static double rate_events(const char *buf, size_t size)
{
	int fd = open_dev(O_WRONLY);
	double r = write_loop(fd, buf, size);

	close(fd);
	return r;
}

/* Write rate of @writers (1 or 2) into @wfd while a child drains @rfd. */
static double rate_drained(int rfd, int wfd, bool dgram, int writers,
			   const char *buf, size_t size)
{
	pid_t pid = drain_child(rfd, dgram);
	double r;

	close(rfd);
	if (writers == 2)
		r = two_writers(wfd, wfd, buf, size);
	else
		r = write_loop(wfd, buf, size);
	reap(pid, wfd);
	return r;
}

static double rate_pipe(const char *buf, size_t size, int writers)
{
	int p[2];

	if (pipe(p))
		die("pipe");
	return rate_drained(p[0], p[1], false, writers, buf, size);
}

static double rate_unix(const char *buf, size_t size)
{
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, sv))
		die("socketpair");
	return rate_drained(sv[1], sv[0], true, 1, buf, size);
}

static double rate_null(const char *buf, size_t size)
{
	int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double r;

	if (fd < 0)
		die("open /dev/null");
	r = write_loop(fd, buf, size);
	close(fd);
	return r;
}

static double rate_kmsg(const char *buf, size_t size)
{
	char *msg = malloc(size + 4);
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
	double r;

	if (fd < 0 || !msg)
		die("open /dev/kmsg");
	/*
	 * Debug level: below the console loglevel, so no console output.
	 * The "evbench" prefix lets the VM leave these out of its log dump.
	 */
	memcpy(msg, "<7>", 3);
	memcpy(msg + 3, buf, size);
	memcpy(msg + 3, "evbench ", 8);
	r = write_loop(fd, msg, size + 3);
	close(fd);
	free(msg);
	return r;
}

/* ---- readers ------------------------------------------------------------ */

struct reader {
	pthread_t thread;
	int fd;
	bool lines;		/* text of /dev/events */
	bool binary;		/* binary records of /dev/events */
	size_t rec_size;	/* for raw bytes: bytes per event */
	uint64_t target;	/* stop after this many events, 0: when told */
	bool blocking;		/* sit in read(), not in poll() */
	const uint64_t *written; /* the writer's count, or NULL */
	uint64_t max_lag;	/* most events written and not yet read */
	uint64_t got, lost;
	volatile bool stop;
};

static void *reader_thread(void *p)
{
	struct reader *r = p;
	char *buf = malloc(READ_BUF);
	uint64_t bytes = 0;

	while (!r->stop && (!r->target || r->got + r->lost < r->target)) {
		struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
		ssize_t n;

		if (!r->blocking && poll(&pfd, 1, 50) <= 0)
			continue;
		if (r->written) {
			uint64_t w = __atomic_load_n(r->written, __ATOMIC_RELAXED);

			if (w > r->got + r->lost && w - r->got - r->lost > r->max_lag)
				r->max_lag = w - r->got - r->lost;
		}
		n = read(r->fd, buf, READ_BUF);
		if (n <= 0)
			continue;
		if (r->lines) {
			count_lines(buf, n, &r->got, &r->lost);
		} else if (r->binary) {
			r->got += count_bin(buf, n, &r->lost);
		} else {
			bytes += n;
			r->got = bytes / r->rec_size;
		}
	}
	free(buf);
	return NULL;
}

/*
 * A reader (@rflags: 0 or O_NONBLOCK) and a writer: /dev/events, the
 * reader at the end of the history, or the two ends of a pipe.
 */
static void open_pair(bool events, int rflags, int *rfd, int *wfd)
{
	int p[2];

	if (events) {
		*rfd = open_dev(O_RDONLY | rflags);
		lseek(*rfd, 0, SEEK_END);
		*wfd = open_dev(O_WRONLY);
		return;
	}
	if (pipe(p))
		die("pipe");
	*rfd = p[0];
	if (rflags)
		fcntl(*rfd, F_SETFL, rflags);
	*wfd = p[1];
}

static void start_reader(struct reader *r)
{
	if (pthread_create(&r->thread, NULL, reader_thread, r))
		die("pthread_create");
}

/*
 * One writer streams for the run length to one blocking reader, of text
 * or, with @binary, of binary records when @events.
 */
static void stream(bool events, bool binary, size_t size, double *rate,
		   double *lost_pct, uint64_t *max_lag)
{
	char *buf = malloc(size);
	uint64_t start, written = 0;
	struct reader r = {
		.lines = events && !binary,
		.binary = events && binary,
		.rec_size = size,
		.written = &written,
	};
	struct events_format_args fmt = {
		.size = sizeof(fmt),
		.format = EVENTS_FORMAT_BINARY,
	};
	int wfd;

	memset(buf, 's', size);
	open_pair(events, O_NONBLOCK, &r.fd, &wfd);
	if (r.binary && ioctl(r.fd, EVENTS_IOC_SET_FORMAT, &fmt))
		die("EVENTS_IOC_SET_FORMAT");
	start_reader(&r);
	start = now_ns();
	while (now_ns() - start < seconds * 1e9) {
		for (int i = 0; i < 32; i++)
			if (write(wfd, buf, size) == (ssize_t)size)
				__atomic_store_n(&written, written + 1,
						 __ATOMIC_RELAXED);
	}
	r.target = written;
	while (r.got + r.lost < written && now_ns() - start < (seconds + 5) * 1e9)
		usleep(1000);
	r.stop = true;
	pthread_join(r.thread, NULL);
	*rate = r.got / ((now_ns() - start) / 1e9);
	*lost_pct = written ? 100.0 * (written - r.got) / written : 0;
	*max_lag = r.max_lag;
	close(wfd);
	close(r.fd);
	free(buf);
}

/*
 * Fan-out: one writer sends @burst events to @n readers; time until every
 * reader has them all. /dev/events: one write per event, every reader on
 * the same device. Baseline: the writer writes every event into @n pipes.
 */
static void fanout(bool events, int n, uint64_t burst, size_t size,
		   double *rate, double *lost_pct)
{
	struct reader *r = calloc(n, sizeof(*r));
	int *wfds = calloc(n, sizeof(int));
	char *buf = malloc(size);
	uint64_t start, got = 0, lost = 0;
	int wfd = -1, i;

	memset(buf, 'f', size);
	for (i = 0; i < n; i++) {
		r[i].lines = events;
		r[i].rec_size = size;
		r[i].target = burst;
		if (events) {
			r[i].fd = open_dev(O_RDONLY | O_NONBLOCK);
			lseek(r[i].fd, 0, SEEK_END);
		} else {
			int p[2];

			if (pipe(p))
				die("pipe");
			r[i].fd = p[0];
			fcntl(p[0], F_SETFL, O_NONBLOCK);
			wfds[i] = p[1];
		}
		start_reader(&r[i]);
	}
	if (events)
		wfd = open_dev(O_WRONLY);

	start = now_ns();
	for (uint64_t e = 0; e < burst; e++) {
		if (events) {
			if (write(wfd, buf, size) != (ssize_t)size)
				die("write");
		} else {
			for (i = 0; i < n; i++)
				if (write(wfds[i], buf, size) != (ssize_t)size)
					die("write pipe");
		}
	}
	for (i = 0; i < n; i++) {
		while (r[i].got + r[i].lost < burst &&
		       now_ns() - start < 60e9)
			usleep(1000);
		r[i].stop = true;
	}
	*rate = 0;
	for (i = 0; i < n; i++) {
		pthread_join(r[i].thread, NULL);
		got += r[i].got;
		lost += r[i].lost;
		close(r[i].fd);
		if (!events)
			close(wfds[i]);
	}
	*rate = got / ((now_ns() - start) / 1e9);
	*lost_pct = 100.0 * (burst * n - got) / (burst * n);
	if (wfd >= 0)
		close(wfd);
	free(r);
	free(wfds);
	free(buf);
}

/* ---- wake-up latency ---------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct lat_arg {
	int fd;
	bool events;
	int samples;
	uint64_t *lat;
};

static void *lat_reader(void *p)
{
	struct lat_arg *a = p;
	char buf[4096];
	int i = 0;

	/* A read may return several messages: each one is a sample. */
	while (i < a->samples) {
		ssize_t n = read(a->fd, buf, sizeof(buf) - 1);
		uint64_t t = now_ns();
		char *s = buf;

		if (n <= 0)
			die("latency read");
		buf[n] = 0;
		while (s < buf + n && i < a->samples) {
			unsigned long sent;
			char *m = s, *nl;

			if (a->events) {
				m = strchr(s, ';');
				if (!m)
					die("latency parse");
				m++;
			}
			if (sscanf(m, "%lu", &sent) != 1)
				die("latency parse");
			a->lat[i++] = t - sent;
			if (!a->events) {
				s += 32;
				continue;
			}
			nl = strchr(m, '\n');
			if (!nl)
				break;
			s = nl + 1;
		}
	}
	return NULL;
}

static void latency(bool events, int samples, double *p50, double *p99)
{
	struct lat_arg a = { .events = events, .samples = samples };
	pthread_t t;
	int wfd;

	a.lat = calloc(samples, sizeof(uint64_t));
	open_pair(events, 0, &a.fd, &wfd);
	pthread_create(&t, NULL, lat_reader, &a);
	usleep(20000);
	for (int i = 0; i < samples; i++) {
		char msg[32];
		int len = snprintf(msg, sizeof(msg), "%lu", (unsigned long)now_ns());

		/* pipe messages are fixed-size so one read gets one message */
		if (write(wfd, msg, events ? (size_t)len : sizeof(msg)) < 0)
			die("latency write");
		usleep(300);
	}
	pthread_join(t, NULL);
	qsort(a.lat, samples, sizeof(uint64_t), cmp_u64);
	*p50 = a.lat[samples / 2] / 1000.0;
	*p99 = a.lat[samples * 99 / 100] / 1000.0;
	close(wfd);
	close(a.fd);
	free(a.lat);
}

/* ---- drain -------------------------------------------------------------- */

/*
 * Drain a full history in text or, with @binary, in binary records; the
 * average bytes a record took in *@rec_bytes.
 */
static double drain_events(size_t size, bool binary, uint64_t *records,
			   double *rec_bytes)
{
	char *buf = malloc(READ_BUF), *msg = malloc(size);
	unsigned long ring = read_param("ring_size");
	uint64_t start, lines = 0, lost = 0, bytes = 0;
	int wfd = open_dev(O_WRONLY), rfd;
	struct events_format_args fmt = {
		.size = sizeof(fmt),
		.format = EVENTS_FORMAT_BINARY,
	};
	ssize_t n;

	memset(msg, 'd', size);
	/* Twice the ring: the ring is full and has wrapped. */
	for (unsigned long i = 0; i < 2 * ring / size + 64; i++)
		if (write(wfd, msg, size) != (ssize_t)size)
			die("write");
	close(wfd);
	rfd = open_dev(O_RDONLY | O_NONBLOCK);
	if (binary && ioctl(rfd, EVENTS_IOC_SET_FORMAT, &fmt))
		die("EVENTS_IOC_SET_FORMAT");
	start = now_ns();
	while ((n = read(rfd, buf, READ_BUF)) > 0) {
		bytes += n;
		if (binary)
			lines += count_bin(buf, n, &lost);
		else
			count_lines(buf, n, &lines, &lost);
	}
	if (n < 0 && errno != EAGAIN)
		die("drain read");
	*records = lines;
	if (rec_bytes)
		*rec_bytes = lines ? (double)bytes / lines : 0;
	close(rfd);
	free(buf);
	free(msg);
	return lines / ((now_ns() - start) / 1e9);
}

/*
 * What a drain through read(2) cannot beat on this machine: 64 KiB reads
 * of a file in tmpfs, which only copy bytes out to user space. Bytes per
 * second.
 */
static double copy_floor(void)
{
	char path[] = "/tmp/evbench.XXXXXX", *buf = malloc(READ_BUF);
	int fd = mkstemp(path);
	uint64_t start, end, n = 0, t;

	if (fd < 0 || !buf)
		die("copy floor file");
	unlink(path);
	memset(buf, 'c', READ_BUF);
	for (int i = 0; i < 16; i++)
		if (write(fd, buf, READ_BUF) != READ_BUF)
			die("copy floor write");
	start = now_ns();
	end = start + seconds * 1e9;
	do {
		if (pread(fd, buf, READ_BUF, (n % 16) * READ_BUF) != READ_BUF)
			die("copy floor read");
		n++;
		t = now_ns();
	} while (t < end);
	close(fd);
	free(buf);
	return n * (double)READ_BUF / ((t - start) / 1e9);
}

static double drain_kmsg(size_t size, uint64_t fill, uint64_t *records)
{
	char *buf = malloc(READ_BUF), *msg = malloc(size + 4);
	int fd = open("/dev/kmsg", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	uint64_t start, n = 0;

	if (fd < 0)
		die("open /dev/kmsg");
	memcpy(msg, "<7>", 3);
	memset(msg + 3, 'd', size);
	memcpy(msg + 3, "evbench ", 8);
	for (uint64_t i = 0; i < fill; i++)
		if (write(fd, msg, size + 3) < 0)
			die("write /dev/kmsg");
	lseek(fd, 0, SEEK_SET);
	start = now_ns();
	for (;;) {
		ssize_t len = read(fd, buf, READ_BUF);

		if (len < 0 && errno == EPIPE)
			continue;	/* overwritten while reading: go on */
		if (len <= 0)
			break;
		n++;
	}
	*records = n;
	close(fd);
	free(buf);
	free(msg);
	return n / ((now_ns() - start) / 1e9);
}

/* ---- readers that cost a writer ---------------------------------------- */

static double rate_with_idle_readers(int n, const char *buf, size_t size)
{
	int *fds = calloc(n, sizeof(int));
	double r;

	for (int i = 0; i < n; i++)
		fds[i] = open_dev(O_RDONLY);
	r = rate_events(buf, size);
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return r;
}

static double rate_with_blocked_readers(int n, const char *buf, size_t size)
{
	struct reader *r = calloc(n, sizeof(*r));
	double rate;

	for (int i = 0; i < n; i++) {
		r[i].fd = open_dev(O_RDONLY);
		r[i].lines = true;
		r[i].blocking = true;
		lseek(r[i].fd, 0, SEEK_END);
		start_reader(&r[i]);
	}
	usleep(100000);
	rate = rate_events(buf, size);
	for (int i = 0; i < n; i++)
		r[i].stop = true;
	/* One more event wakes every reader, which then sees stop. */
	rate_events(buf, size < 8 ? size : 8);
	for (int i = 0; i < n; i++) {
		pthread_join(r[i].thread, NULL);
		close(r[i].fd);
	}
	free(r);
	return rate;
}

/* ---- memory ------------------------------------------------------------- */

/* The first number in a file, or -1. */
static long long read_num(const char *path)
{
	long long v = -1;
	FILE *f = fopen(path, "r");

	if (f) {
		if (fscanf(f, "%lld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

/*
 * Bytes of slab objects in use, over every cache: objects in use times
 * the bytes each takes. Counting objects rather than the pages of the
 * caches (Slab in /proc/meminfo) does not depend on how many free
 * objects the caches happened to hold before. Merged caches appear more
 * than once in /sys/kernel/slab, as symbolic links: count only the
 * directories.
 */
static long long slab_bytes(void)
{
	DIR *d = opendir("/sys/kernel/slab");
	long long total = 0;
	struct dirent *e;

	if (!d)
		die("/sys/kernel/slab");
	while ((e = readdir(d))) {
		char path[512];
		long long objs, size;
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s", e->d_name);
		if (lstat(path, &st) || !S_ISDIR(st.st_mode))
			continue;
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/objects",
			 e->d_name);
		objs = read_num(path);
		snprintf(path, sizeof(path), "/sys/kernel/slab/%s/slab_size",
			 e->d_name);
		size = read_num(path);
		if (objs > 0 && size > 0)
			total += objs * size;
	}
	closedir(d);
	return total;
}

/* Slab bytes each of @n files of @path open at once takes. */
static double bytes_per_open(const char *path, int n)
{
	int *fds = calloc(n, sizeof(int));
	long long before, after;

	before = slab_bytes();
	for (int i = 0; i < n; i++) {
		fds[i] = open(path, O_RDONLY | O_CLOEXEC);
		if (fds[i] < 0)
			die(path);
	}
	after = slab_bytes();
	for (int i = 0; i < n; i++)
		close(fds[i]);
	free(fds);
	return (double)(after - before) / n;
}

/* Ring bytes per record: fill the ring with @size-byte events, count them. */
static double ring_bytes_per_record(size_t size, int *comm_len)
{
	unsigned long ring = read_param("ring_size");
	uint64_t records;
	char comm[16];

	prctl(PR_GET_NAME, comm);
	*comm_len = strnlen(comm, sizeof(comm));
	drain_events(size, false, &records, NULL);
	/*
	 * Records take whole multiples of 8 bytes; the ring's unused tail
	 * is less than one record, so round down to the record size.
	 */
	return records ? (double)(ring / records / 8 * 8) : 0;
}

/* ---- in-kernel API ------------------------------------------------------ */

static double kernel_log_ns(const char *module, unsigned long n)
{
	char cmd[512], line[512];
	double ns = -1;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "insmod %s bench=%lu && rmmod events_api_test", module, n);
	if (system(cmd))
		return -1;
	f = popen("dmesg", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "events_api_test: bench:");
		unsigned long calls, total, per;

		if (p && sscanf(p, "events_api_test: bench: %lu events_log() calls of 64 bytes in %lu ns: %lu",
				&calls, &total, &per) == 3)
			ns = (double)total / calls;
	}
	pclose(f);
	return ns;
}

static void usage(void)
{
	printf("\nUsage:\n"
	       " events_bench [options]\n"
	       "\nOptions:\n"
	       " -t, --seconds <s>     length of each timed run (default 1)\n"
	       " -k, --kmod <path>     events_api_test.ko, for the in-kernel API rate\n"
	       " -q, --quick           tiny runs: only prove that every measurement works\n"
	       " -s, --only <n+...>    run only these sections (1-9), e.g. 1+3\n"
	       " -h, --help            display this help\n");
}

static char buf[1024];

static bool run(int section)
{
	return sections & (1u << section);
}

static void section_write(size_t size)
{
	char name[64];
	double a, b, c, d, l, n;

	printf("\n# 1. write rate, one writer, nobody reading (%zu B)\n", size);
	a = rate_events(buf, size);
	l = rate_events_batched(buf, size);
	b = rate_pipe(buf, size, 1);
	c = rate_unix(buf, size);
	d = rate_kmsg(buf, size < 1000 ? size : 1000);
	n = rate_null(buf, size);
	row("events write", "%12.0f ev/s", a);
	row("events EVENTS_IOC_LOG, 64 KiB batches", "%12.0f ev/s", l);
	row("pipe write, drained", "%12.0f ev/s", b);
	row("AF_UNIX dgram send, drained", "%12.0f ev/s", c);
	row("/dev/kmsg write (debug level)", "%12.0f ev/s", d);
	row("/dev/null write (syscall floor)", "%12.0f ev/s", n);
	snprintf(name, sizeof(name), "write %zuB events/pipe", size);
	ratio(name, a, b, 1.5, true);
	snprintf(name, sizeof(name), "write %zuB events/unix", size);
	ratio(name, a, c, 1.0, true);
	snprintf(name, sizeof(name), "write %zuB events/kmsg", size);
	ratio(name, a, d, 20, true);
	snprintf(name, sizeof(name), "write %zuB events batched/pipe", size);
	ratio(name, l, b, 1.5, true);
	snprintf(name, sizeof(name), "write %zuB events batched/kmsg", size);
	ratio(name, l, d, 20, true);
}

static void section_two_writers(size_t size)
{
	int e0 = open_dev(O_WRONLY), e1 = open_dev(O_WRONLY);
	double a, b;

	printf("\n# 2. write rate, two writers on two CPUs (%zu B)\n", size);
	a = two_writers(e0, e1, buf, size);
	close(e0);
	close(e1);
	b = rate_pipe(buf, size, 2);
	row("events, 2 writers", "%12.0f ev/s", a);
	row("pipe, 2 writers, drained", "%12.0f ev/s", b);
}

static void section_drain(size_t size)
{
	double a, c, b, f, bytes_text, bytes_bin;
	uint64_t ne, nb, nk;
	char name[64];

	printf("\n# 3. drain a full history with a 64 KiB buffer (%zu B)\n", size);
	a = drain_events(size, false, &ne, &bytes_text);
	c = drain_events(size, true, &nb, &bytes_bin);
	b = drain_kmsg(size < 1000 ? size : 1000, quick ? 500 : 5000, &nk);
	f = copy_floor();
	row("events drain, text", "%12.0f rec/s (%lu records)", a,
	    (unsigned long)ne);
	row("events drain, binary", "%12.0f rec/s (%lu records)", c,
	    (unsigned long)nb);
	row("/dev/kmsg drain", "%12.0f rec/s (%lu records)", b, (unsigned long)nk);
	row("read(2) copy floor (64 KiB reads of tmpfs)", "%12.0f MB/s", f / 1e6);
	row("  as text records", "%12.0f rec/s (%.0f B each)",
	    f / bytes_text, bytes_text);
	row("  as binary records", "%12.0f rec/s (%.0f B each)",
	    f / bytes_bin, bytes_bin);
	snprintf(name, sizeof(name), "drain %zuB events text/kmsg", size);
	ratio(name, a, b, 20, true);
	snprintf(name, sizeof(name), "drain %zuB events binary/kmsg", size);
	ratio(name, c, b, 20, true);
}

static void resize_ring(unsigned long bytes)
{
	struct events_resize_args rs = { .size = sizeof(rs), .capacity = bytes };
	int fd = open_dev(O_WRONLY);

	if (ioctl(fd, EVENTS_IOC_RESIZE, &rs))
		die("EVENTS_IOC_RESIZE");
	close(fd);
}

/*
 * Streams to a text and to a binary reader with the ring as it is (@what);
 * with @goal, against the goals and @pipe_rate.
 */
static void stream_events(size_t size, const char *what, bool goal,
			  double pipe_rate)
{
	double rate[2], lost[2];
	uint64_t lag[2];
	char name[64];

	for (int bin = 0; bin < 2; bin++) {
		stream(true, bin, size, &rate[bin], &lost[bin], &lag[bin]);
		snprintf(name, sizeof(name), "events stream, %s, %s ring",
			 bin ? "binary" : "text", what);
		row(name, "%12.0f ev/s, %5.2f %% lost, lag <= %lu", rate[bin],
		    lost[bin], (unsigned long)lag[bin]);
	}
	if (!goal)
		return;
	for (int bin = 0; bin < 2; bin++) {
		snprintf(name, sizeof(name), "stream %zuB %s/pipe", size,
			 bin ? "binary" : "text");
		ratio(name, rate[bin], pipe_rate, 0.7, true);
		snprintf(name, sizeof(name), "stream %zuB %s lost %%", size,
			 bin ? "binary" : "text");
		ratio(name, lost[bin], 1, 0, false);
	}
}

/*
 * The goal is for the ring the module was loaded with; one of
 * STREAM_BIG_RING shows what a larger ring absorbs of the reader's stalls
 * (lag: the most events it was behind).
 */
#define STREAM_BIG_RING	(16ul << 20)

static void section_stream(size_t size)
{
	unsigned long ring = read_param("ring_size");
	double rate, lost;
	char what[32];
	uint64_t lag;

	snprintf(what, sizeof(what), "%lu KiB", ring >> 10);
	printf("\n# 4. stream: one writer, one blocking reader (%zu B)\n", size);
	stream(false, false, size, &rate, &lost, &lag);
	row("pipe stream", "%12.0f ev/s, %5.2f %% lost", rate, lost);
	stream_events(size, what, true, rate);
	if (ring < STREAM_BIG_RING) {
		resize_ring(STREAM_BIG_RING);
		snprintf(what, sizeof(what), "%lu KiB", STREAM_BIG_RING >> 10);
		stream_events(size, what, false, 0);
		resize_ring(ring);
	}
}

static void section_fanout(int n)
{
	uint64_t burst = quick ? 200 : 4000;
	double a, b, c, d;
	char name[64];

	printf("\n# 5. fan-out: one writer, %d readers, %lu events of 64 B\n",
	       n, (unsigned long)burst);
	fanout(true, n, burst, 64, &a, &c);
	fanout(false, n, burst, 64, &b, &d);
	row("events fan-out", "%12.0f deliveries/s, %5.2f %% lost", a, c);
	row("N pipes fan-out", "%12.0f deliveries/s, %5.2f %% lost", b, d);
	snprintf(name, sizeof(name), "fan-out %d events/pipes", n);
	ratio(name, a, b, 4, true);
	snprintf(name, sizeof(name), "fan-out %d events lost %%", n);
	ratio(name, c, 1, 0, false);
}

static void section_readers(void)
{
	double a, b, c;

	printf("\n# 6. write rate with open readers (64 B)\n");
	a = rate_events(buf, 64);
	b = rate_with_idle_readers(quick ? 100 : 1000, buf, 64);
	c = rate_with_blocked_readers(quick ? 10 : 100, buf, 64);
	row("no readers", "%12.0f ev/s", a);
	row("1000 idle open readers", "%12.0f ev/s", b);
	row("100 readers blocked in read", "%12.0f ev/s", c);
	ratio("write 1000 idle readers/none", b, a, 0.95, true);
}

static void section_latency(void)
{
	double p50e, p99e, p50p, p99p;

	printf("\n# 7. wake-up latency, write to a blocked reader\n");
	latency(true, quick ? 50 : 2000, &p50e, &p99e);
	latency(false, quick ? 50 : 2000, &p50p, &p99p);
	row("events p50 / p99", "%8.1f / %8.1f us", p50e, p99e);
	row("pipe p50 / p99", "%8.1f / %8.1f us", p50p, p99p);
	ratio("wake-up p99 events/pipe", p99e, p99p, 1.5, false);
}

/* sizeof(struct events_reader), from EVENTS_IOC_STATS. */
static uint64_t reader_bytes(void)
{
	struct events_stats st = { .size = sizeof(st) };
	int fd = open_dev(O_RDONLY);

	if (ioctl(fd, EVENTS_IOC_STATS, &st))
		die("EVENTS_IOC_STATS");
	close(fd);
	return st.reader_bytes;
}

static void section_memory(void)
{
	double a, b, c;
	int comm_len;

	printf("\n# 8. memory\n");
	/* A first round grows the file table and whatever else is grown once. */
	bytes_per_open(DEV, quick ? 1000 : 5000);
	a = bytes_per_open(DEV, quick ? 1000 : 5000);
	b = bytes_per_open("/dev/null", quick ? 1000 : 5000);
	row("slab in use per open /dev/events", "%8.0f B", a);
	row("slab in use per open /dev/null", "%8.0f B", b);
	row("per reader, beyond a plain open", "%8.0f B", a - b);
	row("per reader, as the device reports", "%8lu B",
	    (unsigned long)reader_bytes());
	ratio("reader bytes (measured) / 256", (a - b) / 256, 1, 1, false);
	c = ring_bytes_per_record(64, &comm_len);
	row("ring bytes per 64 B event", "%8.1f B (comm %d B)", c, comm_len);
	row("header bytes per record", "%8.1f B", c - 64 - comm_len);
	ratio("header bytes per record / 32", (c - 64 - comm_len) / 32, 1, 1, false);
}

static void section_kernel(const char *kmod)
{
	double a;

	printf("\n# 9. in-kernel events_log() from a kernel thread\n");
	a = kernel_log_ns(kmod, quick ? 10000 : 1000000);
	if (a < 0) {
		row("events_log()", "not measured (%s)", kmod);
		failures++;
	} else {
		row("events_log(), 64 B", "%8.1f ns/event", a);
	}
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "seconds", required_argument, NULL, 't' },
		{ "kmod",    required_argument, NULL, 'k' },
		{ "quick",   no_argument,       NULL, 'q' },
		{ "only",    required_argument, NULL, 's' },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static const size_t sizes[] = { 64, 1024 };
	const char *kmod = "/lib/events/events_api_test.ko";
	struct rlimit rl = { 8192, 8192 };
	int opt;

	while ((opt = getopt_long(argc, argv, "t:k:qs:h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			seconds = atof(optarg);
			break;
		case 'k':
			kmod = optarg;
			break;
		case 'q':
			quick = true;
			seconds = 0.1;
			break;
		case 's':
			sections = 0;
			for (char *t = strtok(optarg, ",+"); t; t = strtok(NULL, ",+"))
				sections |= 1u << atoi(t);
			break;
		case 'h':
			usage();
			return 0;
		default:
			fprintf(stderr, "Try 'events_bench --help' for more information.\n");
			return 1;
		}
	}
	setrlimit(RLIMIT_NOFILE, &rl);
	signal(SIGPIPE, SIG_IGN);
	/* 8 bytes: 32 + 8 + 64 needs no padding, so the header shows alone. */
	prctl(PR_SET_NAME, "evbench1");
	memset(buf, 'x', sizeof(buf));

	printf("events_bench: %.2f s per run, ring_size %lu, max_payload %lu\n",
	       seconds, read_param("ring_size"), read_param("max_payload"));

	for (size_t s = 0; s < 2; s++) {
		if (run(1))
			section_write(sizes[s]);
		if (run(2))
			section_two_writers(sizes[s]);
		if (run(3))
			section_drain(sizes[s]);
		if (run(4))
			section_stream(sizes[s]);
	}
	if (run(5)) {
		section_fanout(16);
		section_fanout(256);
	}
	if (run(6))
		section_readers();
	if (run(7))
		section_latency();
	if (run(8))
		section_memory();
	if (run(9))
		section_kernel(kmod);

	printf("\n");
	for (int i = 0; i < nratios; i++)
		printf("%s\n", ratios[i]);
	return failures ? 1 : 0;
}
