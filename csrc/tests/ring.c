/*
 * aioc_reap: reaping from the completion ring in user space, the fallback
 * to io_getevents, aioc_use_ring, the one-reaper guard, and the counters
 * aioc_stats keeps.
 *
 * Buffered reads of a file in the page cache complete inside io_submit, so
 * their events are in the ring, in submission order, when aioc_submit
 * returns: reaping them needs no io_getevents. Polls on an empty pipe stay
 * pending until a write, which gives a reaper something to wait for.
 */
#include "testutil.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#include <valgrind/memcheck.h>
#define HAVE_MEMCHECK 1
#endif
#endif

#define MS 1000000LL
#define LONG_WAIT (10000 * MS)
#define MAXSLOTS 8
#define FILE_SIZE (64 * 1024)
#define MAXLEN 700
#define SEED 11
#define POISON 0xee

/* Checks all five counters of ctx at once. */
#define CHECK_STATS(ctx, calls, subm, ring, gcalls, gevents)                   \
	do {                                                                   \
		struct aioc_stats st_;                                         \
		aioc_stats((ctx), &st_);                                       \
		CHECK_EQ(st_.submit_calls, (calls));                           \
		CHECK_EQ(st_.submitted, (subm));                               \
		CHECK_EQ(st_.ring_events, (ring));                             \
		CHECK_EQ(st_.getevents_calls, (gcalls));                       \
		CHECK_EQ(st_.getevents_events, (gevents));                     \
	} while (0)

static uint64_t rng = 0x2545f4914f6cdd1dULL;

static struct aioc_stats stats(const struct aioc_ctx *ctx)
{
	struct aioc_stats s;
	aioc_stats(ctx, &s);
	return s;
}

/*
 * Waits until thread tid is blocked in io_getevents, as
 * /proc/self/task/TID/syscall shows; fails after 10 s. Where that file
 * cannot be read, the caller's sleep has to do.
 */
static void wait_in_getevents(pid_t tid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", (int)tid);
	int64_t deadline = tu_now_ns() + LONG_WAIT;
	for (;;) {
		FILE *f = fopen(path, "re");
		if (f == NULL)
			return;
		long nr = -1;
		int ok = fscanf(f, "%ld", &nr); /* "running" matches not */
		fclose(f);
		if (ok == 1 && nr == SYS_io_getevents)
			return;
#ifdef SYS_io_pgetevents
		if (ok == 1 && nr == SYS_io_pgetevents)
			return;
#endif
		if (tu_now_ns() > deadline)
			tu_fail(__FILE__, __LINE__,
				"thread %d never blocked in io_getevents",
				(int)tid);
		tu_sleep_ms(1);
	}
}

/*
 * Valgrind registers a context's ring as big as the nslots given to
 * io_setup, but the kernel's is larger (nr > nslots: more pages on machines
 * with many CPUs). Under memcheck, mark every ring mapping in full, or
 * reading the ring's later pages shows as invalid reads.
 */
static void rings_known_to_valgrind(void)
{
#ifdef HAVE_MEMCHECK
	if (!RUNNING_ON_VALGRIND)
		return;
	FILE *f = fopen("/proc/self/maps", "re");
	CHECK(f != NULL);
	char line[4096];
	while (fgets(line, sizeof(line), f) != NULL) {
		unsigned long start, end;
		if (strstr(line, "[aio]") != NULL &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2)
			(void)VALGRIND_MAKE_MEM_DEFINED(start, end - start);
	}
	fclose(f);
#endif
}

/* A context whose whole ring memcheck knows. */
static struct aioc_ctx *ring_ctx(uint32_t nslots)
{
	struct aioc_ctx *ctx = tu_ctx(nslots);
	rings_known_to_valgrind();
	return ctx;
}

/* The requests in flight, by slot, and the order they will complete. */
struct pending {
	int busy;
	int64_t off;
	uint64_t len;
	int64_t want; /* bytes the read returns: less across EOF */
	uint8_t *buf;
};

static struct pending slots[MAXSLOTS];

/* Submission order of buffered reads: their events come in this order. */
static uint32_t fifo[MAXSLOTS];
static uint32_t fifo_head, fifo_len;

static void fifo_push(uint32_t slot)
{
	CHECK(fifo_len < MAXSLOTS);
	fifo[(fifo_head + fifo_len++) % MAXSLOTS] = slot;
}

