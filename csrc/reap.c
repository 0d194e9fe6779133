//go:build linux && cgo

/*
 * Reaping completions: aioc_reap from the completion ring in user space
 * (ring.c) first, then with io_getevents; aioc_getevents with io_getevents
 * alone. Both hold ctx->reaping, the one-reaper guard, throughout. And
 * cancelling requests, whose events come back through reaping.
 */
#include "internal.h"

#include <time.h>

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct timespec ns_to_timespec(int64_t ns)
{
	struct timespec ts = {
		.tv_sec = (time_t)(ns / 1000000000),
		.tv_nsec = (long)(ns % 1000000000),
	};
	return ts;
}

/*
 * The io_getevents loop of aioc_getevents and aioc_reap: reaps between min
 * and max events into dst. The caller holds ctx->reaping.
 */
static int getevents_into(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
			  int64_t timeout_ns, struct aioc_event *dst)
{
	struct timespec ts;
	struct timespec *tsp = NULL;
	int64_t deadline = 0;
	if (timeout_ns >= 0) {
		/* Saturate: a timeout near INT64_MAX must not overflow. */
		int64_t now = monotonic_ns();
		deadline = timeout_ns > INT64_MAX - now ? INT64_MAX
							: now + timeout_ns;
		ts = ns_to_timespec(timeout_ns);
		tsp = &ts;
	}

	for (;;) {
		atomic_fetch_add_explicit(&ctx->count.getevents_calls, 1,
					  memory_order_relaxed);
		int ret = io_getevents(ctx->kctx, (long)min, (long)max,
				       (struct io_event *)dst, tsp);
		if (ret >= 0)
			atomic_fetch_add_explicit(&ctx->count.getevents_events,
						  (uint64_t)ret,
						  memory_order_relaxed);
		if (ret != -EINTR)
			return ret;
		/* A signal cut the wait short: wait only for what is left. */
		if (tsp != NULL) {
			int64_t left = deadline - monotonic_ns();
			ts = ns_to_timespec(left > 0 ? left : 0);
		}
	}
}

int aioc_getevents(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
		   int64_t timeout_ns)
{
	int ret = aioc_reap_enter(ctx, min, max);
	if (ret <= 0)
		return ret;
	ret = getevents_into(ctx, min, max, timeout_ns, ctx->events);
	aioc_reap_leave(ctx);
	return ret;
}

int aioc_reap(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
	      int64_t timeout_ns)
{
	int entered = aioc_reap_enter(ctx, min, max);
	if (entered <= 0)
		return entered;

	/* aioc_ring_take turns off a ring it finds broken and gives 0. */
	uint32_t got = 0;
	if (ctx->use_ring)
		got = aioc_ring_take(ctx, max, ctx->events);
	int ret = (int)got;
	/*
	 * An empty ring means nothing has completed: io_getevents reads the
	 * same ring, so it is called only to wait for more, or when the ring
	 * is not in use.
	 */
	if (got < min || (!ctx->use_ring && got == 0)) {
		ret = getevents_into(ctx, min - got, max - got, timeout_ns,
				     ctx->events + got);
		/* On an error, keep what the ring gave: the error recurs. */
		if (ret >= 0)
			ret += (int)got;
		else if (got > 0)
			ret = (int)got;
	}
	aioc_reap_leave(ctx);
	return ret;
}

int aioc_cancel(struct aioc_ctx *ctx, uint32_t slot)
{
	if (slot >= ctx->nslots)
		return -EINVAL;
	/*
	 * Since Linux 3.11 io_cancel never fills the result event: it
	 * returns -EINPROGRESS and posts the event to the ring like any other
	 * completion, so that reaping stays the one place events come from.
	 * It finds only requests that can be cancelled and are still active,
	 * so disk I/O and completed requests both give -EINVAL.
	 */
	struct io_event unused;
	int ret = io_cancel(ctx->kctx, &ctx->iocbs[slot], &unused);
	if (ret == -EINPROGRESS)
		return 0;
	return ret;
}
