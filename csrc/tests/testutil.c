/* Helpers shared by the C tests; see testutil.h. */
#include "testutil.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void tu_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s:%d: FAILED: ", file, line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(TU_FAIL);
}

void skip(const char *reason)
{
	printf("skip: %s\n", reason);
	fflush(stdout);
	exit(TU_SKIP);
}

int tu_errno_kept(int ret, const char *file, int line, const char *expr)
{
	if (errno != TU_ERRNO_SENTINEL)
		tu_fail(file, line, "%s changed errno to %d (%s)", expr, errno,
			strerror(errno));
	return ret;
}

struct aioc_ctx *tu_ctx(uint32_t nslots)
{
	struct aioc_ctx *ctx = NULL;
	int ret = CALL(aioc_create(&ctx, nslots));
	if (ret == -ENOSYS)
		skip("kernel AIO is not available (io_setup: ENOSYS)");
	if (ret != 0)
		tu_fail(__FILE__, __LINE__, "aioc_create(%u): %s", nslots,
			strerror(-ret));
	CHECK(ctx != NULL);
	return ctx;
}

struct aioc_req tu_req(uint16_t opcode, uint32_t slot, int fd, const void *buf,
		       uint64_t len, int64_t offset)
{
	struct aioc_req r = {
		.slot = slot,
		.opcode = opcode,
		.fd = fd,
		.resfd = -1,
		.buf = (uint64_t)(uintptr_t)buf,
		.len = len,
		.offset = offset,
	};
	return r;
}

void tu_submit(struct aioc_ctx *ctx, uint32_t n)
{
	uint32_t done = UINT32_MAX;
	CHECK_EQ(CALL(aioc_submit(ctx, n, &done)), 0);
	CHECK_EQ(done, n);
}

struct aioc_event tu_reap1(struct aioc_ctx *ctx)
{
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, 1, 10000000000LL)), 1);
	return aioc_events(ctx)[0];
}

int64_t tu_run(struct aioc_ctx *ctx, const struct aioc_req *r)
{
	aioc_reqs(ctx)[0] = *r;
	tu_submit(ctx, 1);
	struct aioc_event ev = tu_reap1(ctx);
	CHECK_EQ(ev.data, r->slot);
	CHECK(ev.obj != 0);
	CHECK_EQ(ev.res2, 0);
	return ev.res;
}

void tu_no_event(struct aioc_ctx *ctx, int ms)
{
	uint32_t n = aioc_nslots(ctx);
	CHECK_EQ(CALL(aioc_getevents(ctx, 0, n, 0)), 0);
	CHECK_EQ(CALL(aioc_getevents(ctx, 1, n, (int64_t)ms * 1000000)), 0);
}

static int tmpfile_in(const char *dir, int flags)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/aiocore-test-XXXXXX", dir);
	int fd = mkostemp(path, flags);
	if (fd >= 0)
		unlink(path);
	return fd;
}

int tu_tmpfile(int flags)
{
	const char *env = getenv("TMPDIR");
	int fd = -1;
	if (env != NULL && env[0] != '\0')
		fd = tmpfile_in(env, flags);
	if (fd < 0)
		fd = tmpfile_in("/tmp", flags);
	if (fd < 0 && errno == EINVAL && (flags & O_DIRECT))
		skip("O_DIRECT is not supported in $TMPDIR or /tmp (EINVAL)");
	if (fd < 0)
		tu_fail(__FILE__, __LINE__, "temp file: %s", strerror(errno));
	return fd;
}

int tu_reopen(int fd, int flags)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	int nfd = open(path, O_RDWR | O_CLOEXEC | flags);
	if (nfd < 0 && errno == EINVAL && (flags & O_DIRECT))
		skip("O_DIRECT is not supported on the temp file (EINVAL)");
	if (nfd < 0)
		tu_fail(__FILE__, __LINE__, "reopen %s: %s", path,
			strerror(errno));
	return nfd;
}

uint8_t tu_pattern(uint8_t seed, uint64_t off)
{
	return (uint8_t)(seed + off * 7 + (off >> 8) * 13 + (off >> 16) * 3);
}

void tu_pattern_fill(void *buf, uint8_t seed, uint64_t off, size_t len)
{
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = tu_pattern(seed, off + i);
}

long tu_pattern_diff(const void *buf, uint8_t seed, uint64_t off, size_t len)
{
	const uint8_t *p = buf;
	for (size_t i = 0; i < len; i++)
		if (p[i] != tu_pattern(seed, off + i))
			return (long)i;
	return -1;
}

void tu_fill_file(int fd, uint8_t seed, uint64_t size)
{
	const size_t chunk = 64 * 1024;
	uint8_t *buf = tu_alloc(chunk);
	for (uint64_t off = 0; off < size; off += chunk) {
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		tu_pattern_fill(buf, seed, off, n);
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w != (ssize_t)n)
			tu_fail(__FILE__, __LINE__, "pwrite at %llu: %zd (%s)",
				(unsigned long long)off, w, strerror(errno));
	}
	free(buf);
	CHECK_EQ(ftruncate(fd, (off_t)size), 0);
}

void *tu_alloc(size_t size)
{
	void *p = NULL;
	if (posix_memalign(&p, 4096, size ? size : 1) != 0)
		tu_fail(__FILE__, __LINE__, "posix_memalign(%zu) failed", size);
	memset(p, 0, size);
	return p;
}

int tu_aio_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	CHECK(f != NULL);
	char line[4096];
	int n = 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "[aio]") != NULL)
			n++;
	fclose(f);
	return n;
}

static long read_long(const char *path)
{
	FILE *f = fopen(path, "re");
	if (f == NULL)
		tu_fail(__FILE__, __LINE__, "open %s: %s", path,
			strerror(errno));
	long v = -1;
	CHECK_EQ(fscanf(f, "%ld", &v), 1);
	fclose(f);
	return v;
}

long tu_aio_max_nr(void)
{
	return read_long("/proc/sys/fs/aio-max-nr");
}

long tu_aio_nr(void)
{
	return read_long("/proc/sys/fs/aio-nr");
}

int64_t tu_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void tu_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

uint64_t tu_rand(uint64_t *state)
{
	uint64_t x = *state;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *state = x;
}

int64_t tu_random_read(uint64_t *rng, int64_t file_size, uint64_t maxlen,
		       int direct, int64_t *off, uint64_t *len)
{
	if (direct) {
		*off = (int64_t)(tu_rand(rng) % (uint64_t)(file_size / 4096)) *
		       4096;
		*len = 4096;
	} else {
		*off = (int64_t)(tu_rand(rng) % (uint64_t)(file_size + 100));
		*len = 1 + tu_rand(rng) % maxlen;
	}
	int64_t left = file_size - *off;
	return left < 0 ? 0 : (left < (int64_t)*len ? left : (int64_t)*len);
}
