//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// The File parts of the fault tests in faults_close_test.go: the bodies
// of their File subtests.

// readers is a set of goroutines calling a File's ReadAt in a loop, 64
// KiB at a time at offsets spread over the file, each read checked
// against the file's data, until a call fails.
type readers struct {
	wg    sync.WaitGroup
	reads atomic.Int64 // whole reads with the right data
	mu    sync.Mutex
	ends  []error // the error that ended each goroutine
}

// startReaders starts goroutines readers of file, which holds data.
func startReaders(t *testing.T, file *aio.File, data []byte, goroutines int) *readers {
	const chunk = 64 << 10
	r := &readers{}
	for g := range goroutines {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			buf := aligned(chunk)
			for i := 0; ; i++ {
				off := int64((g*7+i*13)%(len(data)/chunk)) * chunk
				clear(buf)
				n, err := file.ReadAt(buf, off)
				if err != nil {
					if n != 0 {
						t.Errorf("ReadAt(%d) failed with %d bytes read: %v", off, n, err)
					}
					r.mu.Lock()
					r.ends = append(r.ends, err)
					r.mu.Unlock()
					return
				}
				if n != chunk || !bytes.Equal(buf, data[off:off+chunk]) {
					t.Errorf("ReadAt(%d): %d bytes, data right %v", off, n, bytes.Equal(buf, data[off:off+chunk]))
					return
				}
				r.reads.Add(1)
			}
		}()
	}
	return r
}

// busy waits until the readers have done some reads and at least want
// are in flight in ctx, failing after ten seconds.
func (r *readers) busy(t *testing.T, ctx *aio.Context, want int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); r.reads.Load() < 64 || ctx.InFlight() < want; runtime.Gosched() {
		if time.Now().After(deadline) {
			t.Fatalf("%d reads done, %d in flight after 10 s; want %d in flight", r.reads.Load(), ctx.InFlight(), want)
		}
	}
}

// wait waits for every goroutine and checks that each ended with an error
// wrapping os.ErrClosed whose message holds words.
func (r *readers) wait(t *testing.T, words ...string) {
	t.Helper()
	r.wg.Wait()
	for _, err := range r.ends {
		wantErr(t, err, os.ErrClosed, words...)
	}
}

