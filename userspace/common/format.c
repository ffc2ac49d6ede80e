// SPDX-License-Identifier: GPL-2.0
/*
 * Output formats shared by evctl and eventsd: JSON lines, a short
 * human-readable form, and the device's own text line.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "format.h"

#define NSEC	1000000000ULL

static int sb_grow(struct sbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->oom)
		return -1;
	if (b->len + n + 1 <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + n + 1)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void sb_reset(struct sbuf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->p)
		b->p[0] = '\0';
}

void sb_free(struct sbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof(*b));
}

void sb_add(struct sbuf *b, const void *s, size_t n)
{
	if (sb_grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void sb_puts(struct sbuf *b, const char *s)
{
	sb_add(b, s, strlen(s));
}

void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || sb_grow(b, n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, n + 1, fmt, ap);
	va_end(ap);
	b->len += n;
}

void sb_time(struct sbuf *b, uint64_t ns, int digits)
{
	time_t t = ns / NSEC;
	unsigned long frac = ns % NSEC;
	struct tm tm;
	char s[32];

	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	sb_puts(b, s);
	if (digits == 9)
		sb_printf(b, ".%09lu", frac);
	else if (digits == 6)
		sb_printf(b, ".%06lu", frac / 1000);
	sb_puts(b, "Z");
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned int c = s[0], cp;
	size_t len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		len = 3, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		len = 4, cp = c & 0x07;
	else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/*
 * Valid UTF-8 is copied; '"', '\' and control characters are escaped as
 * JSON requires (and 0x7f as \u007f). A byte that is not part of valid
 * UTF-8 is written as \u0080-\u00ff: since valid UTF-8 is never written
 * with such an escape, a reader can tell them apart and recover the bytes.
 */
void sb_json_str(struct sbuf *b, const unsigned char *s, size_t n)
{
	size_t i = 0, k;

	sb_add(b, "\"", 1);
	while (i < n) {
		unsigned char c = s[i];

		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };

			sb_add(b, e, 2);
			i++;
		} else if (c == '\n') {
			sb_add(b, "\\n", 2), i++;
		} else if (c == '\t') {
			sb_add(b, "\\t", 2), i++;
		} else if (c == '\r') {
			sb_add(b, "\\r", 2), i++;
		} else if (c < 0x20 || c == 0x7f) {
			sb_printf(b, "\\u%04x", c), i++;
		} else if (c < 0x80) {
			/* a run of plain ASCII */
			for (k = i; k < n && s[k] >= 0x20 && s[k] < 0x7f &&
			     s[k] != '"' && s[k] != '\\'; k++)
				;
			sb_add(b, s + i, k - i);
			i = k;
		} else if ((k = utf8_len(s + i, n - i))) {
			sb_add(b, s + i, k);
			i += k;
		} else {
			sb_printf(b, "\\u%04x", c), i++;
		}
	}
	sb_add(b, "\"", 1);
}

void sb_escape(struct sbuf *b, const unsigned char *s, size_t n, int comm)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = s[i];

		if (c < 0x20 || c >= 0x7f || c == '\\' ||
		    (comm && (c == ',' || c == ';')))
			sb_printf(b, "\\x%02x", c);
		else
			sb_add(b, &s[i], 1);
	}
}

static const char *origin_name(const struct evl_event *ev)
{
	return ev->origin == EVL_ORIGIN_KERNEL ? "kernel" : "user";
}

void fmt_json_event(struct sbuf *b, const struct evl_event *ev)
{
	sb_printf(b, "{\"type\":\"event\",\"seq\":%llu,\"time\":\"",
		  (unsigned long long)ev->seq);
	sb_time(b, ev->ts_real, 9);
	sb_printf(b, "\",\"ts_real_ns\":%llu,\"ts_boot_ns\":%llu,"
		  "\"origin\":\"%s\",\"pid\":%u,\"uid\":%u,\"comm\":",
		  (unsigned long long)ev->ts_real,
		  (unsigned long long)ev->ts_boot, origin_name(ev),
		  ev->pid, ev->uid);
	sb_json_str(b, (const unsigned char *)ev->comm, strlen(ev->comm));
	sb_puts(b, ",\"message\":");
	sb_json_str(b, ev->data, ev->len);
	sb_puts(b, "}\n");
}

void fmt_json_loss(struct sbuf *b, const struct evl_loss *l)
{
	sb_printf(b, "{\"type\":\"loss\",\"seq\":%llu,\"time\":\"",
		  (unsigned long long)l->first_seq);
	sb_time(b, l->ts_real, 9);
	sb_printf(b, "\",\"ts_real_ns\":%llu,\"ts_boot_ns\":%llu,"
		  "\"lost\":%llu,\"first_seq\":%llu,\"last_seq\":%llu}\n",
		  (unsigned long long)l->ts_real,
		  (unsigned long long)l->ts_boot,
		  (unsigned long long)l->count,
		  (unsigned long long)l->first_seq,
		  (unsigned long long)l->last_seq);
}

/* 42 2026-11-25T14:00:01.123456Z u sh[311] uid=0: message */
void fmt_short_event(struct sbuf *b, const struct evl_event *ev)
{
	sb_printf(b, "%llu ", (unsigned long long)ev->seq);
	sb_time(b, ev->ts_real, 6);
	sb_printf(b, " %c ", ev->origin == EVL_ORIGIN_KERNEL ? 'k' : 'u');
	if (ev->comm[0])
		sb_escape(b, (const unsigned char *)ev->comm,
			  strlen(ev->comm), 0);
	else
		sb_puts(b, "-");
	sb_printf(b, "[%u] uid=%u: ", ev->pid, ev->uid);
	sb_escape(b, ev->data, ev->len, 0);
	sb_puts(b, "\n");
}

void fmt_short_loss(struct sbuf *b, const struct evl_loss *l)
{
	sb_printf(b, "%llu ", (unsigned long long)l->first_seq);
	sb_time(b, l->ts_real, 6);
	sb_printf(b, " l -- lost %llu events (seq %llu-%llu)\n",
		  (unsigned long long)l->count,
		  (unsigned long long)l->first_seq,
		  (unsigned long long)l->last_seq);
}

void fmt_raw_event(struct sbuf *b, const struct evl_event *ev)
{
	sb_printf(b, "%llu,%llu.%09llu,%c,%u,%u,",
		  (unsigned long long)ev->seq,
		  (unsigned long long)(ev->ts_real / NSEC),
		  (unsigned long long)(ev->ts_real % NSEC),
		  ev->origin == EVL_ORIGIN_KERNEL ? 'k' : 'u', ev->pid, ev->uid);
	if (ev->comm[0])
		sb_escape(b, (const unsigned char *)ev->comm,
			  strlen(ev->comm), 1);
	else
		sb_puts(b, "-");
	sb_puts(b, ";");
	sb_escape(b, ev->data, ev->len, 0);
	sb_puts(b, "\n");
}

void fmt_raw_loss(struct sbuf *b, const struct evl_loss *l)
{
	sb_printf(b, "%llu,%llu.%09llu,l,-,-,-;lost %llu events (seq %llu-%llu)\n",
		  (unsigned long long)l->first_seq,
		  (unsigned long long)(l->ts_real / NSEC),
		  (unsigned long long)(l->ts_real % NSEC),
		  (unsigned long long)l->count,
		  (unsigned long long)l->first_seq,
		  (unsigned long long)l->last_seq);
}
