//go:build linux && cgo

package aio_test

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// fileOf returns a File over f on a new stream Context; both are closed at
// the end of the test.
func fileOf(t testing.TB, f *os.File, slots int) (*aio.File, *aio.Context) {
	t.Helper()
	ctx := streamContext(t, slots)
	return fileOn(t, ctx, f), ctx
}

// fileOn returns a File on ctx over a descriptor of its own for f's file,
// opened as f is; it is closed at the end of the test.
func fileOn(t testing.TB, ctx *aio.Context, f *os.File) *aio.File {
	t.Helper()
	g, err := os.OpenFile(f.Name(), osFlags(t, f), 0)
	if err != nil {
		t.Fatal(err)
	}
	file := mustFile(t, ctx, g)
	t.Cleanup(func() {
		if err := file.Close(); err != nil {
			t.Error(err)
		}
	})
	return file
}

// osFlags returns the open flags of f, so that fileOf can open its own
// descriptor the same way (a File owns its file).
func osFlags(t testing.TB, f *os.File) int {
	var fl int
	rc, err := f.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Control(func(fd uintptr) {
		r, _, e := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
		if e != 0 {
			t.Fatal(e)
		}
		fl = int(r)
	})
	return fl &^ (syscall.O_CREAT | syscall.O_EXCL | syscall.O_TRUNC)
}

