// SPDX-License-Identifier: GPL-2.0
/*
 * events_util.c - helpers shared by the /dev/events selftests
 *
 * The parser follows the record format of the ABI description:
 *
 *   <seq>,<sec>.<nsec9>,<origin>,<pid>,<uid>,<comm>[,<future>...];<message>\n
 *   <first>,<sec>.<nsec9>,l,-,-,-;lost <count> events (seq <first>-<last>)\n
 *
 * It is deliberately strict: every byte of a line is accounted for.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "events_util.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

size_t ev_scan_u64(const char *p, const char *end, uint64_t *v)
{
	const char *s = p;
	uint64_t x = 0;

	if (p >= end || *p < '0' || *p > '9')
		return 0;
	if (*p == '0' && p + 1 < end && p[1] >= '0' && p[1] <= '9')
		return 0;
	while (p < end && *p >= '0' && *p <= '9') {
		unsigned int d = *p - '0';

		if (x > (UINT64_MAX - d) / 10)
			return 0;
		x = x * 10 + d;
		p++;
	}
	*v = x;
	return p - s;
}

bool ev_eat(const char **p, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *p) < n || memcmp(*p, lit, n))
		return false;
	*p += n;
	return true;
}

bool ev_eat_u64(const char **p, const char *end, uint64_t *v)
{
	size_t n = ev_scan_u64(*p, end, v);

	*p += n;
	return n;
}

/* The whole of s[0..n) is one decimal u64 as ev_scan_u64() takes it. */
static int parse_u64(const char *s, size_t n, uint64_t *out)
{
	return n && ev_scan_u64(s, s + n, out) == n ? 0 : -1;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;		/* upper case is not the format */
}

static bool must_escape(unsigned char b, bool comm)
{
	if (b < 0x20 || b >= 0x7f || b == '\\')
		return true;
	return comm && (b == ',' || b == ';');
}

/*
 * Decode an escaped field into out (room for cap bytes).
 * Every escape must be lower-case \xNN of a byte that needs escaping,
 * every other byte must be one that does not.
 */
static int unescape(const char *s, size_t n, char *out, size_t cap,
		    size_t *outlen, bool comm, char *err, size_t errlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (o >= cap)
			return fail(err, errlen,
				    "decoded field longer than %zu bytes", cap);
		if (c == '\\') {
			int hi, lo;

			if (i + 4 > n)
				return fail(err, errlen,
					    "truncated escape at %zu", i);
			if (s[i + 1] != 'x')
				return fail(err, errlen,
					    "escape is not \\x at %zu", i);
			hi = hexval(s[i + 2]);
			lo = hexval(s[i + 3]);
			if (hi < 0 || lo < 0)
				return fail(err, errlen,
					    "bad hex digits in escape at %zu", i);
			c = hi << 4 | lo;
			if (!must_escape(c, comm))
				return fail(err, errlen,
					    "byte 0x%02x escaped needlessly at %zu",
					    c, i);
			out[o++] = c;
			i += 3;
			continue;
		}
		if (must_escape(c, comm))
			return fail(err, errlen,
				    "byte 0x%02x not escaped at %zu", c, i);
		out[o++] = c;
	}
	*outlen = o;
	return 0;
}

