/* aioc_getevents: argument checks, timeouts, and min/max honoured. */
#include "testutil.h"

#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#define NSLOTS 8
#define MS 1000000LL

static uint8_t bufs[NSLOTS][1024];

static struct aioc_req read_req(uint32_t slot, int fd)
{
	return tu_req(AIOC_CMD_PREAD, slot, fd, bufs[slot], 1024,
		      1024 * (int64_t)slot);
}

/* Calls aioc_getevents and returns its result; *ms gets the time taken. */
static int timed(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
		 int64_t timeout_ns, int64_t *ms)
{
	int64_t t0 = tu_now_ns();
	int n = CALL(aioc_getevents(ctx, min, max, timeout_ns));
	*ms = (tu_now_ns() - t0) / MS;
	return n;
}

static void check_idle(struct aioc_ctx *ctx)
{
	int64_t ms;
	CHECK_EQ(timed(ctx, 1, NSLOTS, 0, &ms), 0);
	CHECK(ms < 50);
	CHECK_EQ(timed(ctx, 0, NSLOTS, 0, &ms), 0);
	CHECK(ms < 50);
	/* min 0 is met at once, even with no time limit. */
	CHECK_EQ(timed(ctx, 0, NSLOTS, -1, &ms), 0);
	CHECK(ms < 50);
	/* max 0: nothing to reap, even with no time limit. */
	CHECK_EQ(timed(ctx, 0, 0, -1, &ms), 0);
	CHECK(ms < 50);
	/* A timeout: at least that long, not much longer. */
	int64_t t0 = tu_now_ns();
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 50 * MS)), 0);
	int64_t el = tu_now_ns() - t0;
	CHECK(el >= 50 * MS);
	CHECK(el < 2000 * MS);

	CHECK_EQ(CALL(aioc_getevents(ctx, 2, 1, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 0, -1)), -EINVAL);
	CHECK_EQ(CALL(aioc_getevents(ctx, 0, NSLOTS + 1, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, UINT32_MAX, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_getevents(ctx, UINT32_MAX, NSLOTS, 0)), -EINVAL);
}

/* Four completed reads come out no more than max at a time. */
static void check_min_max(struct aioc_ctx *ctx, int fd)
{
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (uint32_t i = 0; i < 4; i++)
		reqs[i] = read_req(i, fd);
	tu_submit(ctx, 4);

	unsigned seen = 0;
	int n = CALL(aioc_getevents(ctx, 1, 2, -1));
	CHECK(n >= 1 && n <= 2);
	int total = n;
	for (int k = 0; k < n; k++)
		seen |= 1u << aioc_events(ctx)[k].data;
	n = CALL(aioc_getevents(ctx, (uint32_t)(4 - total),
				(uint32_t)(4 - total), -1));
	CHECK_EQ(n, 4 - total);
	for (int k = 0; k < n; k++) {
		struct aioc_event ev = aioc_events(ctx)[k];
		CHECK(ev.data < 4);
		CHECK(!(seen & (1u << ev.data)));
		seen |= 1u << ev.data;
		CHECK_EQ(ev.res, 1024);
		CHECK_EQ(
			tu_pattern_diff(bufs[ev.data], 1, 1024 * ev.data, 1024),
			-1);
	}
	CHECK_EQ(seen, 0xf);
	tu_no_event(ctx, 0);

	/* max 1 with four ready: one each time, in the array's slot 0. */
	for (uint32_t i = 0; i < 4; i++)
		reqs[i] = read_req(i, fd);
	tu_submit(ctx, 4);
	seen = 0;
	for (int k = 0; k < 4; k++) {
		aioc_events(ctx)[0].data = 99;
		CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 10000 * MS)), 1);
		CHECK(aioc_events(ctx)[0].data < 4);
		seen |= 1u << aioc_events(ctx)[0].data;
	}
	CHECK_EQ(seen, 0xf);
	tu_no_event(ctx, 0);
}

/* Fewer than min when the timeout expires; min met once all are done. */
static void check_min_timeout(struct aioc_ctx *ctx, int fd)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	struct aioc_req *reqs = aioc_reqs(ctx);
	reqs[0] = read_req(0, fd);
	for (uint32_t i = 1; i < 3; i++)
		reqs[i] = tu_req(AIOC_CMD_POLL, i, p[0],
				 (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 3);
	int64_t ms;
	CHECK_EQ(timed(ctx, 2, NSLOTS, 30 * MS, &ms), 1);
	CHECK(ms >= 29);
	CHECK_EQ(aioc_events(ctx)[0].data, 0);
	CHECK_EQ(aioc_events(ctx)[0].res, 1024);
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 2, NSLOTS, -1)), 2);
	CHECK_EQ(aioc_events(ctx)[0].data + aioc_events(ctx)[1].data, 3);
	tu_no_event(ctx, 0);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(NSLOTS);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 1, 64 * 1024);

	check_idle(ctx);
	check_min_max(ctx, fd);
	check_min_timeout(ctx, fd);

	close(fd);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
