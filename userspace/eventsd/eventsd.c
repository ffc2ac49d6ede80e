// SPDX-License-Identifier: GPL-2.0
/*
 * eventsd - forward /dev/events to JSON files, syslog and the journal.
 *
 * One thread follows the device with epoll (through libevents) and hands
 * a copy of every event to each sink's bounded queue; each sink has a
 * writer thread of its own, so a slow or dead sink only fills (and then
 * drops from) its own queue. The sequence number of the last event handed
 * on is saved atomically in a state file, so a restart resumes where the
 * last run stopped. See eventsd(8).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-journal.h>
#endif

#include "libevents.h"
#include "format.h"

#define MAX_SINKS	16
#define DEFAULT_QUEUE	4096
#define DRAIN_SECONDS	2

static const char *prog = "eventsd";

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ---- configuration ---- */

enum sink_type { SINK_JSON, SINK_SYSLOG_UNIX, SINK_SYSLOG_UDP,
		 SINK_SYSLOG_TCP, SINK_JOURNAL };

struct config {
	char *device;
	char *state_file;
	int start_new;
	unsigned long queue;
	int facility, severity;
	char *hostname;
	int nr_sinks;
	char *sinks[MAX_SINKS];
	int nr_patterns;
	struct evl_pattern patterns[16];
	char *pattern_str[16];
};

static void config_free(struct config *c)
{
	int i;

	free(c->device);
	free(c->state_file);
	free(c->hostname);
	for (i = 0; i < c->nr_sinks; i++)
		free(c->sinks[i]);
	for (i = 0; i < c->nr_patterns; i++)
		free(c->pattern_str[i]);
	memset(c, 0, sizeof(*c));
}

static const char *const facilities[] = {
	"kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
	"uucp", "cron", "authpriv", "ftp", "ntp", "audit", "alert", "clock",
	"local0", "local1", "local2", "local3", "local4", "local5", "local6",
	"local7",
};
static const char *const severities[] = {
	"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int lookup(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return i;
	return -1;
}

static int add_str(char **slot, const char *v)
{
	free(*slot);
	*slot = strdup(v);
	return *slot ? 0 : -1;
}

/* One key=value setting, from the file or the command line. */
static int config_set(struct config *c, const char *key, const char *val,
		      const char *where)
{
	char *end;

	if (!strcmp(key, "device"))
		return add_str(&c->device, val);
	if (!strcmp(key, "state_file"))
		return add_str(&c->state_file, val);
	if (!strcmp(key, "hostname"))
		return add_str(&c->hostname, val);
	if (!strcmp(key, "start")) {
		if (strcmp(val, "oldest") && strcmp(val, "new"))
			goto bad;
		c->start_new = !strcmp(val, "new");
		return 0;
	}
	if (!strcmp(key, "queue")) {
		errno = 0;
		c->queue = strtoul(val, &end, 10);
		if (errno || *end || !c->queue || c->queue > 10000000)
			goto bad;
		return 0;
	}
	if (!strcmp(key, "facility")) {
		c->facility = lookup(facilities, 24, val);
		return c->facility < 0 ? (c->facility = 1, -2) : 0;
	}
	if (!strcmp(key, "severity")) {
		c->severity = lookup(severities, 8, val);
		return c->severity < 0 ? (c->severity = 6, -2) : 0;
	}
	if (!strcmp(key, "sink")) {
		if (c->nr_sinks == MAX_SINKS) {
			logmsg("%s: too many sinks (at most %d)", where,
			       MAX_SINKS);
			return -1;
		}
		return add_str(&c->sinks[c->nr_sinks++], val);
	}
	if (!strcmp(key, "filter") || !strcmp(key, "exclude")) {
		int excl = !strcmp(key, "exclude");

		if (*val == '!')
			excl = 1, val++;
		if (!*val || strlen(val) > 256 || c->nr_patterns == 16)
			goto bad;
		if (add_str(&c->pattern_str[c->nr_patterns], val))
			return -1;
		c->patterns[c->nr_patterns].prefix = c->pattern_str[c->nr_patterns];
		c->patterns[c->nr_patterns].flags = excl ? EVL_PATTERN_EXCLUDE : 0;
		c->nr_patterns++;
		return 0;
	}
	logmsg("%s: unknown setting '%s'", where, key);
	return -1;
bad:
	logmsg("%s: invalid value for %s: '%s'", where, key, val);
	return -1;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int config_load(struct config *c, const char *path)
{
	char *line = NULL, where[512];
	size_t cap = 0;
	int lineno = 0, ret = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		logmsg("cannot open config %s: %s", path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, f) > 0) {
		char *s = trim(line), *eq;
		int r;

		lineno++;
		if (!*s || *s == '#' || *s == ';' || *s == '[')
			continue;
		eq = strchr(s, '=');
		snprintf(where, sizeof(where), "%s:%d", path, lineno);
		if (!eq) {
			logmsg("%s: expected key = value", where);
			ret = -1;
			continue;
		}
		*eq = '\0';
		r = config_set(c, trim(s), trim(eq + 1), where);
		if (r == -2)
			logmsg("%s: invalid value '%s'", where, trim(eq + 1));
		if (r)
			ret = -1;
	}
	free(line);
	fclose(f);
	return ret;
}

