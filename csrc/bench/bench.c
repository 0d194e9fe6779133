/*
 * aiocore-bench: random reads (or writes) through the aiocore API at a
 * fixed queue depth, the C reference for the Go benchmarks.
 *
 *   aiocore-bench -f FILE [-d DEPTH] [-b BLOCKSIZE] [-t SECONDS | -n IOS]
 *                 [-s SIZE] [-r MAX] [-B] [-G] [-w]
 *
 * Reads are O_DIRECT (or buffered with -B), blocksize-aligned, at offsets
 * from a xorshift generator. With -w they are writes of pseudo-random data
 * instead, over the file's existing blocks (the file is never extended, so
 * that O_DIRECT writes stay asynchronous). The first depth requests go in with
 * one aioc_submit; then each round reaps between 1 and depth (or -r MAX)
 * events with aioc_reap (from the completion ring in user space,
 * io_getevents only to wait; with -G the ring is off and every reap is an
 * io_getevents call) and resubmits as many new reads with one aioc_submit.
 *
 * Why -r: on a virtio disk, completions tend to come all at once, and a
 * loop that resubmits them all in one io_submit keeps them together: the
 * disk idles while the loop reaps and submits, and the I/O moves in waves.
 * Reaping a few at a time and resubmitting them at once, as fio does (one
 * event per io_getevents), breaks the waves: here at 32 in flight, -r 2
 * made 80-87 k reads/s against 68-72 k with -r 32, for 4.6-5.3 against
 * 3.8-4.0 us of CPU per read.
 *
 * Each request's completion latency, from the clock reading before the
 * aioc_submit that sent it to the one after the aioc_reap that returned its
 * event, goes into a log-linear histogram (as cmd/aiobench's latency.go
 * keeps for the Go engines, so that both report alike): one clock reading
 * per round, which the loop took anyway to see whether its time is up.
 *
 * The last line of output is machine-readable:
 *
 *   aiocore-bench: depth=32 reap_max=32 bs=4096 ios=123456 seconds=5.001
 *   iops=24686 cpu_us_per_io=6.21 direct=1 write=0 ring_events=120000
 *   getevents_calls=3456 lat_p50_us=512.0 lat_p99_us=1510.5
 *   lat_p999_us=2890.0
 *   (on one line; ring_events and getevents_calls are aioc_stats counters:
 *   events reaped from the ring, and io_getevents calls; the lat_ fields
 *   are completion latency percentiles)
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "aiocore.h"

#define PROG "aiocore-bench"

struct opts {
	const char *file;
	uint32_t depth;
	uint64_t bs;
	double seconds;
	uint64_t ios; /* 0: run for seconds */
	uint64_t size;
	int direct;
	uint32_t reap_max; /* events per round at most (-r; default depth) */
	int ring;	   /* reap from the ring (-G: 0) */
	int write;	   /* -w: write instead of read */
};

static _Noreturn void die(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, PROG ": error: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static _Noreturn void usage(const char *why)
{
	if (why != NULL)
		fprintf(stderr, PROG ": %s\n", why);
	fprintf(stderr,
		"usage: " PROG " -f FILE [-d DEPTH] [-b BLOCKSIZE] "
		"[-t SECONDS | -n IOS] [-s SIZE] [-r MAX] [-B] [-G] [-w]\n"
		"  -f FILE       file to read (created by -s if missing)\n"
		"  -d DEPTH      requests in flight (default 32)\n"
		"  -b BLOCKSIZE  bytes per read (default 4096; K/M/G)\n"
		"  -t SECONDS    run time (default 5)\n"
		"  -n IOS        run this many reads instead\n"
		"  -s SIZE       first extend FILE with data to SIZE bytes "
		"(K/M/G)\n"
		"  -r MAX        reap at most MAX events before resubmitting "
		"(default DEPTH)\n"
		"  -B            buffered reads (no O_DIRECT)\n"
		"  -G            reap with io_getevents only (completion "
		"ring off)\n"
		"  -w            write random data over the file's blocks "
		"instead of reading\n");
	exit(2);
}

/* A byte count with an optional K, M or G (powers of 1024) suffix. */
static uint64_t parse_size(const char *s, const char *what)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		die("bad %s: %s", what, s);
	unsigned shift = 0;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'm':
	case 'M':
		shift = 20;
		break;
	case 'g':
	case 'G':
		shift = 30;
		break;
	default:
		die("bad %s: %s (suffixes: K M G)", what, s);
	}
	if (*end != '\0' && end[1] != '\0')
		die("bad %s: %s (suffixes: K M G)", what, s);
	if (shift != 0 && v > (UINT64_MAX >> shift))
		die("%s too large: %s", what, s);
	return (uint64_t)v << shift;
}

