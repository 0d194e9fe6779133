//go:build linux && cgo

package aio

import "os"

// SetMaxChunk makes File split requests into chunks of n bytes, so that
// tests can see splitting without gigabyte buffers; it returns the undo.
func SetMaxChunk(n int) (restore func()) {
	old := maxChunk
	maxChunk = n
	return func() { maxChunk = old }
}

// BlockAlignment is DirectAlignment's fallback, for kernels without statx
// DIOALIGN: the logical block size of f's block device.
func BlockAlignment(f *os.File) (Alignment, error) {
	var a dioAlign
	err := controlFD(f, func(fd int) error {
		var err error
		a, err = blockAlign(fd)
		return err
	})
	return a.public(), err
}

// SetBounceChunk makes misaligned O_DIRECT reads go through bounce buffers
// of at most n bytes a pass; it returns the undo.
func SetBounceChunk(n int) (restore func()) {
	old := bounceChunk
	bounceChunk = n
	return func() { bounceChunk = old }
}

// ForgetAlignment makes f behave as a File whose file system reports no
// O_DIRECT alignment: the kernel judges its requests. Call it before f's
// first call, as its Blocks take the alignment when they are made.
func ForgetAlignment(f *File) { f.dio = dioAlign{} }

// TriesNoWait reports whether f's reads try RWF_NOWAIT first: a buffered
// file on a file system that takes the flag (see nowaitSupported).
func TriesNoWait(f *File) bool { return f.nowait.Load() }

// BlockTriesNoWait reports whether a Context made with TryNoWait sends b
// with RWF_NOWAIT first (see triesNoWait).
func BlockTriesNoWait(b *Block) bool {
	b.learnNoWait()
	return b.triesNoWait()
}

// Wakers returns how many eventfds c made for File calls to wait on (see
// waker_linux.go), and those not in use.
func Wakers(c *Context) (made int, free []int32) {
	w := &c.s.wakers
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, fd := range w.free {
		free = append(free, int32(fd))
	}
	return w.made, free
}

// HoldFlushes makes File calls leave their Blocks queued, as they do while
// a leader gathers them (see leadStream), until ReleaseFlushes.
func HoldFlushes(c *Context) { c.s.gathering.Store(true) }

// ReleaseFlushes ends HoldFlushes and sends what is queued to the kernel.
func ReleaseFlushes(c *Context) {
	c.s.gathering.Store(false)
	c.s.flushQueued()
}

// Queued returns how many claimed Blocks wait for io_submit, and how many
// of them are File calls' that wait on an eventfd of their own.
func Queued(c *Context) (queued, waking int) {
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	for _, q := range c.s.queue {
		if q.b.waking {
			waking++
		}
	}
	return len(c.s.queue), waking
}
