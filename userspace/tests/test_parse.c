// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the libevents parsers, the output formats and the
 * batches of events to log.
 * Prints TAP lines; exits with the number of failures.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <linux/events.h>

#include "libevents.h"
#include "format.h"

static int n, failed;

#define CHECK(cond, ...) do {					\
	n++;							\
	if (cond) {						\
		printf("ok %d - ", n);				\
	} else {						\
		printf("not ok %d - ", n);			\
		failed++;					\
	}							\
	printf(__VA_ARGS__);					\
	printf("\n");						\
} while (0)

#define NS	1000000000ULL

static size_t make_rec(void *buf, uint64_t seq, const char *comm,
		       const void *msg, size_t len, unsigned int flags)
{
	struct events_record h = { 0 };

	h.size = (sizeof(h) + len + 7) & ~7UL;
	h.hdr_size = sizeof(h);
	h.flags = flags;
	h.seq = seq;
	h.ts_real = 1795607096470388476ULL;
	h.ts_boot = 12345;
	h.pid = 311;
	h.uid = 1000;
	h.payload_len = len;
	memcpy(h.comm, comm, strnlen(comm, sizeof(h.comm)));
	memset(buf, 0, h.size);
	memcpy(buf, &h, sizeof(h));
	memcpy((char *)buf + sizeof(h), msg, len);
	return h.size;
}

static void test_record(void)
{
	unsigned char buf[512];
	struct evl_event ev;
	struct evl_loss l;
	struct events_loss kl = { 17, 43, 59 };
	size_t sz, s1, s2;
	struct events_record *h = (void *)buf;

	s1 = make_rec(buf, 7, "sh", "backup started", 14, 0);
	CHECK(evl_parse_record(buf, s1, &ev, &l, &sz) == EVL_REC_EVENT &&
	      sz == 80 && ev.seq == 7 && ev.len == 14 &&
	      !memcmp(ev.data, "backup started", 14) &&
	      !strcmp(ev.comm, "sh") && ev.pid == 311 && ev.uid == 1000 &&
	      ev.origin == EVL_ORIGIN_USER, "record: an event");
	CHECK(evl_parse_record(buf, s1 - 8, &ev, &l, &sz) == -EAGAIN,
	      "record: short buffer is -EAGAIN");
	CHECK(evl_parse_record(buf, 10, &ev, &l, &sz) == -EAGAIN,
	      "record: short header is -EAGAIN");
	make_rec(buf, 8, "0123456789abcdef", "", 0, EVENTS_RECORD_KERNEL);
	CHECK(evl_parse_record(buf, 64, &ev, &l, &sz) == EVL_REC_EVENT &&
	      sz == 64 && ev.len == 0 && strlen(ev.comm) == 16 &&
	      ev.origin == EVL_ORIGIN_KERNEL,
	      "record: empty payload, full comm, kernel origin");
	s2 = make_rec(buf, 43, "", &kl, sizeof(kl), EVENTS_RECORD_LOSS);
	CHECK(evl_parse_record(buf, s2, &ev, &l, &sz) == EVL_REC_LOSS &&
	      l.count == 17 && l.first_seq == 43 && l.last_seq == 59,
	      "record: a loss record");
	make_rec(buf, 43, "", &kl, 8, EVENTS_RECORD_LOSS);
	CHECK(evl_parse_record(buf, 72, &ev, &l, &sz) == -EINVAL,
	      "record: a short loss payload is -EINVAL");
	make_rec(buf, 1, "sh", "x", 1, 0);
	h->size = 68;
	CHECK(evl_parse_record(buf, 200, &ev, &l, &sz) == -EINVAL,
	      "record: size not a multiple of 8");
	make_rec(buf, 1, "sh", "x", 1, 0);
	h->payload_len = 100;
	CHECK(evl_parse_record(buf, 200, &ev, &l, &sz) == -EINVAL,
	      "record: payload beyond the record");
	make_rec(buf, 1, "sh", "x", 1, 0);
	h->hdr_size = 32;
	CHECK(evl_parse_record(buf, 200, &ev, &l, &sz) == -EINVAL,
	      "record: header too small");
	/* a larger header from a future kernel is skipped */
	make_rec(buf, 1, "sh", "xxxxxxxxabc", 11, 0);
	h->hdr_size = 72;
	h->payload_len = 3;
	CHECK(evl_parse_record(buf, 200, &ev, &l, &sz) == EVL_REC_EVENT &&
	      ev.len == 3 && !memcmp(ev.data, "abc", 3),
	      "record: a longer header is skipped");
}

