/* SPDX-License-Identifier: GPL-2.0 */
/*
 * In-kernel API of the events bus (/dev/events): kernel code logs events
 * that every reader of the device sees, marked as kernel-originated.
 */
#ifndef _LINUX_EVENTS_H
#define _LINUX_EVENTS_H

#include <linux/compiler_attributes.h>
#include <linux/types.h>

int events_log(const char *msg, size_t len);
__printf(1, 2) int events_logf(const char *fmt, ...);

#endif /* _LINUX_EVENTS_H */
