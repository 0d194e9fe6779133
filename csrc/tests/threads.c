/* One thread submits while another reaps, on the same context. */
#include "testutil.h"

#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#define NSLOTS 16
#define BS 4096
#define FILE_SIZE (1024 * 1024)

struct shared {
	struct aioc_ctx *ctx;
	int fd;
	long total;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint32_t free_slots[NSLOTS]; /* slots the reaper handed back */
	uint32_t nfree;
	int64_t offsets[NSLOTS];
	uint8_t *bufs[NSLOTS];
	long reaped;
};

static uint64_t rng = 88172645463325252ULL;

/* The submitting thread: touches only aioc_reqs and aioc_submit. */
static void *submitter(void *arg)
{
	struct shared *s = arg;
	struct aioc_req *reqs = aioc_reqs(s->ctx);
	long issued = 0;
	while (issued < s->total) {
		uint32_t take[NSLOTS];
		uint32_t n = 0;
		pthread_mutex_lock(&s->mu);
		while (s->nfree == 0)
			pthread_cond_wait(&s->cv, &s->mu);
		while (s->nfree > 0 && issued + n < s->total)
			take[n++] = s->free_slots[--s->nfree];
		pthread_mutex_unlock(&s->mu);
		for (uint32_t i = 0; i < n; i++) {
			/* take[0..n) was filled above; cppcheck loses n. */
			/* cppcheck-suppress uninitvar */
			uint32_t slot = take[i];
			int64_t off =
				(int64_t)(tu_rand(&rng) % (FILE_SIZE / BS)) *
				BS;
			s->offsets[slot] = off;
			reqs[i] = tu_req(AIOC_CMD_PREAD, slot, s->fd,
					 s->bufs[slot], BS, off);
		}
		tu_submit(s->ctx, n);
		issued += n;
	}
	return NULL;
}

/* The reaping thread: touches only aioc_getevents and aioc_events. */
static void *reaper(void *arg)
{
	struct shared *s = arg;
	struct aioc_event *events = aioc_events(s->ctx);
	while (s->reaped < s->total) {
		int n = CALL(aioc_getevents(s->ctx, 1, NSLOTS, 10000000000LL));
		CHECK(n >= 1);
		for (int k = 0; k < n; k++) {
			struct aioc_event ev = events[k];
			CHECK(ev.data < NSLOTS);
			CHECK_EQ(ev.res, BS);
			CHECK_EQ(tu_pattern_diff(s->bufs[ev.data], 7,
						 (uint64_t)s->offsets[ev.data],
						 BS),
				 -1);
		}
		pthread_mutex_lock(&s->mu);
		for (int k = 0; k < n; k++)
			s->free_slots[s->nfree++] = (uint32_t)events[k].data;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		s->reaped += n;
	}
	return NULL;
}

static void run(int fd, long total)
{
	static struct shared s;
	s.ctx = tu_ctx(NSLOTS);
	s.fd = fd;
	s.total = total;
	s.reaped = 0;
	CHECK_EQ(pthread_mutex_init(&s.mu, NULL), 0);
	CHECK_EQ(pthread_cond_init(&s.cv, NULL), 0);
	s.nfree = 0;
	for (uint32_t i = 0; i < NSLOTS; i++) {
		s.bufs[i] = tu_alloc(BS);
		s.free_slots[s.nfree++] = i;
	}
	pthread_t ts, tr;
	CHECK_EQ(pthread_create(&tr, NULL, reaper, &s), 0);
	CHECK_EQ(pthread_create(&ts, NULL, submitter, &s), 0);
	CHECK_EQ(pthread_join(ts, NULL), 0);
	CHECK_EQ(pthread_join(tr, NULL), 0);
	CHECK_EQ(s.reaped, total);
	CHECK_EQ(s.nfree, NSLOTS);
	tu_no_event(s.ctx, 0);
	CHECK_EQ(CALL(aioc_destroy(s.ctx)), 0);
	for (uint32_t i = 0; i < NSLOTS; i++)
		free(s.bufs[i]);
	pthread_cond_destroy(&s.cv);
	pthread_mutex_destroy(&s.mu);
}

int main(void)
{
	int fd = tu_tmpfile(0);
	tu_fill_file(fd, 7, FILE_SIZE);
	run(fd, 20000);
	int dfd = tu_reopen(fd, O_DIRECT);
	run(dfd, 5000);
	close(dfd);
	close(fd);
	return TU_PASS;
}
