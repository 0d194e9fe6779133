/* aioc_dio_align: statx DIOALIGN on a disk file, a pipe and a bad fd. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

int main(void)
{
	uint32_t mem = 7, off = 7;

	/* A regular file on a disk file system: powers of two, at most 4096
	 * for memory and at least 512 for offsets on every common device. */
	int fd = tu_tmpfile(O_DIRECT);
	int ret = CALL(aioc_dio_align(fd, &mem, &off));
	if (ret == -EOPNOTSUPP)
		skip("statx reports no DIOALIGN here (needs Linux 6.1 and a "
		     "file system that fills it)");
	CHECK_EQ(ret, 0);
	CHECK(mem > 0 && (mem & (mem - 1)) == 0 && mem <= 4096);
	CHECK(off >= 512 && (off & (off - 1)) == 0);

	/* The values are the kernel's rule: an aligned O_DIRECT write works. */
	void *buf = tu_alloc(off);
	tu_pattern_fill(buf, 3, 0, off);
	CHECK_EQ(pwrite(fd, buf, off, 0), (long)off);
	free(buf);
	close(fd);

	/* A pipe has no O_DIRECT: both zero, or no report at all. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	mem = off = 7;
	ret = CALL(aioc_dio_align(p[0], &mem, &off));
	CHECK(ret == 0 || ret == -EOPNOTSUPP);
	CHECK_EQ(mem, 0);
	CHECK_EQ(off, 0);
	close(p[0]);
	close(p[1]);

	/* A closed descriptor. */
	CHECK_EQ(CALL(aioc_dio_align(p[0], &mem, &off)), -EBADF);
	CHECK_EQ(mem, 0);
	CHECK_EQ(off, 0);
	return TU_PASS;
}
