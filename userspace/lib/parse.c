// SPDX-License-Identifier: LGPL-2.1 OR BSD-2-Clause
/*
 * libevents: parsers that need no device: binary records, text lines and
 * the times people type.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <linux/events.h>

#include "libevents.h"

#define NSEC	1000000000ULL

int evl_parse_record(const void *buf, size_t len, struct evl_event *ev,
		     struct evl_loss *loss, size_t *rec_size)
{
	struct events_record h;

	if (len < sizeof(h))
		return -EAGAIN;
	memcpy(&h, buf, sizeof(h));
	if (h.size < sizeof(h) || h.size % 8 || h.hdr_size < sizeof(h) ||
	    h.hdr_size > h.size || h.payload_len > h.size - h.hdr_size)
		return -EINVAL;
	if (h.size > len)
		return -EAGAIN;
	*rec_size = h.size;
	if (h.flags & EVENTS_RECORD_LOSS) {
		struct events_loss l;

		if (h.payload_len < sizeof(l))
			return -EINVAL;
		memcpy(&l, (const char *)buf + h.hdr_size, sizeof(l));
		memset(loss, 0, sizeof(*loss));
		loss->count = l.count;
		loss->first_seq = l.first_seq;
		loss->last_seq = l.last_seq;
		loss->ts_real = h.ts_real;
		loss->ts_boot = h.ts_boot;
		return EVL_REC_LOSS;
	}
	memset(ev, 0, sizeof(*ev));
	ev->seq = h.seq;
	ev->ts_real = h.ts_real;
	ev->ts_boot = h.ts_boot;
	ev->pid = h.pid;
	ev->uid = h.uid;
	ev->origin = h.flags & EVENTS_RECORD_KERNEL ? EVL_ORIGIN_KERNEL :
						      EVL_ORIGIN_USER;
	memcpy(ev->comm, h.comm, EVL_COMM_LEN);
	ev->comm[EVL_COMM_LEN] = '\0';
	ev->data = (const unsigned char *)buf + h.hdr_size;
	ev->len = h.payload_len;
	return EVL_REC_EVENT;
}

/* Decimal digits at *p up to end into *v; at least one. */
static int parse_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t n = 0;

	if (s >= end || !isdigit((unsigned char)*s))
		return -EINVAL;
	for (; s < end && isdigit((unsigned char)*s); s++) {
		if (n > (UINT64_MAX - (*s - '0')) / 10)
			return -EINVAL;
		n = n * 10 + (*s - '0');
	}
	*p = s;
	*v = n;
	return 0;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Unescape \xNN from [s, end) into out; returns the length or -EINVAL. */
static long unescape(const char *s, const char *end, unsigned char *out)
{
	long n = 0;

	while (s < end) {
		if (*s == '\\') {
			int hi, lo;

			if (end - s < 4 || s[1] != 'x')
				return -EINVAL;
			hi = hexval(s[2]);
			lo = hexval(s[3]);
			if (hi < 0 || lo < 0)
				return -EINVAL;
			out[n++] = hi << 4 | lo;
			s += 4;
		} else {
			out[n++] = *s++;
		}
	}
	return n;
}

static int expect(const char **m, const char *end, const char *lit)
{
	size_t n = strlen(lit);

	if ((size_t)(end - *m) < n || memcmp(*m, lit, n))
		return -EINVAL;
	*m += n;
	return 0;
}

int evl_parse_line(const char *line, size_t len, struct evl_event *ev,
		   struct evl_loss *loss, unsigned char *msgbuf)
{
	const char *p = line, *end = line + len, *semi, *f[6];
	uint64_t seq, sec, nsec = 0;
	unsigned char comm[4 * EVL_COMM_LEN];
	int i, nf = 0;
	long n;