static uint32_t fifo_pop(void)
{
	CHECK(fifo_len > 0);
	uint32_t s = fifo[fifo_head];
	fifo_head = (fifo_head + 1) % MAXSLOTS;
	fifo_len--;
	return s;
}

/* A buffered read: random length at a random offset, some across EOF.
 * Direct: 4 KiB at a random block. The buffer is poisoned first. */
static struct aioc_req read_req(uint32_t slot, int fd, int direct)
{
	struct pending *p = &slots[slot];
	CHECK(!p->busy);
	p->busy = 1;
	p->want = tu_random_read(&rng, FILE_SIZE, MAXLEN, direct, &p->off,
				 &p->len);
	memset(p->buf, POISON, 4096);
	return tu_req(AIOC_CMD_PREAD, slot, fd, p->buf, p->len, p->off);
}

/* Submits reads into slot[0..n), in that order, with one aioc_submit. */
static void submit_reads(struct aioc_ctx *ctx, int fd, int direct,
			 const uint32_t *slot, uint32_t n)
{
	struct aioc_req *reqs = aioc_reqs(ctx);
	for (uint32_t i = 0; i < n; i++) {
		reqs[i] = read_req(slot[i], fd, direct);
		if (!direct)
			fifo_push(slot[i]);
	}
	tu_submit(ctx, n);
}

/* Checks one read's event: its slot was busy, the byte count, the data,
 * and nothing written past it. Frees the slot. */
static void check_read(const struct aioc_event *ev, uint32_t nslots)
{
	CHECK(ev->data < nslots);
	struct pending *p = &slots[ev->data];
	CHECK(p->busy);
	CHECK(ev->obj != 0);
	CHECK_EQ(ev->res, p->want);
	CHECK_EQ(ev->res2, 0);
	CHECK_EQ(tu_pattern_diff(p->buf, SEED, (uint64_t)p->off,
				 (size_t)p->want),
		 -1);
	for (uint64_t i = (uint64_t)p->want; i < 4096; i++)
		CHECK_EQ(p->buf[i], POISON);
	p->busy = 0;
}

/* Checks events[0..n) are buffered reads, in submission order. */
static void check_reads_in_order(struct aioc_ctx *ctx, int n)
{
	const struct aioc_event *events = aioc_events(ctx);
	for (int k = 0; k < n; k++) {
		CHECK_EQ(events[k].data, fifo_pop());
		check_read(&events[k], aioc_nslots(ctx));
	}
}

static int no_slot_busy(void)
{
	for (int i = 0; i < MAXSLOTS; i++)
		if (slots[i].busy)
			return 0;
	return 1;
}

/* a. A fresh context: a ring larger than nslots, all counters 0. */
static void test_fresh(void)
{
	const uint32_t sizes[] = {1, 4, 64, 1000};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct aioc_ctx *ctx = ring_ctx(sizes[i]);
		CHECK(aioc_ring_nr(ctx) > sizes[i]);
		CHECK_STATS(ctx, 0, 0, 0, 0, 0);
		CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	}
}

/* b. Completed events come from the ring with no io_getevents, for min 0
 * and for min > 0. */
static void test_ring_ready(int fd)
{
	struct aioc_ctx *ctx = ring_ctx(8);
	const uint32_t order[8] = {5, 2, 7, 0, 3, 6, 1, 4};
	submit_reads(ctx, fd, 0, order, 8);
	CHECK_STATS(ctx, 1, 8, 0, 0, 0);

	/* Part of what is there, then the rest with min > 0. */
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 3, 0)), 3);
	check_reads_in_order(ctx, 3);
	CHECK_STATS(ctx, 1, 8, 3, 0, 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 2, 8, LONG_WAIT)), 5);
	check_reads_in_order(ctx, 5);
	CHECK_STATS(ctx, 1, 8, 8, 0, 0);
	CHECK(no_slot_busy());

	/* An empty ring with min 0: 0 at once, no system call, whatever
	 * the timeout. */
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 8, 0)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 8, LONG_WAIT)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 8, -1)), 0);
	CHECK_STATS(ctx, 1, 8, 8, 0, 0);

	/* min == max == what is there, no time limit. */
	const uint32_t four[4] = {1, 3, 5, 7};
	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 4, 4, -1)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 2, 12, 12, 0, 0);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/*
 * c. Wrap-around: 20 times the ring's size through 4 slots, reaped with
 * aioc_reap only, in varying amounts, so head and tail cross the end of the
 * ring at every offset. Buffered reads never need io_getevents; O_DIRECT
 * reads complete later, so some are waited for there.
 */
