//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

func TestContextOpenClose(t *testing.T) {
	before := aioMappings()
	ctx, err := aio.NewContext(16, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	if got := aioMappings(); got != before+1 {
		t.Fatalf("%d AIO contexts mapped after NewContext, want %d", got, before+1)
	}
	if ctx.Cap() != 16 || ctx.InFlight() != 0 {
		t.Fatalf("Cap %d InFlight %d, want 16 and 0", ctx.Cap(), ctx.InFlight())
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ctx.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if got := aioMappings(); got != before {
		t.Fatalf("%d AIO contexts mapped after Close, want %d", got, before)
	}
}

func TestContextCloseConcurrent(t *testing.T) {
	before := aioMappings()
	ctx, err := aio.NewContext(4, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := ctx.Close(); err != nil {
				t.Error(err)
			}
			// Every Close returns only once the context is gone.
			if got := aioMappings(); got != before {
				t.Errorf("%d AIO contexts mapped after Close returned", got)
			}
		}()
	}
	wg.Wait()
}

// A stream Context refuses what belongs to manual mode and the other way
// round, with nothing submitted.
func TestModesRefuseMixing(t *testing.T) {
	f := tempFile(t, pattern(4096, 1))
	stream := streamContext(t, 4)
	_, err := stream.GetEvents(0, 1, 0)
	wantErr(t, err, aio.ErrWrongMode, "Manual")

	manual := newContext(t, 4)
	if manual.Events() != nil {
		t.Fatal("a Manual Context has an Events channel")
	}
	wb := aio.NewRead(f, make([]byte, 16), 0)
	if err := wb.SetWait(true); err != nil {
		t.Fatal(err)
	}
	n, err := manual.Submit(aio.NewRead(f, make([]byte, 16), 0), wb)
	wantErr(t, err, aio.ErrWrongMode, "block 1", "SetWait")
	if n != 0 || wb.InFlight() || manual.InFlight() != 0 {
		t.Fatalf("refused batch: n %d, in flight %v/%d", n, wb.InFlight(), manual.InFlight())
	}

	// A Block with its own eventfd: the stream needs every completion to
	// signal its eventfd, so it refuses.
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC, 0)
	if e != 0 {
		t.Fatal(e)
	}
	defer syscall.Close(int(efd))
	good := aio.NewRead(f, make([]byte, 16), 0)
	own := aio.NewRead(f, make([]byte, 16), 0)
	own.SetResFD(int(efd))
	n, err = stream.Submit(good, own)
	wantErr(t, err, syscall.EINVAL, "block 1", "SetResFD", "Manual")
	if n != 0 || good.InFlight() || own.InFlight() || stream.InFlight() != 0 {
		t.Fatalf("refused batch: n %d, in flight %v %v %d", n, good.InFlight(), own.InFlight(), stream.InFlight())
	}
	noEvent(t, stream, 20*time.Millisecond)
	// In manual mode the same Block works, and its eventfd counts.
	if ev := do(t, manual, own); ev.N() != 16 {
		t.Fatalf("read with own eventfd: %+v", ev)
	}
	var cnt [8]byte
	if _, err := syscall.Read(int(efd), cnt[:]); err != nil || cnt[0] != 1 {
		t.Fatalf("eventfd count %v, %v; want 1", cnt, err)
	}
}

func TestCancelPoll(t *testing.T) {
	ctx := newContext(t, 8)
	r, _ := pipe(t)
	b := aio.NewPoll(r, aio.PollIn)
	submit(t, ctx, b)
	if err := ctx.Cancel(b); err != nil {
		t.Fatal(err)
	}
	ev := reap(t, ctx, 1)[0]
	if ev.Block != b || !errors.Is(ev.Err(), syscall.ECANCELED) {
		t.Fatalf("cancelled poll: res %d, %v", ev.Res, ev.Err())
	}

	// A poll that already fired cannot be cancelled; its event keeps the
	// ready mask. (A poll on a ready file completes inside io_submit.)
	_, w := pipe(t)
	ready := aio.NewPoll(w, aio.PollOut)
	submit(t, ctx, ready)
	wantErr(t, ctx.Cancel(ready), syscall.EINVAL, "fired before")
	if ev := reap(t, ctx, 1)[0]; ev.PollEvents()&aio.PollOut == 0 {
		t.Fatalf("fired poll after refused cancel: res %d, %v", ev.Res, ev.Err())
	}
}

func TestCancelDiskIO(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("data"))
	// A buffered read completes inside io_submit, but stays in flight
	// until its event is reaped: Cancel reaches the kernel, which refuses.
	b := aio.NewRead(f, make([]byte, 4), 0)
	submit(t, ctx, b)
	err := ctx.Cancel(b)
	wantErr(t, err, syscall.EINVAL, "io_cancel", "only poll")
	if ev := reap(t, ctx, 1)[0]; ev.N() != 4 {
		t.Fatalf("read after refused cancel: %d, %v", ev.Res, ev.Err())
	}
	wantErr(t, ctx.Cancel(b), aio.ErrNotInFlight)
	wantErr(t, ctx.Cancel(nil), syscall.EINVAL)
}

