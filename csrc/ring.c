//go:build linux && cgo

/*
 * The kernel's completion ring, read in user space: checking and recording
 * it when a context is created, copying events out of it, and turning its
 * use on and off. Reaping itself (the ring first, then io_getevents) is in
 * reap.c.
 *
 * The ring is the memory io_setup maps at the context id. The kernel appends
 * an event, then publishes it by advancing tail (after a write barrier),
 * then signals the request's eventfd, if any. A reader copies the events
 * between head and tail and publishes its progress by advancing head; the
 * kernel reads head back to reuse the space. io_getevents does the same
 * under a kernel lock the user-space reader does not take, so the two must
 * never run at once on one ring: ctx->reaping keeps them apart.
 */
#include "internal.h"

#include <string.h>

void aioc_ring_attach(struct aioc_ctx *ctx)
{
	struct aioc_ring *ring = (struct aioc_ring *)ctx->kctx;
	ctx->ring = NULL;
	ctx->ring_nr = 0;
	ctx->use_ring = 0;
	/*
	 * Use the ring only if it is the layout this code knows: the magic
	 * word, no incompatible features, the header length, and room for
	 * at least the events asked for (the kernel rounds nr up).
	 */
	if (ring == NULL || ring->magic != AIOC_RING_MAGIC ||
	    ring->incompat_features != 0 ||
	    ring->header_length != sizeof(struct aioc_ring) ||
	    ring->nr <= ctx->nslots)
		return;
	ctx->ring = ring;
	ctx->ring_nr = ring->nr;
	ctx->use_ring = 1;
}

uint32_t aioc_ring_take(struct aioc_ctx *ctx, uint32_t max,
			struct aioc_event *dst)
{
	struct aioc_ring *ring = ctx->ring;
	/* The kernel never changes nr; a copy cannot be corrupted by a
	 * stray user write to the ring. */
	const uint32_t nr = ctx->ring_nr;
	/* Only this reader and io_getevents (kept apart) write head. */
	uint32_t head = __atomic_load_n(&ring->head, __ATOMIC_RELAXED);
	/* Acquire: the events before tail are visible once tail is. */
	uint32_t tail = __atomic_load_n(&ring->tail, __ATOMIC_ACQUIRE);
	if (head >= nr || tail >= nr) {
		/* Something wrote to the ring: leave it alone for good. */
		ctx->use_ring = 0;
		ctx->ring_broken = 1;
		return 0;
	}
	uint32_t avail = tail >= head ? tail - head : nr - head + tail;
	uint32_t n = avail < max ? avail : max;
	if (n == 0)
		return 0;

	/* The events follow the header, whose length aioc_ring_attach
	 * checked: like nr, it is not read again from the ring. */
	const struct aioc_event *ev = (const struct aioc_event *)(ring + 1);
	/* The events from head to the end, then any from the start. */
	uint32_t first = nr - head < n ? nr - head : n;
	memcpy(dst, ev + head, first * sizeof(*ev));
	memcpy(dst + first, ev, (n - first) * sizeof(*ev));

	/* Release: the copies are done before the kernel may reuse space. */
	__atomic_store_n(&ring->head, (head + n) % nr, __ATOMIC_RELEASE);
	atomic_fetch_add_explicit(&ctx->count.ring_events, n,
				  memory_order_relaxed);
	return n;
}

int aioc_use_ring(struct aioc_ctx *ctx, int on)
{
	if (on && ctx->ring == NULL)
		return -EOPNOTSUPP;
	/* Bounds 0..1 always pass: this only takes the guard. */
	int ret = aioc_reap_enter(ctx, 0, 1);
	if (ret < 0)
		return ret;
	ret = 0;
	if (on && ctx->ring_broken)
		ret = -EOPNOTSUPP;
	else
		ctx->use_ring = on != 0;
	aioc_reap_leave(ctx);
	return ret;
}

uint32_t aioc_ring_nr(const struct aioc_ctx *ctx)
{
	return ctx->ring_nr;
}