static void test_line(void)
{
	unsigned char msg[256];
	struct evl_event ev;
	struct evl_loss l;
	const char *s;

	s = "1,1795607096.470388476,u,311,0,sh;backup started\n";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == EVL_REC_EVENT &&
	      ev.seq == 1 && ev.ts_real == 1795607096470388476ULL &&
	      ev.pid == 311 && ev.uid == 0 && !strcmp(ev.comm, "sh") &&
	      ev.len == 14 && !memcmp(ev.data, "backup started", 14),
	      "line: an event");
	s = "2,1795607096.471490223,u,311,0,a\\x2cb;a\\x09b\\x5cc\\x0ad";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == EVL_REC_EVENT &&
	      !strcmp(ev.comm, "a,b") && ev.len == 7 &&
	      !memcmp(ev.data, "a\tb\\c\nd", 7), "line: escapes");
	s = "3,1795607098.496575879,k,0,0,-;link eth0 up";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == EVL_REC_EVENT &&
	      ev.origin == EVL_ORIGIN_KERNEL && ev.comm[0] == 0,
	      "line: kernel event from interrupt context");
	s = "43,1795607101.000012345,l,-,-,-;lost 17 events (seq 43-59)\n";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == EVL_REC_LOSS &&
	      l.count == 17 && l.first_seq == 43 && l.last_seq == 59,
	      "line: a loss notice");
	s = "4,1795607098.496575879,u,1,2,sh,future;x";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == EVL_REC_EVENT &&
	      !strcmp(ev.comm, "sh") && ev.len == 1,
	      "line: unknown fields are ignored");
	s = "5,17956.4965,u,1,2,sh;x";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == -EINVAL,
	      "line: short nanoseconds rejected");
	s = "6,1795607098.496575879,u,1,2,sh;bad\\x4";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == -EINVAL,
	      "line: truncated escape rejected");
	s = "43,1795607101.000012345,l,-,-,-;lost 17 events (seq 43-59";
	CHECK(evl_parse_line(s, strlen(s), &ev, &l, msg) == -EINVAL,
	      "line: truncated loss notice rejected");
}