static struct opts parse_args(int argc, char **argv)
{
	struct opts o = {
		.depth = 32,
		.bs = 4096,
		.seconds = 5,
		.direct = 1,
		.ring = 1,
	};
	int have_t = 0;
	int c;
	uint64_t reap_max = 0;
	while ((c = getopt(argc, argv, "f:d:b:t:n:s:r:BGwh")) != -1) {
		char *end;
		switch (c) {
		case 'f':
			o.file = optarg;
			break;
		case 'd': {
			uint64_t d = parse_size(optarg, "depth");
			if (d == 0 || d > AIOC_MAX_SLOTS)
				die("depth must be 1..%u", AIOC_MAX_SLOTS);
			o.depth = (uint32_t)d;
			break;
		}
		case 'b':
			o.bs = parse_size(optarg, "block size");
			break;
		case 't':
			errno = 0;
			o.seconds = strtod(optarg, &end);
			if (errno != 0 || end == optarg || *end != '\0' ||
			    !(o.seconds > 0))
				die("bad seconds: %s", optarg);
			have_t = 1;
			break;
		case 'n':
			o.ios = parse_size(optarg, "I/O count");
			if (o.ios == 0)
				die("-n must be at least 1");
			break;
		case 's':
			o.size = parse_size(optarg, "size");
			break;
		case 'r':
			reap_max = parse_size(optarg, "reap maximum");
			if (reap_max == 0)
				die("-r must be at least 1");
			break;
		case 'B':
			o.direct = 0;
			break;
		case 'G':
			o.ring = 0;
			break;
		case 'w':
			o.write = 1;
			break;
		case 'h':
			usage(NULL);
		default:
			usage("unknown option");
		}
	}
	if (optind != argc)
		usage("unexpected argument");
	if (o.file == NULL)
		usage("-f FILE is required");
	if (have_t && o.ios != 0)
		usage("give -t or -n, not both");
	if (o.bs == 0 || o.bs > (1u << 30))
		die("block size must be 1..1G");
	if (o.direct && o.bs % 512 != 0)
		die("O_DIRECT needs a block size that is a multiple of 512");
	o.reap_max = o.depth;
	if (reap_max != 0 && reap_max < o.depth)
		o.reap_max = (uint32_t)reap_max;
	return o;
}

static uint64_t rng_state;

/* xorshift64*: fast, and good enough to spread offsets. */
static uint64_t next_rand(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * Completion latencies in nanoseconds, counted without allocating: below
 * 2 * LAT_SUB a bucket per value, above it LAT_SUB buckets per power of
 * two, so that a bucket is at most 1/LAT_SUB of its values wide; values
 * from 2^LAT_MAX_BITS ns (68 s) on count as the largest.
 */
#define LAT_SUB_BITS 6
#define LAT_SUB (1u << LAT_SUB_BITS)
#define LAT_MAX_BITS 36
#define LAT_BUCKETS ((LAT_MAX_BITS - LAT_SUB_BITS + 1) * LAT_SUB)

struct latency {
	uint64_t counts[LAT_BUCKETS];
	uint64_t n;
};

static void lat_record(struct latency *h, uint64_t v)
{
	const uint64_t top = ((uint64_t)1 << LAT_MAX_BITS) - 1;
	unsigned i;
	if (v > top)
		v = top;
	if (v < 2 * LAT_SUB) {
		i = (unsigned)v;
	} else {
		/* v >> e is in [LAT_SUB, 2 * LAT_SUB) */
		unsigned e = (unsigned)(64 - __builtin_clzll(v)) -
			     (LAT_SUB_BITS + 1);
		i = e * LAT_SUB + (unsigned)(v >> e);
	}
	h->counts[i]++;
	h->n++;
}

/*
 * The value below which a fraction q of the latencies fall, in
 * microseconds: the midpoint of the bucket holding the ceil(q * n)-th
 * smallest; 0 for none.
 */
static double lat_percentile(const struct latency *h, double q)
{
	if (h->n == 0)
		return 0;
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if ((double)rank < q * (double)h->n)
		rank++;
	if (rank < 1)
		rank = 1;
	if (rank > h->n)
		rank = h->n;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LAT_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen < rank)
			continue;
		uint64_t lo = i, width = 1;
		if (i >= 2 * LAT_SUB) {
			unsigned e = i / LAT_SUB - 1;
			lo = (uint64_t)(i - e * LAT_SUB) << e;
			width = (uint64_t)1 << e;
		}
		return ((double)lo + (double)(width - 1) / 2) / 1e3;
	}
	return 0;
}