static int parse_loss(struct ev_rec *r, char *err, size_t errlen)
{
	static const char p1[] = "lost ", p2[] = " events (seq ";
	const char *s = r->msg_raw, *end = s + r->msg_raw_len, *q;

	if (r->pid != -1 || r->uid != -1 || r->comm_raw_len != 1 ||
	    r->comm_raw[0] != '-')
		return fail(err, errlen, "loss line must have pid,uid,comm '-'");
	if ((size_t)(end - s) < sizeof(p1) - 1 || memcmp(s, p1, sizeof(p1) - 1))
		return fail(err, errlen, "loss message does not start 'lost '");
	s += sizeof(p1) - 1;
	for (q = s; q < end && *q != ' '; q++)
		;
	if (parse_u64(s, q - s, &r->lost))
		return fail(err, errlen, "bad loss count");
	s = q;
	if ((size_t)(end - s) < sizeof(p2) - 1 || memcmp(s, p2, sizeof(p2) - 1))
		return fail(err, errlen, "loss message lacks ' events (seq '");
	s += sizeof(p2) - 1;
	for (q = s; q < end && *q != '-'; q++)
		;
	if (parse_u64(s, q - s, &r->lost_first))
		return fail(err, errlen, "bad first lost seq");
	if (q == end)
		return fail(err, errlen, "loss message lacks '-'");
	s = q + 1;
	for (q = s; q < end && *q != ')'; q++)
		;
	if (parse_u64(s, q - s, &r->lost_last))
		return fail(err, errlen, "bad last lost seq");
	if (q + 1 != end)
		return fail(err, errlen, "loss message does not end with ')'");
	if (r->lost_first != r->seq)
		return fail(err, errlen, "loss seq field %llu != first %llu",
			    (unsigned long long)r->seq,
			    (unsigned long long)r->lost_first);
	if (r->lost_last < r->lost_first)
		return fail(err, errlen, "loss range %llu-%llu reversed",
			    (unsigned long long)r->lost_first,
			    (unsigned long long)r->lost_last);
	if (r->lost != r->lost_last - r->lost_first + 1)
		return fail(err, errlen, "loss count %llu != %llu-%llu+1",
			    (unsigned long long)r->lost,
			    (unsigned long long)r->lost_last,
			    (unsigned long long)r->lost_first);
	return 0;
}

int ev_parse_buf(const char *line, size_t len, struct ev_rec *r,
		 char *msgbuf, size_t msgcap, char *err, size_t errlen)
{
	const char *f[6], *semi, *p, *end;
	size_t flen[6], i, nf = 0;
	uint64_t v;

	memset(r, 0, sizeof(*r));
	if (len == 0 || line[len - 1] != '\n')
		return fail(err, errlen, "line does not end with a newline");
	end = line + len - 1;
	if (memchr(line, '\n', len - 1))
		return fail(err, errlen, "embedded newline");
	semi = memchr(line, ';', end - line);
	if (!semi)
		return fail(err, errlen, "no ';' separator");

	/* Split the header at commas; fields 6+ are unknown and ignored. */
	p = line;
	while (p <= semi) {
		const char *c = memchr(p, ',', semi - p);

		if (!c)
			c = semi;
		if (nf < 6) {
			f[nf] = p;
			flen[nf] = c - p;
		} else {
			const char *q;

			for (q = p; q < c; q++)
				if ((unsigned char)*q < 0x20 ||
				    (unsigned char)*q >= 0x7f)
					return fail(err, errlen,
						    "raw byte 0x%02x in unknown field %zu",
						    (unsigned char)*q, nf);
			r->extra_fields++;
		}
		nf++;
		p = c + 1;
	}
	if (nf < 6)
		return fail(err, errlen, "only %zu header fields", nf);

	if (parse_u64(f[0], flen[0], &r->seq) || r->seq == 0)
		return fail(err, errlen, "bad seq '%.*s'", (int)flen[0], f[0]);

	p = memchr(f[1], '.', flen[1]);
	if (!p || parse_u64(f[1], p - f[1], &r->sec) ||
	    f[1] + flen[1] - (p + 1) != 9)
		return fail(err, errlen, "bad time '%.*s'", (int)flen[1], f[1]);
	for (i = 1, v = 0; i <= 9; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(err, errlen, "bad nsec '%.*s'",
				    (int)flen[1], f[1]);
		v = v * 10 + (p[i] - '0');
	}
	r->nsec = v;

	if (flen[2] != 1 || (f[2][0] != 'u' && f[2][0] != 'k' &&
			     f[2][0] != 'l'))
		return fail(err, errlen, "bad origin '%.*s'", (int)flen[2], f[2]);
	r->origin = f[2][0];

	for (i = 3; i <= 4; i++) {
		int64_t *dst = i == 3 ? &r->pid : &r->uid;

		if (r->origin == 'l' && flen[i] == 1 && f[i][0] == '-') {
			*dst = -1;
			continue;
		}
		if (parse_u64(f[i], flen[i], &v) || v > UINT32_MAX)
			return fail(err, errlen, "bad %s '%.*s'",
				    i == 3 ? "pid" : "uid", (int)flen[i], f[i]);
		*dst = v;
	}

	r->comm_raw = f[5];
	r->comm_raw_len = flen[5];
	if (r->origin != 'l') {
		char tmp[4 * EV_COMM_MAX];

		if (flen[5] == 0 || flen[5] >= sizeof(tmp))
			return fail(err, errlen, "bad comm length %zu", flen[5]);
		if (unescape(f[5], flen[5], tmp, sizeof(tmp), &r->comm_len,
			     true, err, errlen))
			return -1;
		if (r->comm_len >= EV_COMM_MAX)
			return fail(err, errlen, "comm longer than 15 bytes");
		memcpy(r->comm, tmp, r->comm_len);
		r->comm[r->comm_len] = '\0';
	}

	r->msg_raw = semi + 1;
	r->msg_raw_len = end - (semi + 1);
	/* Neither write(2) nor events_log() logs an empty payload. */
	if (!r->msg_raw_len)
		return fail(err, errlen, "empty message");
	if (unescape(r->msg_raw, r->msg_raw_len, msgbuf,
		     r->origin == 'l' ? EV_LOSS_MSG_MAX : msgcap, &r->msg_len,
		     false, err, errlen))
		return -1;
	msgbuf[r->msg_len] = '\0';
	r->msg = msgbuf;

	if (r->origin == 'l' && parse_loss(r, err, errlen))
		return -1;
	if (r->origin != 'l' && (r->pid < 0 || r->uid < 0))
		return fail(err, errlen, "'-' pid/uid outside a loss line");
	return 0;
}

