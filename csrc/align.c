/* O_DIRECT alignment discovery with statx(STATX_DIOALIGN). */
#include "internal.h"

#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * The kernel's struct statx, by offset: glibc only declares the DIOALIGN
 * fields from 2.37 on, and the layout is fixed ABI.
 */
enum {
	STATX_BUF_SIZE = 256,
	STATX_MASK_OFF = 0,
	STATX_DIO_MEM_ALIGN_OFF = 152,
	STATX_DIO_OFFSET_ALIGN_OFF = 156,
	AIOC_STATX_DIOALIGN = 0x2000, /* STATX_DIOALIGN, Linux 6.1 */
};

int aioc_dio_align(int fd, uint32_t *mem_align, uint32_t *offset_align)
{
	*mem_align = 0;
	*offset_align = 0;
#ifdef SYS_statx
	_Alignas(8) unsigned char buf[STATX_BUF_SIZE];
	memset(buf, 0, sizeof(buf));
	int saved_errno = errno;
	long r = syscall(SYS_statx, fd, "", AT_EMPTY_PATH, AIOC_STATX_DIOALIGN,
			 buf);
	int err = errno;
	errno = saved_errno;
	if (r < 0)
		return -err;

	uint32_t mask;
	memcpy(&mask, buf + STATX_MASK_OFF, sizeof(mask));
	if ((mask & AIOC_STATX_DIOALIGN) == 0)
		return -EOPNOTSUPP;
	memcpy(mem_align, buf + STATX_DIO_MEM_ALIGN_OFF, sizeof(*mem_align));
	memcpy(offset_align, buf + STATX_DIO_OFFSET_ALIGN_OFF,
	       sizeof(*offset_align));
	return 0;
#else
	(void)fd;
	return -ENOSYS;
#endif
}
