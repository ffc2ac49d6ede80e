/* SPDX-License-Identifier: GPL-2.0 */
/* Output formats shared by evctl and eventsd. */
#ifndef EVENTS_FORMAT_H
#define EVENTS_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "libevents.h"

struct sbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void sb_reset(struct sbuf *b);
void sb_free(struct sbuf *b);
void sb_add(struct sbuf *b, const void *s, size_t n);
void sb_puts(struct sbuf *b, const char *s);
void sb_printf(struct sbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* RFC 3339 in UTC: 2026-11-25T14:00:00.123456789Z (digits: 0, 6 or 9) */
void sb_time(struct sbuf *b, uint64_t ns, int digits);
/* JSON string with quotes; see json_string_doc in evctl(1). */
void sb_json_str(struct sbuf *b, const unsigned char *s, size_t n);
/* The device's escaping: bytes < 0x20, >= 0x7f and '\' as \xNN. */
void sb_escape(struct sbuf *b, const unsigned char *s, size_t n, int comm);

/* One line each, with the newline. */
void fmt_json_event(struct sbuf *b, const struct evl_event *ev);
void fmt_json_loss(struct sbuf *b, const struct evl_loss *l);
void fmt_short_event(struct sbuf *b, const struct evl_event *ev);
void fmt_short_loss(struct sbuf *b, const struct evl_loss *l);
void fmt_raw_event(struct sbuf *b, const struct evl_event *ev);
void fmt_raw_loss(struct sbuf *b, const struct evl_loss *l);

#endif
