//go:build linux && cgo

package aio_test

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/linuxaio/aio"
)

// A stall is a buffered read that holds io_submit until released: the
// kernel copies a regular file's data into a page registered with
// userfaultfd for missing pages, and the copy waits for that page until
// the userfaultfd is closed, which unregisters it. Tests use it where a
// Submit must be inside the kernel. (Blocking reads of pipes did that
// before the package refused pipes, which pread(2) refuses too.)
//
// A signal reaching the waiting thread ends the copy: the kernel then
// completes the read with EFAULT, as it completes a pipe read with EINTR.
type stall struct {
	Read    *aio.Block // submit it: its io_submit waits for Release
	uffd    int
	mem     []byte
	release sync.Once
}

// userfaultfd's system call number, by architecture.
var sysUserfaultfd = map[string]uintptr{
	"amd64": 323, "arm64": 282, "riscv64": 282, "loong64": 282,
	"386": 374, "arm": 388, "ppc64le": 364, "s390x": 355,
}

// newStall returns a stall reading 3 bytes ("abc") of a file of its own. It
// skips the test, saying why, where userfaultfd cannot catch the kernel's
// own faults (no such system call, or not root without
// vm.unprivileged_userfaultfd).
func newStall(t testing.TB) *stall {
	t.Helper()
	nr, ok := sysUserfaultfd[runtime.GOARCH]
	if !ok {
		t.Skipf("no userfaultfd system call number known for %s", runtime.GOARCH)
	}
	const oCloexec, oNonblock = syscall.O_CLOEXEC, syscall.O_NONBLOCK
	fd, _, e := syscall.Syscall(nr, oCloexec|oNonblock, 0, 0)
	if e != 0 {
		t.Skipf("userfaultfd: %v (needs Linux 4.3, and root or vm.unprivileged_userfaultfd=1 to catch the kernel's faults)", e)
	}
	s := &stall{uffd: int(fd)}
	t.Cleanup(s.Release)
	// struct uffdio_api { __u64 api, features, ioctls; }: UFFDIO_API is
	// _IOWR(0xAA, 0x3F, 24 bytes).
	api := [3]uint64{0xAA, 0, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, 0xc018aa3f, uintptr(unsafe.Pointer(&api))); e != 0 {
		t.Fatalf("UFFDIO_API: %v", e)
	}
	page := os.Getpagesize()
	mem, err := syscall.Mmap(-1, 0, page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	s.mem = mem
	t.Cleanup(func() { syscall.Munmap(mem) })
	// struct uffdio_register { struct { __u64 start, len; } range; __u64
	// mode, ioctls; }: UFFDIO_REGISTER is _IOWR(0xAA, 0x00, 32 bytes),
	// mode 1 is UFFDIO_REGISTER_MODE_MISSING.
	reg := [4]uint64{uint64(uintptr(unsafe.Pointer(&mem[0]))), uint64(page), 1, 0}
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, fd, 0xc020aa00, uintptr(unsafe.Pointer(&reg))); e != 0 {
		t.Skipf("UFFDIO_REGISTER: %v", e)
	}
	s.Read = aio.NewRead(tempFile(t, []byte("abc")), mem[:3], 0)
	return s
}

// Release lets the stalled copy go on: closing the userfaultfd unregisters
// the page, and the kernel fills it as any other.
func (s *stall) Release() {
	s.release.Do(func() { syscall.Close(s.uffd) })
}

// The stall does what tests rely on: a Submit of its read stays inside
// io_submit until Release, then the read completes with the file's data.
func TestStallHoldsSubmit(t *testing.T) {
	for range 5 {
		ctx := newContext(t, 4)
		s := newStall(t)
		done := make(chan error, 1)
		go func() {
			_, err := ctx.Submit(s.Read)
			done <- err
		}()
		select {
		case err := <-done:
			t.Fatalf("Submit of a stalled read returned before Release: %v", err)
		case <-time.After(200 * time.Millisecond):
		}
		s.Release()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		ev := reap(t, ctx, 1)[0]
		if ev.Err() == syscall.EFAULT {
			continue // a signal ended the copy: try again
		}
		if ev.N() != 3 || string(s.Read.Buffer()) != "abc" {
			t.Fatalf("stalled read after Release: %d, %v, %q", ev.Res, ev.Err(), s.Read.Buffer())
		}
		return
	}
	t.Fatal("a signal ended the stalled read 5 times")
}
