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

/* Drops fd's cached pages; skips where the kernel keeps them. */
static void drop_cache(int fd)
{
	CHECK_EQ(fsync(fd), 0);
	CHECK_EQ(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(8);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 9, SIZE);
	uint8_t *buf = tu_alloc(SIZE);

	/* Nothing cached: the NOWAIT read completes with -EAGAIN. */
	drop_cache(fd);
	struct aioc_req r = tu_req(AIOC_CMD_PREAD, 3, fd, buf, SIZE, 0);
	r.rw_flags = AIOC_RWF_NOWAIT;
	int64_t res = tu_run(ctx, &r);
	if (res == -EOPNOTSUPP)
		skip("this file system refuses RWF_NOWAIT on buffered reads");
	if (res == SIZE)
		skip("the page cache kept the file after POSIX_FADV_DONTNEED");
	CHECK_EQ(res, -EAGAIN);
	CHECK_EQ(CALL(aioc_resubmit(ctx, 3, 0, 0)), 0);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 3);
	CHECK_EQ(ev.res, SIZE);
	CHECK_EQ(tu_pattern_diff(buf, 9, 0, SIZE), -1);

	/* The first 8 KiB cached: a short count, then the rest alone. */
	drop_cache(fd);
	CHECK_EQ(pread(fd, buf, 8192, 0), 8192);
	memset(buf, 0, SIZE);
	r = tu_req(AIOC_CMD_PREAD, 5, fd, buf, 65536, 0);
	r.rw_flags = AIOC_RWF_NOWAIT;
	res = tu_run(ctx, &r);
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
	r = tu_req(AIOC_CMD_PREADV, 6, fd, &iov, 1, 0);
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