static void test_time(void)
{
	/* 2026-11-25T14:00:00Z */
	const uint64_t base = 1795615200ULL * NS;
	uint64_t now = base + 123, v;

	CHECK(!evl_parse_time("2026-11-25T14:00:00Z", now, &v) && v == base,
	      "time: ISO 8601 UTC");
	CHECK(!evl_parse_time("2026-11-25T15:30:00+01:30", now, &v) &&
	      v == base, "time: ISO 8601 with an offset");
	CHECK(!evl_parse_time("2026-11-25T09:00:00-0500", now, &v) &&
	      v == base, "time: ISO 8601 with a -HHMM offset");
	CHECK(!evl_parse_time("2026-11-25 14:00:00.25Z", now, &v) &&
	      v == base + 250000000, "time: space and fraction");
	CHECK(!evl_parse_time("2026-11-25T14:00Z", now, &v) && v == base,
	      "time: no seconds");
	CHECK(!evl_parse_time("2026-11-25", now, &v) &&
	      v == base - 14 * 3600 * NS, "time: date only, local (TZ=UTC)");
	CHECK(!evl_parse_time("2026-11-25T14:00:00", now, &v) && v == base,
	      "time: no zone is local time (TZ=UTC)");
	CHECK(!evl_parse_time("-10m", now, &v) && v == now - 600 * NS,
	      "time: -10m");
	CHECK(!evl_parse_time("-2h", now, &v) && v == now - 7200 * NS,
	      "time: -2h");
	CHECK(!evl_parse_time("-30s", now, &v) && v == now - 30 * NS,
	      "time: -30s");
	CHECK(!evl_parse_time("-1d", now, &v) && v == now - 86400 * NS,
	      "time: -1d");
	CHECK(!evl_parse_time("now", now, &v) && v == now, "time: now");
	CHECK(!evl_parse_time("today", now, &v) &&
	      v == base - 14 * 3600 * NS, "time: today");
	CHECK(!evl_parse_time("yesterday", now, &v) &&
	      v == base - 38 * 3600 * NS, "time: yesterday");
	CHECK(!evl_parse_time("@1795615200", now, &v) && v == base,
	      "time: @epoch");
	CHECK(!evl_parse_time("@1795615200.5", now, &v) &&
	      v == base + NS / 2, "time: @epoch.frac");
	CHECK(evl_parse_time("2026-02-31", now, &v) == -EINVAL &&
	      evl_parse_time("2026-13-01", now, &v) == -EINVAL &&
	      evl_parse_time("-10x", now, &v) == -EINVAL &&
	      evl_parse_time("tomorrow", now, &v) == -EINVAL &&
	      evl_parse_time("", now, &v) == -EINVAL &&
	      evl_parse_time("2026-11-25T14:00:00Zjunk", now, &v) == -EINVAL,
	      "time: garbage rejected");
	CHECK(evl_parse_since("42", now, &v) == EVL_SINCE_SEQ && v == 42,
	      "since: a number is a sequence number");
	CHECK(evl_parse_since("-1h", now, &v) == EVL_SINCE_TIME &&
	      v == now - 3600 * NS, "since: a time");
	CHECK(evl_parse_since("99999999999999999999", now, &v) == -EINVAL,
	      "since: overflow rejected");
}

static void test_json(void)
{
	struct sbuf b = { 0 };
	const unsigned char m[] = "a\"b\\c\n\x01\x7f\xc3\xa9\xff\xe2\x82";
	struct evl_event ev = {
		.seq = 5, .ts_real = 1795615200123456789ULL, .ts_boot = 9,
		.pid = 1, .uid = 2, .comm = "sh", .data = m,
		.len = sizeof(m) - 1,
	};
	struct evl_loss l = { 17, 43, 59, 1795615200ULL * NS, 0 };

	sb_json_str(&b, m, sizeof(m) - 1);
	CHECK(!strcmp(b.p, "\"a\\\"b\\\\c\\n\\u0001\\u007f\xc3\xa9\\u00ff"
		      "\\u00e2\\u0082\""), "json: escaping, invalid UTF-8 as \\u00XX");
	sb_reset(&b);
	fmt_json_event(&b, &ev);
	CHECK(!strncmp(b.p, "{\"type\":\"event\",\"seq\":5,\"time\":"
		       "\"2026-11-25T14:00:00.123456789Z\",\"ts_real_ns\":"
		       "1795615200123456789,\"ts_boot_ns\":9,\"origin\":"
		       "\"user\",\"pid\":1,\"uid\":2,\"comm\":\"sh\",", 150) &&
	      b.p[b.len - 1] == '\n', "json: event object");
	sb_reset(&b);
	fmt_json_loss(&b, &l);
	CHECK(strstr(b.p, "\"type\":\"loss\"") &&
	      strstr(b.p, "\"lost\":17,\"first_seq\":43,\"last_seq\":59}"),
	      "json: loss object");
	sb_reset(&b);
	fmt_raw_loss(&b, &l);
	CHECK(!strcmp(b.p, "43,1795615200.000000000,l,-,-,-;lost 17 events "
		      "(seq 43-59)\n"), "raw: loss line as the device writes it");
	sb_reset(&b);
	ev.data = (const unsigned char *)"tab\there";
	ev.len = 8;
	fmt_raw_event(&b, &ev);
	CHECK(!strcmp(b.p, "5,1795615200.123456789,u,1,2,sh;tab\\x09here\n"),
	      "raw: event line as the device writes it");
	sb_free(&b);
}

