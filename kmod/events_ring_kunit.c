// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit tests of the events ring alone: placement, wrap-around, dropping
 * the oldest records and exact loss accounting, sequence numbers, clear,
 * resize and the append/drop hooks.
 */

#include <kunit/test.h>
#include <linux/limits.h>
#include <linux/string.h>

/* The ring has no globals; test a private copy of it. */
#include "events_ring.c"

#define TEST_RING_SIZE	4096

static struct events_ring *test_ring_new(struct kunit *test, u32 size,
					 u64 first_seq)
{
	struct events_ring *ring = kunit_kzalloc(test, sizeof(*ring),
						 GFP_KERNEL);

	KUNIT_ASSERT_NOT_NULL(test, ring);
	KUNIT_ASSERT_EQ(test, 0, events_ring_init(ring, size, first_seq));
	return ring;
}

/* Append a record whose payload is @len bytes of @fill. */
static u64 test_append(struct events_ring *ring, u32 len, u8 fill)
{
	static u8 payload[SZ_64K];
	struct events_rec hdr = {
		.len = len,
		.comm_len = 4,
		.pid = fill,
		.ts_real = fill,
	};

	memset(payload, fill, len);
	return events_ring_append(ring, &hdr, "test", payload);
}

static u64 test_retained(struct events_ring *ring)
{
	return atomic64_read(&ring->next_seq) - atomic64_read(&ring->head_seq);
}

static u32 test_capacity(struct events_ring *ring)
{
	u32 size;

	raw_spin_lock_irq(&ring->lock);
	size = events_ring_mem(ring)->size;
	raw_spin_unlock_irq(&ring->lock);
	return size;
}

/* Check every retained record: sizes add up, payloads are intact. */
static void test_walk(struct kunit *test, struct events_ring *ring)
{
	u32 size = test_capacity(ring);
	u64 pos = ring->head, n = 0;

	raw_spin_lock_irq(&ring->lock);
	while (pos != ring->tail) {
		const struct events_rec *rec = events_ring_at(ring, pos);
		const u8 *p = (const u8 *)events_rec_payload(rec);
		u32 i;

		KUNIT_ASSERT_EQ(test, 4, rec->comm_len);
		KUNIT_EXPECT_EQ(test, 0, memcmp(events_rec_comm(rec), "test", 4));
		KUNIT_ASSERT_LE(test, rec->len, (u32)SZ_64K);
		for (i = 0; i < rec->len; i++)
			KUNIT_ASSERT_EQ(test, (u8)rec->pid, p[i]);
		pos += events_rec_size(rec->comm_len, rec->len);
		KUNIT_ASSERT_LE(test, pos - ring->head, (u64)size);
		n++;
	}
	raw_spin_unlock_irq(&ring->lock);
	KUNIT_EXPECT_EQ(test, test_retained(ring), n);
	KUNIT_EXPECT_LE(test, ring->tail - ring->head, (u64)size);
}

static void events_ring_init_rejects_bad_sizes(struct kunit *test)
{
	struct events_ring ring;

	KUNIT_EXPECT_EQ(test, -EINVAL, events_ring_init(&ring, 0, 1));
	KUNIT_EXPECT_EQ(test, -EINVAL, events_ring_init(&ring, 6000, 1));
	KUNIT_EXPECT_EQ(test, -EINVAL, events_ring_init(&ring, 2048, 1));
}

static void events_ring_append_assigns_sequence(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u64 i;

	for (i = 1; i <= 10; i++)
		KUNIT_EXPECT_EQ(test, i, test_append(ring, 10, i));
	KUNIT_EXPECT_EQ(test, 1, atomic64_read(&ring->head_seq));
	KUNIT_EXPECT_EQ(test, 0, ring->dropped);
	KUNIT_EXPECT_EQ(test, 10 * events_rec_size(4, 10), ring->tail);
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_record_sizes_are_padded(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 32, sizeof(struct events_rec));
	KUNIT_EXPECT_EQ(test, 40, events_rec_size(0, 1));
	KUNIT_EXPECT_EQ(test, 40, events_rec_size(4, 4));
	KUNIT_EXPECT_EQ(test, 48, events_rec_size(4, 5));
	KUNIT_EXPECT_EQ(test, 32 + 16 + 4096, events_rec_size(16, 4096));
}