/* ---- sinks ---- */

struct qitem {
	struct qitem *next;
	int loss;
	struct evl_event ev;
	struct evl_loss l;
	unsigned char data[];
};

struct sink {
	char *spec;
	enum sink_type type;
	char *target;		/* path or host:port */
	int fd;
	int facility, severity;
	const char *hostname;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct qitem *head, *tail;
	unsigned long qlen, qmax;
	int stopping;
	time_t drain_deadline;
	time_t next_connect;
	/* counters, under lock */
	unsigned long long sent, dropped, errors;
	struct sbuf b;
};

static int parse_hostport(struct sink *s, const char *hp, int socktype)
{
	char host[256], *port;
	const char *p = hp;
	size_t n;

	if (*p == '[') {
		const char *e = strchr(p, ']');

		if (!e || e[1] != ':')
			return -1;
		n = e - p - 1;
		if (n >= sizeof(host))
			return -1;
		memcpy(host, p + 1, n);
		host[n] = '\0';
		port = (char *)e + 2;
	} else {
		const char *c = strrchr(p, ':');

		if (!c || (size_t)(c - p) >= sizeof(host))
			return -1;
		memcpy(host, p, c - p);
		host[c - p] = '\0';
		port = (char *)c + 1;
	}
	if (!*port || !*host)
		return -1;
#ifdef EVENTSD_NUMERIC_HOSTS
	{
		struct sockaddr_in *in = (struct sockaddr_in *)&s->addr;
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&s->addr;
		char *end;
		unsigned long pn = strtoul(port, &end, 10);

		(void)socktype;
		if (*end || !pn || pn > 65535)
			return -1;
		memset(&s->addr, 0, sizeof(s->addr));
		if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
			in->sin_family = AF_INET;
			in->sin_port = htons(pn);
			s->addrlen = sizeof(*in);
		} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
			in6->sin6_family = AF_INET6;
			in6->sin6_port = htons(pn);
			s->addrlen = sizeof(*in6);
		} else {
			logmsg("%s: this static build takes numeric addresses only",
			       hp);
			return -1;
		}
	}
#else
	{
		struct addrinfo hints = { .ai_socktype = socktype }, *ai;
		int r = getaddrinfo(host, port, &hints, &ai);

		if (r) {
			logmsg("%s: %s", hp, gai_strerror(r));
			return -1;
		}
		memcpy(&s->addr, ai->ai_addr, ai->ai_addrlen);
		s->addrlen = ai->ai_addrlen;
		freeaddrinfo(ai);
	}
#endif
	return 0;
}

/* "json", "json:PATH", "syslog", "syslog:unix:PATH", "syslog:udp:H:P",
 * "syslog:tcp:H:P", "journal" */
static struct sink *sink_new(const char *spec, const struct config *c)
{
	struct sink *s = calloc(1, sizeof(*s));
	const char *t;

