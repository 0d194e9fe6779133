/*
 * aiocore: a small C core for Linux kernel AIO (io_setup, io_submit,
 * io_getevents, io_cancel, io_destroy) built on libaio.
 *
 * A context owns, in C memory, everything the kernel reaches through
 * pointers the caller does not see: the kernel context, one struct iocb per
 * slot, the iocb pointer array io_submit reads, and the event array reaping
 * fills. The caller describes requests in a descriptor array (struct
 * aioc_req) and submits them in one call; completions come back in an event
 * array (struct aioc_event) whose data field is the request's slot number.
 *
 * Conventions:
 *  - every function that can fail returns 0 or a count on success and a
 *    negative errno on failure; none reads or changes the global errno;
 *  - there is no global state: contexts are independent;
 *  - a context is not thread-safe as a whole, but submission (aioc_reqs,
 *    aioc_submit, aioc_cancel) and reaping (aioc_events, aioc_reap,
 *    aioc_getevents) use disjoint memory, so one thread may submit while
 *    another reaps; a second thread reaping at the same time is refused
 *    with -EBUSY rather than corrupting the ring;
 *  - the core does not track which slots are in flight: the caller owns that
 *    bookkeeping, and must give each request of a batch its own slot (two
 *    requests on one slot share its iocb: the later is submitted twice).
 *    The kernel copies an iocb when io_submit accepts it, so re-preparing a
 *    slot only matters to aioc_cancel, which finds a request by its slot's
 *    iocb address;
 *  - nslots is the caller's limit, not the kernel's: the kernel may accept
 *    more requests than that, but the event array holds nslots per reap;
 *  - io_destroy waits for an RCU grace period (tens of milliseconds):
 *    keep contexts rather than making one per operation.
 */
#ifndef AIOCORE_H
#define AIOCORE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Commands: the kernel's IOCB_CMD_* numbers (libaio's IO_CMD_*). */
enum {
	AIOC_CMD_PREAD = 0,
	AIOC_CMD_PWRITE = 1,
	AIOC_CMD_FSYNC = 2,
	AIOC_CMD_FDSYNC = 3,
	AIOC_CMD_POLL = 5,
	AIOC_CMD_PREADV = 7,
	AIOC_CMD_PWRITEV = 8,
};

/*
 * Flags for rw_flags: the kernel's RWF_* numbers (<linux/fs.h>), here for
 * system headers that predate some of them. A kernel older than a flag
 * fails the request with -EOPNOTSUPP.
 */
enum {
	AIOC_RWF_HIPRI = 0x01,
	AIOC_RWF_DSYNC = 0x02,
	AIOC_RWF_SYNC = 0x04,
	AIOC_RWF_NOWAIT = 0x08,
	AIOC_RWF_APPEND = 0x10,
	AIOC_RWF_NOAPPEND = 0x20,
	AIOC_RWF_ATOMIC = 0x40,
	AIOC_RWF_DONTCACHE = 0x80,
	AIOC_RWF_NOSIGNAL = 0x100,
};

/* Largest slot count aioc_create accepts; the kernel's own limit
 * (fs.aio-max-nr) is usually far lower. */
#define AIOC_MAX_SLOTS (1u << 20)

/*
 * One request. The caller fills these in the array aioc_reqs returns, then
 * calls aioc_submit. Field meaning by command:
 *   PREAD, PWRITE:    buf = buffer address, len = bytes, offset = file offset
 *   PREADV, PWRITEV:  buf = address of a struct iovec array, len = iovec count
 *   FSYNC, FDSYNC:    buf, len and offset must be 0
 *   POLL:             buf = poll event mask (POLLIN, ...), len, offset = 0
 * ioprio is an I/O priority (class << 13 | level); 0 leaves the file's own.
 * resfd is an eventfd the kernel signals on completion, or -1 for none.
 * rw_flags are RWF_* flags (AIOC_RWF_*) for reads and writes.
 *
 * The memory behind buf must stay valid, and must not move, until the
 * request's event has been reaped: the kernel writes to it asynchronously.
 */
