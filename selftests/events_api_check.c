// SPDX-License-Identifier: GPL-2.0
/*
 * events_api_check.c - check the in-kernel events_log() API under load
 *
 *   events_api_check [-n count] [-w writers] -- command [args...]
 *
 * Opens a live reader, starts user-space writers that write continuously,
 * runs the command (typically "insmod events_api_test.ko count=N"), stops
 * the writers and then checks the stream: count 'k' records per context
 * with messages "api hardirq <i>", "api softirq <i>", "api process <i>",
 * i in order per context without gaps or duplicates, interleaved with user
 * records that are all intact, and no loss at all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kselftest.h"
#include "events_util.h"

#define MAX_WRITERS	8
#define NCTX		3

static const char *const ctx_name[NCTX] = { "hardirq", "softirq", "process" };

struct writer {
	pthread_t th;
	int k;
	int fd;
	atomic_long written;
	char err[EV_ERR_MAX];
};

static char prefix[96];		/* "apiu <marker> " */
static atomic_int stop;

/* A compact copy of a record, kept for the checks after the run. */
struct rec {
	uint64_t seq;
	char origin;
	int64_t pid;
	int64_t uid;
	char comm[EV_COMM_MAX];
	char *msg;		/* decoded */
};

struct reader {
	pthread_t th;
	int fd;
	struct rec *recs;
	size_t nrecs, cap;
	struct ev_stream s;
	bool saw_end;
	int64_t deadline;
	char err[2 * EV_ERR_MAX];
};