	if (!s)
		return NULL;
	s->spec = strdup(spec);
	s->fd = -1;
	s->qmax = c->queue ? c->queue : DEFAULT_QUEUE;
	s->facility = c->facility;
	s->severity = c->severity;
	s->hostname = c->hostname;
	if (!strcmp(spec, "json") || !strncmp(spec, "json:", 5)) {
		s->type = SINK_JSON;
		s->target = strdup(spec[4] ? spec + 5 : "-");
	} else if (!strcmp(spec, "syslog")) {
		s->type = SINK_SYSLOG_UNIX;
		s->target = strdup("/dev/log");
	} else if (!strncmp(spec, "syslog:unix:", 12)) {
		s->type = SINK_SYSLOG_UNIX;
		s->target = strdup(spec + 12);
	} else if (!strncmp(spec, "syslog:udp:", 11) ||
		   !strncmp(spec, "syslog:tcp:", 11)) {
		s->type = spec[7] == 'u' ? SINK_SYSLOG_UDP : SINK_SYSLOG_TCP;
		t = spec + 11;
		s->target = strdup(t);
		if (parse_hostport(s, t, s->type == SINK_SYSLOG_UDP ?
				   SOCK_DGRAM : SOCK_STREAM))
			goto bad;
	} else if (!strcmp(spec, "journal")) {
#ifdef HAVE_LIBSYSTEMD
		s->type = SINK_JOURNAL;
		s->target = strdup("journal");
#else
		logmsg("sink journal: this eventsd was built without libsystemd");
		goto fail;
#endif
	} else {
		goto bad;
	}
	if (!s->spec || !s->target)
		goto fail;
	if (s->type == SINK_SYSLOG_UNIX) {
		struct sockaddr_un *un = (struct sockaddr_un *)&s->addr;

		if (strlen(s->target) >= sizeof(un->sun_path))
			goto bad;
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, s->target);
		s->addrlen = sizeof(*un);
	}
	if (s->type == SINK_JSON) {
		if (!strcmp(s->target, "-")) {
			s->fd = dup(STDOUT_FILENO);
		} else {
			s->fd = open(s->target, O_WRONLY | O_CREAT | O_APPEND |
				     O_CLOEXEC, 0644);
		}
		if (s->fd < 0) {
			logmsg("sink %s: %s", spec, strerror(errno));
			goto fail;
		}
	}
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	return s;
bad:
	logmsg("invalid sink: '%s'", spec);
fail:
	free(s->spec);
	free(s->target);
	free(s);
	return NULL;
}

static void sink_close_fd(struct sink *s)
{
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

static int sink_connect(struct sink *s)
{
	int type = s->type == SINK_SYSLOG_TCP ? SOCK_STREAM : SOCK_DGRAM;
	struct timeval tv = { .tv_sec = 1 };
	time_t now = time(NULL);

	if (s->fd >= 0)
		return 0;
	if (now < s->next_connect)
		return -1;
	s->fd = socket(s->addr.ss_family, type | SOCK_CLOEXEC, 0);
	if (s->fd < 0)
		return -1;
	/* A send that blocks comes back every second to check for stop. */
	setsockopt(s->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(s->fd, (struct sockaddr *)&s->addr, s->addrlen)) {
		sink_close_fd(s);
		s->next_connect = now + 1;
		return -1;
	}
	return 0;
}

static int stopping_now(struct sink *s)
{
	int r;

	pthread_mutex_lock(&s->lock);
	r = s->stopping && time(NULL) >= s->drain_deadline;
	pthread_mutex_unlock(&s->lock);
	return r;
}

/* Write all of b to the sink's fd; 0 or -1. */
static int send_all(struct sink *s, const char *p, size_t n)
{
	while (n) {
		ssize_t w;

		if (s->type == SINK_JSON)
			w = write(s->fd, p, n);
		else
			w = send(s->fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (stopping_now(s))
				return -1;
			continue;
		}
		if (w < 0)
			return -1;
		if (s->type != SINK_JSON && s->type != SINK_SYSLOG_TCP)
			return (size_t)w == n ? 0 : -1;
		p += w;
		n -= w;
	}
	return 0;
}

static void sd_escape(struct sbuf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\' || *s == ']')
			sb_add(b, "\\", 1);
		sb_add(b, s, 1);
	}
}

/* APP-NAME: printable US-ASCII without spaces, at most 48 */
static void app_name(struct sbuf *b, const struct evl_event *ev)
{
	const char *c = ev->comm;
	int n = 0;

	if (!*c) {
		sb_puts(b, ev->origin == EVL_ORIGIN_KERNEL ? "kernel" : "-");
		return;
	}
	for (; *c && n < 48; c++, n++) {
		char ch = (*c > 32 && *c < 127) ? *c : '_';

		sb_add(b, &ch, 1);
	}
}

static char host_name[256];

