/* aioc_prep: the libaio iocb it builds for every command, and what it rejects.
 */
#include "testutil.h"

#include <libaio.h>
#include <poll.h>
#include <string.h>
#include <sys/uio.h>

#define FLAG_RESFD 1  /* IOCB_FLAG_RESFD */
#define FLAG_IOPRIO 2 /* IOCB_FLAG_IOPRIO */

/* The iocb's aio_buf, aio_nbytes, aio_offset and aio_reserved2 as the
 * kernel reads them: whole 64-bit words, padding included. */
struct kwords {
	uint64_t buf, nbytes, offset, reserved2;
};

static struct kwords kwords_of(const struct iocb *cb)
{
	struct kwords k;
	const unsigned char *u = (const unsigned char *)&cb->u;
	memcpy(&k.buf, u, 8);
	memcpy(&k.nbytes, u + 8, 8);
	memcpy(&k.offset, u + 16, 8);
	memcpy(&k.reserved2, u + 24, 8);
	return k;
}

/* Preps r into an iocb full of garbage, so stale fields would show. */
static struct iocb prep_ok(const struct aioc_req *r)
{
	struct iocb cb;
	memset(&cb, 0xee, sizeof(cb));
	CHECK_EQ(CALL(aioc_prep(&cb, r)), 0);
	CHECK_EQ((uintptr_t)cb.data, r->slot);
	CHECK_EQ(cb.key, 0);
	CHECK_EQ(cb.aio_lio_opcode, r->opcode);
	CHECK_EQ(cb.aio_fildes, r->fd);
	CHECK_EQ(cb.aio_rw_flags, r->rw_flags);
	CHECK_EQ(kwords_of(&cb).reserved2, 0);
	unsigned flags = 0;
	if (r->ioprio != 0) {
		flags |= FLAG_IOPRIO;
		CHECK_EQ((uint16_t)cb.aio_reqprio, r->ioprio);
	} else {
		CHECK_EQ(cb.aio_reqprio, 0);
	}
	if (r->resfd != -1) {
		flags |= FLAG_RESFD;
		CHECK_EQ(cb.u.c.resfd, (unsigned)r->resfd);
	} else {
		CHECK_EQ(cb.u.c.resfd, 0);
	}
	CHECK_EQ(cb.u.c.flags, flags);
	return cb;
}

static struct aioc_req base(uint16_t opcode)
{
	return tu_req(opcode, 5, 17, NULL, 0, 0);
}

static void check_rw(uint16_t opcode, short want)
{
	static char buf[100];
	struct aioc_req r = base(opcode);
	r.buf = (uint64_t)(uintptr_t)buf;
	r.len = sizeof(buf);
	r.offset = 123456789012LL;
	r.rw_flags = 0x10; /* RWF_APPEND: any value is passed through */
	struct iocb cb = prep_ok(&r);
	CHECK_EQ(cb.aio_lio_opcode, want);
	CHECK(cb.u.c.buf == buf);
	CHECK_EQ(cb.u.c.nbytes, sizeof(buf));
	CHECK_EQ(cb.u.c.offset, 123456789012LL);
	struct kwords k = kwords_of(&cb);
	CHECK_EQ(k.buf, (uintptr_t)buf);
	CHECK_EQ(k.nbytes, sizeof(buf));

	/* Every ioprio / resfd combination, and the extremes of slot. */
	const uint32_t slots[] = {0, 1, 7, UINT32_MAX};
	const uint16_t prios[] = {0, (2 << 13) | 4, 0xffff};
	const int32_t resfds[] = {-1, 0, 3, 1 << 20};
	for (size_t i = 0; i < sizeof(slots) / sizeof(slots[0]); i++) {
		for (size_t j = 0; j < sizeof(prios) / sizeof(prios[0]); j++) {
			for (size_t l = 0;
			     l < sizeof(resfds) / sizeof(resfds[0]); l++) {
				r.slot = slots[i];
				r.ioprio = prios[j];
				r.resfd = resfds[l];
				r.rw_flags = (uint32_t)j;
				prep_ok(&r);
			}
		}
	}
}

static void check_vec(uint16_t opcode, short want)
{
	struct iovec iov[3];
	struct aioc_req r = base(opcode);
	r.buf = (uint64_t)(uintptr_t)iov;
	r.len = 3;
	r.offset = 4096;
	r.ioprio = 1 << 13;
	struct iocb cb = prep_ok(&r);
	CHECK_EQ(cb.aio_lio_opcode, want);
	CHECK(cb.u.v.vec == iov);
	CHECK_EQ(cb.u.v.nr, 3);
	CHECK_EQ(cb.u.v.offset, 4096);
	CHECK_EQ(kwords_of(&cb).nbytes, 3);
}

