package aio

import (
	"errors"
	"fmt"
	"syscall"
)

// FD is a raw file descriptor, for Blocks on a descriptor that no *os.File
// or net.Conn wraps. Unlike an *os.File, an FD keeps nothing open: the
// caller must keep the descriptor open until the Block's event is delivered.
type FD int

// SyscallConn returns a syscall.RawConn whose Control passes the descriptor.
// Its Read and Write are not supported.
func (fd FD) SyscallConn() (syscall.RawConn, error) { return rawFD(fd), nil }

type rawFD int

func (fd rawFD) Control(f func(fd uintptr)) error { f(uintptr(fd)); return nil }
func (rawFD) Read(func(fd uintptr) bool) error    { return errors.ErrUnsupported }
func (rawFD) Write(func(fd uintptr) bool) error   { return errors.ErrUnsupported }

// rawConnOf returns the syscall.RawConn through which f's descriptor is
// read; unlike os.File.Fd, reading it that way leaves a non-blocking file
// non-blocking.
func rawConnOf(f syscall.Conn) (syscall.RawConn, error) {
	switch f := f.(type) {
	case nil:
		return nil, fmt.Errorf("nil file: %w", syscall.EBADF)
	case FD:
		return rawFD(f), nil
	}
	return f.SyscallConn()
}
