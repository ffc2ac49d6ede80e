// SPDX-License-Identifier: GPL-2.0
/*
 * Exercises the in-kernel events API from hardirq, softirq and process
 * context at once. On load it logs `count` events from each context:
 * "api hardirq <i>" from a hard hrtimer, "api softirq <i>" from a soft
 * hrtimer and "api process <i>" from a work item, and returns when all are
 * logged. The load fails if any call ran in the wrong context or failed.
 * With burst=N a second work item logs N more events, "api burst <i>/<N>",
 * as fast as it can while the others run: the stress test uses it to push
 * the ring's drop path far harder than user space can under emulation.
 * Each context must finish within timeout seconds (default 60).
 *
 * With bench=N it instead logs N events of 64 bytes from a kernel thread
 * and reports the cost per event in the kernel log.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/completion.h>
#include <linux/events.h>
#include <linux/hrtimer.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/ktime.h>
#include <linux/math64.h>
#include <linux/preempt.h>
#include <linux/string.h>
#include <linux/workqueue.h>

static unsigned int count = 1000;
module_param(count, uint, 0444);
MODULE_PARM_DESC(count, "Events to log from each context (default 1000)");

static unsigned int burst;
module_param(burst, uint, 0444);
MODULE_PARM_DESC(burst, "Also log this many events back to back from a second work item");

static unsigned int timeout = 60;
module_param(timeout, uint, 0444);
MODULE_PARM_DESC(timeout, "Seconds each context may take (default 60)");

static unsigned int bench;
module_param(bench, uint, 0444);
MODULE_PARM_DESC(bench, "Instead of the test, time this many events_log() calls");

/* Time between two timer events. */
#define EVENTS_API_TEST_PERIOD_NS	(20 * NSEC_PER_USEC)

struct events_api_ctx {
	const char *name;
	unsigned int next;
	struct hrtimer timer;
	struct completion done;
};

static struct events_api_ctx hard_ctx = { .name = "hardirq" };
static struct events_api_ctx soft_ctx = { .name = "softirq" };
static struct events_api_ctx task_ctx = { .name = "process" };
static struct events_api_ctx burst_ctx = { .name = "burst" };
static struct work_struct task_work, burst_work;
static atomic_t failures = ATOMIC_INIT(0);

static void events_api_test_fail(const char *what, struct events_api_ctx *ctx,
				 int ret)
{
	if (atomic_inc_return(&failures) == 1)
		pr_err("%s: %s failed at event %u (%d)\n", ctx->name, what,
		       ctx->next, ret);
}

static enum hrtimer_restart events_api_test_tick(struct events_api_ctx *ctx,
						 bool context_ok)
{
	int ret;

	if (!context_ok)
		events_api_test_fail("context check", ctx, 0);
	ret = events_logf("api %s %u", ctx->name, ctx->next);
	if (ret)
		events_api_test_fail("events_logf", ctx, ret);

	if (++ctx->next < count) {
		hrtimer_forward_now(&ctx->timer,
				    ns_to_ktime(EVENTS_API_TEST_PERIOD_NS));
		return HRTIMER_RESTART;
	}
	complete(&ctx->done);
	return HRTIMER_NORESTART;
}

static enum hrtimer_restart events_api_test_hard(struct hrtimer *timer)
{
	return events_api_test_tick(&hard_ctx, in_hardirq());
}

static enum hrtimer_restart events_api_test_soft(struct hrtimer *timer)
{
	return events_api_test_tick(&soft_ctx, in_serving_softirq());
}

/* Log "api <name> <i>" for i below @n from process context. */
static void events_api_test_loop(struct events_api_ctx *ctx, unsigned int n,
				 unsigned int resched_mask)
{
	char msg[48];
	int len, ret;

	for (; ctx->next < n; ctx->next++) {
		if (!in_task())
			events_api_test_fail("context check", ctx, 0);
		if (ctx == &burst_ctx)
			len = scnprintf(msg, sizeof(msg), "api burst %u/%u\n",
					ctx->next, n);
		else
			len = scnprintf(msg, sizeof(msg), "api %s %u\n",
					ctx->name, ctx->next);
		ret = events_log(msg, len);
		if (ret)
			events_api_test_fail("events_log", ctx, ret);
		if (!(ctx->next & resched_mask))
			cond_resched();
	}
	complete(&ctx->done);
}

