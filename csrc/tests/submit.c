/* aioc_submit: partial batches, bad fds, rejected batches, a full ring. */
#include "testutil.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define NSLOTS 8

static uint8_t bufs[NSLOTS][512];

static struct aioc_req read_req(uint32_t slot, int fd)
{
	return tu_req(AIOC_CMD_PREAD, slot, fd, bufs[slot % NSLOTS], 512,
		      512 * (int64_t)slot);
}

/* Submits reqs[0..n) expecting error want with *submitted == done. */
static void submit_fails(struct aioc_ctx *ctx, uint32_t n, int want,
			 uint32_t done)
{
	uint32_t got = 12345;
	CHECK_EQ(CALL(aioc_submit(ctx, n, &got)), want);
	CHECK_EQ(got, done);
}

static void check_rejected_batches(struct aioc_ctx *ctx, int fd)
{
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (uint32_t i = 0; i < NSLOTS; i++)
		reqs[i] = read_req(i, fd);

	/* More than the slot count: nothing is submitted. */
	submit_fails(ctx, NSLOTS + 1, -EINVAL, 0);
	submit_fails(ctx, UINT32_MAX, -EINVAL, 0);

	/* A slot out of range, a bad opcode, a reserved field, fsync with a
	 * buffer: anywhere in the batch, the whole batch is refused. */
	reqs[1].slot = NSLOTS;
	submit_fails(ctx, 3, -EINVAL, 0);
	reqs[1] = read_req(1, fd);
	reqs[2].slot = UINT32_MAX;
	submit_fails(ctx, 3, -EINVAL, 0);
	reqs[2] = read_req(2, fd);
	reqs[1].opcode = 4;
	submit_fails(ctx, 3, -EINVAL, 0);
	reqs[1].opcode = 9;
	submit_fails(ctx, 3, -EINVAL, 0);
	reqs[1] = read_req(1, fd);
	reqs[NSLOTS - 1].reserved = 1;
	submit_fails(ctx, NSLOTS, -EINVAL, 0);
	reqs[NSLOTS - 1] = read_req(NSLOTS - 1, fd);
	reqs[0].opcode = AIOC_CMD_FSYNC;
	submit_fails(ctx, 2, -EINVAL, 0);
	reqs[0] = read_req(0, fd);
	tu_no_event(ctx, 20);

	/* Nothing to do. */
	submit_fails(ctx, 0, 0, 0);
	tu_no_event(ctx, 0);
}

static void check_partial(struct aioc_ctx *ctx, int fd)
{
	struct aioc_req *reqs = aioc_reqs(ctx);

	/* The middle request has no file: the first goes in, then EBADF. */
	reqs[0] = read_req(0, fd);
	reqs[1] = read_req(1, -1);
	reqs[2] = read_req(2, fd);
	submit_fails(ctx, 3, -EBADF, 1);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 0);
	CHECK_EQ(ev.res, 512);
	CHECK_EQ(tu_pattern_diff(bufs[0], 1, 0, 512), -1);
	tu_no_event(ctx, 20);

	/* At the front: nothing goes in. */
	reqs[0] = read_req(0, -1);
	reqs[1] = read_req(1, fd);
	submit_fails(ctx, 2, -EBADF, 0);
	/* At the end: all but the last. */
	for (uint32_t i = 0; i < NSLOTS; i++)
		reqs[i] = read_req(i, fd);
	reqs[NSLOTS - 1].fd = -1;
	submit_fails(ctx, NSLOTS, -EBADF, NSLOTS - 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, NSLOTS - 1, NSLOTS, 10000000000LL)),
		 NSLOTS - 1);
	unsigned seen = 0;
	for (int i = 0; i < NSLOTS - 1; i++) {
		ev = aioc_events(ctx)[i];
		CHECK(ev.data < NSLOTS - 1);
		CHECK(!(seen & (1u << ev.data)));
		seen |= 1u << ev.data;
		CHECK_EQ(ev.res, 512);
	}
	tu_no_event(ctx, 20);

	/* A resfd that is not an open fd: EBADF. One that is not an eventfd:
	 * EINVAL. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	int closed = dup(p[0]);
	CHECK(closed >= 0);
	close(closed);
	reqs[0] = read_req(0, fd);
	reqs[1] = read_req(1, fd);
	reqs[1].resfd = closed;
	submit_fails(ctx, 2, -EBADF, 1);
	ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, 0);
	reqs[0] = read_req(0, fd);
	reqs[0].resfd = closed;
	submit_fails(ctx, 1, -EBADF, 0);
	reqs[0].resfd = p[0];
	submit_fails(ctx, 1, -EINVAL, 0);
	/* A closed fd as the file. */
	reqs[0] = read_req(0, closed);
	submit_fails(ctx, 1, -EBADF, 0);
	tu_no_event(ctx, 20);
	close(p[0]);
	close(p[1]);
}

/*
 * Polls that never complete fill the kernel's ring: io_submit then takes
 * part of a batch or refuses with EAGAIN. Whatever *submitted says went in
 * must come out as events, no more.
 */
static void check_ring_full(struct aioc_ctx *ctx)
{
	int p[2];
	CHECK_EQ(pipe(p), 0);
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (uint32_t i = 0; i < NSLOTS; i++)
		reqs[i] = tu_req(AIOC_CMD_POLL, i, p[0],
				 (void *)(uintptr_t)POLLIN, 0, 0);
	uint64_t total = 0;
	int ret = 0;
	for (int i = 0; i < 100000 && ret == 0; i++) {
		uint32_t done = 12345;
		ret = CALL(aioc_submit(ctx, NSLOTS, &done));
		CHECK(done <= NSLOTS);
		CHECK(ret == 0 ? done == NSLOTS : done < NSLOTS);
		total += done;
	}
	CHECK_EQ(ret, -EAGAIN);
	CHECK(total >= NSLOTS);
	printf("ring full after %llu requests\n", (unsigned long long)total);

	CHECK_EQ(write(p[1], "x", 1), 1);
	uint64_t reaped = 0;
	while (reaped < total) {
		int n = CALL(aioc_getevents(ctx, 1, NSLOTS, 10000000000LL));
		CHECK(n >= 1);
		for (int k = 0; k < n; k++) {
			struct aioc_event ev = aioc_events(ctx)[k];
			CHECK(ev.data < NSLOTS);
			CHECK(ev.res & POLLIN);
		}
		reaped += (uint64_t)n;
	}
	CHECK_EQ(reaped, total);
	tu_no_event(ctx, 20);

	/* There is room again. */
	uint32_t done = 0;
	CHECK_EQ(CALL(aioc_submit(ctx, NSLOTS, &done)), 0);
	CHECK_EQ(done, NSLOTS);
	CHECK_EQ(CALL(aioc_getevents(ctx, NSLOTS, NSLOTS, 10000000000LL)),
		 NSLOTS);
	close(p[0]);
	close(p[1]);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(NSLOTS);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 1, 64 * 1024);

	check_rejected_batches(ctx, fd);
	check_partial(ctx, fd);
	check_ring_full(ctx);

	close(fd);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
