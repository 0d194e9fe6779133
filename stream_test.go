//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// Every submitted Block produces exactly one event on Events, with its
// data, when more Blocks are submitted in one call than the Context holds.
func TestStreamDeliversEveryBlockOnce(t *testing.T) {
	data := pattern(64<<10, 3)
	f := tempFile(t, data)
	ctx := streamContext(t, 8)
	if ch1, ch2 := ctx.Events(), ctx.Events(); ch1 == nil || ch1 != ch2 {
		t.Fatal("Events is nil or not one channel")
	}
	const total = 200
	blocks := make([]*aio.Block, total)
	for i := range blocks {
		off := int64(i*512) % int64(len(data)-700)
		blocks[i] = aio.NewRead(f, make([]byte, 512+i%100), off)
	}
	seen := make(map[*aio.Block]int)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range total {
			ev := recv(t, ctx)
			seen[ev.Block]++
			b := ev.Block
			if ev.Err() != nil || ev.N() != len(b.Buffer()) {
				t.Errorf("read at %d: %d, %v", b.Offset(), ev.Res, ev.Err())
			} else if !bytes.Equal(b.Buffer(), data[b.Offset():b.Offset()+int64(ev.N())]) {
				t.Errorf("read at %d: wrong data", b.Offset())
			}
			if b.InFlight() {
				t.Errorf("Block at %d in flight after its event", b.Offset())
			}
		}
	}()
	if n, err := ctx.Submit(blocks...); n != total || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	<-done
	for _, b := range blocks {
		if seen[b] != 1 {
			t.Fatalf("Block at %d: %d events", b.Offset(), seen[b])
		}
	}
	noEvent(t, ctx, 50*time.Millisecond)
	if n := ctx.InFlight(); n != 0 {
		t.Fatalf("InFlight %d after every event", n)
	}
}

// Events of I/O that completes later (O_DIRECT reads, polls) reach the
// stream through the eventfd, one wakeup at a time.
func TestStreamWakesForLaterCompletions(t *testing.T) {
	f, data := directFile(t, 1<<20)
	ctx := streamContext(t, 4)
	r, w := pipe(t)
	for round := range 20 {
		poll := aio.NewPoll(r, aio.PollIn)
		read := aio.NewRead(f, aligned(4096), int64(round%256)*4096)
		submit(t, ctx, poll, read)
		ev := recv(t, ctx)
		if ev.Block != read || !bytes.Equal(read.Buffer(), data[read.Offset():read.Offset()+4096]) {
			t.Fatalf("round %d: first event %+v, want the read with its data", round, ev)
		}
		time.Sleep(time.Millisecond)
		w.Write([]byte{1})
		if ev := recv(t, ctx); ev.Block != poll || ev.PollEvents()&aio.PollIn == 0 {
			t.Fatalf("round %d: event %+v, want the poll with POLLIN", round, ev)
		}
		r.Read(make([]byte, 1))
	}
	if st := ctx.Stats(); st.Wakeups == 0 {
		t.Fatalf("Stats %+v: no eventfd wakeups", st)
	}
}