	if (len && line[len - 1] == '\n')
		end--;
	semi = memchr(line, ';', end - line);
	if (!semi)
		return -EINVAL;
	/* Fields before ';': seq,time,origin,pid,uid,comm[,future...] */
	f[nf++] = p;
	for (; p < semi && nf < 6; p++)
		if (*p == ',')
			f[nf++] = p + 1;
	if (nf < 6)
		return -EINVAL;
	p = f[0];
	if (parse_u64(&p, semi, &seq) || *p != ',')
		return -EINVAL;
	p = f[1];
	if (parse_u64(&p, semi, &sec) || *p != '.' || sec > UINT64_MAX / NSEC)
		return -EINVAL;
	p++;
	for (i = 0; i < 9; i++, p++) {
		if (p >= semi || !isdigit((unsigned char)*p))
			return -EINVAL;
		nsec = nsec * 10 + (*p - '0');
	}
	if (*p != ',' || f[2] + 2 != f[3])
		return -EINVAL;

	if (*f[2] == 'l') {
		const char *m = semi + 1;
		uint64_t count, first, last;

		if (expect(&m, end, "lost ") || parse_u64(&m, end, &count) ||
		    expect(&m, end, " events (seq "))
			return -EINVAL;
		if (parse_u64(&m, end, &first) || m >= end || *m++ != '-' ||
		    parse_u64(&m, end, &last) || m + 1 != end || *m != ')')
			return -EINVAL;
		memset(loss, 0, sizeof(*loss));
		loss->count = count;
		loss->first_seq = first;
		loss->last_seq = last;
		loss->ts_real = sec * NSEC + nsec;
		return EVL_REC_LOSS;
	}
	if (*f[2] != 'u' && *f[2] != 'k')
		return -EINVAL;

	memset(ev, 0, sizeof(*ev));
	ev->seq = seq;
	ev->ts_real = sec * NSEC + nsec;
	ev->origin = *f[2] == 'k' ? EVL_ORIGIN_KERNEL : EVL_ORIGIN_USER;
	for (i = 3; i <= 4; i++) {
		uint64_t v;

		p = f[i];
		if (parse_u64(&p, semi, &v) || *p != ',' || v > UINT32_MAX)
			return -EINVAL;
		if (i == 3)
			ev->pid = v;
		else
			ev->uid = v;
	}
	/* comm ends at the next ',' (a future field) or at ';'. */
	p = memchr(f[5], ',', semi - f[5]);
	if (!p)
		p = semi;
	if (p - f[5] > (long)sizeof(comm))
		return -EINVAL;
	if (!(p - f[5] == 1 && *f[5] == '-')) {
		n = unescape(f[5], p, comm);
		if (n < 0 || n > EVL_COMM_LEN)
			return -EINVAL;
		memcpy(ev->comm, comm, n);
		ev->comm[n] = '\0';
	}
	n = unescape(semi + 1, end, msgbuf);
	if (n < 0)
		return -EINVAL;
	ev->data = msgbuf;
	ev->len = n;
	return EVL_REC_EVENT;
}

static int is_end(const char *s)
{
	return *s == '\0';
}

/* n digits exactly */
static int digits(const char **p, int n, int *v)
{
	int i, x = 0;

	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*p)[i]))
			return -EINVAL;
		x = x * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*v = x;
	return 0;
}

static int local_midnight(uint64_t now_ns, int days_back, uint64_t *out)
{
	time_t t = now_ns / NSEC, m;
	struct tm tm;

	if (!localtime_r(&t, &tm))
		return -EINVAL;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	tm.tm_mday -= days_back;
	tm.tm_isdst = -1;
	m = mktime(&tm);
	if (m == (time_t)-1 || m < 0)
		return -EINVAL;
	*out = (uint64_t)m * NSEC;
	return 0;
}