static void run_wrap(int fd, int direct)
{
	const uint32_t nslots = 4;
	struct aioc_ctx *ctx = ring_ctx(nslots);
	const uint32_t nr = aioc_ring_nr(ctx);
	const long total = 20 * (long)nr;
	struct aioc_event *events = aioc_events(ctx);

	uint32_t free_slots[4] = {3, 2, 1, 0};
	uint32_t nfree = 4;
	long submitted = 0, reaped = 0, calls = 0;
	uint32_t inflight = 0;
	while (reaped < total) {
		/* A random number of the free slots, latest freed first. */
		uint32_t n = nfree == 0 ? 0 : 1 + tu_rand(&rng) % nfree;
		if (n > total - submitted)
			n = (uint32_t)(total - submitted);
		if (n > 0) {
			uint32_t take[4];
			for (uint32_t i = 0; i < n; i++)
				take[i] = free_slots[--nfree];
			submit_reads(ctx, fd, direct, take, n);
			calls++;
			submitted += n;
			inflight += n;
		}
		uint32_t max = 1 + (uint32_t)(tu_rand(&rng) % nslots);
		uint32_t ready = inflight < max ? inflight : max;
		uint32_t min =
			direct ? 1 : (uint32_t)(tu_rand(&rng) % (ready + 1));
		int got = CALL(aioc_reap(ctx, min, max, LONG_WAIT));
		if (direct)
			CHECK(got >= 1 && (uint32_t)got <= ready);
		else
			CHECK_EQ(got, ready);
		for (int k = 0; k < got; k++) {
			if (!direct)
				CHECK_EQ(events[k].data, fifo_pop());
			check_read(&events[k], nslots);
			free_slots[nfree++] = (uint32_t)events[k].data;
		}
		reaped += got;
		inflight -= (uint32_t)got;
	}
	CHECK_EQ(submitted, total);
	CHECK(no_slot_busy());
	struct aioc_stats s = stats(ctx);
	CHECK_EQ(s.submit_calls, calls);
	CHECK_EQ(s.submitted, total);
	CHECK_EQ(s.ring_events + s.getevents_events, total);
	if (!direct)
		CHECK_STATS(ctx, calls, total, total, 0, 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, nslots, 0)), 0);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/* The file behind fd opened again with O_DIRECT, or -1 where the file
 * system does not support it. */
static int open_direct(int fd)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int dfd = open(path, O_RDONLY | O_CLOEXEC | O_DIRECT);
	if (dfd < 0 && errno != EINVAL)
		tu_fail(__FILE__, __LINE__, "open %s O_DIRECT: %s", path,
			strerror(errno));
	return dfd;
}

static void test_wrap(int fd)
{
	run_wrap(fd, 0);
	int dfd = open_direct(fd);
	if (dfd < 0) {
		printf("note: no O_DIRECT on the temp file; direct wrap "
		       "skipped\n");
		return;
	}
	run_wrap(dfd, 1);
	close(dfd);
}

/* Writes a byte to fd once thread tid waits in io_getevents. */
struct late_write {
	pid_t tid;
	int fd;
	long delay_ms;
};

static void *late_writer(void *arg)
{
	struct late_write *w = arg;
	tu_sleep_ms(w->delay_ms);
	wait_in_getevents(w->tid);
	CHECK_EQ(write(w->fd, "x", 1), 1);
	return NULL;
}

static void drain(int fd)
{
	char c;
	CHECK_EQ(read(fd, &c, 1), 1);
}

static struct aioc_req poll_req(uint32_t slot, int fd)
{
	return tu_req(AIOC_CMD_POLL, slot, fd, (void *)(uintptr_t)POLLIN, 0, 0);
}

/* d. With too few events in the ring for min, aioc_reap waits in
 * io_getevents; with min 0 an empty ring costs no system call. */
