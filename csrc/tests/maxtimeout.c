/* aioc_getevents with the largest timeout (INT64_MAX ns) waits, across
 * EINTR, like an unlimited one. */
#include "testutil.h"

#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

static volatile sig_atomic_t ticks;
static int wake_fd = -1;

/* Every 5 ms; the 20th tick makes the pending poll ready. */
static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	if (++ticks == 20) {
		ssize_t n = write(wake_fd, "x", 1);
		(void)n;
	}
	errno = saved;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);

	struct aioc_ctx *ctx = tu_ctx(2);
	int p[2];
	CHECK_EQ(pipe(p), 0);
	wake_fd = p[1];

	/* Already complete: returns at once. */
	CHECK_EQ(write(p[1], "x", 1), 1);
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 0, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 1);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, INT64_MAX)), 1);
	char c;
	CHECK_EQ(read(p[0], &c, 1), 1);

	/* Pending, with signals: must not give up after the first EINTR. */
	tu_submit(ctx, 1);
	struct itimerval it = {{0, 5000}, {0, 5000}};
	CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
	int n = CALL(aioc_getevents(ctx, 1, 1, INT64_MAX));
	int t = ticks;
	memset(&it, 0, sizeof(it));
	CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
	if (n != 1)
		tu_fail(__FILE__, __LINE__,
			"aioc_getevents(1, 1, INT64_MAX) returned %d after %d "
			"signal(s) before the request completed",
			n, t);
	CHECK(t >= 20);
	CHECK(aioc_events(ctx)[0].res & POLLIN);

	close(p[0]);
	close(p[1]);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
