/* aioc_cancel: pending polls cancel (event res 0); disk I/O and done
 * requests cannot be cancelled; destroy cancels pending polls. */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define NDIRECT 4
#define DIRECT_LEN (1024 * 1024)

static void check_poll_cancel(struct aioc_ctx *ctx, int rfd, int wfd)
{
	/*
	 * Pending: cancellation is under way (0), then the event comes.
	 * aiocore.h says its res is -ECANCELED, but the kernel completes a
	 * cancelled poll with res 0 (fs/aio.c, aio_poll_complete_work: the
	 * mask is left 0 once the request is marked cancelled).
	 */
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 4, rfd, (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 1);
	tu_no_event(ctx, 5);
	CHECK_EQ(CALL(aioc_cancel(ctx, 4)), 0);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 4);
	CHECK(ev.res == 0 || ev.res == -ECANCELED);
	CHECK_EQ(ev.res, 0);
	CHECK_EQ(ev.res2, 0);
	tu_no_event(ctx, 5);

	/* Cancelled already, and reaped: the kernel no longer knows it. */
	CHECK_EQ(CALL(aioc_cancel(ctx, 4)), -EINVAL);

	/* Cancelled twice before reaping: the second finds nothing. */
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 4, rfd, (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 1);
	CHECK_EQ(CALL(aioc_cancel(ctx, 4)), 0);
	CHECK_EQ(CALL(aioc_cancel(ctx, 4)), -EINVAL);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 4);
	CHECK_EQ(ev.res, 0);

	/*
	 * Completed but not reaped. aiocore.h says -EAGAIN here, but the
	 * kernel (fs/aio.c io_cancel) only searches requests still active
	 * and answers -EINVAL for everything else.
	 */
	int efd = eventfd(0, EFD_CLOEXEC);
	CHECK(efd >= 0);
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 5, rfd, (void *)(uintptr_t)POLLIN, 0, 0);
	aioc_reqs(ctx)[0].resfd = efd;
	tu_submit(ctx, 1);
	CHECK_EQ(write(wfd, "x", 1), 1);
	/* The eventfd fires when the event is in the ring. */
	uint64_t count = 0;
	CHECK_EQ(read(efd, &count, sizeof(count)), sizeof(count));
	CHECK_EQ(count, 1);
	close(efd);
	int ret = CALL(aioc_cancel(ctx, 5));
	CHECK(ret == -EINVAL || ret == -EAGAIN);
	CHECK_EQ(ret, -EINVAL);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 5);
	CHECK(ev.res & POLLIN);
	char c;
	CHECK_EQ(read(rfd, &c, 1), 1);
}

/* Disk I/O in flight (or just completed) is never cancelled. */
static void check_direct_cancel(struct aioc_ctx *ctx)
{
	int fd = tu_tmpfile(O_DIRECT);
	tu_fill_file(fd, 3, (uint64_t)NDIRECT * DIRECT_LEN);
	uint8_t *bufs[NDIRECT];
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (int i = 0; i < NDIRECT; i++) {
		bufs[i] = tu_alloc(DIRECT_LEN);
		reqs[i] = tu_req(AIOC_CMD_PREAD, (uint32_t)i, fd, bufs[i],
				 DIRECT_LEN, (int64_t)i * DIRECT_LEN);
	}
	tu_submit(ctx, NDIRECT);
	for (uint32_t i = 0; i < NDIRECT; i++)
		CHECK_EQ(CALL(aioc_cancel(ctx, i)), -EINVAL);
	for (int got = 0; got < NDIRECT;) {
		int n = CALL(aioc_getevents(ctx, 1, NDIRECT, 10000000000LL));
		CHECK(n >= 1 && n <= NDIRECT - got);
		for (int k = 0; k < n; k++) {
			struct aioc_event ev = aioc_events(ctx)[k];
			CHECK(ev.data < NDIRECT);
			CHECK_EQ(ev.res, DIRECT_LEN);
			CHECK_EQ(tu_pattern_diff(bufs[ev.data], 3,
						 ev.data * DIRECT_LEN,
						 DIRECT_LEN),
				 -1);
			/* Reaped: still not cancellable. */
			CHECK_EQ(CALL(aioc_cancel(ctx, (uint32_t)ev.data)),
				 -EINVAL);
		}
		got += n;
	}
	for (int i = 0; i < NDIRECT; i++)
		free(bufs[i]);
	close(fd);
}

/* Destroying a context with polls pending cancels them and returns. */
static void check_destroy_pending(int rfd)
{
	int maps = tu_aio_maps();
	struct aioc_ctx *ctx = tu_ctx(8);
	CHECK_EQ(tu_aio_maps(), maps + 1);
	for (uint32_t i = 0; i < 8; i++)
		aioc_reqs(ctx)[i] = tu_req(AIOC_CMD_POLL, i, rfd,
					   (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 8);
	int64_t t0 = tu_now_ns();
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	CHECK(tu_now_ns() - t0 < 2000000000LL);
	CHECK_EQ(tu_aio_maps(), maps);
}

/*
 * Destroying a context with O_DIRECT reads in flight and completed reads
 * unreaped waits for the reads: once it returns, the kernel no longer
 * writes to the buffers.
 */
static void check_destroy_inflight(void)
{
	int maps = tu_aio_maps();
	int fd = tu_tmpfile(O_DIRECT);
	tu_fill_file(fd, 4, (uint64_t)NDIRECT * DIRECT_LEN);
	struct aioc_ctx *ctx = tu_ctx(NDIRECT + 1);
	uint8_t *bufs[NDIRECT + 1];
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (int i = 0; i <= NDIRECT; i++) {
		bufs[i] = tu_alloc(DIRECT_LEN);
		reqs[i] =
			tu_req(AIOC_CMD_PREAD, (uint32_t)i, fd, bufs[i],
			       DIRECT_LEN, (int64_t)(i % NDIRECT) * DIRECT_LEN);
	}
	/* One completes first and is never reaped. */
	tu_submit(ctx, 1);
	while (bufs[0][DIRECT_LEN - 1] == 0)
		tu_sleep_ms(1);
	reqs[0] = reqs[NDIRECT];
	tu_submit(ctx, NDIRECT);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	CHECK_EQ(tu_aio_maps(), maps);
	for (int i = 0; i <= NDIRECT; i++)
		memset(bufs[i], 0, DIRECT_LEN);
	tu_sleep_ms(50);
	for (int i = 0; i <= NDIRECT; i++) {
		for (size_t j = 0; j < DIRECT_LEN; j++)
			CHECK_EQ(bufs[i][j], 0);
		free(bufs[i]);
	}
	close(fd);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(8);
	int p[2];
	CHECK_EQ(pipe(p), 0);

	/* Out of range, and a slot that never held a request. */
	CHECK_EQ(CALL(aioc_cancel(ctx, 8)), -EINVAL);
	CHECK_EQ(CALL(aioc_cancel(ctx, UINT32_MAX)), -EINVAL);
	CHECK_EQ(CALL(aioc_cancel(ctx, 7)), -EINVAL);

	check_poll_cancel(ctx, p[0], p[1]);
	check_direct_cancel(ctx);
	tu_no_event(ctx, 0);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	check_destroy_pending(p[0]);
	check_destroy_inflight();

	close(p[0]);
	close(p[1]);
	return TU_PASS;
}
