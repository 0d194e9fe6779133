//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// recv returns the next event on ctx's stream, failing after 10 s.
func recv(t testing.TB, ctx *aio.Context) aio.Event {
	t.Helper()
	select {
	case ev, ok := <-ctx.Events():
		if !ok {
			t.Fatal("Events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	panic("unreachable")
}

// noEvent fails if an event arrives on ctx's stream within d.
func noEvent(t testing.TB, ctx *aio.Context, d time.Duration) {
	t.Helper()
	select {
	case ev := <-ctx.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

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

// A Block set with SetWait completes through Wait, not Events; a deadline
// ends the wait and leaves the I/O in flight; Wait again collects it.
func TestWaitInsteadOfEvents(t *testing.T) {
	f := tempFile(t, pattern(4096, 5))
	ctx := streamContext(t, 4)
	r, w := pipe(t)

	poll := aio.NewPoll(r, aio.PollIn)
	if err := poll.SetWait(true); err != nil || !poll.Waits() {
		t.Fatal(err)
	}
	if _, err := poll.Wait(context.Background()); !errors.Is(err, aio.ErrNotInFlight) {
		t.Fatalf("Wait before Submit: %v", err)
	}
	read := aio.NewRead(f, make([]byte, 100), 0)
	if _, err := read.Wait(context.Background()); !errors.Is(err, aio.ErrNotInFlight) {
		t.Fatalf("Wait on a Block not set to wait: %v", err)
	}
	submit(t, ctx, poll, read)
	if ev := recv(t, ctx); ev.Block != read {
		t.Fatalf("Events gave %+v, want the read", ev)
	}

	dl, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := poll.Wait(dl); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait past its deadline: %v", err)
	}
	if !poll.InFlight() || poll.SetPollEvents(aio.PollOut) == nil {
		t.Fatal("the poll is no longer in flight after the deadline")
	}
	w.Write([]byte{1})
	ev, err := poll.Wait(context.Background())
	if err != nil || ev.Block != poll || ev.PollEvents()&aio.PollIn == 0 || poll.InFlight() {
		t.Fatalf("Wait: %+v, %v", ev, err)
	}
	if _, err := poll.Wait(context.Background()); !errors.Is(err, aio.ErrNotInFlight) {
		t.Fatalf("second Wait: %v", err)
	}
	noEvent(t, ctx, 30*time.Millisecond)

	// A completion never waited for is dropped at the next Submit.
	submit(t, ctx, poll) // the pipe is readable: completes at once
	if !settles(func() bool { return !poll.InFlight() }) {
		t.Fatal("poll did not complete")
	}
	r.Read(make([]byte, 1))
	submit(t, ctx, poll)
	dl2, cancel2 := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel2()
	if ev, err := poll.Wait(dl2); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait after resubmission returned the old event: %+v, %v", ev, err)
	}
	if err := ctx.Cancel(poll); err != nil {
		t.Fatal(err)
	}
	if ev, err := poll.Wait(context.Background()); !errors.Is(ev.Err(), syscall.ECANCELED) || err != nil {
		t.Fatalf("cancelled poll: %+v, %v", ev, err)
	}
}

// A Wait that gives up leaves the kernel owning the buffer: it stays pinned
// through garbage collections, and the data is there when it completes.
func TestWaitGivesUpBufferStaysOwned(t *testing.T) {
	f, data := directFile(t, 1<<20)
	ctx := streamContext(t, 32)
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	blocks := make([]*aio.Block, 32)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, aligned(4096), int64(i*7%256)*4096)
		blocks[i].SetWait(true)
	}
	submit(t, ctx, blocks...)
	gaveUp := 0
	for _, b := range blocks {
		if _, err := b.Wait(gone); err != nil {
			if !errors.Is(err, context.Canceled) {
				t.Fatal(err)
			}
			gaveUp++
		}
	}
	runtime.GC()
	runtime.GC()
	for _, b := range blocks {
		if !b.InFlight() {
			continue
		}
		ev, err := b.Wait(context.Background())
		if err != nil || ev.N() != 4096 || !bytes.Equal(b.Buffer(), data[b.Offset():b.Offset()+4096]) {
			t.Fatalf("read at %d: %+v, %v", b.Offset(), ev, err)
		}
	}
	t.Logf("%d of 32 waits gave up before completion", gaveUp)
}

// A reader slower than the I/O slows Submit (FullWait) and loses nothing.
func TestSlowReaderSlowsSubmit(t *testing.T) {
	data := pattern(64<<10, 9)
	f := tempFile(t, data)
	ctx := streamContext(t, 4)
	const total = 64
	blocks := make([]*aio.Block, total)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, make([]byte, 256), int64(i)*256)
	}
	submitted := make(chan error, 1)
	go func() {
		n, err := ctx.Submit(blocks...)
		if n != total && err == nil {
			err = errors.New("short Submit")
		}
		submitted <- err
	}()
	seen := make(map[*aio.Block]bool)
	for range total {
		time.Sleep(time.Millisecond)
		ev := recv(t, ctx)
		if seen[ev.Block] || ev.N() != 256 || !bytes.Equal(ev.Block.Buffer(), data[ev.Block.Offset():][:256]) {
			t.Fatalf("event %+v: repeated or wrong", ev)
		}
		seen[ev.Block] = true
		if n := ctx.InFlight() + len(ctx.Events()); n > ctx.Cap()+1 {
			t.Fatalf("%d in flight or unread, the Context holds %d", n, ctx.Cap())
		}
	}
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	noEvent(t, ctx, 20*time.Millisecond)
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

