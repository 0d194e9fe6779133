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

struct aioc_ctx {
	io_context_t kctx;	   /* kernel context; the ring's address */
	uint32_t nslots;	   /* requests that may be in flight */
	struct iocb *iocbs;	   /* nslots iocbs, one per slot */
	struct iocb **queue;	   /* nslots pointers handed to io_submit */
	struct aioc_req *reqs;	   /* nslots caller-filled descriptors */
	struct aioc_event *events; /* nslots reaped events */
};

#endif /* AIOCORE_INTERNAL_H */