struct aioc_req {
	uint32_t slot;
	uint16_t opcode;
	uint16_t ioprio;
	int32_t fd;
	int32_t resfd;
	uint32_t rw_flags;
	uint32_t reserved; /* must be 0 */
	uint64_t buf;
	uint64_t len;
	int64_t offset;
};

/*
 * One completion, laid out as the kernel's struct io_event. data is the slot
 * number of the request; obj is the address of its iocb; res is the result
 * (bytes transferred, a poll mask, or a negative errno); res2 is a second
 * result most commands leave 0.
 */
struct aioc_event {
	uint64_t data;
	uint64_t obj;
	int64_t res;
	int64_t res2;
};

struct aioc_ctx;

/*
 * aioc_create sets up a kernel context able to hold nslots requests in
 * flight, with nslots iocb slots, and stores it in *out.
 * Returns 0, -EINVAL for nslots 0 or above AIOC_MAX_SLOTS, -ENOMEM, or the
 * error of io_setup (-EAGAIN when fs.aio-nr + nslots exceeds fs.aio-max-nr).
 */
int aioc_create(struct aioc_ctx **out, uint32_t nslots);

/*
 * aioc_destroy destroys the kernel context and frees ctx. The kernel cancels
 * what it can (poll requests) and waits for the rest, so when io_destroy
 * returns no buffer is still in use by the kernel; unreaped events are
 * discarded. ctx is freed even if io_destroy fails, and that error is
 * returned. A NULL ctx is a no-op returning 0.
 */
int aioc_destroy(struct aioc_ctx *ctx);

/* aioc_nslots returns the slot count given to aioc_create. */
uint32_t aioc_nslots(const struct aioc_ctx *ctx);

/* aioc_reqs returns the descriptor array: nslots entries, caller-filled. */
struct aioc_req *aioc_reqs(struct aioc_ctx *ctx);

/* aioc_events returns the event array aioc_getevents fills: nslots entries. */
struct aioc_event *aioc_events(struct aioc_ctx *ctx);

/*
 * aioc_prep builds the kernel iocb for one request, with aio_data set to the
 * request's slot. Returns 0, or -EINVAL for an unknown opcode, nonzero
 * reserved field, or fields that the command does not use but are set.
 * The iocb type is libaio's struct iocb; it is void here so that the header
 * does not force libaio.h on its users.
 */
int aioc_prep(void *iocb, const struct aioc_req *req);

/*
 * aioc_submit prepares reqs[0..n) (see aioc_prep) into their slots and
 * submits them with io_submit, in order. All n are prepared before the first
 * is submitted, so a refused batch may still have rewritten the iocbs of the
 * slots it names (which matters only to aioc_cancel on those slots). If the
 * kernel takes only part of the batch, the rest is submitted again; EINTR is
 * retried.
 *
 * *submitted receives how many requests, from the front, the kernel took;
 * exactly those will produce events. Returns 0 when all n went in, else the
 * negative errno that stopped submission at reqs[*submitted] (-EAGAIN when
 * the kernel is out of resources, -EBADF for a bad fd or resfd, -EINVAL for
 * a bad request, ...). Returns -EINVAL without submitting anything if n
 * exceeds the slot count, a slot number is out of range, or a request fails
 * aioc_prep; *submitted is then 0.
 */
int aioc_submit(struct aioc_ctx *ctx, uint32_t n, uint32_t *submitted);

/*
 * aioc_resubmit submits the request in slot again, by itself, with its
 * rw_flags replaced and, for PREAD, the first skip bytes left out (its
 * buffer and offset advanced and its length cut by skip). It is for a
 * request whose event came back unfinished, as a buffered read with
 * RWF_NOWAIT does when the page cache lacks its pages (-EAGAIN, or a short
 * count): the slot's iocb still holds it, and the caller, who has not
 * reused the slot, sends it again without the flag. Its one io_submit call
 * uses none of the memory aioc_submit does, so it may run on any thread
 * while another submits or reaps; it may wait there as long as the
 * buffered I/O takes. The caller must keep the fd open across the call.
 * Returns 0 once the kernel took it (one more event comes), -EINVAL for a
 * slot out of range, a skip on anything but PREAD or not below its length,
 * or the negative errno of io_submit. EINTR is retried.
 */