static double cpu_s(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		die("getrusage: %s", strerror(errno));
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* Extends path with real data (no holes) to at least size bytes. */
static void extend_file(const char *path, uint64_t size)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0)
		die("stat %s: %s", path, strerror(errno));
	uint64_t off = (uint64_t)st.st_size;
	if (off >= size) {
		close(fd);
		return;
	}
	const size_t chunk = 1 << 20;
	uint64_t *buf = malloc(chunk);
	if (buf == NULL)
		die("out of memory");
	while (off < size) {
		for (size_t i = 0; i < chunk / sizeof(*buf); i++)
			buf[i] = next_rand();
		size_t n = size - off < chunk ? (size_t)(size - off) : chunk;
		ssize_t w = pwrite(fd, buf, n, (off_t)off);
		if (w <= 0)
			die("write %s at %" PRIu64 ": %s", path, off,
			    w < 0 ? strerror(errno) : "no progress");
		off += (uint64_t)w;
	}
	if (fdatasync(fd) != 0)
		die("fdatasync %s: %s", path, strerror(errno));
	free(buf);
	close(fd);
}

struct run {
	struct aioc_ctx *ctx;
	int fd;
	uint64_t bs;
	uint64_t nblocks;
	uint16_t opcode;     /* AIOC_CMD_PREAD or AIOC_CMD_PWRITE */
	uint8_t *bufs;	     /* depth buffers of bs bytes */
	int64_t *offsets;    /* per slot, to report a failed read */
	uint64_t *submitted; /* per slot: now_ns() before its aioc_submit */
	struct latency *lat;
};

/* Describes a new random read from slot into req, to be submitted at now. */
static void fill_req(struct run *r, struct aioc_req *req, uint32_t slot,
		     uint64_t now)
{
	int64_t off = (int64_t)((next_rand() % r->nblocks) * r->bs);
	r->offsets[slot] = off;
	r->submitted[slot] = now;
	*req = (struct aioc_req){
		.slot = slot,
		.opcode = r->opcode,
		.fd = r->fd,
		.resfd = -1,
		.buf = (uint64_t)(uintptr_t)(r->bufs + (uint64_t)slot * r->bs),
		.len = r->bs,
		.offset = off,
	};
}

static void submit(struct run *r, uint32_t n)
{
	uint32_t done = 0;
	int ret = aioc_submit(r->ctx, n, &done);
	if (ret < 0)
		die("aioc_submit: %s (%u of %u submitted)", strerror(-ret),
		    done, n);
}

