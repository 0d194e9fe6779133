//go:build linux && cgo

/* O_DIRECT alignment discovery with statx(STATX_DIOALIGN). */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The kernel's struct statx, by offset: glibc declares the DIOALIGN fields
 * only from 2.37 on and the read alignment later still; the layout is
 * fixed ABI.
 */
enum {
	STATX_BUF_SIZE = 256,
	STATX_MASK_OFF = 0,
	STATX_DIO_MEM_ALIGN_OFF = 152,
	STATX_DIO_OFFSET_ALIGN_OFF = 156,
	STATX_DIO_READ_OFFSET_ALIGN_OFF = 180,
	AIOC_STATX_DIOALIGN = 0x2000,	     /* Linux 6.1 */
	AIOC_STATX_DIO_READ_ALIGN = 0x20000, /* Linux 6.14 */
};

static uint32_t u32_at(const unsigned char *buf, size_t off)
{
	uint32_t v;
	memcpy(&v, buf + off, sizeof(v));
	return v;
}

int aioc_dio_align(int fd, struct aioc_dio_align *out)
{
	memset(out, 0, sizeof(*out));
#ifdef SYS_statx
	_Alignas(8) unsigned char buf[STATX_BUF_SIZE];
	memset(buf, 0, sizeof(buf));
	int saved_errno = errno;
	long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH,
			 AIOC_STATX_DIOALIGN | AIOC_STATX_DIO_READ_ALIGN, buf);
	int err = errno;
	errno = saved_errno;
	if (r < 0)
		return -err;

	uint32_t mask = u32_at(buf, STATX_MASK_OFF);
	if ((mask & AIOC_STATX_DIOALIGN) == 0)
		return -EOPNOTSUPP;
	out->mem = u32_at(buf, STATX_DIO_MEM_ALIGN_OFF);
	out->offset = u32_at(buf, STATX_DIO_OFFSET_ALIGN_OFF);
	out->read_offset = out->offset;
	if (mask & AIOC_STATX_DIO_READ_ALIGN) {
		uint32_t ro = u32_at(buf, STATX_DIO_READ_OFFSET_ALIGN_OFF);
		if (ro != 0)
			out->read_offset = ro;
	}
	return 0;
#else
	(void)fd;
	return -ENOSYS;
#endif
}
