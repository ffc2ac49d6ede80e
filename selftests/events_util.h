/* SPDX-License-Identifier: GPL-2.0 */
/*
 * events_util.h - helpers shared by the /dev/events selftests
 *
 * A strict parser for the text record format, written from the format
 * description alone (it shares no code with the module), a line reader
 * with timeouts, a stream checker for sequence numbers and loss lines,
 * and small helpers: text scanners, module parameters, random numbers.
 */
#ifndef EVENTS_UTIL_H
#define EVENTS_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_DEV			"/dev/events"
#define EV_PARAM_DIR		"/sys/module/events/parameters"
#define EV_COMM_MAX		16	/* TASK_COMM_LEN: at most 15 bytes */
#define EV_ERR_MAX		256

/* One parsed line. Pointers into the line stay valid as long as the line. */
struct ev_rec {
	uint64_t seq;		/* for a loss line: the first lost seq */
	uint64_t sec;
	uint32_t nsec;
	char origin;		/* 'u', 'k' or 'l' (loss) */
	int64_t pid;		/* -1 on loss lines ('-') */
	int64_t uid;		/* -1 on loss lines ('-') */
	char comm[EV_COMM_MAX];	/* decoded, NUL terminated */
	size_t comm_len;
	const char *comm_raw;	/* escaped, as in the line */
	size_t comm_raw_len;
	unsigned int extra_fields;	/* unknown fields before ';' */
	const char *msg_raw;	/* escaped message, without the '\n' */
	size_t msg_raw_len;
	char *msg;		/* decoded message (malloc'ed), NUL terminated */
	size_t msg_len;
	uint64_t lost;		/* loss lines: count, first and last seq */
	uint64_t lost_first;
	uint64_t lost_last;
};

/*
 * Parse one line (it must end with exactly one '\n', at len - 1).
 * Returns 0, or -1 with a reason in err. On success free with ev_rec_free().
 */
int ev_parse(const char *line, size_t len, struct ev_rec *r,
	     char *err, size_t errlen);
void ev_rec_free(struct ev_rec *r);
/* Longest loss message: "lost <n> events (seq <first>-<last>)". */
#define EV_LOSS_MSG_MAX		(5 + 20 + 13 + 20 + 1 + 20 + 1)
/* The size of a msgbuf for ev_parse_buf() with this msgcap. */
#define EV_MSGBUF_SIZE(msgcap)	\
	(((msgcap) > EV_LOSS_MSG_MAX ? (msgcap) : EV_LOSS_MSG_MAX) + 1)

/*
 * ev_parse() decoding the message into msgbuf (EV_MSGBUF_SIZE(msgcap)
 * bytes); a record whose message is longer than msgcap bytes is an
 * error. Nothing to free: r->msg is msgbuf.
 */
int ev_parse_buf(const char *line, size_t len, struct ev_rec *r,
		 char *msgbuf, size_t msgcap, char *err, size_t errlen);

/*
 * Scanning text that ends at end. Numbers are decimal u64: digits only,
 * no sign, no leading zero, no overflow. ev_scan_u64() returns how many
 * digits the number at p has, 0 if there is none; ev_eat() and
 * ev_eat_u64() move *p past the literal or the number and return true,
 * or return false and leave *p alone.
 */
size_t ev_scan_u64(const char *p, const char *end, uint64_t *v);
bool ev_eat(const char **p, const char *end, const char *lit);
bool ev_eat_u64(const char **p, const char *end, uint64_t *v);

/* True if the record is a user/kernel record whose raw message is msg. */
bool ev_msg_is(const struct ev_rec *r, const char *msg);
/* True if the raw (escaped) message starts with prefix. */
bool ev_msg_has_prefix(const struct ev_rec *r, const char *prefix);

/*
 * Escape like the spec says: bytes < 0x20, >= 0x7f and '\\' become \xNN;
 * for comm also ',' and ';'. out needs 4 * n + 1 bytes. Returns length.
 */
size_t ev_escape(const void *in, size_t n, char *out, bool comm);

/* Line reader over a /dev/events fd. */
struct ev_reader {
	int fd;
	char *buf;
	size_t cap;
	size_t head;		/* first unconsumed byte */
	size_t tail;		/* end of data */
	size_t rdsize;		/* count passed to read(2); 0: free space */
	/*
	 * Call read(2) without poll(2) first: it blocks on a blocking fd;
	 * on an O_NONBLOCK fd EAGAIN is retried after a short sleep.
	 */
	bool blocking;
	uint64_t reads;		/* read(2) calls that returned data */
};

/* A reader at the end of the stream: it sees only future events; -1 on error. */
int ev_open_live(int flags);
/* poll() with timeout 0 for POLLIN: 1 if something is pending, 0 if not. */
int ev_pending(int fd);

int evr_init(struct ev_reader *r, int fd, size_t cap);
void evr_free(struct ev_reader *r);
/*
 * Next complete line (including its '\n'). Returns 1 and sets line/len
 * (valid until the next call), 0 when no complete line arrived within
 * timeout_ms (0: do not wait), -1 on error with errno set.
 */
int evr_next(struct ev_reader *r, int timeout_ms, const char **line,
	     size_t *len);
/* Bytes buffered that do not yet form a complete line. */
size_t evr_pending(const struct ev_reader *r);

/* Sequence bookkeeping across a stream of parsed lines. */
struct ev_stream {
	uint64_t expect;	/* next expected seq; 0 = unknown yet */
	uint64_t records;	/* user and kernel records seen */
	uint64_t lost;		/* sum of loss counts */
	uint64_t loss_lines;
	uint64_t first_seq;	/* seq (or lost_first) of the first item */
	uint64_t last_seq;	/* seq of the last record */
	char err[EV_ERR_MAX];
};

/* Returns 0, or -1 with s->err set on a gap, reorder or bad loss line. */
int evs_feed(struct ev_stream *s, const struct ev_rec *r);

/* Read /sys/module/events/parameters/<name> as a number (base 0). */
int ev_param(const char *name, uint64_t *val);
/* The raw text of a parameter, newline stripped. */
int ev_param_str(const char *name, char *buf, size_t len);

/* SplitMix64: advance the state *s and return its next number. */
uint64_t ev_rnd(uint64_t *s);
/* A well-mixed hash of x: the number ev_rnd() returns from state x. */
uint64_t ev_mix64(uint64_t x);

/*
 * A printable copy of n bytes for messages, in out (cap bytes): other
 * bytes as <NN>, "..." where it is cut short. Returns out.
 */
const char *ev_show(const char *s, size_t n, char *out, size_t cap);

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t ev_now_ms(void);

/* write(2) the whole string; returns what write(2) returned. */
long ev_write_str(int fd, const char *s);

/* Unique marker for this process: letters, digits and '.' only. */
void ev_marker(char *buf, size_t len, const char *tag);

#endif /* EVENTS_UTIL_H */