static void fmt_syslog(struct sink *s, const struct qitem *q)
{
	struct sbuf *b = &s->b;
	size_t start;
	char num[32];

	sb_printf(b, "<%d>1 ", s->facility * 8 + s->severity);
	start = b->len;
	sb_time(b, q->loss ? q->l.ts_real : q->ev.ts_real, 6);
	sb_printf(b, " %s ", s->hostname ? s->hostname : host_name);
	if (q->loss) {
		sb_printf(b, "eventsd %d loss [events@32473 lost=\"%llu\" "
			  "first_seq=\"%llu\" last_seq=\"%llu\"] lost %llu "
			  "events (seq %llu-%llu)", (int)getpid(),
			  (unsigned long long)q->l.count,
			  (unsigned long long)q->l.first_seq,
			  (unsigned long long)q->l.last_seq,
			  (unsigned long long)q->l.count,
			  (unsigned long long)q->l.first_seq,
			  (unsigned long long)q->l.last_seq);
	} else {
		app_name(b, &q->ev);
		if (q->ev.pid)
			sb_printf(b, " %u", q->ev.pid);
		else
			sb_puts(b, " -");
		sb_printf(b, " event [events@32473 seq=\"%llu\" origin=\"%s\" "
			  "uid=\"%u\" comm=\"", (unsigned long long)q->ev.seq,
			  q->ev.origin == EVL_ORIGIN_KERNEL ? "kernel" : "user",
			  q->ev.uid);
		sd_escape(b, q->ev.comm);
		sb_puts(b, "\"] ");
		sb_add(b, q->ev.data, q->ev.len);
	}
	if (s->type == SINK_SYSLOG_TCP) {
		/* RFC 6587 octet counting: "LEN SP MSG" */
		struct sbuf f = { 0 };

		snprintf(num, sizeof(num), "%zu ", b->len);
		sb_puts(&f, num);
		sb_add(&f, b->p, b->len);
		sb_free(b);
		*b = f;
	}
	(void)start;
}

#ifdef HAVE_LIBSYSTEMD
static int send_journal(const struct qitem *q)
{
	char f[6][64];
	struct iovec iov[8];
	struct sbuf m = { 0 };
	int n = 0, ret;

	if (q->loss) {
		sb_printf(&m, "MESSAGE=lost %llu events (seq %llu-%llu)",
			  (unsigned long long)q->l.count,
			  (unsigned long long)q->l.first_seq,
			  (unsigned long long)q->l.last_seq);
		return sd_journal_send("%s", m.p, "PRIORITY=4",
				       "SYSLOG_IDENTIFIER=eventsd",
				       "EVENTS_LOST=%llu",
				       (unsigned long long)q->l.count,
				       "EVENTS_FIRST_SEQ=%llu",
				       (unsigned long long)q->l.first_seq,
				       "EVENTS_LAST_SEQ=%llu",
				       (unsigned long long)q->l.last_seq,
				       NULL) < 0 ? -1 : (sb_free(&m), 0);
	}
	sb_puts(&m, "MESSAGE=");
	sb_add(&m, q->ev.data, q->ev.len);
	iov[n].iov_base = m.p;
	iov[n++].iov_len = m.len;
	snprintf(f[0], 64, "EVENTS_SEQ=%llu", (unsigned long long)q->ev.seq);
	snprintf(f[1], 64, "EVENTS_PID=%u", q->ev.pid);
	snprintf(f[2], 64, "EVENTS_UID=%u", q->ev.uid);
	snprintf(f[3], 64, "EVENTS_COMM=%s", q->ev.comm);
	snprintf(f[4], 64, "EVENTS_ORIGIN=%s",
		 q->ev.origin == EVL_ORIGIN_KERNEL ? "kernel" : "user");
	snprintf(f[5], 64, "SYSLOG_IDENTIFIER=%s",
		 q->ev.comm[0] ? q->ev.comm : "events");
	for (int i = 0; i < 6; i++) {
		iov[n].iov_base = f[i];
		iov[n++].iov_len = strlen(f[i]);
	}
	iov[n].iov_base = "PRIORITY=6";
	iov[n++].iov_len = 10;
	ret = sd_journal_sendv(iov, n);
	sb_free(&m);
	return ret < 0 ? -1 : 0;
}
#endif

