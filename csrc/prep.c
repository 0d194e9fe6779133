//go:build linux && cgo

/* Building kernel iocbs from request descriptors. */
#include "internal.h"

#include <string.h>

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