// Idle stream Contexts hold no OS thread: 64 of them, each with I/O just
// completed, add at most 2 threads.
func TestIdleStreamsHoldNoThreads(t *testing.T) {
	f, _ := directFile(t, 1<<20)
	// Warm up: the runtime's own threads (netpoller, cgo) exist first.
	warm := streamContext(t, 1)
	for range 3 {
		submit(t, warm, aio.NewRead(f, aligned(4096), 0))
		recv(t, warm)
	}
	time.Sleep(50 * time.Millisecond)
	before, goroutines := osThreads(), runtime.NumGoroutine()
	ctxs := make([]*aio.Context, 64)
	for i := range ctxs {
		ctxs[i] = streamContext(t, 2)
		submit(t, ctxs[i], aio.NewRead(f, aligned(4096), int64(i)*4096), aio.NewRead(f, aligned(4096), 0))
	}
	for _, ctx := range ctxs {
		recv(t, ctx)
		recv(t, ctx)
	}
	time.Sleep(100 * time.Millisecond)
	after := osThreads()
	t.Logf("OS threads: %d before, %d with 64 idle Contexts; goroutines %d -> %d", before, after, goroutines, runtime.NumGoroutine())
	if after > before+2 {
		t.Fatalf("64 idle Contexts added %d OS threads, want at most 2", after-before)
	}
	// Each idle Context's goroutine is parked on the network poller, not
	// in a cgo call.
	buf := make([]byte, 1<<20)
	stacks := string(buf[:runtime.Stack(buf, true)])
	if n := strings.Count(stacks, "aio.(*state).run"); n < 64 {
		t.Fatalf("%d stream goroutines, want 64", n)
	}
	if strings.Contains(stacks, "_Cfunc_aioc") {
		t.Fatalf("a goroutine is in a cgo call while every Context is idle:\n%s", stacks)
	}
}

// With nobody reading, Close still returns; the events stay in the channel,
// which is then closed.
func TestCloseWithoutReader(t *testing.T) {
	f, _ := directFile(t, 1<<20)
	r, _ := pipe(t)
	ctx, err := aio.NewContext(8)
	if err != nil {
		t.Fatal(err)
	}
	var blocks []*aio.Block
	for i := range 6 {
		blocks = append(blocks, aio.NewRead(f, aligned(4096), int64(i)*4096))
	}
	polls := []*aio.Block{aio.NewPoll(r, aio.PollIn), aio.NewPoll(r, aio.PollIn)}
	submit(t, ctx, append(blocks, polls...)...)
	closed := make(chan error, 1)
	go func() { closed <- ctx.Close() }()
	select {
	case err := <-closed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not return without a reader")
	}
	got := map[*aio.Block]aio.Event{}
	for ev := range ctx.Events() {
		got[ev.Block] = ev
	}
	if len(got) != 8 {
		t.Fatalf("%d events after Close, want 8", len(got))
	}
	for _, b := range blocks {
		if ev := got[b]; ev.N() != 4096 {
			t.Fatalf("read: %+v", ev)
		}
	}
	for _, p := range polls {
		if ev := got[p]; !errors.Is(ev.Err(), syscall.ECANCELED) {
			t.Fatalf("poll pending at Close: %+v, want ECANCELED", ev)
		}
	}
	if _, err := ctx.Submit(blocks[0]); !errors.Is(err, aio.ErrClosed) {
		t.Fatalf("Submit after Close: %v", err)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
}

// Close waits for in-flight I/O, cancels polls, and gives back every kernel
// context, goroutine and descriptor.
func TestStreamCloseReleasesEverything(t *testing.T) {
	f, _ := directFile(t, 1<<20)
	r, _ := pipe(t)
	// This process's AIO contexts, not fs.aio-nr: other processes on the
	// machine change that at any time.
	maps, goroutines, fds := aioMappings(), runtime.NumGoroutine(), countFDs()
	for range 3 {
		ctx, err := aio.NewContext(64)
		if err != nil {
			t.Fatal(err)
		}
		if got := aioMappings(); got != maps+1 {
			t.Fatalf("%d AIO contexts mapped with one Context open, %d before", got, maps)
		}
		var blocks []*aio.Block
		for i := range 32 {
			blocks = append(blocks, aio.NewRead(f, aligned(4096), int64(i)*4096))
		}
		for range 16 {
			blocks = append(blocks, aio.NewPoll(r, aio.PollIn))
		}
		submit(t, ctx, blocks...)
		if err := ctx.Close(); err != nil {
			t.Fatal(err)
		}
		n := 0
		for range ctx.Events() {
			n++
		}
		if n != len(blocks) {
			t.Fatalf("%d events, want %d", n, len(blocks))
		}
	}
	if n := aioMappings(); n != maps {
		t.Fatalf("%d AIO contexts mapped after Close, %d before", n, maps)
	}
	if !settles(func() bool { return runtime.NumGoroutine() <= goroutines }) {
		t.Fatalf("%d goroutines after Close, %d before", runtime.NumGoroutine(), goroutines)
	}
	if n := countFDs(); n > fds {
		t.Fatalf("%d descriptors after Close, %d before", n, fds)
	}
}

// Close racing with Submit from many goroutines and with completions loses
// nothing: the events received equal the Blocks Submit reported.
func TestStreamCloseRacesSubmit(t *testing.T) {
	data := pattern(1<<16, 2)
	f := tempFile(t, data)
	df, _ := directFile(t, 1<<20)
	for round := range 5 {
		ctx, err := aio.NewContext(16)
		if err != nil {
			t.Fatal(err)
		}
		var submitted atomic.Int64
		received := make(chan int)
		go func() {
			n := 0
			for ev := range ctx.Events() {
				if ev.Err() != nil {
					t.Errorf("event error: %v", ev.Err())
				}
				n++
			}
			received <- n
		}()
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ; i++ {
					var bs []*aio.Block
					for k := range 1 + i%3 {
						if (g+k)%2 == 0 {
							bs = append(bs, aio.NewRead(df, aligned(4096), int64((i+k)%256)*4096))
						} else {
							bs = append(bs, aio.NewRead(f, make([]byte, 100), int64(k*100)))
						}
					}
					n, err := ctx.Submit(bs...)
					submitted.Add(int64(n))
					if err != nil {
						if !errors.Is(err, aio.ErrClosed) {
							t.Errorf("Submit: %v", err)
						}
						return
					}
				}
			}()
		}
		time.Sleep(time.Duration(10+round*10) * time.Millisecond)
		if err := ctx.Close(); err != nil {
			t.Fatal(err)
		}
		wg.Wait()
		if got, want := <-received, submitted.Load(); int64(got) != want {
			t.Fatalf("round %d: %d events for %d Blocks submitted", round, got, want)
		}
	}
}