static void *writer_fn(void *arg)
{
	struct writer *w = arg;
	struct timespec ts = { 0, 500000 };	/* bounded rate: no loss */
	char msg[256];
	long n;

	for (n = 0; !atomic_load(&stop); n++) {
		int l = snprintf(msg, sizeof(msg), "%sw%d n%ld ", prefix, w->k, n);
		size_t pad = (n * 11 + w->k) % 64;
		ssize_t ret;

		memset(msg + l, 'A' + w->k, pad);
		ret = write(w->fd, msg, l + pad);
		if (ret != (ssize_t)(l + pad)) {
			snprintf(w->err, sizeof(w->err), "write n%ld: %zd %s",
				 n, ret, strerror(errno));
			break;
		}
		atomic_fetch_add(&w->written, 1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static void *reader_fn(void *arg)
{
	struct reader *rd = arg;
	struct ev_reader r;
	const char *l;
	size_t n;
	uint64_t mp;
	char end[128];

	snprintf(end, sizeof(end), "%send", prefix);
	if (ev_param("max_payload", &mp))
		mp = 65536;
	if (evr_init(&r, rd->fd, 4 * mp + 4096 < 65536 ? 65536 : 4 * mp + 4096)) {
		snprintf(rd->err, sizeof(rd->err), "no memory");
		return NULL;
	}
	while (!rd->saw_end) {
		struct ev_rec e;
		char why[EV_ERR_MAX];
		int ret = evr_next(&r, 500, &l, &n);

		if (ret < 0) {
			snprintf(rd->err, sizeof(rd->err), "read: %s",
				 strerror(errno));
			break;
		}
		if (ret == 0) {
			if (ev_now_ms() > rd->deadline) {
				snprintf(rd->err, sizeof(rd->err),
					 "no end marker before the deadline");
				break;
			}
			continue;
		}
		if (ev_parse(l, n, &e, why, sizeof(why))) {
			snprintf(rd->err, sizeof(rd->err), "'%.*s': %s",
				 (int)(n > 100 ? 100 : n - 1), l, why);
			break;
		}
		if (evs_feed(&rd->s, &e)) {
			snprintf(rd->err, sizeof(rd->err), "%s", rd->s.err);
			ev_rec_free(&e);
			break;
		}
		if (e.origin != 'l') {
			struct rec *c;

			if (rd->nrecs == rd->cap) {
				rd->cap = rd->cap ? 2 * rd->cap : 4096;
				rd->recs = realloc(rd->recs,
						   rd->cap * sizeof(*rd->recs));
				if (!rd->recs) {
					snprintf(rd->err, sizeof(rd->err),
						 "no memory");
					ev_rec_free(&e);
					break;
				}
			}
			c = &rd->recs[rd->nrecs++];
			c->seq = e.seq;
			c->origin = e.origin;
			c->pid = e.pid;
			c->uid = e.uid;
			memcpy(c->comm, e.comm, sizeof(c->comm));
			c->msg = e.msg;		/* keep the decoded message */
			e.msg = NULL;
			rd->saw_end = ev_msg_is(&e, end);
		}
		ev_rec_free(&e);
	}
	evr_free(&r);
	return NULL;
}

/* "api <ctx> <i>": returns the context index and sets i, or -1. */
static int parse_api(const char *m, long *i)
{
	int c;

	if (strncmp(m, "api ", 4))
		return -1;
	for (c = 0; c < NCTX; c++) {
		size_t l = strlen(ctx_name[c]);
		const char *p = m + 4 + l + 1;
		char *end;

		if (strncmp(m + 4, ctx_name[c], l) || m[4 + l] != ' ')
			continue;
		if (*p < '0' || *p > '9' || (p[0] == '0' && p[1]))
			return -2;
		errno = 0;
		*i = strtol(p, &end, 10);
		if (errno || *end)
			return -2;
		return c;
	}
	return -2;
}

static void usage(const char *prog)
{
	fprintf(stderr, "usage: %s [-n count] [-w writers] -- command [args...]\n",
		prog);
	exit(KSFT_FAIL);
}

int main(int argc, char **argv)
{
	struct writer w[MAX_WRITERS] = { 0 };
	struct reader rd = { 0 };
	long count = 1000, next[NCTX] = { 0 }, wnext[MAX_WRITERS] = { 0 };
	long first_k = -1, last_k = -1, user_between = 0, bad_user = 0;
	long bad_k[NCTX] = { 0 }, bad_irq_fields[NCTX] = { 0 }, other_k = 0;
	long written = 2;	/* begin and end */
	int nw = 2, opt, status, k, c;
	char marker[64], msg[128];
	struct timespec ts;
	size_t i;
	pid_t pid;

	while ((opt = getopt(argc, argv, "n:w:")) != -1) {
		switch (opt) {
		case 'n':
			count = atol(optarg);
			break;
		case 'w':
			nw = atoi(optarg);
			break;
		default:
			usage(argv[0]);
		}
	}
	if (optind >= argc || count <= 0 || nw < 1 || nw > MAX_WRITERS)
		usage(argv[0]);

	ksft_print_header();
	rd.fd = open(EV_DEV, O_RDONLY | O_CLOEXEC);
	if (rd.fd < 0 && errno == ENOENT)
		ksft_exit_skip(EV_DEV " missing; module not loaded?\n");
	if (rd.fd < 0)
		ksft_exit_fail_msg("open " EV_DEV ": %s\n", strerror(errno));
	if (lseek(rd.fd, 0, SEEK_END) != 0)
		ksft_exit_fail_msg("lseek: %s\n", strerror(errno));
	ksft_set_plan(6);

	ev_marker(marker, sizeof(marker), "api");
	snprintf(prefix, sizeof(prefix), "apiu %s ", marker);
	rd.deadline = ev_now_ms() + 240000;
	if (pthread_create(&rd.th, NULL, reader_fn, &rd))
		ksft_exit_fail_msg("pthread_create\n");

	for (k = 0; k < nw; k++) {
		w[k].k = k;
		w[k].fd = open(EV_DEV, O_WRONLY | O_CLOEXEC);
		if (w[k].fd < 0)
			ksft_exit_fail_msg("open writer: %s\n", strerror(errno));
	}
	snprintf(msg, sizeof(msg), "%sbegin", prefix);
	if (ev_write_str(w[0].fd, msg) != (long)strlen(msg))
		ksft_exit_fail_msg("write begin: %s\n", strerror(errno));
	for (k = 0; k < nw; k++)
		if (pthread_create(&w[k].th, NULL, writer_fn, &w[k]))
			ksft_exit_fail_msg("pthread_create\n");
	/* Writers are busy before the command starts... */
	for (k = 0; k < nw; k++)
		while (atomic_load(&w[k].written) < 10 && !w[k].err[0])
			usleep(1000);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		execvp(argv[optind], argv + optind);
		perror("execvp");
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		ksft_exit_fail_msg("running the command failed\n");

	/* ...and after it returns. */
	for (k = 0; k < nw; k++) {
		long base = atomic_load(&w[k].written);

		while (atomic_load(&w[k].written) < base + 10 && !w[k].err[0])
			usleep(1000);
	}
	atomic_store(&stop, 1);
	for (k = 0; k < nw; k++) {
		pthread_join(w[k].th, NULL);
		written += atomic_load(&w[k].written);
	}
	snprintf(msg, sizeof(msg), "%send", prefix);
	if (ev_write_str(w[0].fd, msg) != (long)strlen(msg))
		ksft_exit_fail_msg("write end: %s\n", strerror(errno));
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 240;
	if (pthread_timedjoin_np(rd.th, NULL, &ts))
		ksft_exit_fail_msg("reader stuck\n");

	ksft_test_result(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "api_command_succeeds\n");
	if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		ksft_print_msg("command '%s' ended with status 0x%x\n",
			       argv[optind], status);

	if (rd.err[0])
		ksft_print_msg("reader: %s\n", rd.err);
	ksft_test_result(!rd.err[0] && rd.saw_end && !rd.s.loss_lines,
			 "api_stream_complete_no_loss\n");
	ksft_print_msg("%zu records, %llu lost\n", rd.nrecs,
		       (unsigned long long)rd.s.lost);

	for (i = 0; i < rd.nrecs; i++) {
		struct rec *r = &rd.recs[i];
		long n;

		if (r->origin == 'k') {
			c = parse_api(r->msg, &n);
			if (c == -1) {
				other_k++;	/* some other kernel user */
				continue;
			}
			if (c < 0) {
				ksft_print_msg("malformed api record %llu: '%s'\n",
					       (unsigned long long)r->seq, r->msg);
				bad_k[0]++;
				continue;
			}
			if (first_k < 0)
				first_k = i;
			last_k = i;
			if (n != next[c]) {
				if (bad_k[c]++ < 5)
					ksft_print_msg("%s: got %ld, expected %ld (seq %llu)\n",
						       ctx_name[c], n, next[c],
						       (unsigned long long)r->seq);
				next[c] = n;
			}
			next[c]++;
			if (c != 2 && (r->pid != 0 || r->uid != 0 ||
				       strcmp(r->comm, "-"))) {
				if (bad_irq_fields[c]++ < 3)
					ksft_print_msg("%s record with pid %lld uid %lld comm '%s'\n",
						       ctx_name[c], (long long)r->pid,
						       (long long)r->uid, r->comm);
			}
			if (c == 2 && (r->pid <= 0 || r->uid != 0 ||
				       !strcmp(r->comm, "-"))) {
				if (bad_irq_fields[c]++ < 3)
					ksft_print_msg("process record with pid %lld uid %lld comm '%s'\n",
						       (long long)r->pid,
						       (long long)r->uid, r->comm);
			}
			continue;
		}
		if (strncmp(r->msg, prefix, strlen(prefix))) {
			if (!strncmp(r->msg, "api ", 4)) {
				ksft_print_msg("api message with origin '%c': '%s'\n",
					       r->origin, r->msg);
				bad_k[0]++;
			}
			continue;
		}
		{
			const char *m = r->msg + strlen(prefix);
			int used = 0;
			size_t pad, j;

			if (!strcmp(m, "begin") || !strcmp(m, "end"))
				continue;
			if (first_k >= 0)
				user_between++;
			if (sscanf(m, "w%d n%ld %n", &k, &n, &used) != 2 ||
			    !used || k < 0 || k >= nw || n != wnext[k] ||
			    r->pid != getpid()) {
				if (bad_user++ < 5)
					ksft_print_msg("bad user record %llu: '%s'\n",
						       (unsigned long long)r->seq, r->msg);
				continue;
			}
			pad = (n * 11 + k) % 64;
			for (j = 0; j < pad; j++)
				if (m[used + j] != 'A' + k)
					break;
			if (j != pad || m[used + pad]) {
				if (bad_user++ < 5)
					ksft_print_msg("torn user record %llu: '%s'\n",
						       (unsigned long long)r->seq, r->msg);
			}
			wnext[k]++;
		}
	}
	/* User records after the last kernel record do not count as between. */
	if (last_k >= 0)
		for (i = last_k + 1; i < rd.nrecs; i++)
			if (rd.recs[i].origin == 'u' &&
			    !strncmp(rd.recs[i].msg, prefix, strlen(prefix)))
				user_between--;

	for (c = 0; c < NCTX; c++) {
		if (next[c] != count)
			ksft_print_msg("%s: %ld records, expected %ld\n",
				       ctx_name[c], next[c], count);
		ksft_test_result(next[c] == count && !bad_k[c] &&
				 !bad_irq_fields[c], "api_%s_records\n",
				 ctx_name[c]);
	}
	for (k = 0; k < nw; k++) {
		if (w[k].err[0]) {
			ksft_print_msg("writer %d: %s\n", k, w[k].err);
			bad_user++;
		}
		if (wnext[k] != atomic_load(&w[k].written)) {
			ksft_print_msg("writer %d: %ld of %ld records seen\n", k,
				       wnext[k], atomic_load(&w[k].written));
			bad_user++;
		}
	}
	ksft_print_msg("%ld user records written, %ld between the first and last api record, %ld other kernel records\n",
		       written, user_between, other_k);
	ksft_test_result(!bad_user && written > 2, "api_user_records_intact\n");
	ksft_finished();
}
