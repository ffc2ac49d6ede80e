// SPDX-License-Identifier: GPL-2.0
/*
 * evctl - log, show, follow and count the events of /dev/events.
 *
 * Exit status: 0 success, 1 a runtime error, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/events.h>

#include "libevents.h"
#include "format.h"

#define EXIT_USAGE	2

static const char *prog = "evctl";
static const char *device;
static volatile sig_atomic_t stop;

enum { OUT_SHORT, OUT_JSON, OUT_RAW };

static void usage(FILE *out)
{
	fprintf(out,
"Usage:\n"
" evctl [-d DEVICE] log [MESSAGE...]\n"
" evctl [-d DEVICE] tail [-f] [-n N] [--since SEQ|TIME] [--new]\n"
"                        [--filter [!]PREFIX]... [--exclude PREFIX]...\n"
"                        [--kernel|--user] [--uid UID] [-o short|json|raw]\n"
" evctl [-d DEVICE] stats [-o short|json]\n"
"\n"
"log    log MESSAGE (the arguments joined by spaces) as one event, or\n"
"       with no MESSAGE each line of standard input as one event\n"
"tail   show the retained events; -f follows new ones\n"
"stats  show the device's counters and a new reader's\n"
"\n"
"Options:\n"
" -d, --device PATH   the device (default /dev/events, or $EVENTS_DEVICE)\n"
" -f, --follow        keep reading new events\n"
" -n, --lines N       only the last N retained events\n"
"     --since SEQ     start at sequence number SEQ\n"
"     --since TIME    start at the first event at or after TIME: ISO 8601\n"
"                     (2026-11-25T14:00:00Z, 2026-11-25), -10m, -2h, -30s,\n"
"                     -1d, yesterday, today, now, @EPOCH\n"
"     --new           only events logged from now on\n"
"     --filter P      only messages starting with P (repeatable; !P excludes)\n"
"     --exclude P     no messages starting with P\n"
"     --kernel        only kernel events      --user  only written events\n"
"     --uid UID       only events written by UID\n"
" -o, --output FMT    short (default), json (one object per line), raw\n"
"                     (the device's text format)\n"
" -h, --help          display this help\n"
" -V, --version       display version\n"
"\n"
"Exit status: 0 success, 1 error, 2 bad usage.\n");
}

static void die_usage(const char *fmt, const char *arg)
{
	fprintf(stderr, "%s: ", prog);
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\nTry '%s --help' for more information.\n", prog);
	exit(EXIT_USAGE);
}

static const char *dev_name(void)
{
	return device ? device : EVL_DEFAULT_DEVICE;
}

/* An error from the device, with a hint for the usual causes. */
static void __attribute__((noreturn)) die_dev(int err, const char *what)
{
	err = err < 0 ? -err : err;
	if (err == ENOENT)
		fprintf(stderr, "%s: no %s: is the events module loaded?\n",
			prog, dev_name());
	else if (err == EACCES || err == EPERM)
		fprintf(stderr, "%s: %s%s%s: %s (run as root, or ask for the "
			"device's group; see the mode module parameter)\n",
			prog, what ? what : "", what ? " " : "", dev_name(),
			strerror(err));
	else if (err == EOPNOTSUPP)
		fprintf(stderr, "%s: %s: the events module is too old "
			"(no binary records)\n", prog, dev_name());
	else
		fprintf(stderr, "%s: %s%s%s: %s\n", prog, what ? what : "",
			what ? " " : "", dev_name(), strerror(err));
	exit(EXIT_FAILURE);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static int parse_uint(const char *s, unsigned long long max,
		      unsigned long long *v)
{
	char *end;

	if (!*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end || *v > max ? -1 : 0;
}

/* Writing to stdout: a closed pipe ends the program quietly. */
static void out_write(const char *p, size_t n)
{
	if (fwrite(p, 1, n, stdout) != n || ferror(stdout)) {
		if (errno == EPIPE)
			exit(EXIT_SUCCESS);
		fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
		exit(EXIT_FAILURE);
	}
}

static void out_flush(void)
{
	if (fflush(stdout)) {
		if (errno == EPIPE)
			exit(EXIT_SUCCESS);
		fprintf(stderr, "%s: write error: %s\n", prog, strerror(errno));
		exit(EXIT_FAILURE);
	}
}

/* ---- log ---- */

static int log_one(int fd, const char *msg, size_t len)
{
	int ret = evl_log_fd(fd, msg, len);

	if (ret == -EMSGSIZE)
		fprintf(stderr, "%s: message of %zu bytes too long (see the "
			"max_payload module parameter)\n", prog, len);
	else if (ret)
		die_dev(ret, "cannot write");
	return ret;
}

/*
 * Lines of stdin, logged as events: the complete lines each read(2)
 * returns go out as one batch (EVENTS_IOC_LOG), so a fast producer costs
 * one system call per read, and a slow one's lines are logged as soon as
 * they arrive.
 */
struct log_input {
	int fd;
	struct evl_batch *batch;
	size_t max_payload;
	struct sbuf line;	/* a line begun by an earlier read */
	size_t line_len;	/* its length; only max_payload + 1 kept */
	int status;
};

static void log_flush(struct log_input *in)
{
	int ret = evl_batch_log(in->fd, in->batch, NULL);

	if (ret)
		die_dev(ret, "cannot write");
}

static void log_line(struct log_input *in, const char *p, size_t n)
{
	int ret;

	if (!n)
		return;
	if (n > in->max_payload) {
		log_flush(in);
		fprintf(stderr, "%s: message of %zu bytes too long (see the "
			"max_payload module parameter)\n", prog, n);
		in->status = EXIT_FAILURE;
		return;
	}
	ret = evl_batch_add(in->batch, p, n);
	if (ret == -ENOSPC) {
		log_flush(in);
		ret = evl_batch_add(in->batch, p, n);
	}
	if (ret) {
		/* Too long for a batch, not for the device. */
		log_flush(in);
		if (log_one(in->fd, p, n))
			in->status = EXIT_FAILURE;
	}
}

/* Part of a line: kept up to max_payload + 1 bytes, counted whole. */
static void log_part(struct log_input *in, const char *p, size_t n)
{
	size_t keep = in->max_payload + 1;

	if (in->line_len < keep)
		sb_add(&in->line, p, n < keep - in->line_len ?
				      n : keep - in->line_len);
	in->line_len += n;
	if (in->line.oom) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
}

static void log_end_line(struct log_input *in)
{
	if (in->line_len > in->max_payload)
		log_line(in, NULL, in->line_len);
	else
		log_line(in, in->line.p, in->line_len);
	sb_reset(&in->line);
	in->line_len = 0;
}

/* The largest event the device takes, or 64 KiB if it does not say. */
static size_t max_payload(int fd)
{
	struct events_stats st = { .size = sizeof(st) };

	return ioctl(fd, EVENTS_IOC_STATS, &st) ? 65536 : st.max_payload;
}

static int log_stdin(int fd)
{
	struct log_input in = { .fd = fd, .max_payload = max_payload(fd) };
	static char buf[EVENTS_LOG_MAX];
	ssize_t n;

	in.batch = evl_batch_new();
	if (!in.batch) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return EXIT_FAILURE;
	}
	while ((n = read(STDIN_FILENO, buf, sizeof(buf))) != 0) {
		const char *p = buf, *end = buf + n, *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: read error: %s\n", prog,
				strerror(errno));
			in.status = EXIT_FAILURE;
			break;
		}
		while ((nl = memchr(p, '\n', end - p))) {
			if (in.line_len) {
				log_part(&in, p, nl - p);
				log_end_line(&in);
			} else {
				log_line(&in, p, nl - p);
			}
			p = nl + 1;
		}
		if (p < end)
			log_part(&in, p, end - p);
		log_flush(&in);
	}
	if (in.line_len)
		log_end_line(&in);
	log_flush(&in);
	evl_batch_free(in.batch);
	sb_free(&in.line);
	return in.status;
}

