//go:build linux && cgo

package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/linuxaio/aio"
)

// fileHOL runs W6, head-of-line blocking: Depth goroutines do O_DIRECT
// random reads of j.File through one aio.File, as fileRand does, and only
// their I/Os and latencies are counted. With j.Readers > 0, that many
// goroutines meanwhile do cold buffered 4 KiB reads of j.Cold through a
// second aio.File made on the same Context. The alone case (Readers 0)
// makes the same Context, of 2·Depth Blocks, and the same second File, so
// that the two cases differ only in the buffered readers running.
//
// A buffered read that misses the page cache is done inside io_submit, so
// a File that gathers both kinds of read into one io_submit call holds
// every O_DIRECT read of the batch until the buffered one is read: W6's
// mixed case against its alone case measures that wait. With j.Apart, the
// buffered readers' File is made on a Context of its own instead: the
// same load on the machine and the device, no io_submit shared, which is
// the floor the mixed case can come down to on this machine.
func fileHOL(j job) (res childResult, err error) {
	if j.Readers > j.Depth {
		return childResult{}, fmt.Errorf("%d buffered readers, more than the %d O_DIRECT ones", j.Readers, j.Depth)
	}
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	ctx, err := aio.NewContext(2 * j.Depth)
	if err != nil {
		f.Close()
		return childResult{}, err
	}
	direct, err := ctx.File(f)
	if err != nil {
		f.Close()
		ctx.Close()
		return childResult{}, err
	}
	defer func() { err = errors.Join(err, direct.Close(), ctx.Close()) }()
	coldCtx := ctx
	if j.Apart {
		if coldCtx, err = aio.NewContext(j.Depth); err != nil {
			return childResult{}, err
		}
		defer func() { err = errors.Join(err, coldCtx.Close()) }()
	}
	readers, err := newColdReaders(coldCtx, j.Cold)
	if err != nil {
		return childResult{}, err
	}
	defer func() { err = errors.Join(err, readers.close()) }()
	for i := range j.Readers {
		readers.start(i)
	}
	res, err = goroutinesRand(j, direct, size)
	readers.stop()
	if err == nil {
		err = readers.err()
	}
	res.ColdIOs = readers.done.Load()
	return res, err
}

// coldReaders are W6's buffered readers. They read the source's blocks in
// a fixed order that visits each once (block k·coldStride modulo the
// blocks, k counting every reader's reads), so that every read misses the
// page cache; when the order comes round again, the reader that starts the
// lap drops the source's pages first. One posix_fadvise per lap, not per
// read: dropping a page just read may have to drain every CPU's LRU
// batches, work that would land on the O_DIRECT reads' CPUs too.
type coldReaders struct {
	file   *aio.File
	drop   *os.File // the source again, for posix_fadvise
	blocks int64
	next   atomic.Int64 // reads started, over all readers
	done   atomic.Int64 // reads done
	halt   atomic.Bool
	wg     sync.WaitGroup
	mu     sync.Mutex
	first  error
}

// coldStride is odd and prime, so it walks every block of a source of
// any size short of a multiple of it in blocks.
const coldStride = 1000003

// coldOffset is the offset of the k-th read of a source of blocks blocks.
func coldOffset(k, blocks int64) int64 { return k % blocks * coldStride % blocks * ioSize }

func newColdReaders(ctx *aio.Context, name string) (*coldReaders, error) {
	f, err := os.Open(name) // buffered: no O_DIRECT
	if err != nil {
		return nil, err
	}
	// Stat gives a block device's size as 0; its end is its size.
	size, err := f.Seek(0, io.SeekEnd)
	if err != nil || size < ioSize {
		f.Close()
		return nil, fmt.Errorf("%s: %d bytes, %v", name, size, err)
	}
	drop, err := os.Open(name)
	if err != nil {
		f.Close()
		return nil, err
	}
	file, err := ctx.File(f)
	if err != nil {
		f.Close()
		drop.Close()
		return nil, err
	}
	r := &coldReaders{file: file, drop: drop, blocks: size / ioSize}
	if err := r.dropAll(); err != nil {
		r.close()
		return nil, err
	}
	return r, nil
}

func (r *coldReaders) dropAll() error {
	if err := fadvise(r.drop.Fd(), 0, 0, fadvDontNeed); err != nil {
		return fmt.Errorf("posix_fadvise(%s, DONTNEED): %w", r.drop.Name(), err)
	}
	return nil
}

// start starts reader i.
func (r *coldReaders) start(i int) {
	buf := aligned(ioSize)
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		for !r.halt.Load() {
			k := r.next.Add(1) - 1
			if k > 0 && k%r.blocks == 0 {
				if err := r.dropAll(); err != nil {
					r.fail(err)
					return
				}
			}
			off := coldOffset(k, r.blocks)
			if n, err := r.file.ReadAt(buf, off); n != ioSize {
				r.fail(fmt.Errorf("buffered read %d at %d: %d bytes, %v", i, off, n, err))
				return
			}
			r.done.Add(1)
		}
	}()
}

func (r *coldReaders) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.first == nil {
		r.first = err
	}
}

func (r *coldReaders) err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first
}

// stop stops the readers and waits for them.
func (r *coldReaders) stop() {
	r.halt.Store(true)
	r.wg.Wait()
}

func (r *coldReaders) close() error {
	r.stop()
	return errors.Join(r.file.Close(), r.drop.Close())
}
