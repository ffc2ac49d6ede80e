// SPDX-License-Identifier: GPL-2.0
/*
 * Text rendering of events records, one line each:
 *
 *   <seq>,<sec>.<nsec>,<origin>,<pid>,<uid>,<comm>;<message>\n
 *
 * Bytes that would break the line (below 0x20, 0x7f and above, and the
 * backslash) are written as \xNN, as /dev/kmsg does; in the comm field the
 * separators ',' and ';' are escaped too.
 */

#include <linux/cred.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/pid.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/time64.h>
#include <linux/string.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "events_format.h"
#include "events_ring.h"

/*
 * An output cursor that counts every byte but stores only what fits, so a
 * caller learns the full length of a line that did not fit.
 */
struct events_out {
	char *buf;
	size_t avail;
	size_t len;
};

static void events_out_char(struct events_out *o, char c)
{
	if (o->len < o->avail)
		o->buf[o->len] = c;
	o->len++;
}

static void events_out_mem(struct events_out *o, const char *s, size_t n)
{
	if (o->len < o->avail)
		memcpy(o->buf + o->len, s, min(n, o->avail - o->len));
	o->len += n;
}

/* 10^n, for n up to 19: how many digits a number has. */
static const u64 events_pow10[] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL,
	10000000ULL, 100000000ULL, 1000000000ULL, 10000000000ULL,
	100000000000ULL, 1000000000000ULL, 10000000000000ULL,
	100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL,
	10000000000000000000ULL,
};

/*
 * Write @v in decimal, at least @min_digits of it, at @p: from the last
 * digit back, two digits per division. Returns the end.
 */
static char *events_put_u64(char *p, u64 v, unsigned int min_digits)
{
	unsigned int n = 1;
	char *end, *q;

	while (n < ARRAY_SIZE(events_pow10) && v >= events_pow10[n])
		n++;
	end = p + max(n, min_digits);
	q = end;
	while (v >= 100) {
		u32 rem = do_div(v, 100);

		*--q = '0' + rem % 10;
		*--q = '0' + rem / 10;
	}
	if (v >= 10) {
		*--q = '0' + v % 10;
		*--q = '0' + v / 10;
	} else {
		*--q = '0' + v;
	}
	while (q > p)
		*--q = '0';
	return end;
}

static void events_out_u64(struct events_out *o, u64 v, unsigned int min_digits)
{
	char tmp[20];

	events_out_mem(o, tmp, events_put_u64(tmp, v, min_digits) - tmp);
}

static void events_out_str(struct events_out *o, const char *s)
{
	while (*s)
		events_out_char(o, *s++);
}

static bool events_escaped(u8 c, bool field)
{
	return c < 0x20 || c >= 0x7f || c == '\\' ||
	       (field && (c == ',' || c == ';'));
}

#define EVENTS_ONES	0x0101010101010101ULL
#define EVENTS_HIGHS	0x8080808080808080ULL

/* Whether any byte of @x is below @n (n <= 128): the haszero() trick. */
static inline u64 events_has_less(u64 x, u8 n)
{
	return (x - EVENTS_ONES * n) & ~x & EVENTS_HIGHS;
}

/*
 * Length of the run of bytes at @s that need no escaping in a message.
 * Eight bytes at a time: a byte needs escaping if it is below 0x20, has
 * its high bit set, or is 0x7f or '\\'.
 */
static size_t events_plain_run(const char *s, size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		u64 x;

		memcpy(&x, s + i, sizeof(x));	/* an unaligned load */
		if ((x & EVENTS_HIGHS) || events_has_less(x, 0x20) ||
		    events_has_less(x ^ (EVENTS_ONES * 0x7f), 1) ||
		    events_has_less(x ^ (EVENTS_ONES * '\\'), 1))
			break;
	}
	while (i < n && !events_escaped(s[i], false))
		i++;
	return i;
}