int main(int argc, char **argv)
{
	struct opts o = parse_args(argc, argv);
	rng_state = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ULL ^
		    (uint64_t)getpid();
	if (rng_state == 0)
		rng_state = 1;

	if (o.size != 0)
		extend_file(o.file, o.size);

	struct run r = {
		.bs = o.bs,
		.opcode = o.write ? AIOC_CMD_PWRITE : AIOC_CMD_PREAD,
	};
	r.fd = open(o.file, (o.write ? O_RDWR : O_RDONLY) | O_CLOEXEC |
				    (o.direct ? O_DIRECT : 0));
	if (r.fd < 0)
		die("open %s%s: %s", o.file, o.direct ? " with O_DIRECT" : "",
		    strerror(errno));
	struct stat st;
	if (fstat(r.fd, &st) != 0)
		die("stat %s: %s", o.file, strerror(errno));
	r.nblocks = (uint64_t)st.st_size / o.bs;
	if (r.nblocks == 0)
		die("%s is smaller than one block (%" PRIu64 " < %" PRIu64
		    " bytes); create it with -s",
		    o.file, (uint64_t)st.st_size, o.bs);

	int ret = aioc_create(&r.ctx, o.depth);
	if (ret < 0)
		die("aioc_create(%u): %s", o.depth, strerror(-ret));
	if (!o.ring) {
		ret = aioc_use_ring(r.ctx, 0);
		if (ret < 0)
			die("aioc_use_ring: %s", strerror(-ret));
	}
	void *bufs = NULL;
	if (posix_memalign(&bufs, 4096, (size_t)(o.depth * o.bs)) != 0)
		die("out of memory for %u buffers of %" PRIu64 " bytes",
		    o.depth, o.bs);
	r.bufs = bufs;
	/* Data that does not compress or repeat, for the writes. */
	for (size_t i = 0; i < (size_t)o.depth * o.bs / sizeof(uint64_t); i++)
		((uint64_t *)bufs)[i] = next_rand();
	r.offsets = calloc(o.depth, sizeof(*r.offsets));
	r.submitted = calloc(o.depth, sizeof(*r.submitted));
	r.lat = calloc(1, sizeof(*r.lat));
	uint32_t *free_slots = calloc(o.depth, sizeof(*free_slots));
	if (r.offsets == NULL || r.submitted == NULL || r.lat == NULL ||
	    free_slots == NULL)
		die("out of memory");
	struct aioc_req *reqs = aioc_reqs(r.ctx);
	struct aioc_event *events = aioc_events(r.ctx);

	uint64_t issued = 0, completed = 0;
	double cpu0 = cpu_s();
	uint64_t t0 = now_ns();
	uint64_t deadline = t0 + (uint64_t)(o.seconds * 1e9);
	int issuing = 1;

	uint32_t n = o.depth;
	if (o.ios != 0 && o.ios < n)
		n = (uint32_t)o.ios;
	for (uint32_t i = 0; i < n; i++)
		fill_req(&r, &reqs[i], i, t0);
	submit(&r, n);
	issued = n;

	while (completed < issued) {
		int got = aioc_reap(r.ctx, 1, o.reap_max, -1);
		if (got < 0)
			die("aioc_reap: %s", strerror(-got));
		uint64_t now = now_ns();
		uint32_t nfree = 0;
		for (int k = 0; k < got; k++) {
			const struct aioc_event *ev = &events[k];
			if (ev->data >= o.depth)
				die("event for unknown slot %" PRIu64,
				    ev->data);
			if (ev->res != (int64_t)o.bs)
				die("%s of %" PRIu64 " bytes at offset "
				    "%" PRId64 " returned %" PRId64 "%s%s",
				    o.write ? "write" : "read", o.bs,
				    r.offsets[ev->data], ev->res,
				    ev->res < 0 ? ": " : "",
				    ev->res < 0 ? strerror((int)-ev->res) : "");
			lat_record(r.lat, now - r.submitted[ev->data]);
			free_slots[nfree++] = (uint32_t)ev->data;
		}
		completed += (uint64_t)got;

		if (o.ios != 0) {
			uint64_t left = o.ios - issued;
			if (left < nfree)
				nfree = (uint32_t)left;
		} else if (issuing && now >= deadline) {
			issuing = 0;
		}
		if (!issuing)
			nfree = 0;
		for (uint32_t i = 0; i < nfree; i++)
			fill_req(&r, &reqs[i], free_slots[i], now);
		if (nfree > 0) {
			submit(&r, nfree);
			issued += nfree;
		}
	}
	double secs = (double)(now_ns() - t0) / 1e9;
	double cpu = cpu_s() - cpu0;
	struct aioc_stats stats;
	aioc_stats(r.ctx, &stats);

	ret = aioc_destroy(r.ctx);
	if (ret < 0)
		die("aioc_destroy: %s", strerror(-ret));
	close(r.fd);
	double p50 = lat_percentile(r.lat, 0.50);
	double p99 = lat_percentile(r.lat, 0.99);
	double p999 = lat_percentile(r.lat, 0.999);
	free(free_slots);
	free(r.lat);
	free(r.submitted);
	free(r.offsets);
	free(bufs);

	double iops = (double)completed / secs;
	double cpu_us = cpu * 1e6 / (double)completed;
	const char *what = o.write ? "write" : "read";
	printf(PROG ": %s: %" PRIu64 " %s %ss of %" PRIu64
		    " B at depth %u in %.3f s: %.0f IOPS, %.1f MiB/s, "
		    "%.2f us CPU per %s; %" PRIu64 " events from the ring, "
		    "%" PRIu64 " io_getevents calls%s; latency p50 %.1f us, "
		    "p99 %.1f us, p99.9 %.1f us\n",
	       o.file, completed, o.direct ? "O_DIRECT" : "buffered", what,
	       o.bs, o.depth, secs, iops, iops * (double)o.bs / (1 << 20),
	       cpu_us, what, stats.ring_events, stats.getevents_calls,
	       o.ring ? "" : " (ring off)", p50, p99, p999);
	printf(PROG ": depth=%u reap_max=%u bs=%" PRIu64 " ios=%" PRIu64
		    " seconds=%.3f iops=%.0f cpu_us_per_io=%.2f direct=%d"
		    " write=%d ring_events=%" PRIu64 " getevents_calls=%" PRIu64
		    " lat_p50_us=%.1f lat_p99_us=%.1f lat_p999_us=%.1f\n",
	       o.depth, o.reap_max, o.bs, completed, secs, iops, cpu_us,
	       o.direct, o.write, stats.ring_events, stats.getevents_calls, p50,
	       p99, p999);
	return 0;
}
