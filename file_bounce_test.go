//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"

	"github.com/linuxaio/aio"
)

// directOf returns an O_DIRECT File holding data, opened with OpenDirect on
// a file system that takes O_DIRECT, its Context, and the file's name.
func directOf(t testing.TB, data []byte, slots int) (*aio.File, *aio.Context, string) {
	t.Helper()
	name := directFileOf(t, data).Name()
	f, a, err := aio.OpenDirect(name, os.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := streamContext(t, slots)
	file := mustFile(t, ctx, f)
	t.Cleanup(func() { file.Close() })
	if a.Source == aio.AlignNone || file.Alignment() != a {
		t.Fatalf("OpenDirect found %+v, the File %+v", a, file.Alignment())
	}
	return file, ctx, name
}

// oddBuffer returns n bytes whose address is one past a page boundary.
func oddBuffer(n int) []byte { return aligned(n + 1)[1:] }

// wantReadAt checks a ReadAt of len(p) bytes at off of a file holding data
// against io.ReaderAt's contract: the bytes, and io.EOF exactly when it
// read fewer than len(p).
func wantReadAt(t testing.TB, data, p []byte, off int64, n int, err error) {
	t.Helper()
	want := 0
	if off < int64(len(data)) {
		want = min(len(p), len(data)-int(off))
	}
	switch {
	case n != want:
		t.Fatalf("ReadAt(%d bytes at %d) of %d: %d bytes, %v; want %d", len(p), off, len(data), n, err, want)
	case n < len(p) && err != io.EOF, n == len(p) && err != nil:
		t.Fatalf("ReadAt(%d bytes at %d) of %d: %d bytes, error %v", len(p), off, len(data), n, err)
	case n > 0 && !bytes.Equal(p[:n], data[off:off+int64(n)]):
		t.Fatalf("ReadAt(%d bytes at %d): wrong data from byte %d", len(p), off, mismatch(p[:n], data[off:]))
	}
}

// Reads of an O_DIRECT File at any offset, of any length, into any buffer,
// through io.SectionReader, match os.ReadFile byte for byte, with io.EOF
// at the end; so do reads at the File itself, in one bounce pass or many.
func TestSectionReaderDirect(t *testing.T) {
	const size = 3<<20 + 777 // an end that is not aligned
	file, ctx, name := directOf(t, pattern(size, 3), 8)
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewSource(14))
	sr := io.NewSectionReader(file, 0, size)
	for i := range 400 {
		off := rng.Int63n(size + 9000)
		n := rng.Intn(70000)
		switch i % 8 {
		case 0:
			n = rng.Intn(9) // a few bytes
		case 1:
			off = size - int64(rng.Intn(5000)) // across the end
		case 2:
			n = 1<<20 + rng.Intn(1<<20) // more than one bounce pass
		}
		p := make([]byte, n)
		if i%2 == 1 {
			p = oddBuffer(n)
		}
		got, err := sr.ReadAt(p, off)
		wantReadAt(t, data, p, off, got, err)
	}
	all, err := io.ReadAll(io.NewSectionReader(file, 0, size))
	if err != nil || !bytes.Equal(all, data) {
		t.Fatalf("io.ReadAll of a SectionReader: %d bytes, %v", len(all), err)
	}

	// At the File itself, with passes of 8 KiB: a read goes through in
	// several, and stops at the end of the file.
	defer aio.SetBounceChunk(8192)()
	for _, c := range []struct {
		off int64
		n   int
	}{{1, 100000}, {4095, 4098}, {size - 100000, 100001}, {size - 1, 1}, {size - 1, 2}, {size, 1}, {size + 4096, 10}, {12345, 0}} {
		p := oddBuffer(c.n)
		n, err := file.ReadAt(p, c.off)
		wantReadAt(t, data, p, c.off, n, err)
	}
	if st := ctx.Stats(); st.BouncedReads == 0 {
		t.Fatalf("Stats %+v: no read went through a bounce buffer", st)
	}
}

