// SPDX-License-Identifier: GPL-2.0
/*
 * Per-reader filters. A filter is built once from what user space passed
 * to EVENTS_IOC_SET_FILTER and never changes; a new filter replaces it.
 * Matching is cheap and lock free: it runs for every record appended and
 * dropped while a filter is set, with the ring lock held.
 */

#include <linux/err.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <uapi/linux/events.h>

#include "events_filter.h"
#include "events_ring.h"

#define EVENTS_FILTER_FLAGS \
	(EVENTS_FILTER_UID | EVENTS_FILTER_NO_KERNEL | EVENTS_FILTER_NO_USER)

/**
 * events_filter_from_user() - build a filter from EVENTS_IOC_SET_FILTER
 * @args: the ioctl argument, already copied in
 * @ns: user namespace the uid in @args is in
 *
 * Context: Process context, may sleep.
 * Return: the filter (kfree() it), NULL for "no filter", or an ERR_PTR():
 * -EINVAL for bad flags, counts, lengths or uid, -EFAULT for bad pointers,
 * -ENOMEM.
 */
struct events_filter *events_filter_from_user(const struct events_filter_args *args,
					      struct user_namespace *ns)
{
	struct events_pattern pats[EVENTS_FILTER_PATTERNS_MAX];
	const struct events_pattern __user *upats;
	struct events_filter *f;
	size_t size, bytes = 0;
	unsigned int i;
	char *p;

	if (args->flags & ~EVENTS_FILTER_FLAGS)
		return ERR_PTR(-EINVAL);
	if ((args->flags & EVENTS_FILTER_NO_KERNEL) &&
	    (args->flags & EVENTS_FILTER_NO_USER))
		return ERR_PTR(-EINVAL);
	if (!(args->flags & EVENTS_FILTER_UID) && args->uid)
		return ERR_PTR(-EINVAL);
	if (args->nr_patterns > EVENTS_FILTER_PATTERNS_MAX)
		return ERR_PTR(-EINVAL);
	if (!args->nr_patterns && args->patterns)
		return ERR_PTR(-EINVAL);
	if (!args->flags && !args->nr_patterns)
		return NULL;

	upats = u64_to_user_ptr(args->patterns);
	if (copy_from_user(pats, upats, args->nr_patterns * sizeof(pats[0])))
		return ERR_PTR(-EFAULT);
	for (i = 0; i < args->nr_patterns; i++) {
		if (!pats[i].len || pats[i].len > EVENTS_PATTERN_LEN_MAX ||
		    (pats[i].flags & ~EVENTS_PATTERN_EXCLUDE))
			return ERR_PTR(-EINVAL);
		bytes += pats[i].len;
	}

	size = struct_size(f, pat, args->nr_patterns) + bytes;
	f = kzalloc(size, GFP_KERNEL);
	if (!f)
		return ERR_PTR(-ENOMEM);
	f->flags = args->flags;
	if (args->flags & EVENTS_FILTER_UID) {
		f->uid = make_kuid(ns, args->uid);
		if (!uid_valid(f->uid))
			goto err_inval;
	}
	p = (char *)&f->pat[args->nr_patterns];
	for (i = 0; i < args->nr_patterns; i++) {
		if (copy_from_user(p, u64_to_user_ptr(pats[i].prefix),
				   pats[i].len)) {
			kfree(f);
			return ERR_PTR(-EFAULT);
		}
		f->pat[i].prefix = p;
		f->pat[i].len = pats[i].len;
		f->pat[i].exclude = pats[i].flags & EVENTS_PATTERN_EXCLUDE;
		if (!f->pat[i].exclude)
			f->nr_include++;
		p += pats[i].len;
	}
	f->nr = args->nr_patterns;
	return f;

err_inval:
	kfree(f);
	return ERR_PTR(-EINVAL);
}

/**
 * events_filter_match() - whether a record passes a filter
 * @f: the filter, or NULL for none
 * @rec: the record's header
 * @body: the record's comm, followed by its payload
 *
 * Context: Any context.
 * Return: true if the reader with filter @f wants @rec.
 */
bool events_filter_match(const struct events_filter *f,
			 const struct events_rec *rec, const char *body)
{
	bool kernel = rec->flags & EVENTS_REC_KERNEL;
	bool included;
	unsigned int i;

	if (!f)
		return true;
	if (kernel ? f->flags & EVENTS_FILTER_NO_KERNEL :
		     f->flags & EVENTS_FILTER_NO_USER)
		return false;
	if ((f->flags & EVENTS_FILTER_UID) && rec->uid != __kuid_val(f->uid))
		return false;

	included = !f->nr_include;
	for (i = 0; i < f->nr; i++) {
		const struct events_filter_pattern *pat = &f->pat[i];

		if (rec->len < pat->len ||
		    memcmp(body + rec->comm_len, pat->prefix, pat->len))
			continue;
		if (pat->exclude)
			return false;
		included = true;
	}
	return included;
}
