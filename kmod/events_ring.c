// SPDX-License-Identifier: GPL-2.0
/*
 * The events ring: variable-size records in one byte ring, oldest dropped
 * first. See events_ring.h for the layout.
 */

#include <linux/gfp.h>
#include <linux/kcsan-checks.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "events_ring.h"

static void events_ring_mem_free(struct events_ring_mem *mem)
{
	if (!mem)
		return;
	vunmap(mem->data);
	while (mem->nr_pages)
		__free_page(mem->pages[--mem->nr_pages]);
	kvfree(mem->pages);
	kfree(mem);
}

/*
 * The data pages are mapped twice back to back (as kernel/bpf/ringbuf.c
 * does), so a record that wraps around the end of the ring reads and
 * writes as one block.
 */
static struct events_ring_mem *events_ring_mem_alloc(u32 size)
{
	unsigned int i, nr = size >> PAGE_SHIFT;
	struct events_ring_mem *mem;
	struct page **map;

	mem = kzalloc(sizeof(*mem), GFP_KERNEL);
	if (!mem)
		return NULL;
	mem->size = size;
	mem->pages = kvcalloc(nr, sizeof(*mem->pages), GFP_KERNEL);
	map = kvcalloc(2 * nr, sizeof(*map), GFP_KERNEL);
	if (!mem->pages || !map)
		goto err;

	for (; mem->nr_pages < nr; mem->nr_pages++) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO |
					       __GFP_NOWARN);

		if (!page)
			goto err;
		mem->pages[mem->nr_pages] = page;
	}
	for (i = 0; i < 2 * nr; i++)
		map[i] = mem->pages[i % nr];

	mem->data = vmap(map, 2 * nr, VM_MAP, PAGE_KERNEL);
	if (!mem->data)
		goto err;
	kvfree(map);
	return mem;

err:
	kvfree(map);
	events_ring_mem_free(mem);
	return NULL;
}

static bool events_ring_size_ok(u32 size)
{
	return size >= PAGE_SIZE && is_power_of_2(size);
}

/**
 * events_ring_init() - allocate and map a ring
 * @ring: the ring to set up
 * @size: capacity in bytes: a power of two, at least PAGE_SIZE
 * @first_seq: sequence number of the first record
 *
 * All memory is allocated here; appending never allocates.
 *
 * Context: Process context, may sleep.
 * Return: 0, -EINVAL for a bad @size, or -ENOMEM.
 */
int events_ring_init(struct events_ring *ring, u32 size, u64 first_seq)
{
	struct events_ring_mem *mem;

	if (!events_ring_size_ok(size))
		return -EINVAL;
	mem = events_ring_mem_alloc(size);
	if (!mem)
		return -ENOMEM;

	raw_spin_lock_init(&ring->lock);
	RCU_INIT_POINTER(ring->mem, mem);
	ring->head = 0;
	ring->tail = 0;
	ring->dropped = 0;
	ring->first_seq = first_seq;
	ring->hooks = NULL;
	ring->hooks_data = NULL;
	atomic64_set(&ring->head_seq, first_seq);
	atomic64_set(&ring->next_seq, first_seq);
	return 0;
}

/**
 * events_ring_free() - release everything events_ring_init() allocated
 * @ring: the ring
 *
 * Context: Process context; nobody may use @ring any more.
 */
void events_ring_free(struct events_ring *ring)
{
	events_ring_mem_free(rcu_replace_pointer(ring->mem, NULL, true));
}

/* Drop the oldest record. */
static void events_ring_drop(struct events_ring *ring)
{
	const struct events_rec *old = events_ring_at(ring, ring->head);
	u64 seq = atomic64_read(&ring->head_seq);

	lockdep_assert_held(&ring->lock);
	if (ring->hooks)
		ring->hooks->drop(ring, old, seq);
	ring->head += events_rec_size(old->comm_len, old->len);
	atomic64_set(&ring->head_seq, seq + 1);
	ring->dropped++;
}

/* Drop the oldest records until @need more bytes fit in @size. */
static void events_ring_make_room(struct events_ring *ring, u32 size,
				  u32 need)
{
	lockdep_assert_held(&ring->lock);

	while (ring->tail - ring->head + need > size)
		events_ring_drop(ring);
}

