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

func (rawFD) Read(func(fd uintptr) bool) error { return errors.ErrUnsupported }

func (rawFD) Write(func(fd uintptr) bool) error { return errors.ErrUnsupported }

// rawConnOf returns the syscall.RawConn through which f's descriptor is
// read; unlike os.File.Fd, reading it that way leaves a non-blocking file
// non-blocking. A SyscallConn method that panics, or returns a nil
// RawConn, gives an error wrapping EBADF.
func rawConnOf(f syscall.Conn) (rc syscall.RawConn, err error) {
	switch f := f.(type) {
	case nil:
		return nil, fmt.Errorf("nil file: %w", syscall.EBADF)
	case FD:
		return rawFD(f), nil
	case *os.File:
		return f.SyscallConn()
	}
	defer func() {
		if r := recover(); r != nil {
			rc, err = nil, &callerPanic{"SyscallConn", r}
		}
	}()
	if rc, err = f.SyscallConn(); err == nil && rc == nil {
		err = fmt.Errorf("SyscallConn returned a nil RawConn: %w", syscall.EBADF)
	}
	return rc, err
}

// control runs fn with rc's descriptor, as rc.Control does. rc may be the
// caller's own RawConn, whose Control runs the caller's code: a panic in
// it comes back as an error wrapping errControlPanic (and EBADF), so that
// it can leave no lock held and no Block claimed. (A panic in fn itself,
// the package's code, is recovered the same way.)
func control(rc syscall.RawConn, fn func(uintptr)) (err error) {
	if r, ok := rc.(rawFD); ok {
		fn(uintptr(r))
		return nil
	}
	defer func() {
		if r := recover(); r != nil {
			err = &callerPanic{"RawConn.Control", r}
		}
	}()
	return rc.Control(fn)
}

// errControlPanic is wrapped by the error of a file whose SyscallConn or
// RawConn.Control panicked.
var errControlPanic = errors.New("panicked")

// callerPanic is a panic in a method of the caller's file, recovered.
type callerPanic struct {
	method string
	value  any
}

func (p *callerPanic) Error() string {
	return fmt.Sprintf("the file's %s panicked: %v", p.method, p.value)
}

// Is makes errors.Is find errControlPanic and EBADF: the file gives no
// usable descriptor.
func (p *callerPanic) Is(target error) bool {
	return target == errControlPanic || target == syscall.EBADF
}

// fileKind sorts files into those Submit reads and writes and those it
// refuses to.
type fileKind uint8

const (
	kindFile   fileKind = iota // a regular file, a block device, a seekable character device
	kindDir                    // a directory: read(2) gives EISDIR
	kindSocket                 // a socket: pread(2) gives ESPIPE
	kindStream                 // a pipe, FIFO, tty, eventfd, ...: pread(2) gives ESPIPE too
)

// ignoreFD is passed to a file's Control only to learn whether the file is
// still open.
var ignoreFD = func(uintptr) {}

// lookupFD reads the descriptor of b's file into b.fd. Submit calls it once
// the Block is claimed, so that a file closed since the Block was made is
// refused instead of its number, perhaps reused, being used.
func (b *Block) lookupFD() (detail string, err error) {
	if err := control(b.rc, b.readFD); err != nil {
		return controlRefusal(err)
	}
	if b.fd < 0 {
		return "not a valid descriptor", syscall.EBADF
	}
	return "", nil
}

// fileUsable returns why b's file cannot be used now, or nil: it is closed,
// or its RawConn's Control panicked. It only asks: b may be in flight on
// another goroutine's Submit, which claim then reports.
func (b *Block) fileUsable() (detail string, err error) {
	if err := control(b.rc, ignoreFD); err != nil {
		return controlRefusal(err)
	}
	return "", nil
}

// controlRefusal is the refusal of a Block whose file's Control failed with
// err: EBADF for a panic, os.ErrClosed for a closed file.
func controlRefusal(err error) (detail string, refused error) {
	if errors.Is(err, errControlPanic) {
		return err.Error(), syscall.EBADF
	}
	return err.Error(), os.ErrClosed
}
