//go:build linux && cgo

package aio

import (
	"unsafe"

	"github.com/linuxaio/aio/internal/aiocore"
)

// Preparing a claimed Block for io_submit: the addresses of Go buffers
// handed to the kernel (see addr_unsafe.go for the package's other unsafe
// code). Each buffer is pinned before its address is taken and unpinned
// only once the kernel is done with it (release, or complete in wait.go).

// prepare pins b's buffers and fills r, a descriptor in C memory, for b's
// slot. streamFD, unless -1, is the eventfd to signal in place of b's own.
// b must be claimed for submission (owner set) and stays pinned until
// release.
func (b *Block) prepare(r *aiocore.Req, streamFD int32) {
	*r = aiocore.Req{
		Slot:    b.slot,
		Opcode:  uint16(b.cmd),
		Ioprio:  b.ioprio,
		Fd:      b.fd,
		Resfd:   b.resfd,
		RWFlags: uint32(b.rwFlags),
	}
	switch {
	case b.waking:
		r.Resfd = int32(b.wakeFD)
	case streamFD >= 0:
		r.Resfd = streamFD
	}
	if b.nowait {
		r.RWFlags |= uint32(RWFNoWait)
	}
	switch b.cmd {
	case CmdRead, CmdWrite:
		r.Buf = b.pin(b.buf)
		r.Len = uint64(len(b.buf))
		r.Offset = b.off
	case CmdReadV, CmdWriteV:
		for i, p := range b.bufs {
			b.iov[i] = iovec{base: uintptr(b.pin(p)), len: uintptr(len(p))}
		}
		// The kernel copies the iovec array inside io_submit; it is
		// pinned all the same, for the time the cgo call runs.
		b.pinner.Pin(&b.iov[0])
		r.Buf = uint64(uintptr(unsafe.Pointer(&b.iov[0])))
		r.Len = uint64(len(b.iov))
		r.Offset = b.off
	case CmdPoll:
		r.Buf = uint64(b.events)
	}
}

// pin pins p's backing array and returns its address (0 for a nil slice).
func (b *Block) pin(p []byte) uint64 {
	d := unsafe.SliceData(p)
	if d == nil {
		return 0
	}
	b.pinner.Pin(d)
	return uint64(uintptr(unsafe.Pointer(d)))
}

// release unpins b's buffers and makes it idle. The kernel must be done
// with b: its event reaped, or its context destroyed.
func (b *Block) release() {
	b.submitted, b.cancelPending, b.cancelled = false, false, false
	b.pinner.Unpin()
	b.owner.Store(nil)
}
