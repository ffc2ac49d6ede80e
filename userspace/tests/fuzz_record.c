// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer target: the binary record parser walking a read buffer, the
 * text line parser, and the JSON rendering of whatever parses.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libevents.h"
#include "format.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sbuf b = { 0 };
	struct evl_event ev;
	struct evl_loss l;
	size_t off = 0, rs;
	unsigned char *msg;
	uint8_t *copy;

	/* A private copy, so ASan sees overreads past the end. */
	copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	while (off < size) {
		int ret = evl_parse_record(copy + off, size - off, &ev, &l, &rs);

		if (ret < 0)
			break;
		if (rs == 0 || rs > size - off)
			abort();
		if (ret == EVL_REC_EVENT) {
			if (ev.data < copy + off || ev.data + ev.len > copy + off + rs)
				abort();
			fmt_json_event(&b, &ev);
			fmt_raw_event(&b, &ev);
		} else {
			fmt_json_loss(&b, &l);
		}
		sb_reset(&b);
		off += rs;
	}
	msg = malloc(size ? size : 1);
	if (evl_parse_line((const char *)copy, size, &ev, &l, msg) ==
	    EVL_REC_EVENT) {
		if (ev.len > size)
			abort();
		fmt_short_event(&b, &ev);
	}
	free(msg);
	free(copy);
	sb_free(&b);
	return 0;
}