// In steady state, Submit plus the event's delivery allocates nothing, on
// the stream and through Wait.
func TestStreamAllocs(t *testing.T) {
	ctx := streamContext(t, 4)
	df, _ := directFile(t, 1<<16)
	waited := aio.NewRead(df, aligned(4096), 0)
	waited.SetWait(true)
	for _, b := range []*aio.Block{
		aio.NewRead(tempFile(t, pattern(4096, 1)), make([]byte, 512), 0),
		aio.NewRead(df, aligned(4096), 4096),
		waited,
	} {
		var failed error
		allocs := testing.AllocsPerRun(200, func() {
			if _, err := ctx.Submit(b); err != nil {
				failed = err
				return
			}
			if b.Waits() {
				if _, err := b.Wait(context.Background()); err != nil {
					failed = err
				}
				return
			}
			<-ctx.Events()
		})
		if failed != nil {
			t.Fatal(failed)
		}
		if allocs != 0 {
			t.Fatalf("%s (wait %v): %.1f allocations per I/O, want 0", b.Command(), b.Waits(), allocs)
		}
	}
}

// The stream works when its eventfd gets descriptor 0 (a process started
// with stdin closed).
func TestStreamEventfdAtZero(t *testing.T) {
	saved, err := syscall.Dup(0)
	if err != nil {
		t.Fatal(err)
	}
	syscall.Close(0)
	ctx, err := aio.NewContext(2)
	if err != nil {
		syscall.Dup2(saved, 0)
		t.Fatal(err)
	}
	defer func() {
		syscall.Dup2(saved, 0)
		syscall.Close(saved)
	}()
	var st syscall.Stat_t
	if syscall.Fstat(0, &st) != nil {
		t.Fatal("descriptor 0 not taken by the new Context")
	}
	r, w := pipe(t)
	submit(t, ctx, aio.NewPoll(r, aio.PollIn))
	time.Sleep(10 * time.Millisecond)
	w.Write([]byte{1})
	if ev := recv(t, ctx); ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("poll event %+v", ev)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
}