/* Write @c as \xNN at @p; returns the end. */
static char *events_put_hex(char *p, u8 c)
{
	*p++ = '\\';
	*p++ = 'x';
	*p++ = hex_asc_hi(c);
	*p++ = hex_asc_lo(c);
	return p;
}

/* A message: runs of plain bytes are copied whole, the rest become \xNN. */
static void events_out_escaped(struct events_out *o, const char *s, size_t n)
{
	size_t i = 0, run;
	char hex[4];

	while (i < n) {
		run = i + events_plain_run(s + i, n - i);
		events_out_mem(o, s + i, run - i);
		if (run == n)
			break;
		events_out_mem(o, hex, events_put_hex(hex, s[run]) - hex);
		i = run + 1;
	}
}

/* A comm at @p, with ',' and ';' escaped too; returns the end. */
static char *events_put_field(char *p, const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (events_escaped(s[i], true))
			p = events_put_hex(p, s[i]);
		else
			*p++ = s[i];
	}
	return p;
}

/* CLOCK_REALTIME as seconds, a dot and nine digits; returns the end. */
static char *events_put_time(char *p, u64 ns)
{
	u32 nsec;
	u64 sec = div_u64_rem(ns, NSEC_PER_SEC, &nsec);

	p = events_put_u64(p, sec, 1);
	*p++ = '.';
	return events_put_u64(p, nsec, 9);
}

/*
 * The pid as the reader sees it. Records keep the number from the initial
 * namespace; readers there (the common case) get it unchanged, others get
 * it translated through the pid that currently has that number, or 0.
 */
static u32 events_view_pid(u32 nr, const struct events_view *view)
{
	struct pid *pid;
	u32 vnr = 0;

	if (!nr || view->pid_ns == &init_pid_ns)
		return nr;

	rcu_read_lock();
	pid = find_pid_ns(nr, &init_pid_ns);
	if (pid)
		vnr = pid_nr_ns(pid, view->pid_ns);
	rcu_read_unlock();
	return vnr;
}

/*
 * The uid as the reader sees it. The initial namespace maps every uid but
 * the invalid one to itself, so its readers (the common case) need no
 * lookup.
 */
static u32 events_view_uid(u32 uid, const struct events_view *view)
{
	if (view->user_ns == &init_user_ns && uid != (u32)-1)
		return uid;
	return from_kuid_munged(view->user_ns, KUIDT_INIT(uid));
}

/**
 * events_format_rec() - render one record as a text line
 * @buf: where to write
 * @avail: bytes available at @buf
 * @rec: the record's header
 * @body: the record's comm, followed by its payload
 * @seq: its sequence number
 * @view: namespaces to show pid and uid in
 *
 * Writes at most @avail bytes; the content is complete only if the return
 * value is at most @avail. Never more than
 * EVENTS_TEXT_LINE_MAX(@rec->len).
 *
 * Context: Any context.
 * Return: the length of the whole line, newline included.
 */
size_t events_format_rec(char *buf, size_t avail, const struct events_rec *rec,
			 const char *body, u64 seq,
			 const struct events_view *view)
{
	struct events_out o = { .buf = buf, .avail = avail };
	char prefix[EVENTS_TEXT_PREFIX_MAX], *p = prefix;

	/* The prefix fits in EVENTS_TEXT_PREFIX_MAX: no checks per byte. */
	p = events_put_u64(p, seq, 1);
	*p++ = ',';
	p = events_put_time(p, rec->ts_real);
	*p++ = ',';
	*p++ = rec->flags & EVENTS_REC_KERNEL ? 'k' : 'u';
	*p++ = ',';
	p = events_put_u64(p, events_view_pid(rec->pid, view), 1);
	*p++ = ',';
	p = events_put_u64(p, events_view_uid(rec->uid, view), 1);
	*p++ = ',';
	if (rec->comm_len)
		p = events_put_field(p, body, rec->comm_len);
	else
		*p++ = '-';
	*p++ = ';';
	events_out_mem(&o, prefix, p - prefix);
	events_out_escaped(&o, body + rec->comm_len, rec->len);
	events_out_char(&o, '\n');
	return o.len;
}

