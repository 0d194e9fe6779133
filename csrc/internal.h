/*
 * Private to the aiocore sources: the context layout and the includes they
 * share. libaio.h uses sigset_t, so _GNU_SOURCE comes before any include.
 */
#ifndef AIOCORE_INTERNAL_H
#define AIOCORE_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <errno.h>
#include <libaio.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "aiocore.h"

#ifndef IOCB_FLAG_RESFD
#define IOCB_FLAG_RESFD (1 << 0)
#endif
#ifndef IOCB_FLAG_IOPRIO
#define IOCB_FLAG_IOPRIO (1 << 1)
#endif

/* struct aioc_event is handed to io_getevents in place of struct io_event. */
_Static_assert(sizeof(struct aioc_event) == sizeof(struct io_event),
	       "aioc_event must match io_event");
_Static_assert(offsetof(struct aioc_event, res) ==
		       offsetof(struct io_event, res),
	       "aioc_event.res must match io_event.res");
_Static_assert(sizeof(struct iocb) == 64, "struct iocb must be 64 bytes");

/*
 * The header of the kernel's completion ring (struct aio_ring in fs/aio.c),
 * mapped at the context id io_setup returns. The kernel writes tail after
 * the events before it; the reader writes head. nr io_events follow the
 * header, header_length bytes from its start.
 */
struct aioc_ring {
	unsigned id;
	unsigned nr;
	unsigned head;
	unsigned tail;
	unsigned magic;
	unsigned compat_features;
	unsigned incompat_features;
	unsigned header_length;
};

#define AIOC_RING_MAGIC 0xa10a10a1u

/* Counters; each is written by one side (submit or reap) and read by any. */
struct aioc_counters {
	_Atomic uint64_t submit_calls;
	_Atomic uint64_t submitted;
	_Atomic uint64_t ring_events;
	_Atomic uint64_t getevents_calls;
	_Atomic uint64_t getevents_events;
};

struct aioc_ctx {
	io_context_t kctx;	   /* kernel context; the ring's address */
	uint32_t nslots;	   /* requests that may be in flight */
	struct iocb *iocbs;	   /* nslots iocbs, one per slot */
	struct iocb **queue;	   /* nslots pointers handed to io_submit */
	struct aioc_req *reqs;	   /* nslots caller-filled descriptors */
	struct aioc_event *events; /* nslots reaped events */
	struct aioc_ring *ring;	   /* the ring, or NULL if not usable */
	uint32_t ring_nr;	   /* the ring's nr, read once; 0 if no ring */
	int use_ring;		   /* reap from ring (aioc_use_ring) */
	int ring_broken;	   /* head or tail was found out of range */
	atomic_flag reaping;	   /* set while one reaper is at work */
	struct aioc_counters count;
};

/*
 * aioc_reap_enter checks a reap's bounds and takes the one-reaper guard. It
 * returns 1 to go on (then call aioc_reap_leave), 0 when max is 0 and there
 * is nothing to do, or a negative errno: -EINVAL for bad bounds, -EBUSY if
 * another thread is reaping.
 */
static inline int aioc_reap_enter(struct aioc_ctx *ctx, uint32_t min,
				  uint32_t max)
{
	if (max > ctx->nslots || min > max)
		return -EINVAL;
	if (max == 0)
		return 0;
	if (atomic_flag_test_and_set_explicit(&ctx->reaping,
					      memory_order_acquire))
		return -EBUSY;
	return 1;
}

static inline void aioc_reap_leave(struct aioc_ctx *ctx)
{
	atomic_flag_clear_explicit(&ctx->reaping, memory_order_release);
}

/*
 * ring.c: aioc_ring_attach, called by aioc_create (context.c) once io_setup
 * has made the ring, checks that the ring is usable and records it in ctx,
 * turning its use on if so.
 */
void aioc_ring_attach(struct aioc_ctx *ctx);
/*
 * ring.c: aioc_ring_take, called by aioc_reap (reap.c) while ctx->use_ring
 * is set and with ctx->reaping held, copies up to max events from the ring
 * to dst and returns how many. If the ring's head or tail is out of range
 * it turns the ring off for good (use_ring 0, ring_broken 1) and returns 0.
 */
uint32_t aioc_ring_take(struct aioc_ctx *ctx, uint32_t max,
			struct aioc_event *dst);

#endif /* AIOCORE_INTERNAL_H */