// Many goroutines write disjoint ranges of an O_DIRECT file through one
// File, then read them back, each other's included, while others read and
// rewrite one shared range with the same bytes; every byte checks.
func TestFileConcurrentDirect(t *testing.T) {
	const (
		workers = 32
		block   = 4096
		blocks  = 16 // per worker
		span    = blocks * block
	)
	df, _ := directFile(t, workers*span)
	file, ctx := fileOf(t, df, 64)
	if file.Alignment().Source == aio.AlignNone {
		t.Fatalf("O_DIRECT File reports no alignment")
	}
	shared := pattern(span, 99)
	want := make([]byte, workers*span)
	for w := range workers {
		copy(want[w*span:], pattern(span, byte(w)))
	}
	copy(want[:span], shared) // worker 0's range is the shared one
	if _, err := file.WriteAt(aligned(span), 0); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(block)
			if w == 0 {
				// Rewrite the shared range block by block while the
				// others read it: any mix of old and new is the same.
				for i := range blocks {
					copy(buf, shared[i*block:])
					if _, err := file.WriteAt(buf, int64(i*block)); err != nil {
						errs <- err
						return
					}
				}
				return
			}
			data := want[w*span : (w+1)*span]
			for i := range blocks {
				copy(buf, data[i*block:])
				if n, err := file.WriteAt(buf, int64(w*span+i*block)); n != block || err != nil {
					errs <- fmt.Errorf("worker %d: WriteAt: %d, %v", w, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Read everything back, every goroutine reading the whole file in
	// blocks starting at a different place, overlapping all the others.
	errs = make(chan error, workers)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(2 * block)
			for i := range workers * blocks / 2 {
				off := ((w*7 + i) * 2 * block) % len(want)
				if n, err := file.ReadAt(buf, int64(off)); n != len(buf) || err != nil {
					errs <- fmt.Errorf("ReadAt(%d): %d, %v", off, n, err)
					return
				}
				if !bytes.Equal(buf, want[off:off+len(buf)]) {
					errs <- fmt.Errorf("ReadAt(%d): wrong data", off)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := file.Datasync(); err != nil {
		t.Fatal(err)
	}
	st := ctx.Stats()
	t.Logf("%d Submits shared %d io_submit calls", st.Submits, st.IOSubmitCalls)
}

// Reads and writes arriving together share io_submit calls, which Stats
// shows.
func TestFileSharesSubmits(t *testing.T) {
	df, data := directFile(t, 1<<20)
	file, ctx := fileOf(t, df, 64)
	for round := 0; round < 50; round++ {
		var wg sync.WaitGroup
		for g := range 32 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := aligned(4096)
				off := (g*4096 + round*8192) % len(data)
				if n, err := file.ReadAt(buf, int64(off)); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+n]) {
					t.Errorf("ReadAt(%d): %d, %v", off, n, err)
				}
			}()
		}
		wg.Wait()
		if st := ctx.Stats(); st.IOSubmitCalls < st.Submits {
			t.Logf("round %d: %d reads in %d io_submit calls", round, st.Submits, st.IOSubmitCalls)
			return
		}
	}
	t.Fatalf("50 rounds of 32 concurrent ReadAt shared no io_submit: %+v", ctx.Stats())
}

// ReadAt follows io.ReaderAt at the end of the file, buffered and O_DIRECT,
// where the end is not aligned.
func TestFileEOF(t *testing.T) {
	const size = 3*4096 + 100
	check := func(t *testing.T, file *aio.File, data []byte, buf []byte, off int64, wantN int, wantErr error) {
		t.Helper()
		n, err := file.ReadAt(buf, off)
		if n != wantN || err != wantErr {
			t.Fatalf("ReadAt(%d bytes at %d) = %d, %v; want %d, %v", len(buf), off, n, err, wantN, wantErr)
		}
		if off < int64(len(data)) && !bytes.Equal(buf[:n], data[off:off+int64(n)]) {
			t.Fatalf("ReadAt(%d): wrong data", off)
		}
	}
	t.Run("buffered", func(t *testing.T) {
		data := pattern(size, 3)
		file, _ := fileOf(t, tempFile(t, data), 8)
		check(t, file, data, make([]byte, 4096), 3*4096, 100, io.EOF)
		check(t, file, data, make([]byte, 100), 3*4096, 100, nil) // exactly to the end
		check(t, file, data, make([]byte, 10), size, 0, io.EOF)
		check(t, file, data, make([]byte, 10), size+5000, 0, io.EOF)
		check(t, file, data, make([]byte, 2*size), 0, size, io.EOF)
		check(t, file, data, nil, size+1, 0, nil) // nothing asked, nothing read
	})
	t.Run("direct", func(t *testing.T) {
		df, data := directFile(t, size)
		file, _ := fileOf(t, df, 8)
		check(t, file, data, aligned(8192), 2*4096, 4096+100, io.EOF)
		check(t, file, data, aligned(4096), 4*4096, 0, io.EOF)
		check(t, file, data, aligned(4*4096), 0, size, io.EOF)
	})
}

// Requests bigger than a chunk are split into several Blocks that go to
// the kernel in one io_submit, reads and writes alike, up to the end of
// the file.
func TestFileSplit(t *testing.T) {
	defer aio.SetMaxChunk(64 << 10)()
	df, _ := directFile(t, 1<<20)
	file, ctx := fileOf(t, df, 32)
	data := pattern(1<<20, 42)
	buf := aligned(len(data))
	copy(buf, data)
	before := ctx.Stats()
	if n, err := file.WriteAt(buf, 0); n != len(buf) || err != nil {
		t.Fatalf("WriteAt: %d, %v", n, err)
	}
	st := ctx.Stats()
	if got := st.Submitted - before.Submitted; got != 16 {
		t.Fatalf("a 1 MiB write in 64 KiB chunks made %d Blocks, want 16", got)
	}
	if got := st.IOSubmitCalls - before.IOSubmitCalls; got != 1 {
		t.Fatalf("its 16 Blocks took %d io_submit calls, want 1", got)
	}
	clear(buf)
	// 1 MiB and 8 KiB from 8 KiB: the last chunk runs past the end.
	big := aligned(len(data))
	n, err := file.ReadAt(big, 8192)
	if n != len(data)-8192 || err != io.EOF {
		t.Fatalf("ReadAt past the end: %d, %v", n, err)
	}
	if !bytes.Equal(big[:n], data[8192:]) {
		t.Fatal("split read: wrong data")
	}
}

// An O_DIRECT File reports the alignment DirectAlignment finds, and does
// aligned I/O. (TestBadFile has the misaligned requests it refuses.)
func TestFileAlignment(t *testing.T) {
	df, data := directFile(t, 1<<16)
	file, _ := fileOf(t, df, 8)
	a := file.Alignment()
	if a.Offset <= 0 || a.Memory <= 0 || a.ReadOffset <= 0 {
		t.Fatalf("Alignment %+v", a)
	}
	got, err := aio.DirectAlignment(df)
	if err != nil || got != a {
		t.Fatalf("DirectAlignment = %+v, %v; the File has %+v", got, err, a)
	}
	buf := aligned(4096)
	if n, err := file.ReadAt(buf, 4096); n != 4096 || err != nil || !bytes.Equal(buf, data[4096:8192]) {
		t.Fatalf("aligned ReadAt: %d, %v", n, err)
	}
}

// A write the kernel refuses comes back as its error, named after the call
// and the system call that refused it: pwrite64 on a buffered file, which a
// File writes outside kernel AIO, and io_submit on an O_DIRECT one.
func TestFileWriteError(t *testing.T) {
	df, _ := directFile(t, 4096)
	for _, c := range []struct {
		f    *os.File
		call string
	}{{tempFile(t, pattern(4096, 1)), "pwrite64"}, {df, "io_submit"}} {
		ro, err := os.OpenFile(c.f.Name(), osFlags(t, c.f)&^(os.O_RDWR|os.O_WRONLY), 0)
		if err != nil {
			t.Fatal(err)
		}
		file := mustFile(t, streamContext(t, 4), ro)
		n, err := file.WriteAt(aligned(4096), 0)
		if n != 0 {
			t.Fatalf("WriteAt to a read-only file wrote %d", n)
		}
		wantErr(t, err, syscall.EBADF, "aio: File.WriteAt: "+c.call+":")
		file.Close()
	}
}

// When ctx is done while a read is in flight, ReadAtContext returns at
// once; the kernel still fills the buffer, which stays pinned and alive
// meanwhile, and Close waits for it.
func TestFileReadAtContextCancel(t *testing.T) {
	const size = 32 << 20
	df, data := directFile(t, size)
	file, ctx := fileOf(t, df, 4)
	for try := 0; ; try++ {
		reqCtx, cancel := context.WithCancel(context.Background())
		go func() { // cancel as soon as the read is in flight
			for ctx.InFlight() == 0 && reqCtx.Err() == nil {
				runtime.Gosched()
			}
			cancel()
		}()
		buf := aligned(size)
		n, err := file.ReadAtContext(reqCtx, buf, 0)
		cancel()
		if err == nil {
			if try == 9 {
				t.Fatalf("ten 32 MiB O_DIRECT reads all completed before their ctx was cancelled")
			}
			continue
		}
		if err != context.Canceled || n != 0 {
			t.Fatalf("ReadAtContext: %d, %v; want 0, context.Canceled itself", n, err)
		}
		// Churn the heap while the kernel writes into buf.
		garbage := make([][]byte, 0, 64)
		for range 64 {
			garbage = append(garbage, bytes.Repeat([]byte{0xee}, 64<<10))
			runtime.GC()
		}
		if err := file.Close(); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(buf, data) {
			t.Fatal("the abandoned read did not land in its buffer")
		}
		fill := bytes.Repeat([]byte{0xee}, 64<<10)
		for _, g := range garbage {
			if !bytes.Equal(g, fill) {
				t.Fatal("the kernel wrote into memory that was not the buffer")
			}
		}
		return
	}
}

// A ctx done before the call submits nothing; one that ends while the call
// waits for room comes back as ctx.Err() itself. A File waits for room even
// on a FullError Context.
func TestFileContextBeforeSubmit(t *testing.T) {
	f, data := directFile(t, 1<<16)
	file, ctx := fileOf(t, f, 1)
	done, cancel := context.WithCancel(context.Background())
	cancel()
	before := ctx.Stats()
	if n, err := file.WriteAtContext(done, aligned(4096), 0); n != 0 || err != context.Canceled {
		t.Fatalf("WriteAtContext with a done ctx: %d, %v", n, err)
	}
	if err := file.SyncContext(done); err != context.Canceled {
		t.Fatalf("SyncContext with a done ctx: %v", err)
	}
	if after := ctx.Stats(); after.Submits != before.Submits {
		t.Fatalf("a done ctx still submitted: %+v, then %+v", before, after)
	}

	// The Context's only slot held by a poll that never fires.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	poll := aio.NewPoll(r, aio.PollIn)
	submit(t, ctx, poll)
	short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer stop()
	if n, err := file.ReadAtContext(short, make([]byte, 10), 0); n != 0 || err != context.DeadlineExceeded {
		t.Fatalf("ReadAtContext waiting for room: %d, %#v; want context.DeadlineExceeded", n, err)
	}
	if err := ctx.Cancel(poll); err != nil {
		t.Fatal(err)
	}
	if ev := <-ctx.Events(); ev.Block != poll {
		t.Fatalf("event %+v", ev)
	}

	// Four chunks through two slots of a FullError Context.
	defer aio.SetMaxChunk(4096)()
	file2 := fileOn(t, streamContext(t, 2, aio.WhenFull(aio.FullError)), f)
	buf := aligned(4 * 4096)
	if n, err := file2.ReadAt(buf, 0); n != len(buf) || err != nil || !bytes.Equal(buf, data[:len(buf)]) {
		t.Fatalf("split ReadAt on a 2-slot FullError Context: %d, %v", n, err)
	}
}

// reopen opens f's file again, read-only.
func reopen(t testing.TB, f *os.File) *os.File {
	g, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// Nil and missing things give errors, not panics.
func TestFileNil(t *testing.T) {
	var nilCtx *aio.Context
	f := reopen(t, tempFile(t, []byte("x")))
	defer f.Close()
	file, err := nilCtx.File(f)
	if file != nil || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("File on a nil Context: %v, %v", file, err)
	}
	// f stays the caller's, open.
	if _, err := f.Stat(); err != nil {
		t.Fatalf("the file after a failed File: %v", err)
	}
	if file, err = streamContext(t, 1).File(nil); file != nil || !errors.Is(err, syscall.EINVAL) {
		t.Fatalf("File of a nil file: %v, %v", file, err)
	}
	var e *aio.Error
	if !errors.As(err, &e) || e.Op != "File" {
		t.Fatalf("File of a nil file: %#v; want an *aio.Error with Op File", err)
	}
	if _, err := aio.DirectAlignment(nil); !errors.Is(err, os.ErrInvalid) || !errors.As(err, &e) || e.Op != "DirectAlignment" {
		t.Fatalf("DirectAlignment(nil): %v", err)
	}
	closed := reopen(t, f)
	closed.Close()
	if file, err := streamContext(t, 1).File(closed); file != nil || !errors.Is(err, os.ErrClosed) {
		t.Fatalf("File of a closed file: %v, %v", file, err)
	}
}

// File works as an io.ReaderAt for the standard library: a SectionReader
// and archive/zip read through it.
func TestFileStandardLibrary(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, "test.zip")
	zf, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string][]byte{
		"a.txt":       []byte("hello, kernel AIO\n"),
		"dir/b.bin":   pattern(300<<10, 5),
		"dir/c.empty": nil,
	}
	zw := zip.NewWriter(zf)
	for name, data := range contents {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}

	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	file := mustFile(t, streamContext(t, 16), f)
	defer file.Close()
	checkZip(t, file, int64(len(raw)), contents)
	sr := io.NewSectionReader(file, 100, int64(len(raw)-200))
	got, err := io.ReadAll(sr)
	if err != nil || !bytes.Equal(got, raw[100:len(raw)-100]) {
		t.Fatalf("SectionReader: %d bytes, %v", len(got), err)
	}
}