static int cmd_log(int argc, char **argv)
{
	int fd, i, status = EXIT_SUCCESS;

	if (argc > 1 && !strcmp(argv[1], "--"))
		argc--, argv++;
	fd = open(dev_name(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		die_dev(errno, "cannot open");
	if (argc > 1) {
		struct sbuf b = { 0 };

		for (i = 1; i < argc; i++) {
			if (i > 1)
				sb_add(&b, " ", 1);
			sb_puts(&b, argv[i]);
		}
		if (b.oom) {
			fprintf(stderr, "%s: out of memory\n", prog);
			return EXIT_FAILURE;
		}
		if (b.len && log_one(fd, b.p, b.len))
			status = EXIT_FAILURE;
		sb_free(&b);
	} else {
		status = log_stdin(fd);
	}
	close(fd);
	return status;
}

/* ---- tail ---- */

struct tail {
	int output;
	unsigned long long lines;	/* -n; 0: all */
	int use_lines;
	struct sbuf b;
	/* -n: the last N formatted lines, in a circular array */
	char **ring;
	unsigned long long head, count;
};

static void emit(struct tail *t)
{
	if (t->b.oom) {
		fprintf(stderr, "%s: out of memory\n", prog);
		exit(EXIT_FAILURE);
	}
	if (t->ring) {
		unsigned long long i = (t->head + t->count) % t->lines;

		if (t->count == t->lines) {
			free(t->ring[t->head]);
			t->head = (t->head + 1) % t->lines;
			i = (t->head + t->count - 1) % t->lines;
		} else {
			t->count++;
		}
		t->ring[i] = strdup(t->b.p);
		if (!t->ring[i]) {
			fprintf(stderr, "%s: out of memory\n", prog);
			exit(EXIT_FAILURE);
		}
	} else {
		out_write(t->b.p, t->b.len);
	}
	sb_reset(&t->b);
}

static int on_event(void *ctx, const struct evl_event *ev)
{
	struct tail *t = ctx;

	if (t->output == OUT_JSON)
		fmt_json_event(&t->b, ev);
	else if (t->output == OUT_RAW)
		fmt_raw_event(&t->b, ev);
	else
		fmt_short_event(&t->b, ev);
	emit(t);
	return 0;
}

static int on_loss(void *ctx, const struct evl_loss *l)
{
	struct tail *t = ctx;

	if (t->output == OUT_JSON)
		fmt_json_loss(&t->b, l);
	else if (t->output == OUT_RAW)
		fmt_raw_loss(&t->b, l);
	else
		fmt_short_loss(&t->b, l);
	emit(t);
	return 0;
}

static void flush_ring(struct tail *t)
{
	unsigned long long i;

	for (i = 0; i < t->count; i++) {
		char *s = t->ring[(t->head + i) % t->lines];

		out_write(s, strlen(s));
		free(s);
	}
	free(t->ring);
	t->ring = NULL;
	out_flush();
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static int parse_output(const char *s, int stats)
{
	if (!strcmp(s, "short"))
		return OUT_SHORT;
	if (!strcmp(s, "json"))
		return OUT_JSON;
	if (!strcmp(s, "raw") && !stats)
		return OUT_RAW;
	die_usage("unknown output format: '%s'", s);
	return -1;
}

enum { OPT_SINCE = 256, OPT_NEW, OPT_FILTER, OPT_EXCLUDE, OPT_KERNEL,
       OPT_USER, OPT_UID };

static int cmd_tail(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "follow",  no_argument,       NULL, 'f' },
		{ "lines",   required_argument, NULL, 'n' },
		{ "output",  required_argument, NULL, 'o' },
		{ "since",   required_argument, NULL, OPT_SINCE },
		{ "new",     no_argument,       NULL, OPT_NEW },
		{ "filter",  required_argument, NULL, OPT_FILTER },
		{ "exclude", required_argument, NULL, OPT_EXCLUDE },
		{ "kernel",  no_argument,       NULL, OPT_KERNEL },
		{ "user",    no_argument,       NULL, OPT_USER },
		{ "uid",     required_argument, NULL, OPT_UID },
		{ "help",    no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct evl_pattern pat[16];
	struct evl_filter filter = { .sz = sizeof(filter), .patterns = pat };
	struct tail t = { .output = OUT_SHORT };
	struct evl_opts opts = {
		.sz = sizeof(opts), .path = device, .event_cb = on_event,
		.loss_cb = on_loss, .ctx = &t,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	const char *since = NULL;
	uint64_t since_val = 0;
	int since_kind = 0;
	int follow = 0, only_new = 0, c, ret, filtering = 0;
	struct evl_reader *r;
	unsigned long long v;

	while ((c = getopt_long(argc, argv, "+fn:o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'f':
			follow = 1;
			break;
		case 'n':
			if (parse_uint(optarg, 1ULL << 32, &t.lines))
				die_usage("invalid number of lines: '%s'", optarg);
			t.use_lines = 1;
			break;
		case 'o':
			t.output = parse_output(optarg, 0);
			break;
		case OPT_SINCE:
			since = optarg;
			since_kind = evl_parse_since(since, now_ns(), &since_val);
			if (since_kind < 0)
				die_usage("invalid --since: '%s' (a sequence "
					  "number or a time, see --help)", since);
			break;
		case OPT_NEW:
			only_new = 1;
			break;
		case OPT_FILTER:
		case OPT_EXCLUDE: {
			const char *p = optarg;
			unsigned int fl = 0;

			if (c == OPT_EXCLUDE)
				fl = EVL_PATTERN_EXCLUDE;
			else if (*p == '!')
				fl = EVL_PATTERN_EXCLUDE, p++;
			if (!*p || strlen(p) > 256)
				die_usage("invalid pattern: '%s'", optarg);
			if (filter.nr_patterns == 16)
				die_usage("too many patterns (at most 16): '%s'",
					  optarg);
			pat[filter.nr_patterns].prefix = p;
			pat[filter.nr_patterns].len = strlen(p);
			pat[filter.nr_patterns++].flags = fl;
			filtering = 1;
			break;
		}
		case OPT_KERNEL:
			filter.flags |= EVL_FILTER_NO_USER;
			filtering = 1;
			break;
		case OPT_USER:
			filter.flags |= EVL_FILTER_NO_KERNEL;
			filtering = 1;
			break;
		case OPT_UID:
			if (parse_uint(optarg, UINT32_MAX, &v))
				die_usage("invalid uid: '%s'", optarg);
			filter.uid = v;
			filter.flags |= EVL_FILTER_UID;
			filtering = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument: '%s'", argv[optind]);
	if (only_new && (since || t.use_lines))
		die_usage("%s", "--new cannot be combined with --since or -n");
	if ((filter.flags & EVL_FILTER_NO_USER) &&
	    (filter.flags & EVL_FILTER_NO_KERNEL))
		die_usage("%s", "--kernel and --user exclude each other");

	ret = evl_open(&r, &opts);
	if (ret)
		die_dev(ret, "cannot open");
	if (filtering) {
		ret = evl_set_filter(r, &filter);
		if (ret)
			die_dev(ret, "cannot set the filter on");
	}
	if (only_new) {
		ret = evl_seek_end(r);
		if (ret)
			die_dev(ret, "cannot seek");
	} else if (since) {
		ret = since_kind == EVL_SINCE_SEQ ?
		      evl_seek_seq(r, since_val, NULL) :
		      evl_seek_time(r, since_val, NULL);
		if (ret == -ERANGE) {
			fprintf(stderr, "%s: --since %s: no such sequence "
				"number yet\n", prog, since);
			return EXIT_FAILURE;
		}
		if (ret)
			die_dev(ret, "cannot seek");
	}

	if (t.use_lines) {
		if (t.lines == 0) {
			evl_seek_end(r);
		} else {
			t.ring = calloc(t.lines < 65536 ? t.lines : 65536,
					sizeof(char *));
			if (t.lines > 65536) {
				free(t.ring);
				t.ring = calloc(t.lines, sizeof(char *));
			}
			if (!t.ring) {
				fprintf(stderr, "%s: out of memory\n", prog);
				return EXIT_FAILURE;
			}
		}
	}

	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* The history */
	ret = evl_consume(r);
	if (ret < 0)
		die_dev(ret, "cannot read");
	if (t.ring)
		flush_ring(&t);
	out_flush();
	while (follow && !stop) {
		ret = evl_poll(r, -1);
		if (ret == -EINTR)
			continue;
		if (ret < 0)
			die_dev(ret, "cannot read");
		out_flush();
	}
	evl_close(r);
	sb_free(&t.b);
	out_flush();
	return EXIT_SUCCESS;
}

/* ---- stats ---- */

static int cmd_stats(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "help",   no_argument,       NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct evl_opts opts = { .sz = sizeof(opts), .path = device };
	struct evl_device_stats d = { .sz = sizeof(d) };
	struct evl_reader_stats rs = { .sz = sizeof(rs) };
	struct evl_reader *r;
	int output = OUT_SHORT, c, ret;

	while ((c = getopt_long(argc, argv, "+o:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = parse_output(optarg, 1);
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				prog);
			return EXIT_USAGE;
		}
	}
	if (optind < argc)
		die_usage("unexpected argument: '%s'", argv[optind]);
	ret = evl_open(&r, &opts);
	if (ret)
		die_dev(ret, "cannot open");
	ret = evl_device_stats(r, &d);
	if (!ret)
		ret = evl_reader_stats(r, &rs);
	if (ret)
		die_dev(ret, "cannot read the counters of");
	evl_close(r);

	signal(SIGPIPE, SIG_IGN);
#define F(x) (unsigned long long)(x)
	if (output == OUT_JSON) {
		printf("{\"device\":{\"capacity\":%llu,\"used\":%llu,"
		       "\"records\":%llu,\"first_seq\":%llu,\"next_seq\":%llu,"
		       "\"written\":%llu,\"dropped\":%llu,\"readers\":%llu,"
		       "\"reader_bytes\":%llu,\"max_payload\":%llu,"
		       "\"max_record\":%llu},"
		       "\"reader\":{\"seq\":%llu,\"read\":%llu,\"lost\":%llu,"
		       "\"filtered\":%llu}}\n",
		       F(d.capacity), F(d.used), F(d.records), F(d.first_seq),
		       F(d.next_seq), F(d.written), F(d.dropped), F(d.readers),
		       F(d.reader_bytes), F(d.max_payload), F(d.max_record),
		       F(rs.seq), F(rs.read), F(rs.lost), F(rs.filtered));
	} else {
		printf("device %s\n"
		       "  capacity      %llu\n  used          %llu\n"
		       "  records       %llu\n  first_seq     %llu\n"
		       "  next_seq      %llu\n  written       %llu\n"
		       "  dropped       %llu\n  readers       %llu\n"
		       "  reader_bytes  %llu\n  max_payload   %llu\n"
		       "  max_record    %llu\n"
		       "reader\n  seq           %llu\n  read          %llu\n"
		       "  lost          %llu\n  filtered      %llu\n",
		       dev_name(),
		       F(d.capacity), F(d.used), F(d.records), F(d.first_seq),
		       F(d.next_seq), F(d.written), F(d.dropped), F(d.readers),
		       F(d.reader_bytes), F(d.max_payload), F(d.max_record),
		       F(rs.seq), F(rs.read), F(rs.lost), F(rs.filtered));
	}
#undef F
	out_flush();
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "device",  required_argument, NULL, 'd' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *cmd;
	int c;

	device = getenv("EVENTS_DEVICE");
	if (device && !*device)
		device = NULL;
	while ((c = getopt_long(argc, argv, "+d:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'd':
			device = optarg;
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("evctl %s (libevents %s)\n", LIBEVENTS_VERSION,
			       evl_version());
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try '%s --help' for more information.\n",
				prog);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc)
		die_usage("%s", "no command given (log, tail or stats)");
	cmd = argv[optind];
	argc -= optind;
	argv += optind;
	optind = 1;
	if (!strcmp(cmd, "log"))
		return cmd_log(argc, argv);
	if (!strcmp(cmd, "tail"))
		return cmd_tail(argc, argv);
	if (!strcmp(cmd, "stats"))
		return cmd_stats(argc, argv);
	die_usage("unknown command: '%s'", cmd);
	return EXIT_USAGE;
}