static int deliver(struct sink *s, const struct qitem *q)
{
	sb_reset(&s->b);
	switch (s->type) {
	case SINK_JSON:
		if (q->loss)
			fmt_json_loss(&s->b, &q->l);
		else
			fmt_json_event(&s->b, &q->ev);
		return s->b.oom ? -1 : send_all(s, s->b.p, s->b.len);
	case SINK_JOURNAL:
#ifdef HAVE_LIBSYSTEMD
		return send_journal(q);
#else
		return -1;
#endif
	default:
		fmt_syslog(s, q);
		if (s->b.oom)
			return -1;
		for (;;) {
			if (sink_connect(s)) {
				/* TCP: wait for the peer; others: drop */
				if (s->type == SINK_SYSLOG_TCP &&
				    !stopping_now(s)) {
					usleep(200000);
					continue;
				}
				return -1;
			}
			if (!send_all(s, s->b.p, s->b.len))
				return 0;
			sink_close_fd(s);
			if (s->type != SINK_SYSLOG_TCP || stopping_now(s))
				return -1;
		}
	}
}

static void *sink_thread(void *arg)
{
	struct sink *s = arg;

	for (;;) {
		struct qitem *q;
		int ok;

		pthread_mutex_lock(&s->lock);
		while (!s->head && !s->stopping)
			pthread_cond_wait(&s->cond, &s->lock);
		q = s->head;
		if (!q || (s->stopping && time(NULL) >= s->drain_deadline)) {
			pthread_mutex_unlock(&s->lock);
			break;
		}
		s->head = q->next;
		if (!s->head)
			s->tail = NULL;
		s->qlen--;
		pthread_mutex_unlock(&s->lock);

		ok = !deliver(s, q);
		free(q);
		pthread_mutex_lock(&s->lock);
		if (ok) {
			s->sent++;
		} else {
			s->errors++;
			s->dropped++;
		}
		pthread_mutex_unlock(&s->lock);
	}
	return NULL;
}

static void sink_push(struct sink *s, const struct evl_event *ev,
		      const struct evl_loss *l)
{
	size_t len = ev ? ev->len : 0;
	struct qitem *q;

	pthread_mutex_lock(&s->lock);
	if (s->qlen >= s->qmax) {
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	pthread_mutex_unlock(&s->lock);
	q = malloc(sizeof(*q) + len);
	if (!q) {
		pthread_mutex_lock(&s->lock);
		s->dropped++;
		pthread_mutex_unlock(&s->lock);
		return;
	}
	q->next = NULL;
	q->loss = !ev;
	if (ev) {
		q->ev = *ev;
		memcpy(q->data, ev->data, len);
		q->ev.data = q->data;
	} else {
		q->l = *l;
	}
	pthread_mutex_lock(&s->lock);
	if (s->tail)
		s->tail->next = q;
	else
		s->head = q;
	s->tail = q;
	s->qlen++;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

static void sink_stats(struct sink *s, char *buf, size_t n)
{
	pthread_mutex_lock(&s->lock);
	snprintf(buf, n, "sink %s: sent %llu, dropped %llu, errors %llu, "
		 "queued %lu", s->spec, s->sent, s->dropped, s->errors, s->qlen);
	pthread_mutex_unlock(&s->lock);
}

/* Stop the thread after at most DRAIN_SECONDS of draining. */
static void sink_free(struct sink *s)
{
	struct qitem *q;
	char st[512];

	pthread_mutex_lock(&s->lock);
	s->stopping = 1;
	s->drain_deadline = time(NULL) + DRAIN_SECONDS;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->thread, NULL);
	while ((q = s->head)) {
		s->head = q->next;
		s->dropped++;
		s->qlen--;
		free(q);
	}
	sink_stats(s, st, sizeof(st));
	logmsg("%s", st);
	sink_close_fd(s);
	sb_free(&s->b);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->cond);
	free(s->spec);
	free(s->target);
	free(s);
}

/* ---- state ---- */

static int state_load(const char *path, uint64_t *seq)
{
	unsigned long long v;
	FILE *f = fopen(path, "re");
	int ok;

	if (!f)
		return errno == ENOENT ? 0 : -1;
	ok = fscanf(f, "last_seq=%llu", &v) == 1;
	fclose(f);
	if (!ok) {
		logmsg("%s: not a state file, ignoring it", path);
		return 0;
	}
	*seq = v;
	return 1;
}

