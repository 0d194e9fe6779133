/* aioc_resubmit: a buffered RWF_NOWAIT read that the page cache could not
 * serve, sent again without the flag from its slot, whole or past the part
 * it did read; and the requests it refuses. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#define SIZE (256 * 1024)

/* Drops fd's cached pages. */
static void drop_cache(int fd)
{
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
}

/*
 * Reads len bytes at 0 into buf with RWF_NOWAIT from slot, the first
 * cached bytes in the page cache and the rest dropped, until the read
 * comes back unfinished (-EAGAIN or a short count), which it returns. A
 * read of dropped pages does not always: the NOWAIT read starts reading
 * them, and on a fast disk sometimes finds them read when it looks again.
 */
static int64_t unfinished_read(struct aioc_ctx *ctx, int fd, uint32_t slot,
			       uint8_t *buf, uint64_t len, long cached)
{
	for (int i = 0; i < 50; i++) {
		drop_cache(fd);
		if (cached > 0)
			CHECK_EQ(pread(fd, buf, (size_t)cached, 0), cached);
		memset(buf, 0, len);
		struct aioc_req r =
			tu_req(AIOC_CMD_PREAD, slot, fd, buf, len, 0);
		r.rw_flags = AIOC_RWF_NOWAIT;
		int64_t res = tu_run(ctx, &r);
		if (res == -EOPNOTSUPP)
			skip("this file system refuses RWF_NOWAIT on buffered "
			     "reads");
		if (res != (int64_t)len)
			return res;
	}
	skip("50 RWF_NOWAIT reads of dropped pages, and every one read "
	     "whole");
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(8);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 9, SIZE);
	/* A pread caches only the pages it reads. */
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_RANDOM), 0);
	uint8_t *buf = tu_alloc(SIZE);

	/* Nothing cached: -EAGAIN, or what came in meanwhile; sent again
	 * for the rest, the read completes with the file's bytes. */
	int64_t res = unfinished_read(ctx, fd, 3, buf, SIZE, 0);
	CHECK(res == -EAGAIN || (res > 0 && res < SIZE));
	uint64_t skip_n = res > 0 ? (uint64_t)res : 0;
	CHECK_EQ(CALL(aioc_resubmit(ctx, 3, 0, skip_n)), 0);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 3);
	CHECK_EQ(ev.res, SIZE - (int64_t)skip_n);
	CHECK_EQ(tu_pattern_diff(buf, 9, 0, SIZE), -1);

	/* The first 8 KiB cached: a short count, then the rest alone. */
	res = unfinished_read(ctx, fd, 5, buf, 65536, 8192);
	CHECK(res >= 8192 && res < 65536);
	CHECK_EQ(CALL(aioc_resubmit(ctx, 5, 0, (uint64_t)res)), 0);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 5);
	CHECK_EQ(ev.res, 65536 - res);
	CHECK_EQ(tu_pattern_diff(buf, 9, 0, 65536), -1);

	/* Refused: a slot out of range, a skip on readv or not below the
	 * length. Nothing is submitted, so no event comes. */
	CHECK_EQ(CALL(aioc_resubmit(ctx, 8, 0, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_resubmit(ctx, 5, 0, 65536 - (uint64_t)res)),
		 -EINVAL);
	struct iovec iov = {buf, 4096};
	struct aioc_req r = tu_req(AIOC_CMD_PREADV, 6, fd, &iov, 1, 0);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(CALL(aioc_resubmit(ctx, 6, 0, 1)), -EINVAL);
	/* Without a skip, a readv goes again as it was. */
	CHECK_EQ(CALL(aioc_resubmit(ctx, 6, 0, 0)), 0);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.res, 4096);

	/* A descriptor closed since: the kernel's EBADF. */
	int gone = tu_tmpfile(0);
	tu_fill_file(gone, 9, 4096);
	r = tu_req(AIOC_CMD_PREAD, 7, gone, buf, 4096, 0);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(close(gone), 0);
	CHECK_EQ(CALL(aioc_resubmit(ctx, 7, 0, 0)), -EBADF);
	tu_no_event(ctx, 20);

	struct aioc_stats st;
	aioc_stats(ctx, &st);
	CHECK(st.submit_calls >= st.submitted);
	free(buf);
	CHECK_EQ(close(fd), 0);
	CHECK_EQ(aioc_destroy(ctx), 0);
	return TU_PASS;
}