// FullError refuses past the Context's room; SubmitContext bounds the
// FullWait wait; Close ends it with ErrClosed.
func TestFullPolicies(t *testing.T) {
	r, w := pipe(t)
	strict := streamContext(t, 2, aio.WhenFull(aio.FullError))
	submit(t, strict, aio.NewPoll(r, aio.PollIn), aio.NewPoll(r, aio.PollIn))
	extra := aio.NewPoll(r, aio.PollIn)
	n, err := strict.Submit(extra)
	wantErr(t, err, aio.ErrFull, "2 slots")
	if n != 0 || extra.InFlight() {
		t.Fatalf("Submit past FullError: %d, in flight %v", n, extra.InFlight())
	}

	waiting := streamContext(t, 2)
	submit(t, waiting, aio.NewPoll(r, aio.PollIn), aio.NewPoll(r, aio.PollIn))
	dl, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	n, err = waiting.SubmitContext(dl, extra)
	if n != 0 || !errors.Is(err, context.DeadlineExceeded) || extra.InFlight() {
		t.Fatalf("SubmitContext past its deadline: %d, %v", n, err)
	}
	// Room comes back when the polls complete and their events are read:
	// one reader takes all three events, the third poll's among them.
	got := make(chan map[*aio.Block]bool, 1)
	go func() {
		time.Sleep(20 * time.Millisecond)
		w.Write([]byte{1})
		seen := map[*aio.Block]bool{}
		for range 3 {
			seen[recv(t, waiting).Block] = true
		}
		got <- seen
	}()
	if n, err := waiting.Submit(extra); n != 1 || err != nil {
		t.Fatalf("Submit waiting for room: %d, %v", n, err)
	}
	if seen := <-got; len(seen) != 3 || !seen[extra] {
		t.Fatalf("events for %d Blocks, the third poll's among them: %v", len(seen), seen[extra])
	}
	r.Read(make([]byte, 1))

	// Close wakes a Submit waiting for room.
	ctx, err := aio.NewContext(1)
	if err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, aio.NewPoll(r, aio.PollIn))
	res := make(chan error, 1)
	go func() {
		_, err := ctx.Submit(aio.NewPoll(r, aio.PollIn))
		res <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-res; !errors.Is(err, aio.ErrClosed) {
		t.Fatalf("waiting Submit at Close: %v", err)
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

// Submit calls that arrive while another is in io_submit share one
// io_submit: the first holds the kernel (a buffered read of an empty
// blocking pipe blocks inside io_submit), ten more queue behind it.
func TestConcurrentSubmitsShareIOSubmit(t *testing.T) {
	for range 5 {
		if submitsShare(t) {
			return
		}
	}
	t.Fatal("the blocking read was interrupted by a signal 5 times")
}

// submitsShare runs TestConcurrentSubmitsShareIOSubmit once; false means a
// signal ended the stalled read early (an EFAULT event), and it proves
// nothing.
func submitsShare(t *testing.T) bool {
	f := tempFile(t, pattern(4096, 4))
	st := newStall(t)
	ctx, err := aio.NewContext(16)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	first := st.Read
	firstDone := make(chan error, 1)
	go func() {
		_, err := ctx.Submit(first)
		firstDone <- err
	}()
	time.Sleep(50 * time.Millisecond) // first is inside io_submit
	var wg sync.WaitGroup
	for i := range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := ctx.Submit(aio.NewRead(f, make([]byte, 10), int64(i))); err != nil {
				t.Error(err)
			}
		}()
	}
	if !settles(func() bool { return ctx.InFlight() == 11 || !first.InFlight() }) {
		t.Fatalf("InFlight %d, want 11 queued", ctx.InFlight())
	}
	st.Release()
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	interrupted := false
	for range 11 {
		ev := recv(t, ctx)
		if ev.Block == first && errors.Is(ev.Err(), syscall.EFAULT) {
			interrupted = true
		} else if ev.Err() != nil {
			t.Fatal(ev.Err())
		}
	}
	if interrupted {
		return false
	}
	stats := ctx.Stats()
	t.Logf("%+v", stats)
	if stats.Submits != 11 || stats.Submitted != 11 || stats.IOSubmitCalls != 2 {
		t.Fatalf("Stats %+v: want 11 Submits sharing 2 io_submit calls", stats)
	}
	return true
}

