//go:build linux && cgo

package aio

import (
	"runtime"
	"syscall"
	"unsafe"
)

// ioctlInt32 runs an ioctl that writes an int on fd and returns it.
func ioctlInt32(fd int, req uintptr) (int32, syscall.Errno) {
	var n int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&n)))
	return n, e
}

// sysPreadv2 is preadv2's system call number on this architecture, or 0
// where the package does not know it: Go's syscall package predates the
// call on most architectures.
var sysPreadv2 = map[string]uintptr{
	"386": 378, "amd64": 327, "arm": 392, "arm64": 286, "loong64": 286,
	"ppc64": 380, "ppc64le": 380, "riscv64": 286, "s390x": 376,
}[runtime.GOARCH]

// preadv2 reads into p at off with RWF flags, as preadv2(2) does with one
// iovec.
func preadv2(fd int, p []byte, off int64, flags RWFlags) (int, syscall.Errno) {
	iov := syscall.Iovec{Base: unsafe.SliceData(p)}
	iov.SetLen(len(p))
	// The offset goes in two halves: the kernel joins them by the word
	// size, so a 64-bit kernel ignores the high one.
	n, _, e := syscall.Syscall6(sysPreadv2, uintptr(fd), uintptr(unsafe.Pointer(&iov)), 1,
		uintptr(off), uintptr(uint64(off)>>32), uintptr(flags))
	return int(n), e
}