static void events_ring_exact_fit_drops_nothing(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	/* 64 records of 64 bytes fill 4096 bytes exactly. */
	u32 len = 64 - sizeof(struct events_rec) - 4;
	int i;

	for (i = 0; i < 64; i++)
		test_append(ring, len, i);
	KUNIT_EXPECT_EQ(test, 0, ring->dropped);
	KUNIT_EXPECT_EQ(test, 64, test_retained(ring));
	KUNIT_EXPECT_EQ(test, (u64)TEST_RING_SIZE, ring->tail - ring->head);

	test_append(ring, len, 64);
	KUNIT_EXPECT_EQ(test, 1, ring->dropped);
	KUNIT_EXPECT_EQ(test, 2, atomic64_read(&ring->head_seq));
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_whole_ring_record(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u32 len = TEST_RING_SIZE - sizeof(struct events_rec) - 4;

	test_append(ring, 10, 1);
	test_append(ring, 10, 2);
	test_append(ring, len, 3);
	KUNIT_EXPECT_EQ(test, 2, ring->dropped);
	KUNIT_EXPECT_EQ(test, 1, test_retained(ring));
	test_walk(test, ring);

	/* The next record of any size pushes the full-ring one out. */
	test_append(ring, 1, 4);
	KUNIT_EXPECT_EQ(test, 3, ring->dropped);
	KUNIT_EXPECT_EQ(test, 1, test_retained(ring));
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_larger_than_half(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u32 len = TEST_RING_SIZE / 2 + 100;
	int i;

	/* Each such record evicts the previous one and wraps every time. */
	for (i = 0; i < 20; i++) {
		KUNIT_EXPECT_EQ(test, (u64)i + 1, test_append(ring, len, i));
		KUNIT_EXPECT_EQ(test, 1, test_retained(ring));
		test_walk(test, ring);
	}
	KUNIT_EXPECT_EQ(test, 19, ring->dropped);
	events_ring_free(ring);
}

static void events_ring_wraparound_keeps_records_whole(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	int i;

	/* Odd sizes so that records straddle the end of the ring. */
	for (i = 0; i < 1000; i++) {
		test_append(ring, 1 + (i * 37) % 700, i);
		if (i % 50 == 0)
			test_walk(test, ring);
	}
	test_walk(test, ring);
	KUNIT_EXPECT_EQ(test, 1000, ring->dropped + test_retained(ring));
	events_ring_free(ring);
}

static void events_ring_max_size_records(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, SZ_256K, 1);
	int i;

	for (i = 0; i < 12; i++)
		test_append(ring, SZ_64K, i);
	/* 65536 + 32 + 4 rounds to 65576: three fit in 256 KiB, not four. */
	KUNIT_EXPECT_EQ(test, 3, test_retained(ring));
	KUNIT_EXPECT_EQ(test, 9, ring->dropped);
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_many_tiny_records(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	int i;

	for (i = 0; i < 100000; i++)
		test_append(ring, 1, i);
	/* 40 bytes each: 102 fit in 4096. */
	KUNIT_EXPECT_EQ(test, TEST_RING_SIZE / 40, test_retained(ring));
	KUNIT_EXPECT_EQ(test, 100000, ring->dropped + test_retained(ring));
	KUNIT_EXPECT_EQ(test, 100001, atomic64_read(&ring->next_seq));
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_loss_accounting_is_exact(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u64 reader_seq = 1, lost;
	int i;

	/* A reader at seq 1 that never reads: its loss is head_seq - 1. */
	for (i = 0; i < 500; i++) {
		test_append(ring, 1 + i % 200, i);
		lost = atomic64_read(&ring->head_seq) - reader_seq;
		KUNIT_EXPECT_EQ(test, ring->dropped, lost);
	}
	KUNIT_EXPECT_EQ(test, 500, lost + test_retained(ring));
	events_ring_free(ring);
}

static void events_ring_sequence_near_limit(struct kunit *test)
{
	u64 first = U64_MAX - 100;
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, first);
	int i;

	for (i = 0; i < 100; i++)
		KUNIT_EXPECT_EQ(test, first + i, test_append(ring, 100, i));
	KUNIT_EXPECT_EQ(test, U64_MAX, atomic64_read(&ring->next_seq));
	KUNIT_EXPECT_EQ(test, U64_MAX - atomic64_read(&ring->head_seq),
			test_retained(ring));
	KUNIT_EXPECT_EQ(test, 100, ring->dropped + test_retained(ring));
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_position_wraps_64bit(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	int i;

	/* Start the byte positions just below 2^64 (aligned to 8). */
	ring->head = U64_MAX - 1000 - 7;
	ring->tail = ring->head;
	for (i = 0; i < 300; i++)
		test_append(ring, 1 + (i * 13) % 300, i);
	KUNIT_EXPECT_LT(test, ring->tail, (u64)TEST_RING_SIZE * 300);
	KUNIT_EXPECT_EQ(test, 300, ring->dropped + test_retained(ring));
	test_walk(test, ring);
	events_ring_free(ring);
}

static void events_ring_clear_keeps_sequence(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u64 tail;
	int i;

	for (i = 0; i < 10; i++)
		test_append(ring, 10, i);
	tail = ring->tail;
	KUNIT_EXPECT_EQ(test, 10, events_ring_clear(ring));
	KUNIT_EXPECT_EQ(test, 0, test_retained(ring));
	KUNIT_EXPECT_EQ(test, 10, ring->dropped);
	KUNIT_EXPECT_EQ(test, tail, ring->head);
	KUNIT_EXPECT_EQ(test, 0, events_ring_clear(ring));
	KUNIT_EXPECT_EQ(test, 11, test_append(ring, 10, 11));
	test_walk(test, ring);
	events_ring_free(ring);
}

/* Resizing keeps positions and numbers; shrinking drops the oldest only. */
static void events_ring_resize_keeps_positions(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	u64 head, tail, head_seq, next_seq, dropped;
	int i;

	for (i = 0; i < 100; i++)
		test_append(ring, 1 + (i * 7) % 120, i);
	head = ring->head;
	tail = ring->tail;
	head_seq = atomic64_read(&ring->head_seq);
	next_seq = atomic64_read(&ring->next_seq);
	dropped = ring->dropped;
	KUNIT_ASSERT_GT(test, dropped, 0);

	KUNIT_EXPECT_EQ(test, -EINVAL, events_ring_resize(ring, 5000));
	KUNIT_ASSERT_EQ(test, 0, events_ring_resize(ring, 4 * TEST_RING_SIZE));
	KUNIT_EXPECT_EQ(test, 4 * TEST_RING_SIZE, test_capacity(ring));
	KUNIT_EXPECT_EQ(test, head, ring->head);
	KUNIT_EXPECT_EQ(test, tail, ring->tail);
	KUNIT_EXPECT_EQ(test, head_seq, atomic64_read(&ring->head_seq));
	KUNIT_EXPECT_EQ(test, next_seq, atomic64_read(&ring->next_seq));
	KUNIT_EXPECT_EQ(test, dropped, ring->dropped);
	test_walk(test, ring);

	/* Fill the bigger ring, then shrink it back. */
	for (i = 100; i < 400; i++)
		test_append(ring, 1 + (i * 7) % 120, i);
	tail = ring->tail;
	next_seq = atomic64_read(&ring->next_seq);
	KUNIT_ASSERT_GT(test, ring->tail - ring->head, (u64)TEST_RING_SIZE);
	KUNIT_ASSERT_EQ(test, 0, events_ring_resize(ring, TEST_RING_SIZE));
	KUNIT_EXPECT_EQ(test, tail, ring->tail);
	KUNIT_EXPECT_EQ(test, next_seq, atomic64_read(&ring->next_seq));
	KUNIT_EXPECT_LE(test, ring->tail - ring->head, (u64)TEST_RING_SIZE);
	KUNIT_EXPECT_EQ(test, 400, ring->dropped + test_retained(ring));
	test_walk(test, ring);

	/* And it goes on working across the wrap. */
	for (i = 400; i < 600; i++)
		test_append(ring, 1 + (i * 7) % 120, i);
	KUNIT_EXPECT_EQ(test, 600, ring->dropped + test_retained(ring));
	test_walk(test, ring);
	events_ring_free(ring);
}

struct test_hooks {
	u64 appended;
	u64 next_append;
	u64 dropped;
	u64 next_drop;
	bool in_order;
};

static void test_hook_append(struct events_ring *ring,
			     const struct events_rec *rec, u64 seq)
{
	struct test_hooks *h = ring->hooks_data;

	h->in_order &= seq == h->next_append && rec->pid == (u8)seq;
	h->next_append = seq + 1;
	h->appended++;
}

static void test_hook_drop(struct events_ring *ring,
			   const struct events_rec *rec, u64 seq)
{
	struct test_hooks *h = ring->hooks_data;

	h->in_order &= seq == h->next_drop && rec->pid == (u8)seq;
	h->next_drop = seq + 1;
	h->dropped++;
}

static const struct events_ring_hooks test_hooks_ops = {
	.append = test_hook_append,
	.drop = test_hook_drop,
};

/* The hooks see every record once when it is stored and once when dropped. */
static void events_ring_hooks_see_every_record(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	struct test_hooks h = {
		.next_append = 1,
		.next_drop = 1,
		.in_order = true,
	};
	u64 seq;

	ring->hooks_data = &h;
	ring->hooks = &test_hooks_ops;
	for (seq = 1; seq <= 300; seq++)
		test_append(ring, 1 + seq % 90, seq);
	KUNIT_EXPECT_EQ(test, 300, h.appended);
	KUNIT_EXPECT_EQ(test, ring->dropped, h.dropped);
	KUNIT_ASSERT_EQ(test, 0, events_ring_resize(ring, TEST_RING_SIZE * 2));
	KUNIT_EXPECT_EQ(test, ring->dropped, h.dropped);
	events_ring_clear(ring);
	KUNIT_EXPECT_EQ(test, 300, h.dropped);
	KUNIT_EXPECT_TRUE(test, h.in_order);
	ring->hooks = NULL;
	events_ring_free(ring);
}

/* A reader without the lock learns whether what it read was dropped. */
static void events_ring_lockless_read_sees_drops(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	struct events_ring_snap snap;
	struct events_rec hdr;
	const char *body;
	int i;

	for (i = 1; i <= 10; i++)
		test_append(ring, 10, i);
	events_ring_read_begin(ring, &snap);
	KUNIT_EXPECT_EQ(test, 1, snap.head_seq);
	KUNIT_EXPECT_EQ(test, 11, snap.next_seq);
	KUNIT_EXPECT_EQ(test, TEST_RING_SIZE, snap.mem->size);
	body = events_ring_peek(&snap, events_rec_size(4, 10), &hdr);
	KUNIT_EXPECT_TRUE(test, events_ring_read_end(ring, 1));
	KUNIT_ASSERT_NOT_NULL(test, body);
	KUNIT_EXPECT_EQ(test, 10, hdr.len);
	KUNIT_EXPECT_EQ(test, 4, hdr.comm_len);
	KUNIT_EXPECT_EQ(test, 2, hdr.pid);
	KUNIT_EXPECT_EQ(test, 0, memcmp(body, "test", 4));

	/* Records appended meanwhile do not matter, dropped ones do. */
	events_ring_read_begin(ring, &snap);
	test_append(ring, 10, 11);
	KUNIT_EXPECT_TRUE(test, events_ring_read_end(ring, 1));
	events_ring_read_begin(ring, &snap);
	for (i = 0; i < 40; i++)
		test_append(ring, 100, i);
	KUNIT_EXPECT_FALSE(test, events_ring_read_end(ring, 1));
	events_ring_read_begin(ring, &snap);
	KUNIT_EXPECT_TRUE(test, events_ring_read_end(ring, snap.head_seq));
	test_walk(test, ring);
	events_ring_free(ring);
}

/* Whatever a header holds, a lockless reader stays inside the record. */
static void events_ring_peek_refuses_impossible_sizes(struct kunit *test)
{
	struct events_ring *ring = test_ring_new(test, TEST_RING_SIZE, 1);
	struct events_ring_snap snap;
	struct events_rec hdr, *rec, saved;

	test_append(ring, 10, 1);
	raw_spin_lock_irq(&ring->lock);
	rec = (struct events_rec *)events_ring_at(ring, ring->head);
	raw_spin_unlock_irq(&ring->lock);
	saved = *rec;

	events_ring_read_begin(ring, &snap);
	rec->comm_len = EVENTS_COMM_LEN + 1;
	KUNIT_EXPECT_NULL(test, events_ring_peek(&snap, 0, &hdr));
	*rec = saved;
	rec->len = TEST_RING_SIZE - sizeof(*rec) + 1;
	KUNIT_EXPECT_NULL(test, events_ring_peek(&snap, 0, &hdr));
	rec->len = U32_MAX - 7;
	KUNIT_EXPECT_NULL(test, events_ring_peek(&snap, 0, &hdr));
	*rec = saved;
	rec->comm_len = 0;
	rec->len = TEST_RING_SIZE - sizeof(*rec);
	KUNIT_EXPECT_NOT_NULL(test, events_ring_peek(&snap, 0, &hdr));
	*rec = saved;
	KUNIT_EXPECT_NOT_NULL(test, events_ring_peek(&snap, 0, &hdr));
	KUNIT_EXPECT_TRUE(test, events_ring_read_end(ring, 1));
	events_ring_free(ring);
}

static struct kunit_case events_ring_cases[] = {
	KUNIT_CASE(events_ring_init_rejects_bad_sizes),
	KUNIT_CASE(events_ring_append_assigns_sequence),
	KUNIT_CASE(events_ring_record_sizes_are_padded),
	KUNIT_CASE(events_ring_exact_fit_drops_nothing),
	KUNIT_CASE(events_ring_whole_ring_record),
	KUNIT_CASE(events_ring_larger_than_half),
	KUNIT_CASE(events_ring_wraparound_keeps_records_whole),
	KUNIT_CASE(events_ring_max_size_records),
	KUNIT_CASE(events_ring_many_tiny_records),
	KUNIT_CASE(events_ring_loss_accounting_is_exact),
	KUNIT_CASE(events_ring_sequence_near_limit),
	KUNIT_CASE(events_ring_position_wraps_64bit),
	KUNIT_CASE(events_ring_clear_keeps_sequence),
	KUNIT_CASE(events_ring_resize_keeps_positions),
	KUNIT_CASE(events_ring_hooks_see_every_record),
	KUNIT_CASE(events_ring_lockless_read_sees_drops),
	KUNIT_CASE(events_ring_peek_refuses_impossible_sizes),
	{}
};

static struct kunit_suite events_ring_suite = {
	.name = "events_ring",
	.test_cases = events_ring_cases,
};

kunit_test_suites(&events_ring_suite);

MODULE_DESCRIPTION("KUnit tests of the events ring");
MODULE_LICENSE("GPL");
