package aio

import (
	"fmt"
	"os"
	"sync"
	"syscall"
)

// Alignment is what O_DIRECT I/O on a file needs: the address of every
// buffer a multiple of Memory, and the file offset and length of every
// write a multiple of Offset (of every read, of ReadOffset). Find it with
// DirectAlignment or OpenDirect; a File reports its own.
type Alignment struct {
	Memory     int         // buffer addresses
	Offset     int         // offsets and lengths of writes
	ReadOffset int         // offsets and lengths of reads; most often Offset
	Source     AlignSource // where the figures come from
}

// AlignSource says where an Alignment was found.
type AlignSource uint8

const (
	// AlignNone: no alignment is known; the file is not open with
	// O_DIRECT, or the kernel alone judges its requests.
	AlignNone AlignSource = iota
	// AlignStatx: statx STATX_DIOALIGN (Linux 6.1+), the file system's
	// own figures for this file.
	AlignStatx
	// AlignBlockDevice: the logical block size of the block device the
	// file is on (from sysfs) or is (BLKSSZGET), for buffer addresses
	// too. Kernels before 6.0 need exactly that; later ones accept
	// buffers aligned to less, which this figure refuses.
	AlignBlockDevice
	// AlignPage: nothing reports the alignment (a file on no block
	// device, on a kernel or file system without STATX_DIOALIGN), so
	// DirectAlignment gives the page size, which satisfies every file
	// system that takes O_DIRECT. Submit and File check nothing then.
	AlignPage
)

// String returns where the alignment comes from, as error messages say it.
func (s AlignSource) String() string {
	switch s {
	case AlignStatx:
		return "statx DIOALIGN"
	case AlignBlockDevice:
		return "the device's logical block size"
	case AlignPage:
		return "the page size, as nothing reports it"
	}
	return "unknown"
}

// buffers maps the address of each buffer AlignedBuffer returned to its
// whole mapping and the pool that owns it, if one does, so that FreeBuffer
// unmaps exactly that and refuses anything else.
var buffers struct {
	sync.Mutex
	m map[*byte]mapping
}

type mapping struct {
	m    []byte
	pool *BufferPool
}

// AlignedBuffer returns size bytes of zeroed memory outside the Go heap,
// its address a multiple of align: a power of two, or 0 for the page size.
// Page alignment suits O_DIRECT on every common device; pass a file's
// Alignment.Memory for others.
//
// The memory is mapped (mmap) for the caller alone: the garbage collector
// neither moves nor frees it, so the kernel may use it without pinning,
// and it must be released with FreeBuffer once no I/O uses it. Using it
// after FreeBuffer faults. A BufferPool reuses such buffers.
func AlignedBuffer(size, align int) ([]byte, error) { return alignedBuffer(size, align, nil) }

func alignedBuffer(size, align int, pool *BufferPool) ([]byte, error) {
	page := os.Getpagesize()
	if align == 0 {
		align = page
	}
	op := "AlignedBuffer"
	if pool != nil {
		op = "BufferPool.Get"
	}
	if size <= 0 || align < 0 || align&(align-1) != 0 {
		return nil, opError(op, syscall.EINVAL, fmt.Sprintf("size %d and alignment %d: want size > 0 and a power of two", size, align))
	}
	extra := 0
	if align > page {
		extra = align // mmap aligns to pages only: map more and skip to the boundary
	}
	if size > maxInt-extra-page {
		return nil, opError(op, syscall.ENOMEM, fmt.Sprintf("size %d too large", size))
	}
	m, err := mapAnon(size + extra)
	if err != nil {
		return nil, sysError(op, "mmap", err, "")
	}
	start := 0
	if a := int(addrOf(m)) & (align - 1); a != 0 {
		start = align - a
	}
	p := m[start : start+size : start+size]
	buffers.Lock()
	if buffers.m == nil {
		buffers.m = make(map[*byte]mapping)
	}
	buffers.m[&p[0]] = mapping{m, pool}
	buffers.Unlock()
	return p, nil
}

