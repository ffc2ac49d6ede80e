/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Per-reader filters: which records a file of /dev/events wants to see.
 */
#ifndef _EVENTS_FILTER_H
#define _EVENTS_FILTER_H

#include <linux/types.h>
#include <linux/uidgid.h>

struct events_filter_args;
struct events_rec;
struct user_namespace;

/**
 * struct events_filter_pattern - one message prefix
 * @prefix:	the bytes, stored in the filter's allocation
 * @len:	how many
 * @exclude:	records that match are dropped rather than kept
 */
struct events_filter_pattern {
	const char *prefix;
	u32 len;
	bool exclude;
};

/**
 * struct events_filter - a validated filter, immutable once built
 * @flags:	EVENTS_FILTER_* bits
 * @uid:	the writer uid to keep, with EVENTS_FILTER_UID
 * @nr_include:	patterns that are not exclude patterns
 * @nr:		entries in @pat
 * @pat:	the patterns
 */
struct events_filter {
	u32 flags;
	kuid_t uid;
	unsigned int nr_include;
	unsigned int nr;
	struct events_filter_pattern pat[];
};

struct events_filter *events_filter_from_user(const struct events_filter_args *args,
					      struct user_namespace *ns);
bool events_filter_match(const struct events_filter *f,
			 const struct events_rec *rec, const char *body);

#endif /* _EVENTS_FILTER_H */