/* Write temp, fsync, rename, fsync the directory. */
static int state_save(const char *path, uint64_t seq)
{
	char tmp[4096], dir[4096], *slash;
	int fd, dfd, n;
	char buf[64];

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		goto fail;
	n = snprintf(buf, sizeof(buf), "last_seq=%llu\n",
		     (unsigned long long)seq);
	if (write(fd, buf, n) != n || fsync(fd)) {
		close(fd);
		goto fail;
	}
	close(fd);
	if (rename(tmp, path))
		goto fail;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
fail:
	logmsg("cannot save state to %s: %s", path, strerror(errno));
	unlink(tmp);
	return -1;
}

/* ---- the daemon ---- */

struct daemon {
	struct config cfg;
	const char *config_path;
	struct config cmdline;	/* settings given as options */
	struct sink *sinks[MAX_SINKS];
	int nr_sinks;
	struct evl_reader *r;
	uint64_t last_seq;	/* last sequence number handed to the sinks */
	int dirty;
	unsigned long long forwarded, loss_records, lost;
};

static int on_event(void *ctx, const struct evl_event *ev)
{
	struct daemon *d = ctx;
	int i;

	for (i = 0; i < d->nr_sinks; i++)
		sink_push(d->sinks[i], ev, NULL);
	d->last_seq = ev->seq;
	d->forwarded++;
	d->dirty = 1;
	return 0;
}

static int on_loss(void *ctx, const struct evl_loss *l)
{
	struct daemon *d = ctx;
	int i;

	logmsg("lost %llu events (seq %llu-%llu)",
	       (unsigned long long)l->count,
	       (unsigned long long)l->first_seq,
	       (unsigned long long)l->last_seq);
	for (i = 0; i < d->nr_sinks; i++)
		sink_push(d->sinks[i], NULL, l);
	if (l->last_seq > d->last_seq)
		d->last_seq = l->last_seq;
	d->loss_records++;
	d->lost += l->count;
	d->dirty = 1;
	return 0;
}

static void print_stats(struct daemon *d)
{
	char st[512];
	int i;

	logmsg("forwarded %llu events, %llu loss records (%llu events lost), "
	       "last seq %llu", d->forwarded, d->loss_records, d->lost,
	       (unsigned long long)d->last_seq);
	for (i = 0; i < d->nr_sinks; i++) {
		sink_stats(d->sinks[i], st, sizeof(st));
		logmsg("%s", st);
	}
}

/* Merge: the file's settings, then the command line's on top. */
static int build_config(struct daemon *d, struct config *c)
{
	int i;

	memset(c, 0, sizeof(*c));
	c->facility = 1;	/* user */
	c->severity = 5;	/* notice */
	if (d->config_path && config_load(c, d->config_path))
		goto fail;
#define OVR(f) if (d->cmdline.f && add_str(&c->f, d->cmdline.f)) goto fail
	OVR(device);
	OVR(state_file);
	OVR(hostname);
#undef OVR
	if (d->cmdline.queue)
		c->queue = d->cmdline.queue;
	if (d->cmdline.start_new)
		c->start_new = 1;
	for (i = 0; i < d->cmdline.nr_sinks; i++)
		if (config_set(c, "sink", d->cmdline.sinks[i], "command line"))
			goto fail;
	for (i = 0; i < d->cmdline.nr_patterns; i++)
		if (config_set(c, d->cmdline.patterns[i].flags ? "exclude" :
			       "filter", d->cmdline.pattern_str[i],
			       "command line"))
			goto fail;
	if (!c->nr_sinks && config_set(c, "sink", "json", "default"))
		goto fail;
	return 0;
fail:
	config_free(c);
	return -1;
}

static int start_sinks(struct daemon *d, const struct config *c)
{
	int i;

	for (i = 0; i < c->nr_sinks; i++) {
		struct sink *s = sink_new(c->sinks[i], c);

		if (!s)
			goto fail;
		if (pthread_create(&s->thread, NULL, sink_thread, s)) {
			logmsg("cannot start a thread for %s", s->spec);
			free(s);
			goto fail;
		}
		d->sinks[d->nr_sinks++] = s;
	}
	return 0;
fail:
	while (d->nr_sinks)
		sink_free(d->sinks[--d->nr_sinks]);
	return -1;
}

