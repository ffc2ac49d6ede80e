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

/**
 * events_ring_init() - allocate and map a ring
 * @ring: the ring to set up
 * @size: capacity in bytes: a power of two, at least PAGE_SIZE
 * @first_seq: sequence number of the first record
 *
 * All memory is allocated here; appending never allocates. The data pages
 * are mapped twice back to back (as kernel/bpf/ringbuf.c does), so a record
 * that wraps around the end of the ring reads and writes as one block.
 *
 * Context: Process context, may sleep.
 * Return: 0, -EINVAL for a bad @size, or -ENOMEM.
 */
int events_ring_init(struct events_ring *ring, u32 size, u64 first_seq)
{
	struct page **map;
	unsigned int i, nr;

	if (size < PAGE_SIZE || !is_power_of_2(size))
		return -EINVAL;

	nr = size >> PAGE_SHIFT;
	ring->pages = kvcalloc(nr, sizeof(*ring->pages), GFP_KERNEL);
	if (!ring->pages)
		return -ENOMEM;
	map = kvcalloc(2 * nr, sizeof(*map), GFP_KERNEL);
	if (!map)
		goto err_free_array;

	for (ring->nr_pages = 0; ring->nr_pages < nr; ring->nr_pages++) {
		struct page *page = alloc_page(GFP_KERNEL | __GFP_ZERO |
					       __GFP_NOWARN);

		if (!page)
			goto err_free_pages;
		ring->pages[ring->nr_pages] = page;
	}
	for (i = 0; i < 2 * nr; i++)
		map[i] = ring->pages[i % nr];

	ring->data = vmap(map, 2 * nr, VM_MAP, PAGE_KERNEL);
	if (!ring->data)
		goto err_free_pages;
	kvfree(map);

	raw_spin_lock_init(&ring->lock);
	ring->size = size;
	ring->head = 0;
	ring->tail = 0;
	ring->dropped = 0;
	atomic64_set(&ring->head_seq, first_seq);
	atomic64_set(&ring->next_seq, first_seq);
	return 0;

err_free_pages:
	while (ring->nr_pages)
		__free_page(ring->pages[--ring->nr_pages]);
	kvfree(map);
err_free_array:
	kvfree(ring->pages);
	ring->pages = NULL;
	return -ENOMEM;
}

/**
 * events_ring_free() - release everything events_ring_init() allocated
 * @ring: the ring
 *
 * Context: Process context; nobody may use @ring any more.
 */
void events_ring_free(struct events_ring *ring)
{
	vunmap(ring->data);
	while (ring->nr_pages)
		__free_page(ring->pages[--ring->nr_pages]);
	kvfree(ring->pages);
	ring->pages = NULL;
	ring->data = NULL;
}

/* Drop the oldest records until @need more bytes fit. */
static void events_ring_make_room(struct events_ring *ring, u32 need)
{
	lockdep_assert_held(&ring->lock);

	while (ring->tail - ring->head + need > ring->size) {
		const struct events_rec *old = events_ring_at(ring, ring->head);

		ring->head += events_rec_size(old->comm_len, old->len);
		atomic64_inc(&ring->head_seq);
		ring->dropped++;
	}
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

	WRITE_ONCE(ring->tail, ring->tail + size);
	seq = atomic64_read(&ring->next_seq);
	atomic64_set(&ring->next_seq, seq + 1);
	raw_spin_unlock_irqrestore(&ring->lock, flags);

	return seq;
}
