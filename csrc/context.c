//go:build linux && cgo

/*
 * Context lifetime (io_setup and io_destroy with the slot tables), its
 * accessors and its counters.
 */
#include "internal.h"

#include <stdlib.h>

int aioc_create(struct aioc_ctx **out, uint32_t nslots)
{
	*out = NULL;
	if (nslots == 0 || nslots > AIOC_MAX_SLOTS)
		return -EINVAL;

	/* calloc sets errno when it fails; the caller's errno is kept. */
	int saved_errno = errno;
	struct aioc_ctx *ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL) {
		errno = saved_errno;
		return -ENOMEM;
	}
	ctx->nslots = nslots;
	atomic_flag_clear(&ctx->reaping);
	ctx->iocbs = calloc(nslots, sizeof(*ctx->iocbs));
	ctx->queue = calloc(nslots, sizeof(*ctx->queue));
	ctx->reqs = calloc(nslots, sizeof(*ctx->reqs));
	ctx->events = calloc(nslots, sizeof(*ctx->events));
	if (ctx->iocbs == NULL || ctx->queue == NULL || ctx->reqs == NULL ||
	    ctx->events == NULL) {
		aioc_destroy(ctx);
		errno = saved_errno;
		return -ENOMEM;
	}

	/* libaio returns -errno and leaves errno alone. */
	int ret = io_setup((int)nslots, &ctx->kctx);
	if (ret < 0) {
		ctx->kctx = 0;
		aioc_destroy(ctx);
		return ret;
	}
	aioc_ring_attach(ctx); /* ring.c: reap from the ring if usable */
	*out = ctx;
	return 0;
}

int aioc_destroy(struct aioc_ctx *ctx)
{
	if (ctx == NULL)
		return 0;
	int ret = 0;
	if (ctx->kctx != 0) {
		/*
		 * io_destroy cancels what can be cancelled and waits for the
		 * rest (Linux 4.14+), so after it no buffer is in use.
		 */
		ret = io_destroy(ctx->kctx);
		if (ret > 0)
			ret = 0;
	}
	free(ctx->events);
	free(ctx->reqs);
	free(ctx->queue);
	free(ctx->iocbs);
	free(ctx);
	return ret;
}

uint32_t aioc_nslots(const struct aioc_ctx *ctx)
{
	return ctx->nslots;
}

struct aioc_req *aioc_reqs(struct aioc_ctx *ctx)
{
	return ctx->reqs;
}

struct aioc_event *aioc_events(struct aioc_ctx *ctx)
{
	return ctx->events;
}

void aioc_stats(const struct aioc_ctx *ctx, struct aioc_stats *out)
{
	const struct aioc_counters *c = &ctx->count;
	out->submit_calls =
		atomic_load_explicit(&c->submit_calls, memory_order_relaxed);
	out->submitted =
		atomic_load_explicit(&c->submitted, memory_order_relaxed);
	out->ring_events =
		atomic_load_explicit(&c->ring_events, memory_order_relaxed);
	out->getevents_calls =
		atomic_load_explicit(&c->getevents_calls, memory_order_relaxed);
	out->getevents_events = atomic_load_explicit(&c->getevents_events,
						     memory_order_relaxed);
}
