/* fsync and fdsync requests: events with res 0, and fsync where impossible. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(4);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 1, 4096);

	/* Dirty the page cache, then sync it each way. */
	uint8_t *buf = tu_alloc(4096);
	tu_pattern_fill(buf, 2, 0, 4096);
	struct aioc_req r = tu_req(AIOC_CMD_PWRITE, 0, fd, buf, 4096, 0);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	r = tu_req(AIOC_CMD_FSYNC, 1, fd, NULL, 0, 0);
	CHECK_EQ(tu_run(ctx, &r), 0);
	CHECK_EQ(tu_run(ctx, &r), 0);
	r = tu_req(AIOC_CMD_FDSYNC, 3, fd, NULL, 0, 0);
	CHECK_EQ(tu_run(ctx, &r), 0);

	/* Both in one batch, after a write in the same batch. */
	struct aioc_req *reqs = aioc_reqs(ctx);
	reqs[0] = tu_req(AIOC_CMD_PWRITE, 2, fd, buf, 4096, 0);
	reqs[1] = tu_req(AIOC_CMD_FSYNC, 1, fd, NULL, 0, 0);
	reqs[2] = tu_req(AIOC_CMD_FDSYNC, 3, fd, NULL, 0, 0);
	tu_submit(ctx, 3);
	unsigned seen = 0, got = 0;
	while (got != 3) {
		int n = CALL(aioc_getevents(ctx, 1, 4, 10000000000LL));
		CHECK(n >= 1 && n <= 3);
		for (int i = 0; i < n; i++) {
			struct aioc_event ev = aioc_events(ctx)[i];
			CHECK(ev.data >= 1 && ev.data <= 3);
			CHECK_EQ(ev.res, ev.data == 2 ? 4096 : 0);
			CHECK_EQ(ev.res2, 0);
			CHECK(!(seen & (1u << ev.data)));
			seen |= 1u << ev.data;
			got++;
		}
	}

	/* On O_DIRECT files too. */
	int dfd = tu_reopen(fd, O_DIRECT);
	r = tu_req(AIOC_CMD_FDSYNC, 0, dfd, NULL, 0, 0);
	CHECK_EQ(tu_run(ctx, &r), 0);
	close(dfd);

	/* A pipe has no fsync: io_submit refuses the request (EINVAL). */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	uint32_t done = 99;
	reqs[0] = tu_req(AIOC_CMD_FSYNC, 0, p[0], NULL, 0, 0);
	CHECK_EQ(CALL(aioc_submit(ctx, 1, &done)), -EINVAL);
	CHECK_EQ(done, 0);
	tu_no_event(ctx, 0);

	close(p[0]);
	close(p[1]);
	close(fd);
	free(buf);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
