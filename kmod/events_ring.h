/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The events ring: a byte ring of variable-size records that drops the
 * oldest records to make room. It knows nothing about files or readers;
 * readers keep their own (sequence, position) cursor and validate it
 * against the ring, either under the ring lock or, without it, by checking
 * after the fact that the records they read were not dropped meanwhile.
 */
#ifndef _EVENTS_RING_H
#define _EVENTS_RING_H

#include <linux/atomic.h>
#include <linux/math.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>

#define EVENTS_COMM_LEN		16

/* events_rec.flags */
#define EVENTS_REC_KERNEL	0x01	/* logged through events_log() */

/**
 * struct events_rec - a record header as it is stored in the ring
 * @len:	payload length in bytes
 * @comm_len:	length of the writer's comm, stored right after the header
 * @flags:	EVENTS_REC_* bits
 * @reserved:	always zero
 * @pid:	writer's tgid in the initial pid namespace, 0 from irq context
 * @uid:	writer's kuid value, 0 from irq context
 * @ts_real:	CLOCK_REALTIME in ns when the record was logged
 * @ts_boot:	CLOCK_BOOTTIME in ns when the record was logged
 *
 * The comm bytes and then the payload follow the header; the whole record
 * is padded to 8 bytes. Sequence numbers are not stored: the records in
 * the ring are consecutive, so a record's number is the number of the
 * oldest record plus its index.
 */
struct events_rec {
	u32 len;
	u8 comm_len;
	u8 flags;
	u16 reserved;
	u32 pid;
	u32 uid;
	u64 ts_real;
	u64 ts_boot;
};

struct events_ring;

/**
 * struct events_ring_hooks - calls made under the ring lock
 * @append: a record with sequence number @seq was just stored at @rec
 * @drop: the record @rec with sequence number @seq is about to be dropped
 *
 * Both run with interrupts off, in the context of whoever appends. The
 * owner of the ring sets @hooks and @hooks_data under the ring lock.
 */
struct events_ring_hooks {
	void (*append)(struct events_ring *ring, const struct events_rec *rec,
		       u64 seq);
	void (*drop)(struct events_ring *ring, const struct events_rec *rec,
		     u64 seq);
};

/**
 * struct events_ring_mem - the memory behind a ring
 * @data:	@size bytes mapped twice in a row, so that a record that
 *		wraps around the end is still contiguous in memory
 * @size:	capacity in bytes, a power of two
 * @pages:	the pages behind @data
 * @nr_pages:	number of entries in @pages
 *
 * Replaced as a whole by a resize, and freed only after an RCU grace
 * period, so that a reader without the ring lock never sees it go.
 */
struct events_ring_mem {
	void *data;
	u32 size;
	struct page **pages;
	unsigned int nr_pages;
};

/**
 * struct events_ring - the record ring
 * @lock:	serializes writers, and readers that take it against writers
 * @head:	logical byte position of the oldest record
 * @tail:	logical byte position where the next record goes
 * @head_seq:	sequence number of the record at @head
 * @next_seq:	sequence number the next record gets
 * @dropped:	records dropped since init, to make room or by a clear
 * @first_seq:	sequence number of the first record since init
 * @hooks:	calls made on append and drop, or NULL
 * @hooks_data:	for @hooks
 * @mem:	the records' memory
 *
 * Positions are logical byte offsets that only grow; the offset in the
 * memory is the position modulo its size. @head, @tail, @dropped, @hooks
 * and @mem are changed under @lock. @tail, @head_seq and @next_seq are
 * written only under @lock and may be read without it as a hint (poll,
 * wait conditions, buffer sizing). Readers may also read records without
 * the lock, through events_ring_read_begin() and events_ring_read_end(),
 * which tell them whether what they read was intact.
 */
struct events_ring {
	raw_spinlock_t lock;
	u64 head;
	u64 tail;
	atomic64_t head_seq;
	atomic64_t next_seq;
	u64 dropped;
	u64 first_seq;
	const struct events_ring_hooks *hooks;
	void *hooks_data;
	struct events_ring_mem __rcu *mem;
};

/**
 * struct events_ring_snap - what a lockless reader of the ring sees
 * @mem:	the ring's memory
 * @head_seq:	the oldest record then
 * @next_seq:	the number the next record was to get: every record below
 *		it is complete in @mem
 */
struct events_ring_snap {
	const struct events_ring_mem *mem;
	u64 head_seq;
	u64 next_seq;
};

/**
 * events_rec_size() - bytes a record takes in the ring
 * @comm_len: length of the stored comm
 * @len: payload length
 *
 * Return: header, comm and payload rounded up to 8 bytes.
 */
static inline u32 events_rec_size(u32 comm_len, u32 len)
{
	return round_up(sizeof(struct events_rec) + comm_len + len, 8);
}

static inline const char *events_rec_comm(const struct events_rec *rec)
{
	return (const char *)(rec + 1);
}

static inline const char *events_rec_payload(const struct events_rec *rec)
{
	return events_rec_comm(rec) + rec->comm_len;
}

/**
 * events_ring_mem() - the ring's memory, for a holder of the ring lock
 * @ring: the ring
 *
 * Context: Caller holds @ring->lock.
 */
static inline struct events_ring_mem *events_ring_mem(struct events_ring *ring)
{
	return rcu_dereference_protected(ring->mem,
					 lockdep_is_held(&ring->lock));
}

static inline void *events_mem_at(const struct events_ring_mem *mem, u64 pos)
{
	return mem->data + (pos & (mem->size - 1));
}

/**
 * events_ring_at() - the record stored at a position
 * @ring: the ring
 * @pos: a logical position between @ring->head and @ring->tail
 *
 * Context: Caller holds @ring->lock.
 * Return: the record header, contiguous with its comm and payload.
 */
static inline const struct events_rec *
events_ring_at(struct events_ring *ring, u64 pos)
{
	return events_mem_at(events_ring_mem(ring), pos);
}

int events_ring_init(struct events_ring *ring, u32 size, u64 first_seq);
void events_ring_free(struct events_ring *ring);
u64 events_ring_append_locked(struct events_ring *ring,
			      const struct events_rec *hdr, const char *comm,
			      const void *payload);
u64 events_ring_append(struct events_ring *ring, const struct events_rec *hdr,
		       const char *comm, const void *payload);
u64 events_ring_clear(struct events_ring *ring);
int events_ring_resize(struct events_ring *ring, u32 size);
void events_ring_read_begin(struct events_ring *ring,
			    struct events_ring_snap *snap) __acquires(RCU);
const char *events_ring_peek(const struct events_ring_snap *snap, u64 pos,
			     struct events_rec *hdr);
bool events_ring_read_end(struct events_ring *ring, u64 seq) __releases(RCU);

#endif /* _EVENTS_RING_H */
