package aio

import (
	"errors"
	"strconv"
)

// Sentinel errors. Errors returned by this package wrap them, or a
// syscall.Errno, so that errors.Is finds them.
var (
	// ErrClosed: the Context is closed.
	ErrClosed = errors.New("context closed")
	// ErrInFlight: the Block is already submitted and its event has not
	// been delivered yet; it cannot be submitted again or changed.
	ErrInFlight = errors.New("block in flight")
	// ErrNotInFlight: the Block is not in flight on this Context.
	ErrNotInFlight = errors.New("block not in flight on this context")
	// ErrFull: every slot of the Context is taken, by Blocks in flight
	// or, in stream mode, by events not yet read from Events.
	ErrFull = errors.New("no free slot in the context")
	// ErrWrongMode: the operation belongs to the other completion mode:
	// GetEvents on a stream-mode Context, or a Block set with SetWait
	// submitted to a Manual one.
	ErrWrongMode = errors.New("wrong completion mode for the context")
	// ErrNotSupported: kernel AIO is not available on this platform or
	// build (it needs Linux and cgo).
	ErrNotSupported = errors.New("kernel AIO not supported")
)

// Error describes a failed call: one the kernel refused, or a request this
// package refused before it reached the kernel. Its text is
//
//	aio: Op[: Syscall][: block Index]: Err[ (Detail)]
//
// as in "aio: Submit: io_submit: block 3: invalid argument (...)".
type Error struct {
	// Op is the public call that failed, as a caller wrote it, without
	// a Context suffix: "NewContext", "Submit" (for SubmitContext too),
	// "GetEvents", "GetEventsInto", "Wait", "Cancel", "Close",
	// "Block.SetCommand", "Block.SetPriority", "Block.SetResFD", "File",
	// "File.ReadAt", "File.WriteAt", "File.Sync", "File.Datasync",
	// "DirectAlignment", "OpenDirect", "AlignedBuffer", "FreeBuffer",
	// "NewBufferPool", "BufferPool.Get", "BufferPool.Put", "HaveCommand"
	// or "HaveRWFlags".
	Op string
	// Syscall is the system call that failed ("io_setup", "io_submit",
	// "io_getevents", "io_cancel", "io_destroy", "eventfd2",
	// "epoll_create1", "dup", "statx", "mmap", "munmap"), or "" when the
	// package refused the call itself.
	Syscall string
	// Index is, for Submit, the position in the batch of the Block the
	// error is about; -1 when the error is not about one Block.
	Index int
	// Err is the cause: a syscall.Errno or one of this package's
	// sentinel errors.
	Err error
	// Detail says more: the likely cause and what to do, when known.
	Detail string
}

func (e *Error) Error() string {
	s := "aio: " + e.Op
	if e.Syscall != "" {
		s += ": " + e.Syscall
	}
	if e.Index >= 0 {
		s += ": block " + strconv.Itoa(e.Index)
	}
	s += ": " + e.Err.Error()
	if e.Detail != "" {
		s += " (" + e.Detail + ")"
	}
	return s
}

// Unwrap returns Err, so that errors.Is(err, syscall.EAGAIN) and
// errors.Is(err, ErrClosed) work.
func (e *Error) Unwrap() error { return e.Err }

// opError is the error of call op, refused by this package.
func opError(op string, err error, detail string) *Error {
	return &Error{Op: op, Index: -1, Err: err, Detail: detail}
}

// sysError is the error of call op, whose system call sys failed.
func sysError(op, sys string, err error, detail string) *Error {
	return &Error{Op: op, Syscall: sys, Index: -1, Err: err, Detail: detail}
}