/**
 * events_format_loss() - render the notice of lost records
 * @buf: where to write
 * @avail: bytes available at @buf
 * @loss: what was lost and when it was noticed
 *
 * Context: Any context.
 * Return: the length of the whole line, as for events_format_rec().
 */
size_t events_format_loss(char *buf, size_t avail,
			  const struct events_loss_info *loss)
{
	struct events_out o = { .buf = buf, .avail = avail };
	u64 first = loss->first, last = loss->last;
	char time[32];

	events_out_u64(&o, first, 1);
	events_out_char(&o, ',');
	events_out_mem(&o, time, events_put_time(time, loss->ts_real) - time);
	events_out_str(&o, ",l,-,-,-;lost ");
	events_out_u64(&o, loss->count, 1);
	events_out_str(&o, " events (seq ");
	events_out_u64(&o, first, 1);
	events_out_char(&o, '-');
	events_out_u64(&o, last, 1);
	events_out_char(&o, ')');
	events_out_char(&o, '\n');
	return o.len;
}

/**
 * events_format_rec_bin() - render one record as a struct events_record
 * @buf: where to write
 * @avail: bytes available at @buf
 * @rec: the record's header
 * @body: the record's comm, followed by its payload
 * @seq: its sequence number
 * @view: namespaces to show pid and uid in
 *
 * Writes nothing unless the whole record fits. Every byte written is
 * defined: the header is built zeroed, and the padding is zeroed.
 *
 * Context: Any context.
 * Return: the size of the record, written or not.
 */
size_t events_format_rec_bin(char *buf, size_t avail,
			     const struct events_rec *rec, const char *body,
			     u64 seq, const struct events_view *view)
{
	size_t size = EVENTS_BIN_SIZE(rec->len);
	struct events_record hdr = {
		.size = size,
		.hdr_size = sizeof(hdr),
		.flags = rec->flags & EVENTS_REC_KERNEL ? EVENTS_RECORD_KERNEL : 0,
		.seq = seq,
		.ts_real = rec->ts_real,
		.ts_boot = rec->ts_boot,
		.pid = events_view_pid(rec->pid, view),
		.uid = events_view_uid(rec->uid, view),
		.payload_len = rec->len,
	};

	if (size > avail)
		return size;
	memcpy(hdr.comm, body, rec->comm_len);
	memcpy(buf, &hdr, sizeof(hdr));
	memcpy(buf + sizeof(hdr), body + rec->comm_len, rec->len);
	memset(buf + sizeof(hdr) + rec->len, 0, size - sizeof(hdr) - rec->len);
	return size;
}

/**
 * events_format_loss_bin() - render a loss record as a struct events_record
 * @buf: where to write
 * @avail: bytes available at @buf
 * @loss: what was lost and when it was noticed
 *
 * Context: Any context.
 * Return: the size of the record, as for events_format_rec_bin().
 */
size_t events_format_loss_bin(char *buf, size_t avail,
			      const struct events_loss_info *loss)
{
	struct {
		struct events_record hdr;
		struct events_loss body;
	} r = {
		.hdr = {
			.size = sizeof(r),
			.hdr_size = sizeof(r.hdr),
			.flags = EVENTS_RECORD_LOSS,
			.seq = loss->first,
			.ts_real = loss->ts_real,
			.ts_boot = loss->ts_boot,
			.payload_len = sizeof(r.body),
		},
		.body = {
			.count = loss->count,
			.first_seq = loss->first,
			.last_seq = loss->last,
		},
	};

	BUILD_BUG_ON(sizeof(r) != EVENTS_BIN_SIZE(sizeof(r.body)));
	if (sizeof(r) <= avail)
		memcpy(buf, &r, sizeof(r));
	return sizeof(r);
}