/* The body of both append functions, so that neither calls the other. */
static __always_inline u64 __events_ring_append(struct events_ring *ring,
						const struct events_rec *hdr,
						const char *comm,
						const void *payload)
{
	struct events_ring_mem *mem = events_ring_mem(ring);
	u32 size = events_rec_size(hdr->comm_len, hdr->len);
	struct events_rec *rec;
	u64 seq;
	char *p;

	events_ring_make_room(ring, mem->size, size);
	/*
	 * Lockless readers check head_seq after they copied a record: the
	 * drops above must be visible before the stores below overwrite
	 * what was dropped. Pairs with smp_rmb() in events_ring_read_end().
	 */
	smp_wmb();

	rec = events_mem_at(mem, ring->tail);
	*rec = *hdr;
	rec->reserved = 0;
	p = (char *)(rec + 1);
	memcpy(p, comm, hdr->comm_len);
	p += hdr->comm_len;
	memcpy(p, payload, hdr->len);
	p += hdr->len;
	memset(p, 0, (char *)rec + size - p);

	seq = atomic64_read(&ring->next_seq);
	if (ring->hooks)
		ring->hooks->append(ring, rec, seq);
	WRITE_ONCE(ring->tail, ring->tail + size);
	/* Publishes the record; pairs with events_ring_read_begin(). */
	atomic64_set_release(&ring->next_seq, seq + 1);
	return seq;
}

/**
 * events_ring_append_locked() - add one record, dropping the oldest as needed
 * @ring: the ring
 * @hdr: the header to store; @hdr->len and @hdr->comm_len give the sizes
 * @comm: @hdr->comm_len bytes of writer name
 * @payload: @hdr->len bytes of payload
 *
 * The caller guarantees that events_rec_size() of the record does not
 * exceed the ring's size. Never sleeps and never allocates.
 *
 * Context: Caller holds @ring->lock with interrupts off.
 * Return: the sequence number given to the record.
 */
u64 events_ring_append_locked(struct events_ring *ring,
			      const struct events_rec *hdr, const char *comm,
			      const void *payload)
{
	return __events_ring_append(ring, hdr, comm, payload);
}

/**
 * events_ring_append() - add one record, dropping the oldest as needed
 * @ring: the ring
 * @hdr: the header to store; @hdr->len and @hdr->comm_len give the sizes
 * @comm: @hdr->comm_len bytes of writer name
 * @payload: @hdr->len bytes of payload
 *
 * As events_ring_append_locked(), taking the ring lock.
 *
 * Context: Any context but NMI. Takes @ring->lock with interrupts off.
 * Return: the sequence number given to the record.
 */
u64 events_ring_append(struct events_ring *ring, const struct events_rec *hdr,
		       const char *comm, const void *payload)
{
	unsigned long flags;
	u64 seq;

	raw_spin_lock_irqsave(&ring->lock, flags);
	seq = __events_ring_append(ring, hdr, comm, payload);
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	return seq;
}

/**
 * events_ring_clear() - drop every record
 * @ring: the ring
 *
 * Sequence numbers go on from where they were.
 *
 * Context: Any context but NMI. Takes @ring->lock with interrupts off.
 * Return: the number of records dropped.
 */
u64 events_ring_clear(struct events_ring *ring)
{
	unsigned long flags;
	u64 n;

	raw_spin_lock_irqsave(&ring->lock, flags);
	n = atomic64_read(&ring->next_seq) - atomic64_read(&ring->head_seq);
	if (ring->hooks) {
		while (ring->head != ring->tail)
			events_ring_drop(ring);
	} else {
		ring->head = ring->tail;
		atomic64_set(&ring->head_seq, atomic64_read(&ring->next_seq));
		ring->dropped += n;
	}
	raw_spin_unlock_irqrestore(&ring->lock, flags);
	return n;
}

