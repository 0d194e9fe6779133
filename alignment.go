package aio

import (
	"fmt"
)

// dioAlign is the alignment O_DIRECT I/O on a file needs, as statx reports
// it: buffer addresses (mem), offsets and lengths of writes and of reads.
// The zero value means unknown: nothing is checked.
type dioAlign struct {
	mem, write, read uint32
	source           AlignSource
}

// offset returns the alignment of offsets and lengths for cmd, or 0 if
// none is known.
func (a dioAlign) offset(cmd Command) int64 {
	if cmd == CmdRead || cmd == CmdReadV {
		return int64(a.read)
	}
	return int64(a.write)
}

// public returns a as an Alignment.
func (a dioAlign) public() Alignment {
	return Alignment{Memory: int(a.mem), Offset: int(a.write), ReadOffset: int(a.read), Source: a.source}
}

// misaligned returns why a read or write on an O_DIRECT file breaks the
// alignment the kernel reported for it (statx STATX_DIOALIGN), or "". The
// kernel would accept such a request and fail it with EINVAL in its event;
// refusing it at Submit says why. It checks what the kernel checks: the
// offset, and the address and length of every buffer that is not empty.
// It allocates only when it finds a fault.
func (b *Block) misaligned() string {
	mem, off := uint64(b.dio.mem), uint64(b.dio.offset(b.cmd))
	why := func(what string, v any) string {
		return fmt.Sprintf("O_DIRECT %s on this file needs offsets and lengths aligned to %d bytes "+
			"and buffer addresses to %d (%s): %s %v is not", b.cmd, off, mem, b.dio.source, what, v)
	}
	if uint64(b.off)%off != 0 {
		return why("offset", b.off)
	}
	bufs, vector := b.bufs, true
	if b.cmd == CmdRead || b.cmd == CmdWrite {
		bufs, vector = [][]byte{b.buf}, false
	}
	label := func(i int, what string) string {
		if vector {
			return fmt.Sprintf("buffer %d %s", i, what)
		}
		return "buffer " + what
	}
	for i, p := range bufs {
		if len(p) == 0 {
			continue // the kernel skips empty segments
		}
		if uint64(len(p))%off != 0 {
			return why(label(i, "length"), len(p))
		}
		if a := uint64(addrOf(p)); a%mem != 0 {
			return why(label(i, "address"), fmt.Sprintf("%#x", a))
		}
	}
	return ""
}