static int apply_filter(struct daemon *d, const struct config *c)
{
	struct evl_filter f = {
		.sz = sizeof(f),
		.nr_patterns = c->nr_patterns,
		.patterns = c->patterns,
	};
	int ret = evl_set_filter(d->r, c->nr_patterns ? &f : NULL);

	if (ret)
		logmsg("cannot set the filter: %s", strerror(-ret));
	return ret;
}

static void reload(struct daemon *d)
{
	struct config c;
	struct sink *old[MAX_SINKS];
	int i, n = d->nr_sinks;

	logmsg("reloading %s", d->config_path ? d->config_path : "settings");
	if (build_config(d, &c)) {
		logmsg("reload failed, keeping the running configuration");
		return;
	}
	memcpy(old, d->sinks, sizeof(old));
	d->nr_sinks = 0;
	if (start_sinks(d, &c)) {
		logmsg("reload failed, keeping the running configuration");
		memcpy(d->sinks, old, sizeof(old));
		d->nr_sinks = n;
		config_free(&c);
		return;
	}
	for (i = 0; i < n; i++)
		sink_free(old[i]);
	apply_filter(d, &c);
	config_free(&d->cfg);
	d->cfg = c;
}

static void usage(FILE *out)
{
	fprintf(out,
"Usage:\n"
" eventsd [options]\n"
"\n"
"Forward every event of /dev/events to JSON lines, syslog or the journal.\n"
"\n"
"Options:\n"
" -c, --config FILE     read settings from FILE (key = value, see eventsd(8))\n"
" -d, --device PATH     the device (default /dev/events)\n"
" -s, --state FILE      resume from and save the last sequence number here\n"
" -o, --sink SPEC       json[:FILE]  syslog[:unix:PATH]  syslog:udp:HOST:PORT\n"
"                       syslog:tcp:HOST:PORT  journal       (repeatable)\n"
" -q, --queue N         events queued per sink before it drops (default %d)\n"
"     --filter PREFIX   only messages starting with PREFIX (!PREFIX excludes)\n"
"     --new             with no state, start at new events, not the oldest\n"
"     --hostname NAME   HOSTNAME field of syslog messages\n"
" -h, --help            display this help\n"
" -V, --version         display version\n"
"\n"
"Signals: TERM/INT stop (state saved), HUP reloads, USR1 prints counters.\n"
"Journal sink: %s.\n"
"Exit status: 0 stopped by a signal, 1 error, 2 bad usage.\n",
		DEFAULT_QUEUE,
#ifdef HAVE_LIBSYSTEMD
		"available"
#else
		"not available in this build (no libsystemd)"
#endif
		);
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config",   required_argument, NULL, 'c' },
		{ "device",   required_argument, NULL, 'd' },
		{ "state",    required_argument, NULL, 's' },
		{ "sink",     required_argument, NULL, 'o' },
		{ "queue",    required_argument, NULL, 'q' },
		{ "filter",   required_argument, NULL, 'F' },
		{ "new",      no_argument,       NULL, 'N' },
		{ "hostname", required_argument, NULL, 'H' },
		{ "help",     no_argument,       NULL, 'h' },
		{ "version",  no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	static struct daemon d;
	struct evl_opts opts = {
		.sz = sizeof(opts), .event_cb = on_event, .loss_cb = on_loss,
		.ctx = &d,
	};
	struct epoll_event ee;
	sigset_t mask;
	int c, ret, sfd, ep, status = EXIT_SUCCESS, stop = 0;
	uint64_t saved;

	while ((c = getopt_long(argc, argv, "c:d:s:o:q:hV", longopts,
				NULL)) != -1) {
		switch (c) {
		case 'c':
			d.config_path = optarg;
			break;
		case 'd':
			ret = config_set(&d.cmdline, "device", optarg, "-d");
			break;
		case 's':
			ret = config_set(&d.cmdline, "state_file", optarg, "-s");
			break;
		case 'o':
			ret = config_set(&d.cmdline, "sink", optarg, "-o");
			break;
		case 'q':
			ret = config_set(&d.cmdline, "queue", optarg, "-q");
			break;
		case 'F':
			ret = config_set(&d.cmdline, "filter", optarg,
					 "--filter");
			break;
		case 'N':
			d.cmdline.start_new = 1;
			ret = 0;
			break;
		case 'H':
			ret = config_set(&d.cmdline, "hostname", optarg,
					 "--hostname");
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("eventsd %s (libevents %s)\n", LIBEVENTS_VERSION,
			       evl_version());
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				prog);
			return 2;
		}
		if (c != 'c' && ret) {
			fprintf(stderr, "Try '%s --help' for more information.\n",
				prog);
			return 2;
		}
	}
	if (optind < argc) {
		logmsg("unexpected argument: '%s'", argv[optind]);
		return 2;
	}
	setvbuf(stderr, NULL, _IOLBF, 0);
	gethostname(host_name, sizeof(host_name) - 1);
	if (!host_name[0])
		strcpy(host_name, "-");
	if (build_config(&d, &d.cfg))
		return EXIT_FAILURE;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);	/* the threads inherit it */
	signal(SIGPIPE, SIG_IGN);
	sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

	opts.path = d.cfg.device;
	ret = evl_open(&d.r, &opts);
	if (ret) {
		const char *dev = d.cfg.device ? d.cfg.device :
				  EVL_DEFAULT_DEVICE;

		if (ret == -ENOENT)
			logmsg("no %s: is the events module loaded?", dev);
		else if (ret == -EACCES)
			logmsg("%s: %s (run as root or in the device's group)",
			       dev, strerror(-ret));
		else
			logmsg("%s: %s", dev, strerror(-ret));
		return EXIT_FAILURE;
	}
	if (d.cfg.nr_patterns && apply_filter(&d, &d.cfg))
		return EXIT_FAILURE;

	/* Where to start: after the last event a previous run forwarded. */
	ret = d.cfg.state_file ? state_load(d.cfg.state_file, &saved) : 0;
	if (ret < 0) {
		logmsg("cannot read %s: %s", d.cfg.state_file, strerror(errno));
		return EXIT_FAILURE;
	}
	if (ret > 0) {
		struct evl_seek_result res;

		ret = evl_seek_seq(d.r, saved + 1, &res);
		if (ret == -ERANGE) {
			logmsg("state seq %llu is ahead of the device (module "
			       "reloaded?): starting from the oldest event",
			       (unsigned long long)saved);
			evl_seek_start(d.r);
		} else if (ret) {
			logmsg("cannot seek: %s", strerror(-ret));
			return EXIT_FAILURE;
		} else {
			d.last_seq = saved;
			logmsg("resuming after seq %llu%s",
			       (unsigned long long)saved,
			       res.dropped ? " (some events were dropped "
			       "meanwhile)" : "");
		}
	} else if (d.cfg.start_new) {
		evl_seek_end(d.r);
	}

	if (start_sinks(&d, &d.cfg))
		return EXIT_FAILURE;

	ep = epoll_create1(EPOLL_CLOEXEC);
	ee.events = EPOLLIN;
	ee.data.fd = evl_fd(d.r);
	epoll_ctl(ep, EPOLL_CTL_ADD, evl_fd(d.r), &ee);
	ee.data.fd = sfd;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ee);

	/* Read what is pending before the first wait. */
	ret = evl_consume(d.r);
	while (!stop && ret >= 0) {
		struct epoll_event evs[2];
		int i, n = epoll_wait(ep, evs, 2, 1000);

		if (n < 0 && errno != EINTR) {
			logmsg("epoll_wait: %s", strerror(errno));
			status = EXIT_FAILURE;
			break;
		}
		for (i = 0; i < n; i++) {
			if (evs[i].data.fd == sfd) {
				struct signalfd_siginfo si;

				while (read(sfd, &si, sizeof(si)) ==
				       sizeof(si)) {
					if (si.ssi_signo == SIGHUP)
						reload(&d);
					else if (si.ssi_signo == SIGUSR1)
						print_stats(&d);
					else
						stop = 1;
				}
			} else {
				ret = evl_consume(d.r);
				if (ret < 0) {
					logmsg("read: %s", strerror(-ret));
					status = EXIT_FAILURE;
				}
			}
		}
		/* At most one state write a second. */
		if (d.dirty && d.cfg.state_file) {
			state_save(d.cfg.state_file, d.last_seq);
			d.dirty = 0;
		}
	}
	if (d.dirty && d.cfg.state_file)
		state_save(d.cfg.state_file, d.last_seq);
	print_stats(&d);
	while (d.nr_sinks)
		sink_free(d.sinks[--d.nr_sinks]);
	evl_close(d.r);
	config_free(&d.cfg);
	return status;
}
