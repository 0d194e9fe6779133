package aio

import (
	"errors"
	"fmt"
	"os"
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

// fdOf returns the descriptor behind f without changing its blocking mode
// (unlike os.File.Fd, which makes a non-blocking file blocking).
func fdOf(f syscall.Conn) (int32, error) {
	if f == nil {
		return -1, errors.New("nil file")
	}
	if fd, ok := f.(FD); ok {
		return int32(fd), nil
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return -1, err
	}
	fd := -1
	if err := rc.Control(func(u uintptr) { fd = int(u) }); err != nil {
		// Control fails only once the file is closed.
		return -1, fmt.Errorf("%w (%v)", os.ErrClosed, err)
	}
	return int32(fd), nil
}
