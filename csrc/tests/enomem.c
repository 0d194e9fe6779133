/* aioc_create out of memory: -ENOMEM, nothing leaked, errno untouched. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

/* The process's virtual size in bytes, from /proc/self/statm. */
static unsigned long long vm_size(void)
{
	FILE *f = fopen("/proc/self/statm", "re");
	CHECK(f != NULL);
	unsigned long long pages = 0;
	CHECK_EQ(fscanf(f, "%llu", &pages), 1);
	fclose(f);
	return pages * (unsigned long long)sysconf(_SC_PAGESIZE);
}

/* In a child: cap the address space 16 MiB above what is in use, so the
 * 64 MiB iocb table of a maximal context cannot be allocated. */
static void child(void)
{
	struct rlimit rl;
	rl.rlim_cur = rl.rlim_max = vm_size() + 16 * 1024 * 1024;
	CHECK_EQ(setrlimit(RLIMIT_AS, &rl), 0);
	int maps = tu_aio_maps();
	struct aioc_ctx *ctx = NULL;
	errno = TU_ERRNO_SENTINEL;
	int ret = aioc_create(&ctx, AIOC_MAX_SLOTS);
	int err = errno;
	CHECK_EQ(ret, -ENOMEM);
	CHECK_EQ(tu_aio_maps(), maps);
	if (err != TU_ERRNO_SENTINEL)
		tu_fail(__FILE__, __LINE__,
			"aioc_create returned -ENOMEM and changed errno to %d "
			"(%s)",
			err, strerror(err));
	/* Small contexts still work under the cap. */
	CHECK_EQ(CALL(aioc_destroy(tu_ctx(64))), 0);
	exit(TU_PASS);
}

int main(void)
{
#ifdef UNDER_ASAN
	skip("RLIMIT_AS cannot be capped under AddressSanitizer");
#endif
	const char *pre = getenv("LD_PRELOAD");
	if (pre != NULL && strstr(pre, "vgpreload") != NULL)
		skip("RLIMIT_AS cannot be capped under valgrind");
	fflush(NULL);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0)
		child();
	int status = 0;
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK(WIFEXITED(status));
	return WEXITSTATUS(status);
}