static void events_api_test_task(struct work_struct *work)
{
	events_api_test_loop(&task_ctx, count, 0);
}

static void events_api_test_burst(struct work_struct *work)
{
	events_api_test_loop(&burst_ctx, burst, 255);
}

static void events_api_test_start(struct events_api_ctx *ctx,
				  enum hrtimer_mode mode,
				  enum hrtimer_restart (*fn)(struct hrtimer *))
{
	init_completion(&ctx->done);
	hrtimer_init(&ctx->timer, CLOCK_MONOTONIC, mode);
	ctx->timer.function = fn;
	hrtimer_start(&ctx->timer, ns_to_ktime(EVENTS_API_TEST_PERIOD_NS),
		      mode);
}

static int events_api_test_wait(struct events_api_ctx *ctx)
{
	if (wait_for_completion_timeout(&ctx->done,
					(unsigned long)timeout * HZ))
		return 0;
	pr_err("%s: timed out after %u of %u events\n", ctx->name,
	       ctx->next, count);
	return -ETIMEDOUT;
}

static u64 bench_ns;

static void events_api_test_bench(struct work_struct *work)
{
	char msg[64];
	unsigned int i;
	u64 start;

	memset(msg, 'b', sizeof(msg));
	start = ktime_get_ns();
	for (i = 0; i < bench; i++) {
		if (events_log(msg, sizeof(msg)))
			events_api_test_fail("events_log", &task_ctx, -EIO);
		if (!(i & 1023))
			cond_resched();
	}
	bench_ns = ktime_get_ns() - start;
	complete(&task_ctx.done);
}

static int events_api_test_run_bench(void)
{
	init_completion(&task_ctx.done);
	INIT_WORK(&task_work, events_api_test_bench);
	queue_work(system_unbound_wq, &task_work);
	if (events_api_test_wait(&task_ctx)) {
		cancel_work_sync(&task_work);
		return -ETIMEDOUT;
	}
	if (atomic_read(&failures))
		return -EINVAL;
	pr_info("bench: %u events_log() calls of 64 bytes in %llu ns: %llu ns/event\n",
		bench, bench_ns, div_u64(bench_ns, bench));
	return 0;
}

static int __init events_api_test_init(void)
{
	int ret = 0;

	if (bench)
		return events_api_test_run_bench();
	if (!count || !timeout)
		return -EINVAL;

	init_completion(&task_ctx.done);
	INIT_WORK(&task_work, events_api_test_task);
	events_api_test_start(&hard_ctx, HRTIMER_MODE_REL_HARD,
			      events_api_test_hard);
	events_api_test_start(&soft_ctx, HRTIMER_MODE_REL_SOFT,
			      events_api_test_soft);
	queue_work(system_unbound_wq, &task_work);
	init_completion(&burst_ctx.done);
	INIT_WORK(&burst_work, events_api_test_burst);
	if (burst)
		queue_work(system_unbound_wq, &burst_work);

	if (events_api_test_wait(&hard_ctx) ||
	    events_api_test_wait(&soft_ctx) ||
	    events_api_test_wait(&task_ctx) ||
	    (burst && events_api_test_wait(&burst_ctx)))
		ret = -ETIMEDOUT;

	hrtimer_cancel(&hard_ctx.timer);
	hrtimer_cancel(&soft_ctx.timer);
	cancel_work_sync(&task_work);
	cancel_work_sync(&burst_work);

	if (!ret && atomic_read(&failures))
		ret = -EINVAL;
	if (!ret)
		pr_info("logged %u events from each of hardirq, softirq and process context, %u in a burst\n",
			count, burst);
	return ret;
}

static void __exit events_api_test_exit(void)
{
}

module_init(events_api_test_init);
module_exit(events_api_test_exit);

MODULE_DESCRIPTION("Test of the events in-kernel API from every context");
MODULE_INFO(test, "Y");
MODULE_LICENSE("GPL");
