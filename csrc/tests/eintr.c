/* aioc_getevents retries EINTR with the remaining time (SIGALRM, no
 * SA_RESTART, every 5 ms). */
#include "testutil.h"

#include <libaio.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#define MS 1000000LL

static volatile sig_atomic_t ticks;
static volatile sig_atomic_t wake_at; /* tick that writes wake_fd, or 0 */
static int wake_fd = -1;

static void on_alarm(int sig)
{
	(void)sig;
	int saved = errno;
	ticks++;
	if (wake_at != 0 && ticks == wake_at) {
		ssize_t n = write(wake_fd, "x", 1);
		(void)n;
	}
	errno = saved;
}

static void timer(long usec)
{
	struct itimerval it = {{0, usec}, {0, usec}};
	CHECK_EQ(setitimer(ITIMER_REAL, &it, NULL), 0);
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART */
	CHECK_EQ(sigaction(SIGALRM, &sa, NULL), 0);

	struct aioc_ctx *ctx = tu_ctx(4);
	timer(5000);

	/* The premise: the signal does interrupt io_getevents. */
	io_context_t raw = 0;
	CHECK_EQ(io_setup(1, &raw), 0);
	struct io_event rev;
	struct timespec ts = {0, 200 * MS};
	CHECK_EQ(io_getevents(raw, 1, 1, &rev, &ts), -EINTR);
	CHECK_EQ(io_destroy(raw), 0);

	/* Idle, 200 ms: interrupted about 40 times, still waits it out. */
	ticks = 0;
	int64_t t0 = tu_now_ns();
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 200 * MS)), 0);
	int64_t el = tu_now_ns() - t0;
	CHECK(ticks > 0);
	CHECK(el >= 199 * MS);
	CHECK(el < 2000 * MS);

	/* No time limit: interrupted until the 20th tick makes a poll
	 * ready, then that event. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	aioc_reqs(ctx)[0] =
		tu_req(AIOC_CMD_POLL, 1, p[0], (void *)(uintptr_t)POLLIN, 0, 0);
	tu_submit(ctx, 1);
	wake_fd = p[1];
	ticks = 0;
	wake_at = 20;
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, -1)), 1);
	CHECK(ticks >= 20);
	CHECK_EQ(aioc_events(ctx)[0].data, 1);
	CHECK(aioc_events(ctx)[0].res & POLLIN);
	wake_at = 0;

	timer(0);
	close(p[0]);
	close(p[1]);
	CHECK_EQ(CALL(aioc_destroy(ctx)), 0);
	return TU_PASS;
}
