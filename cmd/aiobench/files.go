//go:build linux && cgo

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"unsafe"
)

// align is the buffer and size alignment for O_DIRECT: 4096 satisfies
// every common device's logical block size.
const align = 4096

// aligned returns n bytes at an address that is a multiple of align.
func aligned(n int) []byte {
	p := make([]byte, n+align)
	off := int(-uintptr(unsafe.Pointer(unsafe.SliceData(p))) & (align - 1))
	return p[off : off+n : off+n]
}

// rng is xorshift64: cheap enough not to show in the cost per I/O.
type rng uint64

func (r *rng) next() uint64 {
	x := uint64(*r)
	x ^= x << 13
	x ^= x >> 7
	x ^= x << 17
	*r = rng(x)
	return x
}

// seed returns a non-zero generator state that differs per i.
func seed(i int) rng { return rng(0x9e3779b97f4a7c15 * uint64(i+1)) }

// offsets returns a generator of random ioSize-aligned offsets in a file of
// size bytes.
func offsets(size int64, r rng) func() int64 {
	blocks := uint64(size / ioSize)
	return func() int64 { return int64(r.next()%blocks) * ioSize }
}

// fill writes pseudo-random data into b, so written blocks are not all alike.
func fill(b []byte, r rng) {
	for i := 0; i+8 <= len(b); i += 8 {
		*(*uint64)(unsafe.Pointer(&b[i])) = r.next()
	}
}

// openJob opens a random-I/O job's file for reading, or reading and writing,
// with O_DIRECT if the job asks, and returns it with its size.
func openJob(j job) (*os.File, int64, error) {
	flags := os.O_RDONLY
	if j.Write {
		flags = os.O_RDWR
	}
	if j.Direct {
		flags |= syscall.O_DIRECT
	}
	f, err := os.OpenFile(j.File, flags, 0)
	if err != nil {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, err
	}
	if fi.Size() < ioSize {
		f.Close()
		return nil, 0, fmt.Errorf("%s: %d bytes, smaller than one I/O", j.File, fi.Size())
	}
	return f, fi.Size(), nil
}

// makeFile makes name size bytes of pseudo-random data, flushed to the
// disk, unless it already has that size.
func makeFile(name string, size int64) (made bool, err error) {
	if fi, err := os.Stat(name); err == nil && fi.Size() == size {
		return false, nil
	}
	tmp := name + ".part"
	f, err := os.Create(tmp)
	if err != nil {
		return false, err
	}
	buf := make([]byte, 1<<20)
	r := seed(int(size))
	for off := int64(0); off < size && err == nil; off += int64(len(buf)) {
		fill(buf, r)
		r.next()
		_, err = f.Write(buf[:min(int64(len(buf)), size-off)])
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, name)
	}
	if err != nil {
		os.Remove(tmp)
		return false, err
	}
	return true, nil
}

// w4Sizes are the sizes of W4's files: 1 KB to 100 KB, as in linux_aio's
// experiment, fixed so that every run reads the same bytes.
func w4Sizes(n int) []int64 {
	r := seed(4)
	sizes := make([]int64, n)
	for i := range sizes {
		sizes[i] = 1000 + int64(r.next()%99001)
	}
	return sizes
}

// w4Name is the path of W4's i-th file in dir.
func w4Name(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("f%02d", i)) }

// makeW4Files makes W4's n files in dir where missing or of the wrong size.
func makeW4Files(dir string, n int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for i, size := range w4Sizes(n) {
		if _, err := makeFile(w4Name(dir, i), size); err != nil {
			return err
		}
	}
	return nil
}

// w4File is one of W4's files, open with O_DIRECT, with a buffer for
// reading it whole: its size rounded up to the alignment, which O_DIRECT
// needs (the read returns the file's size).
type w4File struct {
	f    *os.File
	size int64
	buf  []byte
}

// openW4 opens the first j.Files files of j.Dir.
func openW4(j job) ([]w4File, error) {
	files := make([]w4File, 0, j.Files)
	for i := range j.Files {
		f, err := os.OpenFile(w4Name(j.Dir, i), os.O_RDONLY|syscall.O_DIRECT, 0)
		if err != nil {
			closeW4(files)
			return nil, err
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			closeW4(files)
			return nil, err
		}
		n := (fi.Size() + align - 1) / align * align
		files = append(files, w4File{f: f, size: fi.Size(), buf: aligned(int(n))})
	}
	return files, nil
}

func closeW4(files []w4File) {
	for _, w := range files {
		w.f.Close()
	}
}

// checkW4Read reports whether a read of w returned the whole file. ReadAt
// returns io.EOF with a read that stops at the end of the file.
func checkW4Read(w w4File, n int, err error) error {
	if err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("read %s: %w", w.f.Name(), err)
	}
	if int64(n) != w.size {
		return fmt.Errorf("read %s: %d bytes, want %d", w.f.Name(), n, w.size)
	}
	return nil
}

// arena is the buffers of an engine's Blocks: one aligned allocation cut
// into ioSize pieces, so that an event's Block is numbered by where its
// buffer lies (index), with no map lookup per I/O in the measured loop.
type arena struct {
	mem  []byte
	base uintptr
}

// newArena returns n buffers of ioSize bytes.
func newArena(n int) arena {
	mem := aligned(n * ioSize)
	return arena{mem: mem, base: uintptr(unsafe.Pointer(unsafe.SliceData(mem)))}
}

// buf returns the i-th buffer.
func (a arena) buf(i int) []byte { return a.mem[i*ioSize : (i+1)*ioSize : (i+1)*ioSize] }

// index returns the number of buf, one of a's buffers.
func (a arena) index(buf []byte) int {
	return int((uintptr(unsafe.Pointer(unsafe.SliceData(buf))) - a.base) / ioSize)
}
