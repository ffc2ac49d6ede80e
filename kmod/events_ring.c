// SPDX-License-Identifier: GPL-2.0
/*
 * The events ring: variable-size records in one byte ring, oldest dropped
 * first. See events_ring.h for the layout.
 */

#include <linux/gfp.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/vmalloc.h>

#include "events_ring.h"

/* The pages and the double mapping of a ring's data. */
struct events_ring_mem {
	void *data;
	struct page **pages;
	unsigned int nr_pages;
};

static void events_ring_mem_free(struct events_ring_mem *mem)
{
	vunmap(mem->data);
	while (mem->nr_pages)
		__free_page(mem->pages[--mem->nr_pages]);
	kvfree(mem->pages);
	mem->pages = NULL;
	mem->data = NULL;
}

/*
 * The data pages are mapped twice back to back (as kernel/bpf/ringbuf.c
 * does), so a record that wraps around the end of the ring reads and
 * writes as one block.
 */
static int events_ring_mem_alloc(struct events_ring_mem *mem, u32 size)
{
	unsigned int i, nr = size >> PAGE_SHIFT;
	struct page **map;

	mem->data = NULL;
	mem->nr_pages = 0;
	mem->pages = kvcalloc(nr, sizeof(*mem->pages), GFP_KERNEL);
	if (!mem->pages)
		return -ENOMEM;
	map = kvcalloc(2 * nr, sizeof(*map), GFP_KERNEL);
	if (!map)
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
	return 0;

err:
	kvfree(map);
	events_ring_mem_free(mem);
	return -ENOMEM;
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
	struct events_ring_mem mem;
	int ret;

	if (!events_ring_size_ok(size))
		return -EINVAL;
	ret = events_ring_mem_alloc(&mem, size);
	if (ret)
		return ret;

	raw_spin_lock_init(&ring->lock);
	ring->data = mem.data;
	ring->pages = mem.pages;
	ring->nr_pages = mem.nr_pages;
	ring->size = size;
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
	struct events_ring_mem mem = {
		.data = ring->data,
		.pages = ring->pages,
		.nr_pages = ring->nr_pages,
	};

	events_ring_mem_free(&mem);
	ring->pages = NULL;
	ring->data = NULL;
	ring->nr_pages = 0;
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

/* Drop the oldest records until @need more bytes fit. */
static void events_ring_make_room(struct events_ring *ring, u32 need)
{
	lockdep_assert_held(&ring->lock);

	while (ring->tail - ring->head + need > ring->size)
		events_ring_drop(ring);
}

/**
 * events_ring_append() - add one record, dropping the oldest as needed
 * @ring: the ring
 * @hdr: the header to store; @hdr->len and @hdr->comm_len give the sizes
 * @comm: @hdr->comm_len bytes of writer name
 * @payload: @hdr->len bytes of payload
 *
 * The caller guarantees that events_rec_size() of the record does not
 * exceed @ring->size. Never sleeps and never allocates.
 *
 * Context: Any context but NMI. Takes @ring->lock with interrupts off.
 * Return: the sequence number given to the record.
 */
u64 events_ring_append(struct events_ring *ring, const struct events_rec *hdr,
		       const char *comm, const void *payload)
{
	u32 size = events_rec_size(hdr->comm_len, hdr->len);
	struct events_rec *rec;
	unsigned long flags;
	u64 seq;
	char *p;

	raw_spin_lock_irqsave(&ring->lock, flags);
	events_ring_make_room(ring, size);

	rec = ring->data + (ring->tail & (ring->size - 1));
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
	atomic64_set(&ring->next_seq, seq + 1);
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
	struct events_ring_mem old, mem;
	unsigned long flags;
	int ret;

	if (!events_ring_size_ok(size))
		return -EINVAL;
	ret = events_ring_mem_alloc(&mem, size);
	if (ret)
		return ret;

	raw_spin_lock_irqsave(&ring->lock, flags);
	while (ring->tail - ring->head > size)
		events_ring_drop(ring);
	memcpy(mem.data + (ring->head & (size - 1)),
	       ring->data + (ring->head & (ring->size - 1)),
	       ring->tail - ring->head);
	old.data = ring->data;
	old.pages = ring->pages;
	old.nr_pages = ring->nr_pages;
	ring->data = mem.data;
	ring->pages = mem.pages;
	ring->nr_pages = mem.nr_pages;
	ring->size = size;
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	events_ring_mem_free(&old);
	return 0;
}
