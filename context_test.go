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

func TestEmptySubmitAndIdleGetEvents(t *testing.T) {
	ctx := newContext(t, 8)
	if n, err := ctx.Submit(); n != 0 || err != nil {
		t.Fatalf("empty Submit: %d, %v", n, err)
	}
	start := time.Now()
	evs, err := ctx.GetEvents(0, 8, 0)
	if err != nil || len(evs) != 0 {
		t.Fatalf("GetEvents on idle context: %v, %v", evs, err)
	}
	evs, err = ctx.GetEvents(1, 8, 100*time.Millisecond)
	if err != nil || len(evs) != 0 {
		t.Fatalf("GetEvents(1) on idle context: %v, %v", evs, err)
	}
	if d := time.Since(start); d < 100*time.Millisecond {
		t.Fatalf("GetEvents with a 100ms timeout returned after %v", d)
	}
}

func TestGetEventsMinMax(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	var blocks []*aio.Block
	for i := range 4 {
		blocks = append(blocks, aio.NewWrite(f, []byte("abcd"), int64(4*i)))
	}
	submit(t, ctx, blocks...)
	// Buffered writes complete inside io_submit: all four are ready.
	evs, err := ctx.GetEvents(1, 2, -1)
	if err != nil || len(evs) != 2 {
		t.Fatalf("GetEvents(1, 2): %d events, %v", len(evs), err)
	}
	if ctx.InFlight() != 2 {
		t.Fatalf("InFlight %d, want 2", ctx.InFlight())
	}
	evs = append(evs, reap(t, ctx, 2)...)
	seen := map[*aio.Block]bool{}
	for _, ev := range evs {
		if ev.Err() != nil || ev.N() != 4 || seen[ev.Block] {
			t.Fatalf("bad event %+v", ev)
		}
		seen[ev.Block] = true
	}
}

func TestCloseWakesGetEvents(t *testing.T) {
	ctx, err := aio.NewContext(4, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() {
		_, err := ctx.GetEvents(1, 1, -1)
		done <- err
	}()
	time.Sleep(20 * time.Millisecond)
	ctx.Close()
	select {
	case err := <-done:
		wantErr(t, err, aio.ErrClosed)
	case <-time.After(5 * time.Second):
		t.Fatal("GetEvents still waiting after Close")
	}
}

// A batch larger than the free slots submits what fits and says so.
func TestSubmitFull(t *testing.T) {
	ctx := newContext(t, 4)
	r, w := pipe(t)
	_ = w
	var blocks []*aio.Block
	for range 6 {
		blocks = append(blocks, aio.NewPoll(r, aio.PollIn))
	}
	n, err := ctx.Submit(blocks...)
	if n != 4 {
		t.Fatalf("Submit returned %d, want 4", n)
	}
	wantErr(t, err, aio.ErrFull, "4 of 6")
	var ae *aio.Error
	if !errors.As(err, &ae) || ae.Index != 4 {
		t.Fatalf("error %v does not name block 4", err)
	}
	for i, b := range blocks {
		if b.InFlight() != (i < 4) {
			t.Fatalf("block %d InFlight %v", i, b.InFlight())
		}
	}
	n, err = ctx.Submit(blocks[4])
	if n != 0 {
		t.Fatalf("Submit on a full context returned %d", n)
	}
	wantErr(t, err, aio.ErrFull, "4 slots")
	// Free the slots: cancel every poll and reap the cancellations.
	for _, b := range blocks[:4] {
		if err := ctx.Cancel(b); err != nil {
			t.Fatal(err)
		}
	}
	for _, ev := range reap(t, ctx, 4) {
		wantErr(t, ev.Err(), syscall.ECANCELED)
	}
	submit(t, ctx, blocks[4:]...)
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