static void test_wait(int fd)
{
	struct aioc_ctx *ctx = ring_ctx(4);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	pthread_t t;
	struct late_write w = {.tid = gettid(), .fd = p[1], .delay_ms = 50};

	aioc_reqs(ctx)[0] = poll_req(1, p[0]);
	tu_submit(ctx, 1);
	struct aioc_stats s0 = stats(ctx);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, LONG_WAIT)), 0);
	CHECK_STATS(ctx, s0.submit_calls, s0.submitted, s0.ring_events,
		    s0.getevents_calls, s0.getevents_events);

	/* The ring is empty: the event comes through io_getevents. */
	CHECK_EQ(pthread_create(&t, NULL, late_writer, &w), 0);
	int64_t t0 = tu_now_ns();
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 1, 5000 * MS)), 1);
	CHECK(tu_now_ns() - t0 >= 40 * MS);
	CHECK_EQ(pthread_join(t, NULL), 0);
	struct aioc_event ev = aioc_events(ctx)[0];
	CHECK_EQ(ev.data, 1);
	CHECK(ev.res & POLLIN);
	struct aioc_stats s1 = stats(ctx);
	CHECK(s1.getevents_calls >= s0.getevents_calls + 1);
	CHECK_EQ(s1.getevents_events, s0.getevents_events + 1);
	CHECK_EQ(s1.ring_events, s0.ring_events);
	drain(p[0]);

	/* Two reads already in the ring and a pending poll, min 3: the
	 * reads from the ring first, then the poll from io_getevents
	 * behind them in the event array. */
	uint32_t two[2] = {2, 3};
	submit_reads(ctx, fd, 0, two, 2);
	aioc_reqs(ctx)[0] = poll_req(0, p[0]);
	tu_submit(ctx, 1);
	s0 = stats(ctx);
	CHECK_EQ(pthread_create(&t, NULL, late_writer, &w), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 3, 4, 5000 * MS)), 3);
	CHECK_EQ(pthread_join(t, NULL), 0);
	check_reads_in_order(ctx, 2);
	ev = aioc_events(ctx)[2];
	CHECK_EQ(ev.data, 0);
	CHECK(ev.res & POLLIN);
	s1 = stats(ctx);
	CHECK_EQ(s1.ring_events, s0.ring_events + 2);
	CHECK(s1.getevents_calls >= s0.getevents_calls + 1);
	CHECK_EQ(s1.getevents_events, s0.getevents_events + 1);
	drain(p[0]);

	/* Nothing comes: the timeout, through io_getevents. Then a cancel
	 * delivers the poll's event, an empty mask. */
	aioc_reqs(ctx)[0] = poll_req(1, p[0]);
	tu_submit(ctx, 1);
	s0 = stats(ctx);
	t0 = tu_now_ns();
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 4, 20 * MS)), 0);
	CHECK(tu_now_ns() - t0 >= 20 * MS);
	CHECK_EQ(stats(ctx).getevents_calls, s0.getevents_calls + 1);
	CHECK_EQ(CALL(aioc_cancel(ctx, 1)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 4, 5000 * MS)), 1);
	CHECK_EQ(aioc_events(ctx)[0].data, 1);
	CHECK_EQ(aioc_events(ctx)[0].res, 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);

	close(p[0]);
	close(p[1]);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/*
 * e. With the ring off, reaping is io_getevents alone; back on, it is the
 * ring again. Then both, switched at random while the ring wraps: the
 * kernel's reader and ours must agree on head.
 */
