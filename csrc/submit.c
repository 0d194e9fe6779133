//go:build linux && cgo

/* Submitting a batch of requests with as few io_submit calls as possible. */
#include "internal.h"

int aioc_submit(struct aioc_ctx *ctx, uint32_t n, uint32_t *submitted)
{
	*submitted = 0;
	if (n > ctx->nslots)
		return -EINVAL;

	/* Prepare the whole batch first, so a bad request submits nothing. */
	for (uint32_t i = 0; i < n; i++) {
		const struct aioc_req *r = &ctx->reqs[i];
		if (r->slot >= ctx->nslots)
			return -EINVAL;
		struct iocb *cb = &ctx->iocbs[r->slot];
		int ret = aioc_prep(cb, r);
		if (ret < 0)
			return ret;
		ctx->queue[i] = cb;
	}

	uint32_t done = 0;
	while (done < n) {
		int ret = io_submit(ctx->kctx, (long)(n - done),
				    ctx->queue + done);
		atomic_fetch_add_explicit(&ctx->count.submit_calls, 1,
					  memory_order_relaxed);
		if (ret > 0)
			atomic_fetch_add_explicit(&ctx->count.submitted,
						  (uint64_t)ret,
						  memory_order_relaxed);
		if (ret == -EINTR)
			continue;
		if (ret < 0) {
			*submitted = done;
			return ret;
		}
		if (ret == 0) {
			/* Not expected for n > 0; never spin on it. */
			*submitted = done;
			return -EAGAIN;
		}
		/*
		 * A short count means the kernel stopped at a request; the
		 * next call submits the rest or reports that request's error.
		 */
		done += (uint32_t)ret;
	}
	*submitted = done;
	return 0;
}

int aioc_resubmit(struct aioc_ctx *ctx, uint32_t slot, uint32_t rw_flags,
		  uint64_t skip)
{
	if (slot >= ctx->nslots)
		return -EINVAL;
	struct iocb *cb = &ctx->iocbs[slot];
	if (skip > 0) {
		if (cb->aio_lio_opcode != IO_CMD_PREAD ||
		    skip >= cb->u.c.nbytes)
			return -EINVAL;
		cb->u.c.buf = (char *)cb->u.c.buf + skip;
		cb->u.c.nbytes -= skip;
		cb->u.c.offset += (long long)skip;
	}
	cb->aio_rw_flags = rw_flags;
	for (;;) {
		int ret = io_submit(ctx->kctx, 1, &cb);
		atomic_fetch_add_explicit(&ctx->count.submit_calls, 1,
					  memory_order_relaxed);
		if (ret == 1) {
			atomic_fetch_add_explicit(&ctx->count.submitted, 1,
						  memory_order_relaxed);
			return 0;
		}
		if (ret == -EINTR)
			continue;
		return ret < 0 ? ret : -EAGAIN;
	}
}