int aioc_resubmit(struct aioc_ctx *ctx, uint32_t slot, uint32_t rw_flags,
		  uint64_t skip);

/*
 * aioc_reap reaps between min and max events (max at most nslots) into the
 * array aioc_events returns: first from the completion ring in user space,
 * with no system call, then, if that gave fewer than min, with io_getevents
 * for the rest, waiting as aioc_getevents does. When the ring is in use and
 * min is 0, an empty ring returns 0 at once (io_getevents would read the
 * same ring). When the ring is not in use (see aioc_use_ring) it is
 * io_getevents alone. Returns the number of events reaped or a negative
 * errno: -EBUSY if another thread is reaping the same context (one reader
 * at a time, for the ring and io_getevents alike).
 */
int aioc_reap(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
	      int64_t timeout_ns);

/*
 * aioc_getevents reaps between min and max events (max at most nslots) into
 * the array aioc_events returns, with io_getevents only. timeout_ns < 0
 * waits without limit, 0 only collects what has completed, > 0 waits at
 * most that long. EINTR is retried with the time that remains. Returns the
 * number of events reaped (possibly fewer than min when the timeout
 * expires) or a negative errno; -EBUSY as aioc_reap.
 */
int aioc_getevents(struct aioc_ctx *ctx, uint32_t min, uint32_t max,
		   int64_t timeout_ns);

/*
 * aioc_use_ring turns reaping from the ring in user space on (on != 0) or
 * off, for tests and for measuring the two paths. A new context uses the
 * ring when its header is the layout this code knows (magic 0xa10a10a1, no
 * incompatible features, a 32-byte header). Returns 0, -EOPNOTSUPP to turn
 * on a ring that is not usable, or -EBUSY while another thread reaps.
 */
int aioc_use_ring(struct aioc_ctx *ctx, int on);

/* aioc_ring_nr returns the ring's size in events (its own nr field, larger
 * than nslots), or 0 when the ring is not usable. */
uint32_t aioc_ring_nr(const struct aioc_ctx *ctx);

/*
 * Counters since aioc_create. Submission and reaping each update their own;
 * any thread may read them at any time (each field is read atomically, the
 * set is not a snapshot).
 */
struct aioc_stats {
	uint64_t submit_calls;	   /* io_submit system calls */
	uint64_t submitted;	   /* requests io_submit accepted */
	uint64_t ring_events;	   /* events read from the ring in user space */
	uint64_t getevents_calls;  /* io_getevents system calls */
	uint64_t getevents_events; /* events io_getevents returned */
};

/* aioc_stats copies the context's counters into *out. */
void aioc_stats(const struct aioc_ctx *ctx, struct aioc_stats *out);

/*
 * aioc_cancel asks the kernel to cancel the request submitted from slot.
 * Returns 0 when cancellation is under way; the request's event is then
 * delivered through reaping as usual (a cancelled poll completes with res 0,
 * an empty mask). Returns -EINVAL when the slot is out of range, when the
 * kernel cannot cancel the request (only polls can be cancelled: disk I/O
 * runs to completion), or when the request has already completed.
 */
int aioc_cancel(struct aioc_ctx *ctx, uint32_t slot);

/*
 * The alignment O_DIRECT I/O on a file needs: buffer addresses must be
 * multiples of mem; file offsets and I/O lengths multiples of offset for
 * writes and read_offset for reads (smaller than offset on some file
 * systems, e.g. XFS files that share blocks; equal where the kernel does
 * not say). All 0 when the file does not support O_DIRECT.
 */
struct aioc_dio_align {
	uint32_t mem;
	uint32_t offset;
	uint32_t read_offset;
};

/*
 * aioc_dio_align fills *out from statx(STATX_DIOALIGN | STATX_DIO_READ_ALIGN)
 * on fd. Returns 0, -EOPNOTSUPP when the kernel (before Linux 6.1) or the
 * file system does not report it, or the negative errno of statx (-EBADF,
 * ...). *out is zeroed on failure.
 */
int aioc_dio_align(int fd, struct aioc_dio_align *out);

#ifdef __cplusplus
}
#endif

#endif /* AIOCORE_H */
