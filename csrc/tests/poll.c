/* Poll requests on pipes: nothing until ready, then the ready mask in res. */
#include "testutil.h"

#include <poll.h>
#include <unistd.h>

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(4);
	int p[2];
	CHECK_EQ(pipe(p), 0);

	/* Empty pipe: the poll stays pending. */
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 2, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 0, 4, 0)), 0);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 0)), 0);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 20000000)), 0);

	/* Readable: one event, for slot 2, with POLLIN. */
	CHECK_EQ(write(p[1], "x", 1), 1);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 2);
	CHECK(ev.obj != 0);
	CHECK(ev.res > 0);
	CHECK(ev.res & POLLIN);
	CHECK_EQ(ev.res2, 0);
	tu_no_event(ctx, 10);

	/* Already readable: completes at once. Poll is one-shot. */
	struct aioc_req r =
		tu_req(AIOC_CMD_POLL, 0, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	int64_t res = tu_run(ctx, &r);
	CHECK(res & POLLIN);
	CHECK(!(res & POLLOUT));
	tu_no_event(ctx, 0);

	/* The write end is writable. */
	r = tu_req(AIOC_CMD_POLL, 3, p[1], (void *)(uintptr_t)POLLOUT, 0, 0);
	res = tu_run(ctx, &r);
	CHECK(res & POLLOUT);
	CHECK(!(res & POLLIN));

	/* Two polls on the same fd in one batch both fire. */
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 1, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	aioc_reqs(ctx)[1] = tu_req(AIOC_CMD_POLL, 3, p[0],
				   (void *)(uintptr_t)(POLLIN | POLLPRI), 0, 0);
	tu_submit(ctx, 2);
	tu_no_event(ctx, 5);
	CHECK_EQ(write(p[1], "y", 1), 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 2, 4, 10000000000LL)), 2);
	struct aioc_event *evs = aioc_events(ctx);
	CHECK_EQ(evs[0].data + evs[1].data, 4);
	CHECK(evs[0].data == 1 || evs[0].data == 3);
	CHECK(evs[0].res & POLLIN);
	CHECK(evs[1].res & POLLIN);

	/* Hang-up: closing the write end completes a POLLIN poll with
	 * POLLHUP once the pipe is drained. */
	CHECK_EQ(read(p[0], &c, 1), 1);
	r = tu_req(AIOC_CMD_POLL, 0, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	aioc_reqs(ctx)[0] = r;
	tu_submit(ctx, 1);
	tu_no_event(ctx, 5);
	close(p[1]);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 0);
	CHECK(ev.res & POLLHUP);

	close(p[0]);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
