//go:build linux && cgo

// Command dcopy copies a file with O_DIRECT through an aio.File, a fixed
// number of chunks in flight, drawing a progress bar as it goes and printing
// the throughput at the end. O_DIRECT keeps the copy out of the page cache,
// so copying a large file does not evict everything else.
//
//	go run ./examples/dcopy [-depth 16] [-bs 1048576] SRC DST
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/linuxaio/aio"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "dcopy:", err)
		os.Exit(1)
	}
}

// run parses args, copies, draws progress on progress and reports on out.
func run(args []string, out, progress io.Writer) error {
	fs := flag.NewFlagSet("dcopy", flag.ContinueOnError)
	fs.SetOutput(progress)
	depth := fs.Int("depth", 16, "chunks in flight")
	bs := fs.Int("bs", 1<<20, "bytes per chunk (rounded up to the files' O_DIRECT alignment)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 2 || *depth < 1 || *bs < 1 {
		return fmt.Errorf("usage: dcopy [-depth N] [-bs BYTES] SRC DST")
	}
	start := time.Now()
	st, err := copyDirect(fs.Arg(0), fs.Arg(1), *depth, *bs, progress)
	if err != nil {
		return err
	}
	secs := time.Since(start).Seconds()
	fmt.Fprintf(out, "copied %d bytes in %.2f s: %.1f MiB/s, %d reads and writes in %d io_submit calls\n",
		st.size, secs, float64(st.size)/(1<<20)/secs, st.ios, st.submits)
	return nil
}

type result struct {
	size         int64
	ios, submits uint64
}

// copyDirect copies src to dst with depth goroutines, each reading a chunk
// of bs bytes through one File and writing it through another, so that up
// to depth reads and writes are in flight.
func copyDirect(src, dst string, depth, bs int, progress io.Writer) (res result, err error) {
	in, ia, err := aio.OpenDirect(src, os.O_RDONLY, 0)
	if err != nil {
		return result{}, err
	}
	owned := false // by the Files, which close them
	closeOnErr := func(f *os.File) {
		if err != nil && !owned {
			f.Close()
		}
	}
	defer closeOnErr(in)
	// Seek, not Stat: a block device's Stat gives size 0.
	size, err := in.Seek(0, io.SeekEnd)
	if err != nil {
		return result{}, err
	}
	// No O_TRUNC yet: dst may be src under another name.
	out, oa, err := aio.OpenDirect(dst, os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return result{}, err
	}
	defer closeOnErr(out)
	si, err := in.Stat()
	if err != nil {
		return result{}, err
	}
	di, err := out.Stat()
	if err != nil {
		return result{}, err
	}
	if os.SameFile(si, di) {
		return result{}, fmt.Errorf("%s and %s are the same file", src, dst)
	}
	// A chunk must suit both files: a multiple of every alignment.
	align := max(ia.ReadOffset, oa.Offset, ia.Memory, oa.Memory)
	bs = (bs + align - 1) / align * align
	regular := di.Mode().IsRegular()
	if regular {
		if err = out.Truncate(0); err != nil {
			return result{}, err
		}
		// Allocated extents take O_DIRECT writes without the allocation
		// that would make io_submit wait; the file gets its exact size at
		// the end.
		padded := (size + int64(align) - 1) / int64(align) * int64(align)
		if padded > 0 {
			if err = syscall.Fallocate(int(out.Fd()), 0, 0, padded); err != nil && !errors.Is(err, syscall.EOPNOTSUPP) {
				return result{}, fmt.Errorf("fallocate %s: %w", dst, err)
			}
		}
	}

	// The buffers outlive the Files, whose Close waits for I/O that a
	// failure left in flight: deferred first, freed last.
	pool, err := aio.NewBufferPool(bs, align)
	if err != nil {
		return result{}, err
	}
	defer pool.Close()
	ctx, err := aio.NewContext(2 * depth)
	if err != nil {
		return result{}, err
	}
	defer ctx.Close()
	r, err := ctx.File(in)
	if err != nil {
		return result{}, err
	}
	w, err := ctx.File(out)
	if err != nil {
		r.Close() // closes in; the deferred Close of in just fails
		return result{}, err
	}
	owned = true
	defer r.Close()
	defer w.Close()

	var (
		next, done atomic.Int64
		wg         sync.WaitGroup
		firstErr   error
		errOnce    sync.Once
	)
	cctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	fail := func(err error) { errOnce.Do(func() { firstErr = err; cancel() }) }
	chunks := (size + int64(bs) - 1) / int64(bs)
	for range depth {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, err := pool.Get()
			if err != nil {
				fail(err)
				return
			}
			defer pool.Put(buf)
			for i := next.Add(1) - 1; i < chunks && cctx.Err() == nil; i = next.Add(1) - 1 {
				off := i * int64(bs)
				n, err := r.ReadAtContext(cctx, buf, off)
				if err != nil && (err != io.EOF || off+int64(n) != size) {
					fail(fmt.Errorf("read %s at %d: %w", src, off, err))
					return
				}
				// The last chunk may end unaligned: write it padded to the
				// alignment, and cut the file to size after.
				m := (n + align - 1) / align * align
				clear(buf[n:m])
				if _, err := w.WriteAtContext(cctx, buf[:m], off); err != nil {
					fail(fmt.Errorf("write %s at %d: %w", dst, off, err))
					return
				}
				done.Add(int64(n))
			}
		}()
	}
	stop := drawProgress(progress, &done, size)
	wg.Wait()
	stop()
	if firstErr != nil {
		return result{}, firstErr
	}
	if regular {
		if err := out.Truncate(size); err != nil {
			return result{}, err
		}
	}
	if err := w.Sync(); err != nil {
		return result{}, err
	}
	st := ctx.Stats()
	return result{size: size, ios: st.Submitted, submits: st.IOSubmitCalls}, nil
}

// drawProgress redraws a progress bar on w every 100 ms, and once more at
// the end when the returned stop is called.
func drawProgress(w io.Writer, done *atomic.Int64, size int64) (stop func()) {
	start := time.Now()
	draw := func() {
		d := done.Load()
		frac := 1.0
		if size > 0 {
			frac = float64(d) / float64(size)
		}
		const width = 30
		bar := strings.Repeat("#", int(frac*width)) + strings.Repeat(".", width-int(frac*width))
		rate := float64(d) / (1 << 20) / max(time.Since(start).Seconds(), 1e-9)
		fmt.Fprintf(w, "\r[%s] %3.0f%% %8.1f / %.1f MiB %7.1f MiB/s", bar, frac*100, float64(d)/(1<<20), float64(size)/(1<<20), rate)
	}
	quit, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				draw()
			case <-quit:
				draw()
				fmt.Fprintln(w)
				return
			}
		}
	}()
	return func() { close(quit); <-finished }
}