static void check_sync(uint16_t opcode, short want)
{
	struct aioc_req r = base(opcode);
	r.resfd = 9;
	struct iocb cb = prep_ok(&r);
	CHECK_EQ(cb.aio_lio_opcode, want);
	struct kwords k = kwords_of(&cb);
	CHECK_EQ(k.buf, 0);
	CHECK_EQ(k.nbytes, 0);
	CHECK_EQ(k.offset, 0);

	/* The kernel rejects fsync with any of these set; so does prep. */
	struct iocb junk;
	r = base(opcode);
	r.buf = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(opcode);
	r.len = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(opcode);
	r.offset = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(opcode);
	r.rw_flags = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
}

static void check_poll(void)
{
	const uint64_t masks[] = {POLLIN, POLLOUT, POLLIN | POLLPRI, 0xffff};
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		struct aioc_req r = base(AIOC_CMD_POLL);
		r.buf = masks[i];
		r.ioprio = 3;
		r.resfd = 4;
		struct iocb cb = prep_ok(&r);
		CHECK_EQ(cb.aio_lio_opcode, IO_CMD_POLL);
		CHECK_EQ(cb.u.poll.events, (int)masks[i]);
		/* The whole 64-bit aio_buf must be the mask: the kernel
		 * rejects anything above 16 bits. */
		struct kwords k = kwords_of(&cb);
		CHECK_EQ(k.buf, masks[i]);
		CHECK_EQ(k.nbytes, 0);
		CHECK_EQ(k.offset, 0);
	}

	struct iocb junk;
	struct aioc_req r = base(AIOC_CMD_POLL);
	r.buf = 0x10000;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r.buf = UINT64_MAX;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(AIOC_CMD_POLL);
	r.buf = POLLIN;
	r.len = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(AIOC_CMD_POLL);
	r.buf = POLLIN;
	r.offset = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	r = base(AIOC_CMD_POLL);
	r.buf = POLLIN;
	r.rw_flags = 1;
	CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
}

static void check_invalid(void)
{
	struct iocb junk;
	/* 4 and 6 are the kernel's unimplemented IOCB_CMD_PREADX/NOOP. */
	const uint16_t bad_ops[] = {4, 6, 9, 100, 0xffff};
	for (size_t i = 0; i < sizeof(bad_ops) / sizeof(bad_ops[0]); i++) {
		struct aioc_req r = base(bad_ops[i]);
		CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	}
	const uint16_t ops[] = {AIOC_CMD_PREAD,	 AIOC_CMD_PWRITE,
				AIOC_CMD_FSYNC,	 AIOC_CMD_FDSYNC,
				AIOC_CMD_POLL,	 AIOC_CMD_PREADV,
				AIOC_CMD_PWRITEV};
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		struct aioc_req r = base(ops[i]);
		r.reserved = 1;
		CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
		r.reserved = 0x80000000u;
		CHECK_EQ(CALL(aioc_prep(&junk, &r)), -EINVAL);
	}
}

int main(void)
{
	/* The core's command numbers are the kernel's (and libaio's). */
	CHECK_EQ(AIOC_CMD_PREAD, IO_CMD_PREAD);
	CHECK_EQ(AIOC_CMD_PWRITE, IO_CMD_PWRITE);
	CHECK_EQ(AIOC_CMD_FSYNC, IO_CMD_FSYNC);
	CHECK_EQ(AIOC_CMD_FDSYNC, IO_CMD_FDSYNC);
	CHECK_EQ(AIOC_CMD_POLL, IO_CMD_POLL);
	CHECK_EQ(AIOC_CMD_PREADV, IO_CMD_PREADV);
	CHECK_EQ(AIOC_CMD_PWRITEV, IO_CMD_PWRITEV);

	check_rw(AIOC_CMD_PREAD, IO_CMD_PREAD);
	check_rw(AIOC_CMD_PWRITE, IO_CMD_PWRITE);
	check_vec(AIOC_CMD_PREADV, IO_CMD_PREADV);
	check_vec(AIOC_CMD_PWRITEV, IO_CMD_PWRITEV);
	check_sync(AIOC_CMD_FSYNC, IO_CMD_FSYNC);
	check_sync(AIOC_CMD_FDSYNC, IO_CMD_FDSYNC);
	check_poll();
	check_invalid();
	return TU_PASS;
}
