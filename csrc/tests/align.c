/* aioc_dio_align: statx DIOALIGN on a disk file, a pipe and a bad fd. */
#include "testutil.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	struct aioc_dio_align a;

	/* A regular file on a disk file system: powers of two, at most 4096
	 * for memory and at least 512 for offsets on every common device; a
	 * read alignment no larger than the write one. */
	int fd = tu_tmpfile(O_DIRECT);
	memset(&a, 7, sizeof(a));
	int ret = CALL(aioc_dio_align(fd, &a));
	if (ret == -EOPNOTSUPP)
		skip("statx reports no DIOALIGN here (needs Linux 6.1 and a "
		     "file system that fills it)");
	CHECK_EQ(ret, 0);
	CHECK(a.mem > 0 && (a.mem & (a.mem - 1)) == 0 && a.mem <= 4096);
	CHECK(a.offset >= 512 && (a.offset & (a.offset - 1)) == 0);
	CHECK(a.read_offset >= 512 && a.read_offset <= a.offset);

	/* The values are the kernel's rule: an aligned O_DIRECT write and
	 * read work. */
	void *buf = tu_alloc(a.offset);
	tu_pattern_fill(buf, 3, 0, a.offset);
	CHECK_EQ(pwrite(fd, buf, a.offset, 0), (long)a.offset);
	CHECK_EQ(pread(fd, buf, a.read_offset, 0), (long)a.read_offset);
	CHECK_EQ(tu_pattern_diff(buf, 3, 0, a.read_offset), -1);
	free(buf);
	close(fd);

	/* A pipe has no O_DIRECT: all zero, or no report at all. */
	int p[2];
	CHECK_EQ(pipe(p), 0);
	memset(&a, 7, sizeof(a));
	ret = CALL(aioc_dio_align(p[0], &a));
	CHECK(ret == 0 || ret == -EOPNOTSUPP);
	CHECK_EQ(a.mem, 0);
	CHECK_EQ(a.offset, 0);
	CHECK_EQ(a.read_offset, 0);
	close(p[0]);
	close(p[1]);

	/* A closed descriptor. */
	memset(&a, 7, sizeof(a));
	CHECK_EQ(CALL(aioc_dio_align(p[0], &a)), -EBADF);
	CHECK_EQ(a.mem, 0);
	CHECK_EQ(a.offset, 0);
	CHECK_EQ(a.read_offset, 0);
	return TU_PASS;
}
