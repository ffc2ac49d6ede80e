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

static void events_out_u64(struct events_out *o, u64 v, int min_digits)
{
	char tmp[20];
	int n = sizeof(tmp);

	/* Two digits per 64-bit division. */
	do {
		u32 rem = do_div(v, 100);

		tmp[--n] = '0' + rem % 10;
		tmp[--n] = '0' + rem / 10;
	} while (v);
	/* The last pair may have a leading zero. */
	if (tmp[n] == '0' && (int)sizeof(tmp) - n > max(min_digits, 1))
		n++;
	while ((int)sizeof(tmp) - n < min_digits)
		tmp[--n] = '0';
	events_out_mem(o, tmp + n, sizeof(tmp) - n);
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

/* Runs of plain bytes are copied whole; the rest become \xNN. */
static void events_out_escaped(struct events_out *o, const char *s, size_t n,
			       bool field)
{
	size_t i = 0, run;

	while (i < n) {
		if (field) {
			for (run = i; run < n && !events_escaped(s[run], true);
			     run++)
				;
		} else {
			run = i + events_plain_run(s + i, n - i);
		}
		events_out_mem(o, s + i, run - i);
		if (run == n)
			break;
		events_out_char(o, '\\');
		events_out_char(o, 'x');
		events_out_char(o, hex_asc_hi(s[run]));
		events_out_char(o, hex_asc_lo(s[run]));
		i = run + 1;
	}
}

static void events_out_time(struct events_out *o, u64 ns)
{
	u32 nsec;
	u64 sec = div_u64_rem(ns, NSEC_PER_SEC, &nsec);

	events_out_u64(o, sec, 1);
	events_out_char(o, '.');
	events_out_u64(o, nsec, 9);
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

	events_out_u64(&o, seq, 1);
	events_out_char(&o, ',');
	events_out_time(&o, rec->ts_real);
	events_out_char(&o, ',');
	events_out_char(&o, rec->flags & EVENTS_REC_KERNEL ? 'k' : 'u');
	events_out_char(&o, ',');
	events_out_u64(&o, events_view_pid(rec->pid, view), 1);
	events_out_char(&o, ',');
	events_out_u64(&o, events_view_uid(rec->uid, view), 1);
	events_out_char(&o, ',');
	if (rec->comm_len)
		events_out_escaped(&o, body, rec->comm_len, true);
	else
		events_out_char(&o, '-');
	events_out_char(&o, ';');
	events_out_escaped(&o, body + rec->comm_len, rec->len, false);
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

	events_out_u64(&o, first, 1);
	events_out_char(&o, ',');
	events_out_time(&o, loss->ts_real);
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