static void test_use_ring(int fd)
{
	struct aioc_ctx *ctx = ring_ctx(4);
	const uint32_t four[4] = {0, 1, 2, 3};
	CHECK_EQ(CALL(aioc_use_ring(ctx, 0)), 0);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 0)), 0);
	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 1, 4, 0, 1, 4);
	/* Off, even an empty ring is asked of io_getevents. */
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	CHECK_STATS(ctx, 1, 4, 0, 2, 4);
	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 4, 4, LONG_WAIT)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 2, 8, 0, 3, 8);

	/* On again (any nonzero value). */
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), 0);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 7)), 0);
	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 4, LONG_WAIT)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 3, 12, 4, 3, 8);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	CHECK_STATS(ctx, 3, 12, 4, 3, 8);

	/* Mixed, across several wraps. */
	const long total = 6 * (long)aioc_ring_nr(ctx);
	long submitted = 0, done = 0;
	uint32_t next = 0, inflight = 0;
	struct aioc_stats s0 = stats(ctx);
	while (done < total) {
		int on = (int)(tu_rand(&rng) & 1);
		CHECK_EQ(CALL(aioc_use_ring(ctx, on)), 0);
		uint32_t n = (uint32_t)(tu_rand(&rng) % (4 - inflight + 1));
		if (n > total - submitted)
			n = (uint32_t)(total - submitted);
		uint32_t take[4];
		for (uint32_t i = 0; i < n; i++) {
			/* Slots free in FIFO order: the oldest reaped. */
			take[i] = next;
			next = (next + 1) % 4;
		}
		if (n > 0)
			submit_reads(ctx, fd, 0, take, n);
		submitted += n;
		inflight += n;
		uint32_t max = 1 + (uint32_t)(tu_rand(&rng) % 4);
		uint32_t want = inflight < max ? inflight : max;
		int got = CALL(aioc_reap(ctx, 0, max, 0));
		CHECK_EQ(got, want);
		check_reads_in_order(ctx, got);
		inflight -= want;
		done += got;
	}
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	struct aioc_stats s1 = stats(ctx);
	CHECK(s1.ring_events > s0.ring_events);
	CHECK(s1.getevents_events > s0.getevents_events);
	CHECK_EQ(s1.ring_events - s0.ring_events + s1.getevents_events -
			 s0.getevents_events,
		 total);
	CHECK_EQ(s1.submitted - s0.submitted, total);
	CHECK(no_slot_busy());
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/* A reaper blocked in io_getevents on a poll, until the poll fires. */
struct blocked {
	struct aioc_ctx *ctx;
	int use_reap;
	atomic_int tid;
	atomic_int done;
	int ret;
	struct aioc_event ev;
};

static void *blocked_reaper(void *arg)
{
	struct blocked *b = arg;
	atomic_store(&b->tid, (int)gettid());
	if (b->use_reap)
		b->ret = CALL(aioc_reap(b->ctx, 1, 1, 30000 * MS));
	else
		b->ret = CALL(aioc_getevents(b->ctx, 1, 1, 30000 * MS));
	if (b->ret == 1)
		b->ev = aioc_events(b->ctx)[0];
	atomic_store(&b->done, 1);
	return NULL;
}

/* f. One reaper at a time: while A waits, B's reaping and aioc_use_ring
 * are refused with -EBUSY, and work again once A is done. */
static void run_guard(int fd, int use_reap)
{
	struct aioc_ctx *ctx = ring_ctx(4);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	aioc_reqs(ctx)[0] = poll_req(2, p[0]);
	tu_submit(ctx, 1);

	struct blocked b = {.ctx = ctx, .use_reap = use_reap};
	atomic_init(&b.tid, 0);
	atomic_init(&b.done, 0);
	pthread_t t;
	CHECK_EQ(pthread_create(&t, NULL, blocked_reaper, &b), 0);
	while (atomic_load(&b.tid) == 0)
		tu_sleep_ms(1);
	tu_sleep_ms(100);
	wait_in_getevents((pid_t)atomic_load(&b.tid));
	CHECK(!atomic_load(&b.done));

	/* A holds the context: B's calls are refused without a system
	 * call; argument errors are still reported as such. */
	struct aioc_stats s0 = stats(ctx);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), -EBUSY);
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 4, 10 * MS)), -EBUSY);
	CHECK_EQ(CALL(aioc_getevents(ctx, 0, 4, 0)), -EBUSY);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, -1)), -EBUSY);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 0)), -EBUSY);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), -EBUSY);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 5, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 0, 0)), 0);
	CHECK_EQ(CALL(aioc_getevents(ctx, 2, 1, 0)), -EINVAL);
	CHECK(!atomic_load(&b.done));
	struct aioc_stats s1 = stats(ctx);
	CHECK_EQ(s1.getevents_calls, s0.getevents_calls);
	CHECK_EQ(s1.ring_events, s0.ring_events);

	/* The poll fires: A returns with it. */
	CHECK_EQ(write(p[1], "x", 1), 1);
	CHECK_EQ(pthread_join(t, NULL), 0);
	CHECK_EQ(b.ret, 1);
	CHECK_EQ(b.ev.data, 2);
	CHECK(b.ev.res & POLLIN);

	/* B's calls work again. */
	CHECK_EQ(CALL(aioc_use_ring(ctx, 0)), 0);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	CHECK_EQ(CALL(aioc_getevents(ctx, 0, 4, 0)), 0);
	const uint32_t one[1] = {0};
	submit_reads(ctx, fd, 0, one, 1);
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 4, LONG_WAIT)), 1);
	check_reads_in_order(ctx, 1);
	submit_reads(ctx, fd, 0, one, 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 4, LONG_WAIT)), 1);
	check_reads_in_order(ctx, 1);
	CHECK(no_slot_busy());

	close(p[0]);
	close(p[1]);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

