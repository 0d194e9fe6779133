//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// The closing faults: files and Contexts closed or truncated under I/O.
// Each test puts the package through one fault on the real kernel and
// checks that it keeps working, loses nothing, corrupts nothing and leaks
// nothing (TestMain checks the leaks). RELIABILITY.md lists them.

// The file's owner closes it while its I/O is in flight. The kernel holds
// its own reference to the file from io_submit until the event, so the
// I/O is not disturbed: O_DIRECT reads complete with their data, a poll on
// a pipe still fires. Once the event is delivered the kernel lets go of
// the file, and the Block refuses to go in again (os.ErrClosed).
func TestFaultOwnerClosesFile(t *testing.T) {
	t.Run("direct_reads", func(t *testing.T) {
		const size = 8 << 20
		f, data := directFile(t, size)
		g, err := os.OpenFile(f.Name(), os.O_RDONLY|syscall.O_DIRECT, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx := streamContext(t, 128)
		blocks := make([]*aio.Block, 128)
		for i := range blocks {
			blocks[i] = aio.NewRead(g, aligned(64<<10), int64(i)*64<<10)
		}
		submit(t, ctx, blocks...)
		g.Close()
		inFlight := ctx.InFlight()
		for _, ev := range await(t, ctx, len(blocks)) {
			wantRead(t, ev, data)
		}
		t.Logf("%d of %d reads in flight when the file was closed", inFlight, len(blocks))
		before := ctx.Stats()
		_, err = ctx.Submit(blocks[0])
		wantErr(t, err, os.ErrClosed, "block 0")
		if st := ctx.Stats(); st.IOSubmitCalls != before.IOSubmitCalls || blocks[0].InFlight() {
			t.Fatalf("a Block on a closed file was submitted: %+v", st)
		}
	})
	t.Run("file_Close", fileCloseUnderReads)
	t.Run("file_owner_closes", fileOwnerClosesUnderReads)
	t.Run("pipe_poll", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ctx := newContext(t, 4)
		poll := aio.NewPoll(r, aio.PollIn)
		submit(t, ctx, poll)
		r.Close()
		if evs, err := ctx.GetEvents(0, 4, 0); len(evs) != 0 || err != nil || !poll.InFlight() {
			t.Fatalf("poll of a pipe closed by its owner: %v, %v", evs, err)
		}
		// The kernel's reference keeps the pipe's read end open: writing
		// works, and wakes the poll.
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatalf("write to the pipe while its poll holds the read end: %v", err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.Block != poll || ev.PollEvents()&aio.PollIn == 0 {
			t.Fatalf("event %+v, want POLLIN", ev)
		}
		// After the event, the read end is gone for good.
		if _, err := w.Write([]byte{1}); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("write after the poll's event: %v, want EPIPE", err)
		}
	})
}

