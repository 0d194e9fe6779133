/* Helpers shared by the C tests: checks, skips, temp files, kernel state. */
#ifndef AIOCORE_TESTUTIL_H
#define AIOCORE_TESTUTIL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aiocore.h"

/* Exit codes understood by tests/run.sh. */
#define TU_PASS 0
#define TU_FAIL 1
#define TU_SKIP 77

/* A value no libc or kernel error ever sets; see CALL. */
#define TU_ERRNO_SENTINEL 4242

_Noreturn void tu_fail(const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
_Noreturn void skip(const char *reason);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond))                                                   \
			tu_fail(__FILE__, __LINE__, "CHECK(%s)", #cond);       \
	} while (0)

/* Compares two integers (any width up to 64 bits) and shows both values. */
#define CHECK_EQ(a, b)                                                         \
	do {                                                                   \
		long long tu_a_ = (long long)(a), tu_b_ = (long long)(b);      \
		if (tu_a_ != tu_b_)                                            \
			tu_fail(__FILE__, __LINE__,                            \
				"CHECK_EQ(%s, %s): %lld != %lld", #a, #b,      \
				tu_a_, tu_b_);                                 \
	} while (0)

/*
 * CALL(call) evaluates an int-returning core call with errno set to a
 * sentinel, fails the test if the call changed errno (the API promises it
 * never does), and yields the call's result.
 */
#define CALL(call)                                                             \
	(errno = TU_ERRNO_SENTINEL,                                            \
	 tu_errno_kept((call), __FILE__, __LINE__, #call))
int tu_errno_kept(int ret, const char *file, int line, const char *expr);

/* Creates a context, skipping when the kernel has no AIO (ENOSYS). */
struct aioc_ctx *tu_ctx(uint32_t nslots);

/* A request with resfd -1, rw_flags and ioprio 0 (POLL: buf is the mask). */
struct aioc_req tu_req(uint16_t opcode, uint32_t slot, int fd, const void *buf,
		       uint64_t len, int64_t offset);
/* Submits reqs[0..n) of ctx, checking all n went in. */
void tu_submit(struct aioc_ctx *ctx, uint32_t n);
/* Reaps exactly one event (waiting up to 10 s) and returns a copy. */
struct aioc_event tu_reap1(struct aioc_ctx *ctx);
/* Runs one request to completion: submits *r, reaps its event, checks the
 * event's data is r->slot, and returns its res. */
int64_t tu_run(struct aioc_ctx *ctx, const struct aioc_req *r);
/* Checks that no event arrives within ms milliseconds. */
void tu_no_event(struct aioc_ctx *ctx, int ms);

/*
 * Creates an unlinked temp file in $TMPDIR, else /tmp, opened O_RDWR plus
 * flags (O_DIRECT, ...), and returns its fd. With O_DIRECT, skips when no
 * candidate directory supports it.
 */
int tu_tmpfile(int flags);
/* Opens the file behind fd again, O_RDWR plus flags; skips as tu_tmpfile. */
int tu_reopen(int fd, int flags);

/* The byte the known pattern has at file offset off, for a given seed. */
uint8_t tu_pattern(uint8_t seed, uint64_t off);
/* Fills buf with the pattern of file range [off, off+len). */
void tu_pattern_fill(void *buf, uint8_t seed, uint64_t off, size_t len);
/* Returns the index of the first byte of buf not matching, or -1. */
long tu_pattern_diff(const void *buf, uint8_t seed, uint64_t off, size_t len);
/* Writes the pattern to [0, size) of fd with pwrite (aligned, for O_DIRECT),
 * and truncates the file to size. */
void tu_fill_file(int fd, uint8_t seed, uint64_t size);

/* A zeroed buffer aligned to 4096 (for O_DIRECT); fails the test on ENOMEM.
 */
void *tu_alloc(size_t size);

/* Counts the "[aio]" ring mappings in /proc/self/maps: one per live kernel
 * AIO context. */
int tu_aio_maps(void);
/* /proc/sys/fs/aio-max-nr and /proc/sys/fs/aio-nr. */
long tu_aio_max_nr(void);
long tu_aio_nr(void);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t tu_now_ns(void);

/* Sleeps ms milliseconds, resuming after signals. */
void tu_sleep_ms(long ms);

/* xorshift64: the next pseudo-random number from *state (never 0). */
uint64_t tu_rand(uint64_t *state);

/*
 * Picks a random read of a file of file_size bytes: with direct, 4 KiB at a
 * random 4 KiB block; else 1 to maxlen bytes at an offset up to 100 bytes
 * past the end. Stores them in *off and *len and returns the bytes the read
 * will return (fewer across the end, 0 past it).
 */
int64_t tu_random_read(uint64_t *rng, int64_t file_size, uint64_t maxlen,
		       int direct, int64_t *off, uint64_t *len);

#endif /* AIOCORE_TESTUTIL_H */
