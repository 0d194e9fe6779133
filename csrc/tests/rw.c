/* Reads and writes on a real file: pread/pwrite(v), short reads, O_DIRECT. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FILE_SIZE (64 * 1024)
#define DIRECT_SIZE (1024 * 1024)

/* Offsets, lengths and EOF on a buffered file holding pattern seed 1. */
static void check_reads(struct aioc_ctx *ctx, int fd)
{
	uint8_t *buf = tu_alloc(FILE_SIZE + 4096);

	struct aioc_req r = tu_req(AIOC_CMD_PREAD, 5, fd, buf, FILE_SIZE, 0);
	CHECK_EQ(tu_run(ctx, &r), FILE_SIZE);
	CHECK_EQ(tu_pattern_diff(buf, 1, 0, FILE_SIZE), -1);

	/* The whole length from offset 1: one byte short. */
	memset(buf, 0, FILE_SIZE);
	r = tu_req(AIOC_CMD_PREAD, 0, fd, buf, FILE_SIZE, 1);
	CHECK_EQ(tu_run(ctx, &r), FILE_SIZE - 1);
	CHECK_EQ(tu_pattern_diff(buf, 1, 1, FILE_SIZE - 1), -1);

	/* Across EOF, at EOF, past EOF. */
	r = tu_req(AIOC_CMD_PREAD, 7, fd, buf, 4096, FILE_SIZE - 100);
	CHECK_EQ(tu_run(ctx, &r), 100);
	CHECK_EQ(tu_pattern_diff(buf, 1, FILE_SIZE - 100, 100), -1);
	r = tu_req(AIOC_CMD_PREAD, 7, fd, buf, 4096, FILE_SIZE);
	CHECK_EQ(tu_run(ctx, &r), 0);
	r = tu_req(AIOC_CMD_PREAD, 7, fd, buf, 4096, FILE_SIZE + 12345);
	CHECK_EQ(tu_run(ctx, &r), 0);

	/* A zero-length read. */
	r = tu_req(AIOC_CMD_PREAD, 1, fd, buf, 0, 0);
	CHECK_EQ(tu_run(ctx, &r), 0);

	/* preadv into two buffers, split at an odd place. */
	uint8_t a[1000], b[3000];
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	r = tu_req(AIOC_CMD_PREADV, 6, fd, iov, 2, 777);
	CHECK_EQ(tu_run(ctx, &r), 4000);
	CHECK_EQ(tu_pattern_diff(a, 1, 777, sizeof(a)), -1);
	CHECK_EQ(tu_pattern_diff(b, 1, 777 + sizeof(a), sizeof(b)), -1);
	free(buf);
}

static void check_writes(struct aioc_ctx *ctx, int fd)
{
	uint8_t *w = tu_alloc(8192), *rd = tu_alloc(8192);

	tu_pattern_fill(w, 2, 4096, 8192);
	struct aioc_req r = tu_req(AIOC_CMD_PWRITE, 3, fd, w, 8192, 4096);
	CHECK_EQ(tu_run(ctx, &r), 8192);
	CHECK_EQ(pread(fd, rd, 8192, 4096), 8192);
	CHECK_EQ(tu_pattern_diff(rd, 2, 4096, 8192), -1);
	memset(rd, 0, 8192);
	r = tu_req(AIOC_CMD_PREAD, 4, fd, rd, 8192, 4096);
	CHECK_EQ(tu_run(ctx, &r), 8192);
	CHECK_EQ(tu_pattern_diff(rd, 2, 4096, 8192), -1);

	/* pwritev of two buffers, read back with pread(2) and preadv. */
	uint8_t a[100], b[300];
	tu_pattern_fill(a, 3, 1000, sizeof(a));
	tu_pattern_fill(b, 3, 1100, sizeof(b));
	struct iovec iov[2] = {{a, sizeof(a)}, {b, sizeof(b)}};
	r = tu_req(AIOC_CMD_PWRITEV, 2, fd, iov, 2, 1000);
	CHECK_EQ(tu_run(ctx, &r), 400);
	CHECK_EQ(pread(fd, rd, 400, 1000), 400);
	CHECK_EQ(tu_pattern_diff(rd, 3, 1000, 400), -1);
	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	iov[0].iov_len = 50;
	r = tu_req(AIOC_CMD_PREADV, 2, fd, iov, 2, 1000);
	CHECK_EQ(tu_run(ctx, &r), 350);
	CHECK_EQ(tu_pattern_diff(a, 3, 1000, 50), -1);
	CHECK_EQ(tu_pattern_diff(b, 3, 1050, 300), -1);

	/* rw_flags reach the kernel: RWF_APPEND ignores the offset. */
	struct stat st;
	CHECK_EQ(fstat(fd, &st), 0);
	off_t end = st.st_size;
	tu_pattern_fill(w, 4, 0, 512);
	r = tu_req(AIOC_CMD_PWRITE, 1, fd, w, 512, 0);
	r.rw_flags = RWF_APPEND;
	CHECK_EQ(tu_run(ctx, &r), 512);
	CHECK_EQ(fstat(fd, &st), 0);
	CHECK_EQ(st.st_size, end + 512);
	CHECK_EQ(pread(fd, rd, 512, end), 512);
	CHECK_EQ(tu_pattern_diff(rd, 4, 0, 512), -1);
	CHECK_EQ(ftruncate(fd, end), 0);

	/* An unknown RWF_ flag or I/O priority class is refused by
	 * io_submit itself: nothing submitted, no event. */
	uint32_t done = 99;
	aioc_reqs(ctx)[0] = tu_req(AIOC_CMD_PREAD, 1, fd, rd, 512, 0);
	aioc_reqs(ctx)[0].rw_flags = 0x80000000u;
	CHECK_EQ(CALL(aioc_submit(ctx, 1, &done)), -EOPNOTSUPP);
	CHECK_EQ(done, 0);
	aioc_reqs(ctx)[0] = tu_req(AIOC_CMD_PREAD, 1, fd, rd, 512, 0);
	aioc_reqs(ctx)[0].ioprio = 7 << 13;
	CHECK_EQ(CALL(aioc_submit(ctx, 1, &done)), -EINVAL);
	CHECK_EQ(done, 0);
	tu_no_event(ctx, 0);
	/* A valid one (best effort, level 4) is accepted. */
	r = tu_req(AIOC_CMD_PREAD, 1, fd, rd, 512, 0);
	r.ioprio = (2 << 13) | 4;
	CHECK_EQ(tu_run(ctx, &r), 512);
	free(w);
	free(rd);
}

