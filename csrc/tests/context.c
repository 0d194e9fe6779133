/* Context lifetime: aioc_create/destroy, limits, accessors, no leaks, errno. */
#include "testutil.h"

#include <stdio.h>
#include <string.h>

/* aioc_nslots, aioc_reqs and aioc_events, each with errno checked. */
static uint32_t nslots_of(const struct aioc_ctx *ctx)
{
	errno = TU_ERRNO_SENTINEL;
	uint32_t n = aioc_nslots(ctx);
	CHECK_EQ(errno, TU_ERRNO_SENTINEL);
	return n;
}

static struct aioc_req *reqs_of(struct aioc_ctx *ctx)
{
	errno = TU_ERRNO_SENTINEL;
	struct aioc_req *r = aioc_reqs(ctx);
	CHECK_EQ(errno, TU_ERRNO_SENTINEL);
	return r;
}

static struct aioc_event *events_of(struct aioc_ctx *ctx)
{
	errno = TU_ERRNO_SENTINEL;
	struct aioc_event *e = aioc_events(ctx);
	CHECK_EQ(errno, TU_ERRNO_SENTINEL);
	return e;
}

static void check_invalid_sizes(void)
{
	const uint32_t bad[] = {0, AIOC_MAX_SLOTS + 1, UINT32_MAX};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct aioc_ctx *ctx = NULL;
		CHECK_EQ(CALL(aioc_create(&ctx, bad[i])), -EINVAL);
	}
}

/* The accessors, and that both arrays really hold nslots entries (the
 * sanitizers and valgrind catch any overrun here). */
static void check_accessors(uint32_t nslots)
{
	struct aioc_ctx *ctx = tu_ctx(nslots);
	CHECK_EQ(nslots_of(ctx), nslots);
	struct aioc_req *reqs = reqs_of(ctx);
	struct aioc_event *events = events_of(ctx);
	CHECK(reqs != NULL);
	CHECK(events != NULL);
	CHECK(reqs_of(ctx) == reqs);
	CHECK(events_of(ctx) == events);
	CHECK((void *)reqs != (void *)events);
	memset(reqs, 0xab, nslots * sizeof(*reqs));
	memset(events, 0xcd, nslots * sizeof(*events));
	CHECK_EQ(reqs[nslots - 1].fd, (int32_t)0xabababab);
	CHECK_EQ(events[nslots - 1].res, (int64_t)0xcdcdcdcdcdcdcdcdULL);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/* A context above fs.aio-max-nr: the kernel refuses it in io_setup. */
static void check_over_max_nr(void)
{
	long max_nr = tu_aio_max_nr();
	if (max_nr >= (long)AIOC_MAX_SLOTS) {
		printf("note: aio-max-nr %ld >= AIOC_MAX_SLOTS, "
		       "over-limit check not possible\n",
		       max_nr);
		return;
	}
	struct aioc_ctx *ctx = NULL;
	int maps = tu_aio_maps();
	CHECK_EQ(CALL(aioc_create(&ctx, (uint32_t)max_nr + 1)), -EAGAIN);
	CHECK_EQ(tu_aio_maps(), maps);
}

/*
 * Holding contexts adds one "[aio]" mapping each and their slots to
 * fs.aio-nr; destroying them takes both back. The mapping count is this
 * process's own and is checked exactly. aio-nr is system-wide, so other
 * processes may move it meanwhile: these return whether it matched.
 */
static int holds_and_releases(void)
{
	enum { N = 10 };
	struct aioc_ctx *ctx[N];
	int maps0 = tu_aio_maps();
	long nr0 = tu_aio_nr();
	long want = 0;
	for (int i = 0; i < N; i++) {
		uint32_t n = 1 + (uint32_t)i * 37;
		ctx[i] = tu_ctx(n);
		want += n;
	}
	CHECK_EQ(tu_aio_maps(), maps0 + N);
	long nr1 = tu_aio_nr();
	for (int i = 0; i < N; i++)
		CHECK_EQ(CALL(aioc_destroy(ctx[i])), 0);
	CHECK_EQ(tu_aio_maps(), maps0);
	return nr1 - nr0 == want && tu_aio_nr() == nr0;
}

/* io_destroy waits for an RCU grace period (about 32 ms here), so the
 * cycle count stays modest. */
static int cycles_leave_no_trace(void)
{
	int maps0 = tu_aio_maps();
	long nr0 = tu_aio_nr();
	for (int i = 0; i < 40; i++) {
		struct aioc_ctx *ctx = tu_ctx(1 + (uint32_t)(i % 5) * 64);
		CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	}
	CHECK_EQ(tu_aio_maps(), maps0);
	return tu_aio_nr() == nr0;
}

/* The aio-nr accounting of one context, retried until a quiet moment. */
static int aio_nr_probe(void)
{
	for (int try = 0; try < 100; try++) {
		long nr0 = tu_aio_nr();
		struct aioc_ctx *ctx = tu_ctx(777);
		long nr1 = tu_aio_nr();
		CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
		if (nr1 - nr0 == 777 && tu_aio_nr() == nr0)
			return 1;
	}
	return 0;
}

int main(void)
{
	CHECK_EQ(CALL(aioc_destroy(NULL)), 0);
	check_invalid_sizes();
	check_accessors(1);
	check_accessors(100);
	check_accessors(4096);
	check_over_max_nr();

	int held = holds_and_releases();
	int cycled = cycles_leave_no_trace();
	if (!held || !cycled)
		CHECK(aio_nr_probe());
	return TU_PASS;
}
