package aio

import (
	"context"
	"io"
	"math"
	"os"
	"sync"
	"syscall"
)

// An O_DIRECT read that breaks the file's alignment cannot go to the kernel
// as it is. A File reads the aligned range that covers it into a bounce
// buffer instead, and copies the bytes asked for out of it: one more copy,
// so that io.ReaderAt's callers (archive/zip, debug/elf, io.SectionReader,
// http.ServeContent) may read anywhere. Writes get no such help: a
// read-modify-write of the blocks around a misaligned write would race with
// other writers of those blocks, so a misaligned write is refused.

// pageSize is the alignment that satisfies every file system that takes
// O_DIRECT at all, for files whose file system reports none.
var pageSize = int64(os.Getpagesize())

// Bounce buffers come in size classes, powers of two from bounceMin to
// bounceMin<<(bounceClasses-1), 1 MiB: a read needing more goes through
// in chunks of the largest, one after another.
const (
	bounceMin     = 4096
	bounceClasses = 9
)

// bounceChunk is the most one bounce pass reads. A variable so that tests
// can make small reads go in several passes.
var bounceChunk = bounceMin << (bounceClasses - 1)

// bounceBuf is an aligned buffer a misaligned O_DIRECT read goes through.
// Pooled by size class: a steady load of small misaligned reads allocates
// nothing. The memory is Go's, pinned by the Block while the kernel
// writes it, so a buffer the pool drops is collected like any other.
type bounceBuf struct {
	b     []byte // aligned to at least a page; as long as its class
	class int    // its pool, or -1 for one too large for any
}

var bouncePools [bounceClasses]sync.Pool

// getBounce returns a buffer of at least size bytes whose address is a
// multiple of mem and of the page size.
func getBounce(size int, mem int64) *bounceBuf {
	class := 0
	for class < bounceClasses && bounceMin<<class < size {
		class++
	}
	if class == bounceClasses {
		class = -1
	} else {
		if bb, _ := bouncePools[class].Get().(*bounceBuf); bb != nil && int64(addrOf(bb.b))%mem == 0 {
			return bb
		}
		// A buffer aligned for smaller needs than this file's is
		// dropped: files that want more than a page are rare.
		size = bounceMin << class
	}
	align := max(mem, pageSize)
	raw := make([]byte, int64(size)+align)
	skip := (align - int64(addrOf(raw))%align) % align
	return &bounceBuf{b: raw[skip : skip+int64(size) : skip+int64(size)], class: class}
}

// free gives bb back to its pool. Only when no I/O can write it any more:
// see File.abandon.
func (bb *bounceBuf) free() {
	if bb.class >= 0 {
		bouncePools[bb.class].Put(bb)
	}
}

// readRule is the alignment a read of an O_DIRECT File needs to go to the
// kernel as it is: buffer addresses to mem, offsets and lengths to off.
type readRule struct{ mem, off int64 }

// bounceRule returns the File's read alignment, or a page where its file
// system reports none.
func (f *File) bounceRule() readRule {
	if f.dio.read != 0 && f.dio.mem != 0 {
		return readRule{mem: int64(f.dio.mem), off: int64(f.dio.read)}
	}
	return readRule{mem: pageSize, off: pageSize}
}

// misfits reports whether a read into p at off breaks r.
func (r readRule) misfits(p []byte, off int64) bool {
	return off%r.off != 0 || int64(len(p))%r.off != 0 || int64(addrOf(p))%r.mem != 0
}

// bounceRead reads len(p) bytes at off, which break r, through bounce
// buffers: each pass reads an aligned range covering the rest of p, up to
// bounceChunk bytes, and copies out what p wants. The caller holds the
// File (see enter). As io.ReaderAt says, fewer bytes than len(p) come with
// an error: io.EOF at the end of the file.
func (f *File) bounceRead(ctx context.Context, p []byte, off int64, r readRule) (int, error) {
	const op = "File.ReadAt"
	if off > math.MaxInt64-int64(len(p))-r.off {
		return 0, opError(op, syscall.EINVAL, "offset and length past the largest file offset")
	}
	f.c.s.files.bounced.Add(1)
	chunk := max(int64(bounceChunk)/r.off*r.off, r.off)
	end := (off + int64(len(p)) + r.off - 1) / r.off * r.off
	n := 0
	for n < len(p) {
		pos := off + int64(n)
		start := pos - pos%r.off
		size := min(end-start, chunk)
		bb := getBounce(int(size), r.mem)
		s := newSubmission(f.c, ctx)
		s.bounce = bb
		f.chunks(s, CmdRead, bb.b[:size], start)
		got, err := f.run(op, s)
		if s.bounce == nil {
			// ctx is done and the read goes on: bb belongs to the
			// goroutine that waits for it, and holds nothing to copy.
			s.free()
			return n, err
		}
		s.free()
		if skip := pos - start; int64(got) > skip {
			n += copy(p[n:], bb.b[skip:got])
		}
		bb.free()
		switch {
		case err != nil:
			return n, err
		case n == len(p):
			return n, nil
		case int64(got) < size && (got == 0 || int64(got)%r.off != 0):
			// Short and unaligned (or nothing): the end of the file.
			// A short aligned read is read on from where it stopped.
			return n, io.EOF
		}
	}
	return n, nil
}