int ev_parse(const char *line, size_t len, struct ev_rec *r,
	     char *err, size_t errlen)
{
	/* The decoded message is never longer than the line. */
	char *msg = malloc(len + 1);

	if (!msg) {
		memset(r, 0, sizeof(*r));
		return fail(err, errlen, "out of memory");
	}
	if (ev_parse_buf(line, len, r, msg, len, err, errlen)) {
		free(msg);
		r->msg = NULL;
		return -1;
	}
	return 0;
}

void ev_rec_free(struct ev_rec *r)
{
	free(r->msg);
	r->msg = NULL;
}

bool ev_msg_is(const struct ev_rec *r, const char *msg)
{
	size_t n = strlen(msg);

	return r->origin != 'l' && r->msg_raw_len == n &&
	       !memcmp(r->msg_raw, msg, n);
}

bool ev_msg_has_prefix(const struct ev_rec *r, const char *prefix)
{
	size_t n = strlen(prefix);

	return r->origin != 'l' && r->msg_raw_len >= n &&
	       !memcmp(r->msg_raw, prefix, n);
}

size_t ev_escape(const void *in, size_t n, char *out, bool comm)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = in;
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		if (must_escape(s[i], comm)) {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[s[i] >> 4];
			out[o++] = hex[s[i] & 15];
		} else {
			out[o++] = s[i];
		}
	}
	out[o] = '\0';
	return o;
}

int evr_init(struct ev_reader *r, int fd, size_t cap)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->cap = cap;
	r->buf = malloc(cap);
	return r->buf ? 0 : -1;
}

void evr_free(struct ev_reader *r)
{
	free(r->buf);
	r->buf = NULL;
}

size_t evr_pending(const struct ev_reader *r)
{
	return r->tail - r->head;
}