// Completions already in the ring are reaped from user space without
// io_getevents, through many laps of the ring; io_getevents is called only
// to wait.
func TestRingReaping(t *testing.T) {
	data := pattern(1<<16, 6)
	f := tempFile(t, data)
	ctx := streamContext(t, 4)
	blocks := make([]*aio.Block, 4)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, make([]byte, 64), 0)
	}
	const rounds = 1000 // 4000 completions: many laps of a ring of ~128
	for r := range rounds {
		for i, b := range blocks {
			b.SetOffset(int64((r*4+i)*64) % int64(len(data)))
		}
		submit(t, ctx, blocks...)
		for range blocks {
			ev := recv(t, ctx)
			if ev.N() != 64 || !bytes.Equal(ev.Block.Buffer(), data[ev.Block.Offset():][:64]) {
				t.Fatalf("round %d: %+v", r, ev)
			}
		}
	}
	st := ctx.Stats()
	if st.RingEvents != 4*rounds || st.GetEventsCalls != 0 || st.Submitted != 4*rounds {
		t.Fatalf("stream Stats %+v: want %d ring events and no io_getevents", st, 4*rounds)
	}

	manual := newContext(t, 4)
	submit(t, manual, blocks...)
	reap(t, manual, 4)
	if st := manual.Stats(); st.RingEvents != 4 || st.GetEventsCalls != 0 {
		t.Fatalf("manual Stats %+v: want 4 ring events and no io_getevents", st)
	}
	r, w := pipe(t)
	submit(t, manual, aio.NewPoll(r, aio.PollIn))
	go func() { time.Sleep(30 * time.Millisecond); w.Write([]byte{1}) }()
	if evs, err := manual.GetEvents(1, 1, 5*time.Second); len(evs) != 1 || err != nil {
		t.Fatalf("GetEvents: %v, %v", evs, err)
	}
	if st := manual.Stats(); st.GetEventsCalls == 0 || st.GetEventsEvents != 1 {
		t.Fatalf("manual Stats %+v: the wait went through io_getevents", st)
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

// Two Submit calls wait for room; the first gives up. The second still
// gets in once the reader frees the room.
func TestWaitingSubmitsPassTheTurn(t *testing.T) {
	r, w := pipe(t)
	ctx := streamContext(t, 1)
	submit(t, ctx, aio.NewPoll(r, aio.PollIn))
	give, giveUp := context.WithCancel(context.Background())
	first := make(chan error, 1)
	go func() {
		_, err := ctx.SubmitContext(give, aio.NewPoll(r, aio.PollIn))
		first <- err
	}()
	time.Sleep(10 * time.Millisecond)
	second := make(chan error, 1)
	b := aio.NewRead(tempFile(t, pattern(64, 1)), make([]byte, 8), 0)
	go func() {
		_, err := ctx.Submit(b)
		second <- err
	}()
	time.Sleep(10 * time.Millisecond)
	w.Write([]byte{1}) // the poll completes: its unread event holds the room
	time.Sleep(10 * time.Millisecond)
	giveUp()
	want := 2
	if err := <-first; err == nil {
		// On a loaded machine the first may start only once the room
		// is free again, and then get in: its poll is a third event.
		want = 3
	} else if !errors.Is(err, context.Canceled) {
		t.Fatal(err)
	}
	got := map[*aio.Block]bool{}
	for len(got) < want {
		ev := recv(t, ctx)
		got[ev.Block] = true
	}
	if err := <-second; err != nil || !got[b] {
		t.Fatalf("second Submit: %v; its event seen: %v", err, got[b])
	}
}

// A Block's event can reach a reader that submits it again before the
// Submit that submitted it has returned; each Submit still reports its own
// outcome.
func TestResubmitBeforeSubmitReturns(t *testing.T) {
	f := tempFile(t, pattern(4096, 8))
	ctx := streamContext(t, 4)
	a := aio.NewRead(f, make([]byte, 64), 0)
	const rounds = 20000
	back := make(chan struct{})
	go func() {
		for i := 0; i < rounds; i++ {
			var ev aio.Event
			select {
			case ev = <-ctx.Events():
			case <-time.After(5 * time.Second):
				t.Errorf("round %d: no event; InFlight %d, a in flight %v, Stats %+v", i, ctx.InFlight(), a.InFlight(), ctx.Stats())
				close(back)
				return
			}
			if ev.Block != a || ev.N() != 64 {
				t.Errorf("event %+v", ev)
				return
			}
			if i%2 == 0 {
				if n, err := ctx.Submit(a); n != 1 || err != nil {
					t.Errorf("reader's Submit: %d, %v", n, err)
					return
				}
			} else {
				back <- struct{}{}
			}
		}
		close(back)
	}()
	if n, err := ctx.Submit(a); n != 1 || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	for range back {
		if n, err := ctx.Submit(a); n != 1 || err != nil {
			t.Fatalf("Submit: %d, %v", n, err)
		}
	}
}

// A Block given twice in one call is refused, whatever the room.
func TestBlockTwiceInOneSubmit(t *testing.T) {
	f := tempFile(t, pattern(4096, 8))
	for _, n := range []int{1, 4} {
		ctx := streamContext(t, n)
		b := aio.NewRead(f, make([]byte, 64), 0)
		got, err := ctx.Submit(aio.NewRead(f, make([]byte, 8), 0), b, b)
		wantErr(t, err, aio.ErrInFlight, "block 2", "twice")
		if got != 0 || b.InFlight() || ctx.InFlight() != 0 {
			t.Fatalf("cap %d: %d submitted, in flight %v", n, got, b.InFlight())
		}
	}
	// Large batches find it by stamping the Blocks.
	ctx := streamContext(t, 4)
	var big []*aio.Block
	for i := range 70 {
		big = append(big, aio.NewRead(f, make([]byte, 8), int64(i)))
	}
	got, err := ctx.Submit(append(big, big[3])...)
	wantErr(t, err, aio.ErrInFlight, "block 70", "twice")
	if got != 0 || ctx.InFlight() != 0 {
		t.Fatalf("large batch: %d submitted", got)
	}
}

// A completion never waited for does not reach a later Wait, even after
// the Block was used without SetWait in between.
func TestStaleWaitTokenDropped(t *testing.T) {
	r, w := pipe(t)
	ctx := streamContext(t, 2)
	b := aio.NewPoll(r, aio.PollIn)
	w.Write([]byte{1})
	b.SetWait(true)
	submit(t, ctx, b) // completes at once; never waited for
	if !settles(func() bool { return !b.InFlight() }) {
		t.Fatal("poll did not complete")
	}
	b.SetWait(false)
	submit(t, ctx, b)
	if ev := recv(t, ctx); ev.Block != b {
		t.Fatalf("event %+v", ev)
	}
	r.Read(make([]byte, 1))
	b.SetWait(true)
	submit(t, ctx, b)
	dl, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if ev, err := b.Wait(dl); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait returned a stale event: %+v, %v", ev, err)
	}
	ctx.Cancel(b)
	b.Wait(context.Background())
}