static void test_guard(int fd)
{
	run_guard(fd, 0);
	run_guard(fd, 1);
}

/* g. Argument checks, before anything else and without a system call. */
static void test_args(int fd)
{
	struct aioc_ctx *ctx = ring_ctx(4);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 5, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, UINT32_MAX, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, 3, 2, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, 1, 0, -1)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, UINT32_MAX, 4, 0)), -EINVAL);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 0, 0)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 0, -1)), 0);
	CHECK_STATS(ctx, 0, 0, 0, 0, 0);
	/* max 0 with events waiting takes none of them. */
	const uint32_t two[2] = {0, 1};
	submit_reads(ctx, fd, 0, two, 2);
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 0, -1)), 0);
	CHECK_EQ(CALL(aioc_reap(ctx, 2, 4, 0)), 2);
	check_reads_in_order(ctx, 2);
	CHECK_STATS(ctx, 1, 2, 2, 0, 0);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

/* The address of the only "[aio]" mapping: the ring of the one context. */
static void *only_ring(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	CHECK(f != NULL);
	char line[4096];
	void *ring = NULL;
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strstr(line, "[aio]") == NULL)
			continue;
		unsigned long start;
		CHECK_EQ(sscanf(line, "%lx-", &start), 1);
		ring = (void *)start;
		n++;
	}
	fclose(f);
	CHECK_EQ(n, 1);
	return ring;
}

/*
 * h. Stray writes to the ring header. A head out of range makes the
 * context leave the ring alone for good: reaping goes on with io_getevents,
 * and aioc_use_ring refuses to turn it back on.
 */
static void test_broken_ring(int fd)
{
	CHECK_EQ(tu_aio_maps(), 0);
	struct aioc_ctx *ctx = ring_ctx(4);
	/* struct aio_ring: id, nr, head, tail, magic, ... */
	volatile unsigned *hdr = only_ring();
	const unsigned nr = aioc_ring_nr(ctx);
	CHECK_EQ(hdr[1], nr);
	CHECK_EQ(hdr[4], 0xa10a10a1u);
	CHECK_EQ(hdr[7], 32);

	/* header_length is checked once, at create: a stray write to it
	 * later does not move where the events are read from. */
	const uint32_t four[4] = {0, 1, 2, 3};
	hdr[7] = 1u << 30;
	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 4, 4, 0)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 1, 4, 4, 0, 0);
	hdr[7] = 32;

	/* The ring is empty (head == tail). head + nr is the same place to
	 * the kernel, which reduces it modulo nr, but out of range. */
	CHECK_EQ(hdr[2], hdr[3]);
	hdr[2] += nr;
	CHECK_EQ(CALL(aioc_reap(ctx, 0, 4, 0)), 0);
	CHECK_STATS(ctx, 1, 4, 4, 1, 0);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), -EOPNOTSUPP);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 0)), 0);
	CHECK_EQ(CALL(aioc_use_ring(ctx, 1)), -EOPNOTSUPP);

	submit_reads(ctx, fd, 0, four, 4);
	CHECK_EQ(CALL(aioc_reap(ctx, 4, 4, LONG_WAIT)), 4);
	check_reads_in_order(ctx, 4);
	CHECK_STATS(ctx, 2, 8, 4, 2, 4);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
}

int main(void)
{
	for (int i = 0; i < MAXSLOTS; i++)
		slots[i].buf = tu_alloc(4096);
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, SEED, FILE_SIZE);

	test_fresh();
	test_ring_ready(fd);
	test_wrap(fd);
	test_wait(fd);
	test_use_ring(fd);
	test_guard(fd);
	test_args(fd);
	test_broken_ring(fd);

	close(fd);
	for (int i = 0; i < MAXSLOTS; i++)
		free(slots[i].buf);
	return TU_PASS;
}
