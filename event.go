package aio

import "syscall"

// Event is the completion of one submitted Block.
type Event struct {
	// Block is the Block that completed. It is idle again: it may be
	// changed and submitted anew.
	Block *Block
	// Res is the result: bytes transferred for reads and writes, 0 for
	// fsync, the ready poll mask for poll, or a negative errno. A poll
	// cancelled with Context.Cancel has -ECANCELED (the kernel reports an
	// empty mask; the package says what happened instead).
	Res int64
	// Res2 is the kernel's second result word; 0 for every command today.
	Res2 int64
}

// Err returns the I/O's error as a syscall.Errno, or nil if it succeeded.
// Errors the file system finds while doing the I/O arrive here, not from
// Submit: on a file opened with O_DIRECT, EINVAL almost always means the
// buffer address, length or offset is not aligned to the file's logical
// block size.
func (e Event) Err() error {
	if e.Res < 0 {
		return syscall.Errno(-e.Res)
	}
	return nil
}

// N returns the number of bytes transferred, or 0 if the I/O failed.
func (e Event) N() int {
	if e.Res < 0 {
		return 0
	}
	return int(e.Res)
}

// PollEvents returns the ready mask of a poll Block's event, or 0 if it
// failed.
func (e Event) PollEvents() PollEvents {
	if e.Res < 0 {
		return 0
	}
	return PollEvents(e.Res)
}