// A Block refused when its turn comes, after earlier rounds went in, is
// named by an Index equal to the count submitted: its file is closed while
// the Submit waits for room, after the checks that would have refused the
// whole batch.
func TestLateRefusalIndexIsCount(t *testing.T) {
	f := tempFile(t, pattern(4096, 2))
	gone := tempFile(t, pattern(4096, 2))
	ctx := streamContext(t, 2)
	blocks := []*aio.Block{
		aio.NewRead(f, make([]byte, 8), 0),
		aio.NewRead(f, make([]byte, 8), 8),
		aio.NewRead(f, make([]byte, 8), 16),
		aio.NewRead(gone, make([]byte, 8), 0),
		aio.NewRead(f, make([]byte, 8), 24),
	}
	type result struct {
		n   int
		err error
	}
	res := make(chan result)
	go func() {
		n, err := ctx.Submit(blocks...)
		res <- result{n, err}
	}()
	// The first two fill the Context; their unread events hold it full.
	if !settles(func() bool { return ctx.Stats().Submitted == 2 }) {
		t.Fatalf("Stats %+v: want 2 submitted", ctx.Stats())
	}
	gone.Close()
	seen := map[*aio.Block]bool{}
	for range 3 {
		seen[recv(t, ctx).Block] = true
	}
	r := <-res
	wantErr(t, r.err, os.ErrClosed, "block 3")
	if r.n != 3 {
		t.Fatalf("Submit returned %d, want 3 (the refused Block's Index)", r.n)
	}
	if !seen[blocks[0]] || !seen[blocks[1]] || !seen[blocks[2]] {
		t.Fatal("missing event for a Block submitted")
	}
	if blocks[3].InFlight() || blocks[4].InFlight() {
		t.Fatal("Blocks after the refused one are in flight")
	}
	noEvent(t, ctx, 20*time.Millisecond)
}