/* Batches: the entry layout of the UAPI, room, and the write(2) fallback. */
static void test_batch(void)
{
	struct evl_batch *b = evl_batch_new();
	static char big[EVENTS_LOG_MAX], got[EVENTS_LOG_MAX];
	uint64_t seq = 42;
	size_t i, added;
	int p[2], ret;
	ssize_t r;

	CHECK(b != NULL, "evl_batch_new");
	if (!b)
		return;
	CHECK(evl_batch_add(b, "x", 0) == -EINVAL, "batch: empty event refused");
	CHECK(evl_batch_add(b, big, EVENTS_LOG_MAX - 7) == -EMSGSIZE,
	      "batch: an event larger than any batch: EMSGSIZE");
	CHECK(evl_batch_add(b, "hello", 5) == 0 && evl_batch_count(b) == 1,
	      "batch: one event");

	/* Fill to exactly EVENTS_LOG_MAX with 56-byte entries and a last one. */
	memset(big, 'b', sizeof(big));
	for (added = 1; evl_batch_add(b, big, 48) == 0; added++)
		;
	CHECK(evl_batch_count(b) == added, "batch: %zu events fit", added);
	ret = evl_batch_add(b, big, 48);
	CHECK(ret == -ENOSPC, "batch: full batch refuses the next: %d", ret);

	/* A pipe has no EVENTS_IOC_LOG: one write(2) per event, in order. */
	if (pipe(p)) {
		CHECK(0, "pipe: %s", strerror(errno));
		evl_batch_free(b);
		return;
	}
	fcntl(p[1], F_SETPIPE_SZ, 1 << 20);
	ret = evl_batch_log(p[1], b, &seq);
	CHECK(ret == 0 && seq == 0 && evl_batch_count(b) == 0,
	      "batch: ENOTTY falls back to write(2): %d, seq %llu", ret,
	      (unsigned long long)seq);
	r = read(p[0], got, sizeof(got));
	CHECK(r == (ssize_t)(5 + 48 * (added - 1)) && !memcmp(got, "hello", 5),
	      "batch: the payloads were written, in order (%zd bytes)", r);
	for (i = 5; i < (size_t)r && got[i] == 'b'; i++)
		;
	CHECK(i == (size_t)r, "batch: payload bytes intact");
	CHECK(evl_batch_log(p[1], b, NULL) == 0, "batch: empty batch logs nothing");

	/* An error leaves the events not logged in the batch. */
	evl_batch_add(b, "one", 3);
	evl_batch_add(b, "two", 3);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	ret = evl_batch_log(p[1], b, NULL);
	CHECK(ret == -EPIPE && evl_batch_count(b) == 2,
	      "batch: a failed write keeps the events: %d, %zu left", ret,
	      evl_batch_count(b));
	close(p[1]);
	CHECK(evl_batch_log(-1, b, NULL) == -EBADF && evl_batch_count(b) == 2,
	      "batch: a bad descriptor: EBADF, batch kept");
	evl_batch_free(b);

	/* The layout the kernel reads. */
	CHECK(EVENTS_ENTRY_SIZE(1) == 16 && EVENTS_ENTRY_SIZE(8) == 16 &&
	      EVENTS_ENTRY_SIZE(9) == 24, "EVENTS_ENTRY_SIZE rounds to 8");
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	test_record();
	test_line();
	test_time();
	test_json();
	test_batch();
	printf("# test_parse: %d passed, %d failed\n", n - failed, failed);
	return failed;
}
