/* resfd: the kernel signals an eventfd once per completed request. */
#include "testutil.h"

#include <poll.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

/* Reads the eventfd counter: 0 when it is not signalled. */
static uint64_t efd_count(int efd)
{
	uint64_t v = 0;
	ssize_t n = read(efd, &v, sizeof(v));
	if (n < 0) {
		CHECK_EQ(errno, EAGAIN);
		return 0;
	}
	CHECK_EQ(n, sizeof(v));
	return v;
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(4);
	int efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	CHECK(efd >= 0);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 1, 16384);
	uint8_t *buf = tu_alloc(16384);

	/* One read: count 1 after completion. */
	struct aioc_req r = tu_req(AIOC_CMD_PREAD, 2, fd, buf, 4096, 0);
	r.resfd = efd;
	CHECK_EQ(efd_count(efd), 0);
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(efd_count(efd), 1);
	CHECK_EQ(efd_count(efd), 0);

	/* Without resfd: no signal. */
	r.resfd = -1;
	CHECK_EQ(tu_run(ctx, &r), 4096);
	CHECK_EQ(efd_count(efd), 0);

	/* Three in one batch, one of them without resfd: count 2. */
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (uint32_t i = 0; i < 3; i++) {
		reqs[i] = r;
		reqs[i].slot = i;
		reqs[i].buf = (uint64_t)(uintptr_t)(buf + 4096 * i);
		reqs[i].offset = 4096 * (int64_t)i;
		reqs[i].resfd = i == 1 ? -1 : efd;
	}
	tu_submit(ctx, 3);
	CHECK_EQ(CALL(aioc_getevents(ctx, 3, 3, 10000000000LL)), 3);
	CHECK_EQ(efd_count(efd), 2);
	CHECK_EQ(tu_pattern_diff(buf, 1, 0, 3 * 4096), -1);

	/* A pending poll: the eventfd fires when it completes, before it is
	 * reaped, so it can drive an event loop. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	reqs[0] =
		tu_req(AIOC_CMD_POLL, 3, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	reqs[0].resfd = efd;
	tu_submit(ctx, 1);
	struct pollfd pfd = {.fd = efd, .events = POLLIN};
	CHECK_EQ(poll(&pfd, 1, 20), 0);
	CHECK_EQ(efd_count(efd), 0);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(poll(&pfd, 1, 10000), 1);
	CHECK_EQ(efd_count(efd), 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 4, 0)), 1);
	CHECK_EQ(aioc_events(ctx)[0].data, 3);
	CHECK(aioc_events(ctx)[0].res & POLLIN);

	close(p[0]);
	close(p[1]);
	close(fd);
	close(efd);
	free(buf);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
