package aio

import (
	"fmt"
	"unsafe"
)

// misaligned returns why a read or write on an O_DIRECT file breaks the
// alignment the kernel reported for it (statx STATX_DIOALIGN), or "". The
// kernel would accept such a request and fail it with EINVAL in its event;
// refusing it at Submit says why. It allocates only when it finds a fault.
func (b *Block) misaligned() string {
	mem, off := uint64(b.dioMem), uint64(b.dioOff)
	why := func(what string, v any) string {
		return fmt.Sprintf("O_DIRECT on this file needs offsets and lengths aligned to %d bytes "+
			"and buffer addresses to %d (statx DIOALIGN): %s %v is not", off, mem, what, v)
	}
	if uint64(b.off)%off != 0 {
		return why("offset", b.off)
	}
	bufs := b.bufs
	if b.cmd == CmdRead || b.cmd == CmdWrite {
		bufs = [][]byte{b.buf}
	}
	for _, p := range bufs {
		if uint64(len(p))%off != 0 {
			return why("length", len(p))
		}
		if a := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p)))); a%mem != 0 {
			return why("buffer address", fmt.Sprintf("%#x", a))
		}
	}
	return ""
}
