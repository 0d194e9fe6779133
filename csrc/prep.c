/* Building kernel iocbs from request descriptors. */
#include "internal.h"

#include <string.h>

int aioc_prep(void *p, const struct aioc_req *r)
{
	struct iocb *cb = p;

	if (r->reserved != 0)
		return -EINVAL;
	memset(cb, 0, sizeof(*cb));

	switch (r->opcode) {
	case AIOC_CMD_PREAD:
	case AIOC_CMD_PWRITE:
		cb->u.c.buf = (void *)(uintptr_t)r->buf;
		cb->u.c.nbytes = r->len;
		cb->u.c.offset = r->offset;
		break;
	case AIOC_CMD_PREADV:
	case AIOC_CMD_PWRITEV:
		cb->u.v.vec = (const struct iovec *)(uintptr_t)r->buf;
		cb->u.v.nr = (int)r->len;
		cb->u.v.offset = r->offset;
		if ((uint64_t)cb->u.v.nr != r->len)
			return -EINVAL;
		break;
	case AIOC_CMD_FSYNC:
	case AIOC_CMD_FDSYNC:
		/* The kernel rejects these fields for fsync; say so early. */
		if (r->buf != 0 || r->len != 0 || r->offset != 0 ||
		    r->rw_flags != 0)
			return -EINVAL;
		break;
	case AIOC_CMD_POLL:
		/* The mask travels in aio_buf and must fit in 16 bits. */
		if (r->buf > 0xffff || r->len != 0 || r->offset != 0 ||
		    r->rw_flags != 0)
			return -EINVAL;
		cb->u.poll.events = (int)r->buf;
		break;
	default:
		return -EINVAL;
	}

	cb->data = (void *)(uintptr_t)r->slot;
	cb->aio_lio_opcode = (short)r->opcode;
	cb->aio_fildes = r->fd;
	cb->aio_rw_flags = r->rw_flags;
	if (r->ioprio != 0) {
		cb->aio_reqprio = (short)r->ioprio;
		cb->u.c.flags |= IOCB_FLAG_IOPRIO;
	}
	if (r->resfd >= 0) {
		cb->u.c.flags |= IOCB_FLAG_RESFD;
		cb->u.c.resfd = (unsigned)r->resfd;
	}
	return 0;
}