// Submit calls racing for the same Blocks on two Contexts (bad input)
// never submit a Block twice in one call, and every Block submitted
// produces one event.
func TestSameBlocksRacingOnTwoContexts(t *testing.T) {
	f := tempFile(t, pattern(4096, 2))
	b0 := aio.NewRead(f, make([]byte, 8), 0)
	b1 := aio.NewRead(f, make([]byte, 8), 8)
	batches := [][]*aio.Block{{b0}, {b0, b1}, {b1, b0, b1}}
	var submitted, received atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, ctx := range []*aio.Context{streamContext(t, 1), streamContext(t, 1)} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-ctx.Events():
					received.Add(1)
				case <-stop:
					return
				}
			}
		}()
		for _, batch := range batches {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					dl, cancel := context.WithTimeout(context.Background(), 5*time.Millisecond)
					n, _ := ctx.SubmitContext(dl, batch...)
					cancel()
					if len(batch) == 3 && n == 3 {
						t.Error("a Block given twice was submitted twice")
					}
					submitted.Add(int64(n))
				}
			}()
		}
	}
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	if !settles(func() bool { return !b0.InFlight() && !b1.InFlight() }) {
		t.Fatal("Blocks still in flight")
	}
	// Events still in the channels arrive when the cleanup closes them;
	// here only nothing may be extra.
	if r, s := received.Load(), submitted.Load(); r > s || s == 0 {
		t.Fatalf("%d events for %d submitted", r, s)
	}
}

// A Block is idle once Wait returns its event: it can be submitted again at
// once, every time.
func TestResubmitRightAfterWait(t *testing.T) {
	f, data := directFile(t, 1<<20)
	ctx := streamContext(t, 2)
	b := aio.NewRead(f, aligned(4096), 0)
	b.SetWait(true)
	for i := range 20000 {
		b.SetOffset(int64(i%256) * 4096)
		if n, err := ctx.Submit(b); n != 1 || err != nil {
			t.Fatalf("round %d: Submit right after Wait: %d, %v", i, n, err)
		}
		ev, err := b.Wait(context.Background())
		if err != nil || ev.N() != 4096 {
			t.Fatalf("round %d: %+v, %v", i, ev, err)
		}
		if i%1000 == 0 && !bytes.Equal(b.Buffer(), data[b.Offset():][:4096]) {
			t.Fatalf("round %d: wrong data", i)
		}
	}
}