// Close with I/O in flight waits for it, discards the events and frees
// the Blocks. The reads are large (8 MiB each, 64 MiB in all), so that they
// are still running when Close starts: if Close returned early, their
// buffers would not hold the data yet.
func TestCloseInFlight(t *testing.T) {
	const n, size = 8, 8 << 20
	f, data := directFile(t, n*size)
	r, _ := pipe(t)
	ctx, err := aio.NewContext(64, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*aio.Block
	for i := range n {
		blocks = append(blocks, aio.NewRead(f, aligned(size), int64(i)*size))
	}
	poll := aio.NewPoll(r, aio.PollIn)
	blocks = append(blocks, poll)
	submit(t, ctx, blocks...)
	// Peek (only read) at the last buffer: whether the kernel is still
	// filling it tells whether this run tested Close's wait at all.
	last := blocks[n-1].Buffer()
	running := !bytes.Equal(last[size-4096:], data[n*size-4096:])
	start := time.Now()
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	t.Logf("reads still running when Close started: %v; Close took %v", running, time.Since(start))
	for i, b := range blocks {
		if b.InFlight() {
			t.Fatalf("block %d in flight after Close", i)
		}
	}
	for i, b := range blocks[:n] {
		if !bytes.Equal(b.Buffer(), data[i*size:(i+1)*size]) {
			t.Fatalf("block %d: data not all read when Close returned", i)
		}
	}
	// Idle again: usable on another Context.
	other := newContext(t, 4)
	do(t, other, blocks[0])
}

// Many goroutines submit while others reap: under -race this checks the
// locking, and every submission yields exactly one event. Then Close races
// with both, and leaves no Block in flight.
func TestConcurrentSubmitReapClose(t *testing.T) {
	f := tempFile(t, pattern(1<<16, 1))
	ctx, err := aio.NewContext(32, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 300
	var (
		mu        sync.Mutex
		submitted = map[*aio.Block]int{}
		reaped    = map[*aio.Block]int{}
	)
	blocks := make([][]*aio.Block, workers)
	for w := range blocks {
		for i := range 8 {
			blocks[w] = append(blocks[w], aio.NewRead(f, make([]byte, 512), int64(512*(w*8+i))))
		}
	}
	// work submits Blocks until count submissions went in or the Context
	// is closed.
	work := func(w, count int) {
		for i, done := 0, 0; done < count; i++ {
			b := blocks[w][i%8]
			n, err := ctx.Submit(b)
			if n == 1 {
				mu.Lock()
				submitted[b]++
				mu.Unlock()
				done++
				continue
			}
			switch {
			case errors.Is(err, aio.ErrClosed):
				return
			case errors.Is(err, aio.ErrInFlight), errors.Is(err, aio.ErrFull):
				runtime.Gosched()
			default:
				t.Errorf("Submit: %v", err)
				return
			}
		}
	}
	reaper := func(stop <-chan struct{}) {
		for {
			evs, err := ctx.GetEvents(1, 8, 5*time.Millisecond)
			mu.Lock()
			for _, ev := range evs {
				if ev.N() != 512 {
					t.Errorf("read returned %d, %v", ev.Res, ev.Err())
				}
				reaped[ev.Block]++
			}
			mu.Unlock()
			if errors.Is(err, aio.ErrClosed) {
				return
			}
			if err != nil {
				t.Errorf("GetEvents: %v", err)
				return
			}
			select {
			case <-stop:
				if ctx.InFlight() == 0 {
					return
				}
			default:
			}
		}
	}

	// Phase 1: every submission reaped exactly once.
	var wg, rg sync.WaitGroup
	stop := make(chan struct{})
	for range 2 {
		rg.Add(1)
		go func() { defer rg.Done(); reaper(stop) }()
	}
	for w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); work(w, perWorker) }()
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	total := 0
	for b, n := range submitted {
		if reaped[b] != n {
			t.Fatalf("a Block submitted %d times was reaped %d times", n, reaped[b])
		}
		total += n
	}
	if total != workers*perWorker {
		t.Fatalf("%d submissions, want %d", total, workers*perWorker)
	}

	// Phase 2: Close races with submitters and reapers.
	stop = make(chan struct{})
	for range 2 {
		rg.Add(1)
		go func() { defer rg.Done(); reaper(stop) }()
	}
	for w := range workers {
		wg.Add(1)
		go func() { defer wg.Done(); work(w, 1<<30) }()
	}
	time.Sleep(20 * time.Millisecond)
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(stop)
	rg.Wait()
	for _, bs := range blocks {
		for _, b := range bs {
			if b.InFlight() {
				t.Fatal("Block in flight after Close")
			}
		}
	}
}
