/* Slot reuse and ring wrap: 10000 cached and 2000 O_DIRECT reads through 8
 * slots, every event checked. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#define NSLOTS 8
#define TOTAL 10000
#define TOTAL_DIRECT 2000
#define FILE_SIZE (64 * 1024)
#define MAXLEN 700

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

struct pending {
	int busy;
	int64_t off;
	uint64_t len;
	int64_t want;
	uint64_t obj; /* the slot's iocb, once known: it never changes */
	uint8_t *buf; /* 4096 bytes, aligned */
};

static struct pending slots[NSLOTS];

/* Buffered: a read of random length at a random offset, some of them
 * across EOF. Direct: 4 KiB at a random block. */
static struct aioc_req read_req(uint32_t slot, int fd, int direct)
{
	struct pending *p = &slots[slot];
	p->busy = 1;
	p->want = tu_random_read(&rng, FILE_SIZE, MAXLEN, direct, &p->off,
				 &p->len);
	return tu_req(AIOC_CMD_PREAD, slot, fd, p->buf, p->len, p->off);
}

static void run(struct aioc_ctx *ctx, int fd, int direct, long total)
{
	struct aioc_req *reqs = aioc_reqs(ctx);
	struct aioc_event *events = aioc_events(ctx);

	uint32_t free_slots[NSLOTS];
	uint32_t nfree = 0;
	for (uint32_t i = 0; i < NSLOTS; i++)
		free_slots[nfree++] = NSLOTS - 1 - i;

	long submitted = 0, reaped = 0, inflight = 0;
	while (reaped < total) {
		/* Refill the free slots, in the order they came back. */
		uint32_t n = 0;
		while (nfree > 0 && submitted + n < total) {
			uint32_t s = free_slots[--nfree];
			reqs[n++] = read_req(s, fd, direct);
		}
		if (n > 0) {
			tu_submit(ctx, n);
			submitted += n;
			inflight += n;
		}
		/* Reap a varying number, at least one. */
		uint32_t max = 1 + (uint32_t)(tu_rand(&rng) % NSLOTS);
		int got = CALL(aioc_getevents(ctx, 1, max, 10000000000LL));
		CHECK(got >= 1 && (uint32_t)got <= max && got <= inflight);
		for (int k = 0; k < got; k++) {
			struct aioc_event ev = events[k];
			CHECK(ev.data < NSLOTS);
			struct pending *p = &slots[ev.data];
			CHECK(p->busy);
			CHECK_EQ(ev.res, p->want);
			CHECK_EQ(ev.res2, 0);
			if (p->obj == 0)
				p->obj = ev.obj;
			CHECK_EQ(ev.obj, p->obj);
			CHECK_EQ(tu_pattern_diff(p->buf, 5, (uint64_t)p->off,
						 (size_t)p->want),
				 -1);
			p->busy = 0;
			free_slots[nfree++] = (uint32_t)ev.data;
		}
		reaped += got;
		inflight -= got;
	}
	CHECK_EQ(submitted, total);
	CHECK_EQ(inflight, 0);
	tu_no_event(ctx, 0);
}

int main(void)
{
	struct aioc_ctx *ctx = tu_ctx(NSLOTS);
	int maps = tu_aio_maps();
	for (int i = 0; i < NSLOTS; i++)
		slots[i].buf = tu_alloc(4096);

	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 5, FILE_SIZE);
	run(ctx, fd, 0, TOTAL);
	close(fd);

	fd = tu_tmpfile(O_DIRECT);
	tu_fill_file(fd, 5, FILE_SIZE);
	run(ctx, fd, 1, TOTAL_DIRECT);
	close(fd);

	for (int i = 0; i < NSLOTS; i++)
		free(slots[i].buf);
	CHECK_EQ(tu_aio_maps(), maps);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	CHECK_EQ(tu_aio_maps(), maps - 1);
	return TU_PASS;
}