// An aligned read of an O_DIRECT File goes to the kernel as it is, in one
// Block, into the caller's buffer; a misaligned one goes through a bounce
// buffer, one Block too, and a steady stream of small ones allocates no
// more than aligned reads do. Misaligned writes are still refused, with
// an error naming the alignment, before anything reaches the kernel.
func TestFileAlignedNoCopy(t *testing.T) {
	const size = 1 << 20
	file, ctx, name := directOf(t, pattern(size, 5), 8)
	data, _ := os.ReadFile(name)
	a := file.Alignment()
	read := func(p []byte, off int64) aio.Stats {
		t.Helper()
		before := ctx.Stats()
		n, err := file.ReadAt(p, off)
		wantReadAt(t, data, p, off, n, err)
		after := ctx.Stats()
		if after.Submitted-before.Submitted != 1 || after.IOSubmitCalls-before.IOSubmitCalls != 1 {
			t.Fatalf("read of %d at %d: Stats %+v then %+v; want one Block, one io_submit", len(p), off, before, after)
		}
		after.BouncedReads -= before.BouncedReads
		return after
	}
	if st := read(aligned(8192), int64(a.ReadOffset)); st.BouncedReads != 0 {
		t.Fatalf("an aligned read went through a bounce buffer: %+v", st)
	}
	for _, c := range []struct {
		what string
		p    []byte
		off  int64
	}{
		{"offset", aligned(4096), int64(a.ReadOffset) + 1},
		{"length", aligned(4096 + 7), 0},
		{"address", oddBuffer(4096), 8192},
	} {
		if st := read(c.p, c.off); st.BouncedReads != 1 {
			t.Fatalf("a read with a misaligned %s did not go through a bounce buffer: %+v", c.what, st)
		}
	}
	if !raceOn {
		p, q := aligned(4096), oddBuffer(100)
		direct := testing.AllocsPerRun(200, func() { file.ReadAt(p, 4096) })
		bounced := testing.AllocsPerRun(200, func() { file.ReadAt(q, 4097) })
		if bounced > direct {
			t.Fatalf("a misaligned 100-byte read allocates %.1f times, an aligned one %.1f", bounced, direct)
		}
	}

	// Writes stay strict.
	w, err := os.OpenFile(name, os.O_RDWR|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	wf := mustFile(t, ctx, w)
	defer wf.Close()
	before := ctx.Stats()
	for _, c := range []struct {
		p   []byte
		off int64
	}{{aligned(4096), 1}, {aligned(100), 0}, {oddBuffer(4096), 0}} {
		n, err := wf.WriteAt(c.p, c.off)
		if n != 0 {
			t.Fatalf("misaligned WriteAt wrote %d bytes", n)
		}
		wantErr(t, err, syscall.EINVAL, "O_DIRECT", "aligned to", "aio: File.WriteAt:")
	}
	if st := ctx.Stats(); st.Submitted != before.Submitted {
		t.Fatalf("misaligned writes reached the kernel: Stats %+v then %+v", before, st)
	}
}

// Where the file system reports no alignment, a misaligned read goes to
// the kernel as it is; the kernel refuses it with EINVAL (ext4 here), and
// the File reads it again through a buffer aligned to a page.
func TestFileUnknownAlignment(t *testing.T) {
	const size = 64<<10 + 5
	data := pattern(size, 9)
	name := directFileOf(t, data).Name()
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := streamContext(t, 4)
	file := mustFile(t, ctx, f)
	defer file.Close()
	aio.ForgetAlignment(file)
	before := ctx.Stats()
	p := oddBuffer(5000)
	n, err := file.ReadAt(p, 3)
	wantReadAt(t, data, p, 3, n, err)
	st := ctx.Stats()
	if st.BouncedReads-before.BouncedReads != 1 || st.Submitted-before.Submitted != 2 {
		t.Fatalf("Stats %+v then %+v: want the read refused by the kernel, then bounced", before, st)
	}
	p = oddBuffer(20)
	n, err = file.ReadAt(p, size-10)
	wantReadAt(t, data, p, size-10, n, err)
}

// Many goroutines reading an O_DIRECT File at odd offsets at once share
// its Context and the bounce pools, and each gets its own bytes.
func TestFileConcurrentOddReads(t *testing.T) {
	const size = 4<<20 + 3
	file, _, name := directOf(t, pattern(size, 11), 32)
	data, _ := os.ReadFile(name)
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewSource(int64(g)))
			for range 150 {
				off := rng.Int63n(size)
				p := make([]byte, 1+rng.Intn(20000))
				n, err := file.ReadAt(p, off)
				want := min(len(p), size-int(off))
				if n != want || (n < len(p)) != (err == io.EOF) || n == len(p) && err != nil || !bytes.Equal(p[:n], data[off:off+int64(n)]) {
					select {
					case errs <- errors.New("a concurrent odd read got wrong bytes or error"):
					default:
					}
					return
				}
			}
		}()
	}
	wg.Wait()
	select {
	case err := <-errs:
		t.Fatal(err)
	default:
	}
}

// A misaligned read whose ctx is done while its bounce read is in flight
// returns ctx.Err(); the bounce buffer goes back to its pool only once the
// kernel is done with it, so the reads that follow, which take buffers of
// the same size from the pool, get their own bytes.
func TestFileBounceCancel(t *testing.T) {
	const size = 32 << 20
	file, ctx, name := directOf(t, pattern(size, 13), 8)
	data, _ := os.ReadFile(name)
	cancelled := 0
	for try := 0; try < 40 && cancelled < 5; try++ {
		reqCtx, cancel := context.WithCancel(context.Background())
		go func() {
			for ctx.InFlight() == 0 && reqCtx.Err() == nil {
				runtime.Gosched()
			}
			cancel()
		}()
		p := make([]byte, 1<<20-100)
		off := int64(try)<<20 + 7
		n, err := file.ReadAtContext(reqCtx, p, off)
		cancel()
		switch {
		case err == nil:
			wantReadAt(t, data, p, off, n, err)
		case err == context.Canceled && n == 0:
			cancelled++
		default:
			t.Fatalf("ReadAtContext: %d, %v; want 0, context.Canceled itself", n, err)
		}
		for j := range 4 {
			q := make([]byte, 1<<20-100)
			off := int64(size-(j+1)<<20) + 13
			n, err := file.ReadAt(q, off)
			wantReadAt(t, data, q, off, n, err)
		}
	}
	if cancelled == 0 {
		t.Fatal("every 1 MiB bounce read completed before its ctx was cancelled")
	}
	t.Logf("%d reads cancelled in flight", cancelled)
}