/* A batch whose slots are not its indexes: events name slots, and each
 * slot's obj (its iocb) is stable and distinct from the others. */
static void check_batch(struct aioc_ctx *ctx, int fd, uint8_t seed, size_t len)
{
	const uint32_t slots[4] = {7, 0, 3, 1};
	const int64_t offs[4] = {0, 4096 * 3, 4096 * 9, 4096 * 15};
	uint8_t *bufs[8] = {0};
	uint64_t objs[2][8] = {{0}};
	for (int round = 0; round < 2; round++) {
		struct aioc_req *reqs = aioc_reqs(ctx);
		for (int i = 0; i < 4; i++) {
			bufs[slots[i]] = tu_alloc(len);
			reqs[i] = tu_req(AIOC_CMD_PREAD, slots[i], fd,
					 bufs[slots[i]], len, offs[i]);
		}
		tu_submit(ctx, 4);
		int got = 0;
		while (got < 4) {
			int n = CALL(aioc_getevents(ctx, 1, 8, 10000000000LL));
			CHECK(n >= 1 && n <= 4 - got);
			for (int k = 0; k < n; k++) {
				struct aioc_event ev = aioc_events(ctx)[k];
				CHECK(ev.data < 8 && bufs[ev.data] != NULL);
				CHECK_EQ(objs[round][ev.data], 0);
				objs[round][ev.data] = ev.obj;
				CHECK_EQ(ev.res, (int64_t)len);
				CHECK_EQ(ev.res2, 0);
				int i = 0;
				while (slots[i] != ev.data)
					i++;
				CHECK_EQ(tu_pattern_diff(bufs[ev.data], seed,
							 (uint64_t)offs[i],
							 len),
					 -1);
				free(bufs[ev.data]);
				bufs[ev.data] = NULL;
			}
			got += n;
		}
	}
	for (int i = 0; i < 4; i++) {
		CHECK(objs[0][slots[i]] != 0);
		CHECK_EQ(objs[0][slots[i]], objs[1][slots[i]]);
		for (int j = 0; j < i; j++)
			CHECK(objs[0][slots[i]] != objs[0][slots[j]]);
	}
}

static void check_direct(struct aioc_ctx *ctx)
{
	int dfd = tu_tmpfile(O_DIRECT);
	CHECK(fcntl(dfd, F_GETFL) & O_DIRECT);
	tu_fill_file(dfd, 9, DIRECT_SIZE);
	check_batch(ctx, dfd, 9, 4096);

	uint8_t *buf = tu_alloc(4096);
	tu_pattern_fill(buf, 10, 8192, 4096);
	struct aioc_req r = tu_req(AIOC_CMD_PWRITE, 6, dfd, buf, 4096, 8192);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	memset(buf, 0, 4096);
	r = tu_req(AIOC_CMD_PREAD, 2, dfd, buf, 4096, 8192);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(tu_pattern_diff(buf, 10, 8192, 4096), -1);

	/* The same bytes through the page cache. */
	int bfd = tu_reopen(dfd, 0);
	uint8_t tmp[4096];
	CHECK_EQ(pread(bfd, tmp, 4096, 8192), 4096);
	CHECK_EQ(tu_pattern_diff(tmp, 10, 8192, 4096), -1);
	CHECK_EQ(pread(bfd, tmp, 4096, 4096), 4096);
	CHECK_EQ(tu_pattern_diff(tmp, 9, 4096, 4096), -1);
	close(bfd);

	/* Last block, then EOF, with O_DIRECT. */
	r = tu_req(AIOC_CMD_PREAD, 3, dfd, buf, 4096, DIRECT_SIZE - 4096);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(tu_pattern_diff(buf, 9, DIRECT_SIZE - 4096, 4096), -1);
	r = tu_req(AIOC_CMD_PREAD, 3, dfd, buf, 4096, DIRECT_SIZE);
	CHECK_EQ(tu_run(ctx, &r), 0);

	/* A misaligned O_DIRECT read fails in its event, not in submit. */
	r = tu_req(AIOC_CMD_PREAD, 3, dfd, buf, 4096, 1);
	CHECK_EQ(tu_run(ctx, &r), -EINVAL);
	free(buf);
	close(dfd);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(8);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 1, FILE_SIZE);

	check_reads(ctx, fd);
	check_batch(ctx, fd, 1, 3000);
	check_writes(ctx, fd);
	check_direct(ctx);
	tu_no_event(ctx, 0);

	close(fd);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