// readersBusy starts 64 goroutines in ReadAt on a File of its own over an
// O_DIRECT file, through a Context of 32 slots, and returns once at least
// 16 reads are in flight: the File's *os.File, the Context, the File, the
// readers and the reads in flight then.
func readersBusy(t *testing.T) (*os.File, *aio.Context, *aio.File, *readers, int) {
	const slots = 32
	df, data := directFile(t, 8<<20)
	g, err := os.OpenFile(df.Name(), osFlags(t, df), 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := streamContext(t, slots)
	file := mustFile(t, ctx, g)
	r := startReaders(t, file, data, 2*slots)
	r.busy(t, ctx, slots/2)
	return g, ctx, file, r, ctx.InFlight()
}

// fileCloseUnderReads: File.Close while 64 goroutines are in ReadAt on an
// O_DIRECT file, 32 reads in flight and the rest waiting for room. Close
// waits for the calls in progress, which complete with their data; the
// calls that come after it fail with os.ErrClosed from the File itself
// (none finds the descriptor closed under it), and submit nothing.
func fileCloseUnderReads(t *testing.T) {
	g, ctx, file, r, inFlight := readersBusy(t)
	var err error
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	atClose := ctx.Stats()
	if n := ctx.InFlight(); n != 0 {
		t.Fatalf("%d reads in flight when File.Close returned", n)
	}
	if _, err := g.Stat(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("the File's *os.File after Close: %v, want it closed", err)
	}
	r.wait(t, "the File is closed")
	// Every read submitted completed whole, with its data, and none was
	// submitted after Close.
	if st := ctx.Stats(); st.Submitted != uint64(r.reads.Load()) || st.Submitted != atClose.Submitted {
		t.Fatalf("%d whole reads; Stats at Close %+v, after %+v", r.reads.Load(), atClose, st)
	}
	before := ctx.Stats()
	_, err = file.ReadAt(aligned(4096), 0)
	wantErr(t, err, os.ErrClosed, "the File is closed")
	_, err = file.WriteAt(aligned(4096), 0)
	wantErr(t, err, os.ErrClosed)
	wantErr(t, file.Sync(), os.ErrClosed)
	if st := ctx.Stats(); st != before {
		t.Fatalf("calls after Close reached the Context: %+v, then %+v", before, st)
	}
	if err := file.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	t.Logf("%d reads, %d in flight at Close", r.reads.Load(), inFlight)
}

// fileOwnerClosesUnderReads: the caller closes the *os.File behind its
// File's back while 64 goroutines are in ReadAt on it, 32 reads in flight.
// The calls in progress complete with their data (the File does its I/O
// through a descriptor of its own); every call after fails with
// os.ErrClosed, the File finding the *os.File closed, and submits nothing;
// the File's Close then reports the file already closed.
func fileOwnerClosesUnderReads(t *testing.T) {
	g, ctx, file, r, inFlight := readersBusy(t)
	var err error
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	r.wait(t)
	if st := ctx.Stats(); st.Submitted != uint64(r.reads.Load()) {
		t.Fatalf("%d whole reads, %d submitted: a read was lost or failed", r.reads.Load(), st.Submitted)
	}
	before := ctx.Stats()
	_, err = file.ReadAt(aligned(4096), 0)
	wantErr(t, err, os.ErrClosed)
	_, err = file.WriteAt(aligned(4096), 0)
	wantErr(t, err, os.ErrClosed)
	if st := ctx.Stats(); st.IOSubmitCalls != before.IOSubmitCalls || st.Submitted != before.Submitted || ctx.InFlight() != 0 {
		t.Fatalf("calls on a closed file reached io_submit: %+v, then %+v", before, st)
	}
	wantErr(t, file.Close(), os.ErrClosed)
	t.Logf("%d reads, %d in flight when the file was closed", r.reads.Load(), inFlight)
}

// fileCloseContextUnderReads: 4096 goroutines in ReadAt on a File over a
// Context of 1024 slots, which is closed under them. Each call returns its
// whole 4 KiB with the file's data (its read went in before the close,
// and the stream delivers every event) or an error wrapping ErrClosed,
// having read nothing; every read submitted is one that returned its
// data. The File still closes cleanly, and the kernel context, its aio-nr
// slots, the goroutines and the descriptors are all given back.
func fileCloseContextUnderReads(t *testing.T, f *os.File, data []byte) {
	const n, slots = 4096, 1024
	mappings, goroutines, fds, base := aioMappings(), runtime.NumGoroutine(), countFDs(), aioNr(t)
	ctx, err := aio.NewContext(slots)
	if err != nil {
		t.Fatal(err)
	}
	g, err := os.OpenFile(f.Name(), osFlags(t, f), 0)
	if err != nil {
		t.Fatal(err)
	}
	file := mustFile(t, ctx, g)
	slab := aligned(n * 4096)
	var whole, refused atomic.Int64
	var wg sync.WaitGroup
	gate := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf, off := slab[i*4096:(i+1)*4096:(i+1)*4096], readOffset(i, len(data))
			<-gate
			k, err := file.ReadAt(buf, off)
			switch {
			case err == nil && k == len(buf) && bytes.Equal(buf, data[off:off+4096]):
				whole.Add(1)
			case errors.Is(err, aio.ErrClosed) && k == 0:
				refused.Add(1)
			default:
				t.Errorf("ReadAt(%d) as the Context closes: %d, %v, data right %v", off, k, err, bytes.Equal(buf[:k], data[off:off+int64(k)]))
			}
		}()
	}
	close(gate) // all at once, so that thousands are in ReadAt at the close
	for ctx.Stats().Submitted < 64 && whole.Load()+refused.Load() < n {
		runtime.Gosched()
	}
	inFlight, peak, taken := ctx.InFlight(), aioNr(t), ctx.Stats().Submitted
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	// The reads the kernel had taken before Close all return whole.
	if whole.Load()+refused.Load() != n || whole.Load() < int64(taken) || refused.Load() == 0 {
		t.Fatalf("%d whole reads, %d refused with ErrClosed, of %d; %d submitted before Close", whole.Load(), refused.Load(), n, taken)
	}
	if st := ctx.Stats(); st.Submitted != uint64(whole.Load()) {
		t.Fatalf("%d reads submitted, %d returned whole: a read went missing", st.Submitted, whole.Load())
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	if got := aioMappings(); got != mappings {
		t.Fatalf("%d AIO rings mapped after Close, %d before", got, mappings)
	}
	if !settles(func() bool { return runtime.NumGoroutine() <= goroutines && countFDs() <= fds }) {
		t.Fatalf("goroutines %d (%d before), descriptors %d (%d before)", runtime.NumGoroutine(), goroutines, countFDs(), fds)
	}
	aioNrBack(t, base, peak, slots)
	t.Logf("%d ReadAt calls, %d reads claimed and %d submitted at Close: %d whole, %d refused", n, inFlight, taken, whole.Load(), refused.Load())
}