// FreeBuffer releases a buffer AlignedBuffer returned. p must start where
// the buffer starts (its length may differ), and no I/O may be using it.
// A slice that is not such a buffer, one already freed, or one a BufferPool
// owns, is refused with an error wrapping EINVAL, and nothing is unmapped.
func FreeBuffer(p []byte) error { return freeBuffer(p, nil) }

// freeBuffer frees p if pool owns it (nil: no pool does).
func freeBuffer(p []byte, pool *BufferPool) error {
	op := "FreeBuffer"
	if pool != nil {
		op = "BufferPool.Put"
	}
	d := dataOf(p)
	buffers.Lock()
	m, ok := buffers.m[d]
	if ok && m.pool == pool {
		delete(buffers.m, d)
	}
	buffers.Unlock()
	switch {
	case d == nil || !ok:
		return opError(op, syscall.EINVAL, "not a buffer from AlignedBuffer, or already freed")
	case m.pool != pool:
		return opError(op, syscall.EINVAL, "the buffer belongs to a BufferPool: Put it back instead")
	}
	if err := unmap(m.m); err != nil {
		return sysError(op, "munmap", err, "")
	}
	return nil
}

const maxInt = int(^uint(0) >> 1)

// BufferPool hands out aligned buffers of one size from AlignedBuffer and
// takes them back for reuse, so that a steady load of O_DIRECT I/O maps
// memory only while it grows. Unlike a sync.Pool it never drops a buffer
// (the garbage collector cannot free mapped memory): idle buffers stay
// mapped until Close.
//
// A BufferPool is safe for concurrent use by multiple goroutines.
type BufferPool struct {
	size, align int

	mu     sync.Mutex
	idle   [][]byte
	out    map[*byte]struct{} // buffers handed out and not yet put back
	closed bool
}

// NewBufferPool returns a pool of size-byte buffers aligned to align (0:
// the page size; see AlignedBuffer).
func NewBufferPool(size, align int) (*BufferPool, error) {
	if align == 0 {
		align = os.Getpagesize()
	}
	if size <= 0 || align < 0 || align&(align-1) != 0 {
		return nil, opError("NewBufferPool", syscall.EINVAL, fmt.Sprintf("size %d and alignment %d: want size > 0 and a power of two", size, align))
	}
	return &BufferPool{size: size, align: align, out: make(map[*byte]struct{})}, nil
}

// Size returns the length of the pool's buffers.
func (p *BufferPool) Size() int { return p.size }

// Get returns an idle buffer, or a new one. Its contents are what the last
// user left in it. After Close, Get returns ErrClosed.
func (p *BufferPool) Get() ([]byte, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, opError("BufferPool.Get", ErrClosed, "the pool is closed")
	}
	if n := len(p.idle); n > 0 {
		b := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.out[&b[0]] = struct{}{}
		p.mu.Unlock()
		return b, nil
	}
	p.mu.Unlock()
	b, err := alignedBuffer(p.size, p.align, p)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	p.out[&b[0]] = struct{}{}
	p.mu.Unlock()
	return b, nil
}

// Put gives back a buffer Get returned, once no I/O uses it; after Close
// it frees it. A buffer not from this pool, or put back twice, is refused
// with an error wrapping EINVAL.
func (p *BufferPool) Put(b []byte) error {
	d := dataOf(b)
	p.mu.Lock()
	if _, ok := p.out[d]; d == nil || !ok {
		p.mu.Unlock()
		return opError("BufferPool.Put", syscall.EINVAL, "not a buffer of this pool, or already put back")
	}
	delete(p.out, d)
	if p.closed {
		p.mu.Unlock()
		return freeBuffer(b, p)
	}
	p.idle = append(p.idle, sliceAt(d, p.size))
	p.mu.Unlock()
	return nil
}

// Close frees the idle buffers; buffers still out are freed as they are
// put back. Close is idempotent.
func (p *BufferPool) Close() error {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	var first error
	for _, b := range idle {
		if err := freeBuffer(b, p); err != nil && first == nil {
			first = err
		}
	}
	return first
}
