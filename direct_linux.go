//go:build linux && cgo

package aio

import (
	"syscall"

	"github.com/linuxaio/aio/internal/aiocore"
)

// directAlign returns the alignment O_DIRECT I/O on fd needs (buffer
// addresses; offsets and lengths) if fd is open with O_DIRECT and the kernel
// reports it (statx STATX_DIOALIGN, Linux 6.1+), else zeros: then the
// kernel alone judges each request.
func directAlign(fd int32) (mem, off uint32) {
	fl, e := fcntl(int(fd), syscall.F_GETFL)
	if e != 0 || fl&syscall.O_DIRECT == 0 {
		return 0, 0
	}
	mem, off, e = aiocore.DioAlign(int(fd))
	if e != 0 || mem == 0 || off == 0 {
		return 0, 0
	}
	return mem, off
}

func fcntl(fd, cmd int) (int, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	return int(r), e
}
