//go:build linux && cgo

package aio

import (
	"syscall"

	"github.com/linuxaio/aio/internal/aiocore"
)

// directAlign returns the alignment O_DIRECT I/O on fd needs if fd is open
// with O_DIRECT and the kernel reports it (statx STATX_DIOALIGN, Linux
// 6.1+), else zeros: then the kernel alone judges each request.
func directAlign(fd int32) dioAlign {
	fl, e := fcntl(int(fd), syscall.F_GETFL)
	if e != 0 || fl&syscall.O_DIRECT == 0 {
		return dioAlign{}
	}
	a, e := aiocore.GetDioAlign(int(fd))
	if e != 0 || a.Mem == 0 || a.Offset == 0 || a.ReadOffset == 0 {
		return dioAlign{}
	}
	return dioAlign{mem: a.Mem, write: a.Offset, read: a.ReadOffset}
}

func fcntl(fd, cmd int) (int, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	return int(r), e
}

// kindOf returns whether fd is a directory or a socket (kindFile if fstat
// fails: then the kernel judges).
func kindOf(fd int32) fileKind {
	var st syscall.Stat_t
	if syscall.Fstat(int(fd), &st) != nil {
		return kindFile
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return kindDir
	case syscall.S_IFSOCK:
		return kindSocket
	}
	return kindFile
}