/**
 * events_ring_resize() - give a ring a new capacity
 * @ring: the ring
 * @size: the new capacity: a power of two, at least PAGE_SIZE, and able to
 *	  hold the largest record the caller appends
 *
 * Keeps the newest records that fit in @size and drops the older ones.
 * Positions and sequence numbers of the records kept do not change: they
 * are copied to the same logical positions in the new memory, so cursors
 * into the ring stay valid. The copy is done under the ring lock.
 *
 * Context: Process context, may sleep. The caller serializes resizes.
 * Return: 0, -EINVAL for a bad @size, or -ENOMEM.
 */
int events_ring_resize(struct events_ring *ring, u32 size)
{
	struct events_ring_mem *old, *mem;
	unsigned long flags;

	if (!events_ring_size_ok(size))
		return -EINVAL;
	mem = events_ring_mem_alloc(size);
	if (!mem)
		return -ENOMEM;

	raw_spin_lock_irqsave(&ring->lock, flags);
	old = events_ring_mem(ring);
	events_ring_make_room(ring, size, 0);
	memcpy(events_mem_at(mem, ring->head), events_mem_at(old, ring->head),
	       ring->tail - ring->head);
	rcu_assign_pointer(ring->mem, mem);
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	/* Lockless readers may still be reading the old copy. */
	synchronize_rcu();
	events_ring_mem_free(old);
	return 0;
}

/**
 * events_ring_read_begin() - start reading records without the ring lock
 * @ring: the ring
 * @snap: filled with the ring's memory and sequence numbers
 *
 * Records from @snap->head_seq up to @snap->next_seq can be read from
 * @snap->mem with events_ring_peek() until events_ring_read_end(), which
 * tells whether they were still intact. A writer may overwrite a record
 * (dropping it) while it is read: the reader then gets garbage that it
 * must throw away, never a fault. Nothing in between may sleep.
 *
 * Context: Any context but NMI. Enters an RCU read-side critical section.
 */
void events_ring_read_begin(struct events_ring *ring,
			    struct events_ring_snap *snap) __acquires(RCU)
{
	rcu_read_lock();
	/*
	 * Pairs with the release in events_ring_append(): the records below
	 * next_seq are complete. A resize that took place before they were
	 * appended is visible too, so @mem holds them.
	 */
	snap->next_seq = atomic64_read_acquire(&ring->next_seq);
	snap->mem = rcu_dereference(ring->mem);
	snap->head_seq = atomic64_read(&ring->head_seq);
	/* The reads of records race with writers by design: see above. */
	kcsan_disable_current();
}

/**
 * events_ring_peek() - copy a record's header, without the ring lock
 * @snap: from events_ring_read_begin()
 * @pos: the record's position
 * @hdr: where to copy the header
 *
 * Between events_ring_read_begin() and events_ring_read_end(). A record
 * being overwritten may yield any header; one whose sizes could not be
 * right is refused, so that the caller never reads past the record's
 * place in the ring whatever it got.
 *
 * Return: the record's comm, followed by its payload, or NULL.
 */
const char *events_ring_peek(const struct events_ring_snap *snap, u64 pos,
			     struct events_rec *hdr)
{
	const struct events_rec *rec = events_mem_at(snap->mem, pos);

	memcpy(hdr, rec, sizeof(*hdr));
	/* The compiler may not read the ring's copy again after the checks. */
	barrier();
	if (hdr->comm_len > EVENTS_COMM_LEN ||
	    hdr->len > snap->mem->size ||
	    events_rec_size(hdr->comm_len, hdr->len) > snap->mem->size)
		return NULL;
	return events_rec_comm(rec);
}

/**
 * events_ring_read_end() - finish a lockless read of the ring
 * @ring: the ring
 * @seq: the oldest record read since events_ring_read_begin()
 *
 * Context: Leaves the RCU read-side critical section.
 * Return: true if no record read, from @seq on, was dropped meanwhile,
 * so that all of them were intact.
 */
bool events_ring_read_end(struct events_ring *ring, u64 seq) __releases(RCU)
{
	bool intact;

	kcsan_enable_current();
	/* Pairs with smp_wmb() in events_ring_append(). */
	smp_rmb();
	intact = atomic64_read(&ring->head_seq) <= seq;
	rcu_read_unlock();
	return intact;
}
