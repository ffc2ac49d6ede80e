// SPDX-License-Identifier: GPL-2.0
/*
 * evwatch - follow /dev/events from a poll(2) loop.
 *
 * The smallest correct event-loop client: a non-blocking descriptor,
 * poll() with a timeout, drain until EAGAIN, loss notices passed through
 * and counted. It prints the device's text lines unchanged.
 */

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EVWATCH_VERSION	"0.1"
#define EVWATCH_BUFSIZE	(64 * 1024)

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static void usage(FILE *out)
{
	fputs("\nUsage:\n"
	      " evwatch [options] [device]\n"
	      "\nFollow an events device from a poll loop and print its lines.\n"
	      "\nOptions:\n"
	      " -n, --new            only events logged from now on\n"
	      " -t, --timeout <ms>   exit after <ms> without events (default: never)\n"
	      " -h, --help           display this help\n"
	      " -V, --version        display version\n"
	      "\nThe device defaults to /dev/events.\n", out);
}

/* Print what one read returned; count loss notices (origin field "l"). */
static void emit(const char *buf, size_t len, unsigned long long *losses)
{
	const char *line = buf, *end = buf + len;

	while (line < end) {
		const char *nl = memchr(line, '\n', end - line);
		const char *f = line;
		int field;

		if (!nl)
			nl = end - 1;
		for (field = 0; field < 2 && f; field++) {
			f = memchr(f, ',', nl - f);
			if (f)
				f++;
		}
		if (f && f[0] == 'l' && f[1] == ',')
			(*losses)++;
		line = nl + 1;
	}
	if (fwrite(buf, 1, len, stdout) != len)
		err(EXIT_FAILURE, "write error");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "new",     no_argument,       NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help",    no_argument,       NULL, 'h' },
		{ "version", no_argument,       NULL, 'V' },
		{ NULL, 0, NULL, 0 }
	};
	const char *dev = "/dev/events";
	unsigned long long losses = 0;
	int timeout = -1, only_new = 0, c, fd;
	static char buf[EVWATCH_BUFSIZE];
	struct sigaction sa = { .sa_handler = on_signal };
	struct pollfd pfd;
	char *end;

	while ((c = getopt_long(argc, argv, "nt:hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			only_new = 1;
			break;
		case 't':
			errno = 0;
			timeout = strtol(optarg, &end, 10);
			if (errno || *end || timeout < 0)
				errx(EXIT_FAILURE, "invalid timeout: '%s'", optarg);
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		case 'V':
			printf("evwatch %s\n", EVWATCH_VERSION);
			return EXIT_SUCCESS;
		default:
			fprintf(stderr, "Try 'evwatch --help' for more information.\n");
			return EXIT_FAILURE;
		}
	}
	if (optind < argc)
		dev = argv[optind++];
	if (optind < argc) {
		warnx("bad usage");
		fprintf(stderr, "Try 'evwatch --help' for more information.\n");
		return EXIT_FAILURE;
	}

	fd = open(dev, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			errx(EXIT_FAILURE, "no %s: is the events module loaded?", dev);
		err(EXIT_FAILURE, "cannot open %s", dev);
	}
	if (only_new && lseek(fd, 0, SEEK_END) < 0)
		err(EXIT_FAILURE, "cannot seek %s", dev);

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setlinebuf(stdout);

	pfd.fd = fd;
	pfd.events = POLLIN | POLLPRI;
	while (!stop) {
		int n = poll(&pfd, 1, timeout);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			err(EXIT_FAILURE, "poll");
		}
		if (n == 0)
			break;
		for (;;) {
			ssize_t len = read(fd, buf, sizeof(buf));

			if (len < 0) {
				if (errno == EAGAIN || errno == EINTR)
					break;
				err(EXIT_FAILURE, "read %s", dev);
			}
			if (len == 0)
				break;
			emit(buf, len, &losses);
		}
	}
	close(fd);
	if (losses)
		fprintf(stderr, "evwatch: %llu loss notices\n", losses);
	return EXIT_SUCCESS;
}