// A request that io_submit refuses fails its own call only, though calls
// share io_submit and a File's call does not wait for the io_submit that
// another call makes for it: 16 goroutines writing and 16 reading one
// O_DIRECT File opened read-only (io_submit refuses each write with EBADF)
// go through 8 slots together. Every write fails with EBADF, having
// submitted nothing; every read returns its data; fewer io_submit calls
// than requests show that the calls shared them; nothing is left in
// flight.
func TestFileRefusedInSharedSubmit(t *testing.T) {
	file, ctx, data := readOnlyFile(t, 1<<16)
	defer file.Close()
	const goroutines, each = 16, 300
	var wg sync.WaitGroup
	var refused, reads atomic.Int64
	for g := range 2 * goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := range each {
				off := readOffset(g*each+i, len(data))
				if g%2 == 0 {
					n, err := file.WriteAt(buf, off)
					if n != 0 || !errors.Is(err, syscall.EBADF) || !strings.Contains(err.Error(), "io_submit") {
						t.Errorf("WriteAt on a read-only file: %d, %v; want 0 and EBADF from io_submit", n, err)
						return
					}
					refused.Add(1)
					continue
				}
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("ReadAt: %d, %v", n, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	st := ctx.Stats()
	if refused.Load() != goroutines*each || reads.Load() != goroutines*each {
		t.Fatalf("%d writes refused, %d reads whole; want %d each", refused.Load(), reads.Load(), goroutines*each)
	}
	if st.Submitted != uint64(reads.Load()) || ctx.InFlight() != 0 {
		t.Fatalf("%d submitted for %d reads, %d in flight: %+v", st.Submitted, reads.Load(), ctx.InFlight(), st)
	}
	if st.IOSubmitCalls >= uint64(refused.Load()+reads.Load()) {
		t.Fatalf("%d io_submit calls for %d requests: no call was shared", st.IOSubmitCalls, refused.Load()+reads.Load())
	}
	t.Logf("%+v", st)
}

// readOnlyFile returns a File over a file of size bytes of pattern data,
// opened read-only with O_DIRECT, so that io_submit refuses every write
// with EBADF; its Context of 8 slots, closed at the end of the test; and
// the data. The File is the caller's to close.
func readOnlyFile(t *testing.T, size int) (*aio.File, *aio.Context, []byte) {
	t.Helper()
	df, data := directFile(t, size)
	ro, err := os.OpenFile(df.Name(), os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := streamContext(t, 8)
	return mustFile(t, ctx, ro), ctx, data
}

// A File dropped without Close gives back its own descriptor, as the
// *os.File it wraps gives back its own: the garbage collector's cleanup
// closes both.
func TestFileDroppedClosesDescriptor(t *testing.T) {
	ctx := streamContext(t, 4)
	name := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(name, pattern(4096, 3), 0o600); err != nil {
		t.Fatal(err)
	}
	before := countFDs()
	func() {
		for range 10 {
			f, err := os.Open(name)
			if err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, 4096)
			if n, err := mustFile(t, ctx, f).ReadAt(buf, 0); n != len(buf) || err != nil {
				t.Fatalf("ReadAt: %d, %v", n, err)
			}
		}
	}()
	if got := countFDs(); got < before+20 {
		t.Fatalf("%d descriptors open with 10 Files, %d before: want 2 for each", got, before)
	}
	if !settles(func() bool { runtime.GC(); return countFDs() <= before }) {
		t.Fatalf("%d descriptors open after 10 Files were dropped, %d before", countFDs(), before)
	}
}

// Context.File refuses a pipe, a FIFO, a socket or any other file that
// cannot seek with ESPIPE, as os.File's ReadAt and WriteAt do: kernel AIO
// would ignore the offset and return the stream's next bytes. (Issue 11:
// ReadAt(p, 8) on a pipe returned "0123" and no error.) The file stays the
// caller's, open, with its bytes.
func TestFileRefusesStreams(t *testing.T) {
	ctx := streamContext(t, 8)
	r, w := pipe(t)
	if _, err := w.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	rf, err := ctx.File(r)
	if rf != nil {
		t.Fatal("File of a pipe's read end: a File")
	}
	wantErr(t, err, syscall.ESPIPE, "pipe")
	// os.File agrees.
	if _, oerr := r.ReadAt(make([]byte, 4), 8); !errors.Is(oerr, syscall.ESPIPE) {
		t.Fatalf("os.File.ReadAt of a pipe: %v; the test expects ESPIPE", oerr)
	}
	if wf, err := ctx.File(w); wf != nil || !errors.Is(err, syscall.ESPIPE) {
		t.Fatalf("File of a pipe's write end: %v, %v; want ESPIPE", wf, err)
	}
	sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(sp[1])
	sock := os.NewFile(uintptr(sp[0]), "socket")
	defer sock.Close()
	if sf, err := ctx.File(sock); sf != nil || !errors.Is(err, syscall.ESPIPE) || !strings.Contains(err.Error(), "socket") {
		t.Fatalf("File of a socket: %v, %v; want ESPIPE", sf, err)
	}
	// The bytes are still in the pipe, for a plain read.
	got := make([]byte, 10)
	if n, err := io.ReadFull(r, got); n != 10 || err != nil || string(got) != "0123456789" {
		t.Fatalf("the pipe after the refusals: %d, %v, %q", n, err, got)
	}
}