int evr_next(struct ev_reader *r, int timeout_ms, const char **line,
	     size_t *len)
{
	int64_t deadline = ev_now_ms() + timeout_ms;

	for (;;) {
		char *nl = memchr(r->buf + r->head, '\n', r->tail - r->head);
		size_t room;
		ssize_t n;

		if (nl) {
			*line = r->buf + r->head;
			*len = nl + 1 - (r->buf + r->head);
			r->head += *len;
			return 1;
		}
		if (r->head) {
			memmove(r->buf, r->buf + r->head, r->tail - r->head);
			r->tail -= r->head;
			r->head = 0;
		}
		room = r->cap - r->tail;
		if (!room) {
			errno = ENOBUFS;
			return -1;
		}
		if (r->rdsize && r->rdsize < room)
			room = r->rdsize;
		if (!r->blocking) {
			struct pollfd pfd = { .fd = r->fd, .events = POLLIN };
			int64_t left = deadline - ev_now_ms();
			int ret;

			if (left < 0)
				left = 0;
			ret = poll(&pfd, 1, left);
			if (ret < 0 && errno == EINTR)
				continue;
			if (ret < 0)
				return -1;
			if (ret == 0)
				return 0;
		}
		n = read(r->fd, r->buf + r->tail, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (ev_now_ms() >= deadline)
				return 0;
			if (r->blocking)	/* O_NONBLOCK without poll(2) */
				usleep(200);
			continue;
		}
		if (n < 0)
			return -1;
		if (n == 0) {
			errno = ENODATA;	/* the device never ends */
			return -1;
		}
		r->tail += n;
		r->reads++;
	}
}

int evs_feed(struct ev_stream *s, const struct ev_rec *r)
{
	if (r->origin == 'l') {
		if (s->expect && r->lost_first != s->expect) {
			snprintf(s->err, sizeof(s->err),
				 "loss line first %llu, expected %llu",
				 (unsigned long long)r->lost_first,
				 (unsigned long long)s->expect);
			return -1;
		}
		if (!s->expect && !s->records && !s->loss_lines)
			s->first_seq = r->lost_first;
		s->expect = r->lost_last + 1;
		s->lost += r->lost;
		s->loss_lines++;
		return 0;
	}
	if (s->expect && r->seq != s->expect) {
		snprintf(s->err, sizeof(s->err),
			 "seq %llu, expected %llu (%s)",
			 (unsigned long long)r->seq,
			 (unsigned long long)s->expect,
			 r->seq > s->expect ? "silent gap" : "reordered/duplicate");
		return -1;
	}
	if (!s->records && !s->loss_lines)
		s->first_seq = r->seq;
	s->expect = r->seq + 1;
	s->last_seq = r->seq;
	s->records++;
	return 0;
}

int ev_param_str(const char *name, char *buf, size_t len)
{
	char path[256];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", EV_PARAM_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	return 0;
}

int ev_param(const char *name, uint64_t *val)
{
	char buf[64], *end;

	if (ev_param_str(name, buf, sizeof(buf)))
		return -1;
	errno = 0;
	*val = strtoull(buf, &end, 0);
	if (errno || end == buf || *end)
		return -1;
	return 0;
}

uint64_t ev_mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

uint64_t ev_rnd(uint64_t *s)
{
	uint64_t x = *s;

	*s += 0x9e3779b97f4a7c15ULL;
	return ev_mix64(x);
}

const char *ev_show(const char *s, size_t n, char *out, size_t cap)
{
	size_t i, o = 0;

	for (i = 0; i < n && o + 5 < cap; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c < 0x7f)
			out[o++] = c;
		else
			o += snprintf(out + o, cap - o, "<%02x>", c);
	}
	if (i < n && o + 4 < cap)
		o += snprintf(out + o, cap - o, "...");
	out[o] = 0;
	return out;
}

int64_t ev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long ev_write_str(int fd, const char *s)
{
	return write(fd, s, strlen(s));
}

void ev_marker(char *buf, size_t len, const char *tag)
{
	static unsigned int counter;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	snprintf(buf, len, "%s.%d.%lx.%u", tag, (int)getpid(),
		 (unsigned long)ts.tv_nsec, counter++);
}

int ev_open_live(int flags)
{
	int fd = open(EV_DEV, flags | O_CLOEXEC);

	if (fd >= 0 && lseek(fd, 0, SEEK_END) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int ev_pending(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, 0);
}