static int parse_iso(const char *s, uint64_t *out)
{
	int y, mo, d, h = 0, mi = 0, sec = 0, zone = 0, off = 0;
	uint64_t frac = 0, scale = NSEC;
	struct tm tm = { 0 };
	time_t t;

	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) ||
	    *s++ != '-' || digits(&s, 2, &d))
		return -EINVAL;
	if (*s == 'T' || *s == 't' || *s == ' ') {
		s++;
		if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi))
			return -EINVAL;
		if (*s == ':') {
			s++;
			if (digits(&s, 2, &sec))
				return -EINVAL;
			if (*s == '.' || *s == ',') {
				s++;
				if (!isdigit((unsigned char)*s))
					return -EINVAL;
				for (; isdigit((unsigned char)*s); s++) {
					if (scale > 1) {
						scale /= 10;
						frac += (*s - '0') * scale;
					}
				}
			}
		}
		if (*s == 'Z' || *s == 'z') {
			zone = 1;
			s++;
		} else if (*s == '+' || *s == '-') {
			int sign = *s++ == '-' ? -1 : 1, oh, om = 0;

			if (digits(&s, 2, &oh))
				return -EINVAL;
			if (*s == ':')
				s++;
			if (isdigit((unsigned char)*s) && digits(&s, 2, &om))
				return -EINVAL;
			if (oh > 23 || om > 59)
				return -EINVAL;
			zone = 1;
			off = sign * (oh * 3600 + om * 60);
		}
	}
	if (!is_end(s) || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 ||
	    mi > 59 || sec > 60 || y < 1970)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	if (zone) {
		t = timegm(&tm);
		t -= off;
	} else {
		tm.tm_isdst = -1;
		t = mktime(&tm);
	}
	/* mktime/timegm normalise: reject dates like 2026-02-31 */
	if (t == (time_t)-1 || t < 0 || tm.tm_mday != d)
		return -EINVAL;
	*out = (uint64_t)t * NSEC + frac;
	return 0;
}

int evl_parse_time(const char *s, uint64_t now_ns, uint64_t *out_ns)
{
	const char *p;
	uint64_t v, frac = 0, scale = NSEC, mult;

	if (!s || !*s)
		return -EINVAL;
	if (!strcmp(s, "now")) {
		*out_ns = now_ns;
		return 0;
	}
	if (!strcmp(s, "today"))
		return local_midnight(now_ns, 0, out_ns);
	if (!strcmp(s, "yesterday"))
		return local_midnight(now_ns, 1, out_ns);
	if (*s == '@') {
		p = s + 1;
		if (parse_u64(&p, p + strlen(p), &v) || v > UINT64_MAX / NSEC)
			return -EINVAL;
		if (*p == '.') {
			p++;
			if (!isdigit((unsigned char)*p))
				return -EINVAL;
			for (; isdigit((unsigned char)*p); p++)
				if (scale > 1) {
					scale /= 10;
					frac += (*p - '0') * scale;
				}
		}
		if (*p)
			return -EINVAL;
		*out_ns = v * NSEC + frac;
		return 0;
	}
	if (*s == '-') {
		p = s + 1;
		if (parse_u64(&p, p + strlen(p), &v))
			return -EINVAL;
		if (!strcmp(p, "s") || !strcmp(p, "sec"))
			mult = 1;
		else if (!strcmp(p, "m") || !strcmp(p, "min"))
			mult = 60;
		else if (!strcmp(p, "h"))
			mult = 3600;
		else if (!strcmp(p, "d"))
			mult = 86400;
		else if (!strcmp(p, "w"))
			mult = 7 * 86400;
		else
			return -EINVAL;
		if (v > UINT64_MAX / NSEC / mult)
			return -EINVAL;
		v *= mult * NSEC;
		*out_ns = v > now_ns ? 0 : now_ns - v;
		return 0;
	}
	return parse_iso(s, out_ns);
}

int evl_parse_since(const char *s, uint64_t now_ns, uint64_t *value)
{
	const char *p = s;
	int ret;

	if (!s || !*s)
		return -EINVAL;
	if (!parse_u64(&p, s + strlen(s), value) && !*p)
		return EVL_SINCE_SEQ;
	ret = evl_parse_time(s, now_ns, value);
	return ret ? ret : EVL_SINCE_TIME;
}
