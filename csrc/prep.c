//go:build linux && cgo

/* Building kernel iocbs from request descriptors. */
#include "internal.h"

#include <string.h>

#if defined(__has_include)
#if __has_include(<linux/fs.h>)
#include <linux/fs.h>
#endif
#endif

/*
 * aioc_prep hands opcode and rw_flags to the kernel unchanged, so the
 * AIOC_ numbers must be the kernel's. libaio.h has every IO_CMD_* used here
 * (from libaio 0.3.111, which the poll iocb below needs too); <linux/fs.h>
 * has the RWF_* flags of the kernel it comes from.
 */
#define SAME_CMD(name)                                                         \
	_Static_assert((int)AIOC_CMD_##name == (int)IO_CMD_##name,             \
		       "AIOC_CMD_" #name " is not IO_CMD_" #name)
#define SAME_RWF(name)                                                         \
	_Static_assert(AIOC_RWF_##name == RWF_##name,                          \
		       "AIOC_RWF_" #name " is not RWF_" #name)
SAME_CMD(PREAD);
SAME_CMD(PWRITE);
SAME_CMD(FSYNC);
SAME_CMD(FDSYNC);
SAME_CMD(POLL);
SAME_CMD(PREADV);
SAME_CMD(PWRITEV);
#ifdef RWF_HIPRI
SAME_RWF(HIPRI);
#endif
#ifdef RWF_DSYNC
SAME_RWF(DSYNC);
#endif
#ifdef RWF_SYNC
SAME_RWF(SYNC);
#endif
#ifdef RWF_NOWAIT
SAME_RWF(NOWAIT);
#endif
#ifdef RWF_APPEND
SAME_RWF(APPEND);
#endif
#ifdef RWF_NOAPPEND
SAME_RWF(NOAPPEND);
#endif
#ifdef RWF_ATOMIC
SAME_RWF(ATOMIC);
#endif
#ifdef RWF_DONTCACHE
SAME_RWF(DONTCACHE);
#endif
#ifdef RWF_NOSIGNAL
SAME_RWF(NOSIGNAL);
#endif

int aioc_prep(void *iocb, const struct aioc_req *req)
{
	struct iocb *cb = iocb;

	if (req->reserved != 0)
		return -EINVAL;
	memset(cb, 0, sizeof(*cb));

	switch (req->opcode) {
	case AIOC_CMD_PREAD:
	case AIOC_CMD_PWRITE:
		cb->u.c.buf = (void *)(uintptr_t)req->buf;
		cb->u.c.nbytes = req->len;
		cb->u.c.offset = req->offset;
		break;
	case AIOC_CMD_PREADV:
	case AIOC_CMD_PWRITEV:
		cb->u.v.vec = (const struct iovec *)(uintptr_t)req->buf;
		cb->u.v.nr = (int)req->len;
		cb->u.v.offset = req->offset;
		if ((uint64_t)cb->u.v.nr != req->len)
			return -EINVAL;
		break;
	case AIOC_CMD_FSYNC:
	case AIOC_CMD_FDSYNC:
		/* The kernel rejects these fields for fsync; say so early. */
		if (req->buf != 0 || req->len != 0 || req->offset != 0 ||
		    req->rw_flags != 0)
			return -EINVAL;
		break;
	case AIOC_CMD_POLL:
		/* The mask travels in aio_buf and must fit in 16 bits. */
		if (req->buf > 0xffff || req->len != 0 || req->offset != 0 ||
		    req->rw_flags != 0)
			return -EINVAL;
		cb->u.poll.events = (int)req->buf;
		break;
	default:
		return -EINVAL;
	}

	cb->data = (void *)(uintptr_t)req->slot;
	cb->aio_lio_opcode = (short)req->opcode;
	cb->aio_fildes = req->fd;
	cb->aio_rw_flags = req->rw_flags;
	if (req->ioprio != 0) {
		cb->aio_reqprio = (short)req->ioprio;
		cb->u.c.flags |= IOCB_FLAG_IOPRIO;
	}
	if (req->resfd >= 0) {
		cb->u.c.flags |= IOCB_FLAG_RESFD;
		cb->u.c.resfd = (unsigned)req->resfd;
	}
	return 0;
}
