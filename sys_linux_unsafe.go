//go:build linux && cgo

package aio

import (
	"syscall"
	"unsafe"
)

// ioctlInt32 runs an ioctl that writes an int on fd and returns it.
func ioctlInt32(fd int, req uintptr) (int32, syscall.Errno) {
	var n int32
	_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(unsafe.Pointer(&n)))
	return n, e
}