// The file's owner closes it while Submit calls of its Blocks are under
// way, and opens another file, which takes the closed descriptor's number:
// 8 goroutines keep writing a marker through Blocks on file A while
// another closes A and opens B, 200 times over. Each write goes to A or is
// refused with os.ErrClosed, and B never gets a byte: a flush holds every
// file of its batch open from before io_submit until it returns, so a
// number read when a Block was claimed cannot be closed, nor reused, before
// the kernel takes it.
func TestFaultOwnerClosesDuringSubmit(t *testing.T) {
	dir := t.TempDir()
	nameA, nameB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	zeros := make([]byte, 4096)
	ctx := streamContext(t, 64)
	go func() {
		for range ctx.Events() { // until Close
		}
	}()
	var wrote, refused, reused int
	for round := range 200 {
		if err := os.WriteFile(nameB, zeros, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := os.OpenFile(nameA, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		var fdA int
		rc, _ := a.SyscallConn()
		rc.Control(func(fd uintptr) { fdA = int(fd) })
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := aio.NewWrite(a, []byte("marker"), int64(g*8))
				for {
					select {
					case <-stop:
						return
					default:
					}
					n, err := ctx.Submit(b)
					mu.Lock()
					switch {
					case n == 1:
						wrote++
					case errors.Is(err, os.ErrClosed):
						refused++
					default:
						t.Errorf("Submit: %d, %v", n, err)
					}
					mu.Unlock()
					if n != 1 {
						return
					}
					for b.InFlight() {
						runtime.Gosched()
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * 50 * time.Microsecond)
		a.Close()
		fb, err := os.OpenFile(nameB, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		var fdB int
		rcB, _ := fb.SyscallConn()
		rcB.Control(func(fd uintptr) { fdB = int(fd) })
		if fdB == fdA {
			reused++
		}
		close(stop)
		wg.Wait()
		for ctx.InFlight() > 0 {
			runtime.Gosched()
		}
		got, err := os.ReadFile(nameB)
		fb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, zeros) {
			t.Fatalf("round %d: file B, opened on A's descriptor number %v, got A's writes: %q", round, fdB == fdA, bytes.TrimRight(got, "\x00"))
		}
	}
	if reused == 0 || refused == 0 || wrote == 0 {
		t.Fatalf("%d writes, %d refused, B on A's number in %d rounds: the test did not race", wrote, refused, reused)
	}
	t.Logf("%d writes to A, %d refused with os.ErrClosed; B took A's number in %d of 200 rounds", wrote, refused, reused)
}

// A file truncated under in-flight O_DIRECT reads, then extended again.
// The kernel takes the file's size when io_submit accepts a read, and
// truncation waits for the reads in flight (inode_dio_wait in ext4, XFS
// and the other iomap filesystems), so each read sees the file as it was
// when it was submitted: reads submitted before the cut return the old
// data in full, reads submitted after it stop at the new end of file (0
// bytes past it), and once the file grows again the bytes past the cut
// read as zeros, never as the old data. No errors, one event each.
//
// Then the same through a File: ReadAt calls from 256 goroutines while the
// file is cut again. Each returns the whole chunk if its read went in
// before the cut, else a short read ending at the new end with io.EOF
// (none past it); the data is right up to where it stops. A ReadAt of each
// chunk after the cut does the latter.
func TestFaultTruncateUnderReads(t *testing.T) {
	const size, chunk, cut = 16 << 20, 64 << 10, 5<<20 + 1000
	f, data := directFile(t, size)
	ctx := streamContext(t, size/chunk)
	blocks := make([]*aio.Block, size/chunk)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, aligned(chunk), int64(i)*chunk)
	}
	// holds returns the n bytes at off of the file: the old data before
	// cut and, past it, the old data if stale, else zeros.
	holds := func(off, n int64, stale bool) []byte {
		want := data[off : off+n]
		if !stale && off+n > cut {
			keep := max(off, cut)
			want = append(data[off:keep:keep], make([]byte, off+n-keep)...)
		}
		return want
	}
	// check fails unless the events are those of reads of a file of end
	// bytes, holding what holds says.
	check := func(evs []aio.Event, end int64, stale bool, phase string) {
		t.Helper()
		for _, ev := range evs {
			off, buf, n := ev.Block.Offset(), ev.Block.Buffer(), int64(ev.N())
			if want := min(max(end-off, 0), chunk); ev.Err() != nil || n != want {
				t.Fatalf("%s: read at %d: %d, %v; want %d bytes", phase, off, ev.Res, ev.Err(), want)
			}
			if i := mismatch(buf[:n], holds(off, n, stale)); i >= 0 {
				t.Fatalf("%s: read at %d of %d bytes: wrong data at %d", phase, off, n, off+int64(i))
			}
		}
	}
	readAll := func() {
		for _, b := range blocks {
			clear(b.Buffer())
		}
		submit(t, ctx, blocks...)
	}

	readAll()
	inFlight := ctx.InFlight()
	if err := f.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	check(await(t, ctx, len(blocks)), size, true, "submitted before the cut")
	readAll()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	check(await(t, ctx, len(blocks)), cut, false, "submitted after the cut, before the regrowth")
	readAll()
	check(await(t, ctx, len(blocks)), size, false, "submitted after the regrowth")
	t.Logf("%d of %d reads not yet reaped when the truncation started", inFlight, len(blocks))

	// ReadAt through a File while the file is cut again: each call's
	// result is that of the file before the cut, whole, or after it,
	// short with io.EOF.
	file, fctx := fileOf(t, f, len(blocks))
	// readAt fails unless a ReadAt of chunk at off returned n bytes and
	// err as from a file of end bytes (holds says what they are).
	readAt := func(buf []byte, off int64, n int, err error, end int64, phase string) {
		want := int(min(max(end-off, 0), chunk))
		var wantErr error
		if want < chunk {
			wantErr = io.EOF
		}
		if n != want || err != wantErr {
			t.Errorf("%s: ReadAt(%d): %d, %v; want %d, %v", phase, off, n, err, want, wantErr)
			return
		}
		if i := mismatch(buf[:n], holds(off, int64(n), false)); i >= 0 {
			t.Errorf("%s: ReadAt(%d) of %d bytes: wrong data at %d", phase, off, n, off+int64(i))
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	var whole, short atomic.Int64
	for i := range blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The chunks past the cut first: more of them go in before it.
			buf, off := aligned(chunk), int64(len(blocks)-1-i)*chunk
			<-start
			n, err := file.ReadAt(buf, off)
			if n == chunk && err == nil {
				whole.Add(1)
				readAt(buf, off, n, err, size, "ReadAt before the cut")
				return
			}
			short.Add(1)
			readAt(buf, off, n, err, cut, "ReadAt after the cut")
		}()
	}
	close(start)
	for fctx.Stats().Submitted < 32 && whole.Load()+short.Load() < int64(len(blocks)) {
		runtime.Gosched()
	}
	inFlight = fctx.InFlight()
	if err := f.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	buf := aligned(chunk)
	for i := range blocks {
		off := int64(i) * chunk
		n, err := file.ReadAt(buf, off)
		readAt(buf, off, n, err, cut, "ReadAt after the cut")
	}
	t.Logf("%d ReadAt calls in flight at the cut: %d whole, %d cut short", inFlight, whole.Load(), short.Load())
}

// Close with 4096 O_DIRECT reads in flight, in both modes. Manual: Close
// waits until the kernel has filled every buffer, discards the events and
// leaves every Block idle. Stream: every read's event, with its data, and
// the cancelled polls' are delivered, each once, before Events closes.
// Either way the kernel context, its aio-nr slots, the goroutines and the
// descriptors are given back. The same with 4096 goroutines in a File's
// ReadAt: each returns its data or ErrClosed.
func TestFaultCloseThousandsInFlight(t *testing.T) {
	const n = 4096
	f, data := directFile(t, n*4096)
	r, _ := pipe(t)
	for _, mode := range []string{"manual", "stream"} {
		t.Run(mode, func(t *testing.T) {
			var opts []aio.Option
			if mode == "manual" {
				opts = append(opts, aio.Manual())
			}
			mappings, goroutines, fds, base := aioMappings(), runtime.NumGoroutine(), countFDs(), aioNr(t)
			ctx, err := aio.NewContext(n+16, opts...)
			if err != nil {
				t.Fatal(err)
			}
			slab := aligned(n * 4096)
			blocks := make([]*aio.Block, 0, n+16)
			for i := range n {
				blocks = append(blocks, aio.NewRead(f, slab[i*4096:(i+1)*4096:(i+1)*4096], readOffset(i, n*4096)))
			}
			if mode == "stream" {
				for range 16 {
					blocks = append(blocks, aio.NewPoll(r, aio.PollIn))
				}
			}
			submit(t, ctx, blocks...)
			peak := aioNr(t)
			if err := ctx.Close(); err != nil {
				t.Fatal(err)
			}
			if mode == "stream" {
				seen := map[*aio.Block]bool{}
				for ev := range ctx.Events() {
					if seen[ev.Block] {
						t.Fatalf("second event for a Block: %+v", ev)
					}
					seen[ev.Block] = true
					if ev.Block.Command() == aio.CmdPoll {
						wantErr(t, ev.Err(), syscall.ECANCELED)
						continue
					}
					wantRead(t, ev, data)
				}
				if len(seen) != len(blocks) {
					t.Fatalf("%d events, want %d", len(seen), len(blocks))
				}
			}
			for _, b := range blocks {
				if b.InFlight() {
					t.Fatal("a Block is in flight after Close")
				}
				if off := b.Offset(); b.Command() == aio.CmdRead && !bytes.Equal(b.Buffer(), data[off:off+4096]) {
					t.Fatalf("read at %d not done when Close returned", off)
				}
			}
			if st := ctx.Stats(); st.Submitted != uint64(len(blocks)) {
				t.Fatalf("Stats %+v: want %d submitted", st, len(blocks))
			}
			if got := aioMappings(); got != mappings {
				t.Fatalf("%d AIO rings mapped after Close, %d before", got, mappings)
			}
			if !settles(func() bool { return runtime.NumGoroutine() <= goroutines && countFDs() <= fds }) {
				t.Fatalf("goroutines %d (%d before), descriptors %d (%d before)", runtime.NumGoroutine(), goroutines, countFDs(), fds)
			}
			aioNrBack(t, base, peak, n+16)
			// Idle, the Blocks work on another Context.
			other := newContext(t, 4)
			wantRead(t, do(t, other, blocks[0]), data)
		})
	}
	t.Run("file", func(t *testing.T) { fileCloseContextUnderReads(t, f, data) })
}
