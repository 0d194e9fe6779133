//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// The natural loop: range over Completions and submit each event's Block
// again, one Submit per event. Every read completes once with its data;
// the loop reaps for itself (the stream goroutine wakes only before the
// loop starts), and the
// Submits made in its body go to the kernel in fewer io_submit calls than
// there are reads.
func TestCompletionsNaturalLoop(t *testing.T) {
	const depth, total, size = 8, 400, 4096
	f, data := directFile(t, 64*size)
	ctx := streamContext(t, depth)
	blocks := make([]*aio.Block, depth)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, aligned(size), int64(i*size))
	}
	before := ctx.Stats()
	submit(t, ctx, blocks...)
	done, issued := 0, depth
	for ev := range ctx.Completions() {
		b := ev.Block
		if ev.Err() != nil || ev.N() != size || !bytes.Equal(b.Buffer(), data[b.Offset():b.Offset()+size]) {
			t.Fatalf("read at %d: %d, %v, data right %v", b.Offset(), ev.Res, ev.Err(),
				bytes.Equal(b.Buffer(), data[b.Offset():b.Offset()+size]))
		}
		done++
		if issued < total {
			b.SetOffset(int64(issued%64) * size)
			if n, err := ctx.Submit(b); n != 1 || err != nil {
				t.Fatalf("Submit in the loop: %d, %v", n, err)
			}
			issued++
		}
		if done == total {
			break
		}
	}
	st := ctx.Stats()
	if ctx.InFlight() != 0 {
		t.Fatalf("%d in flight after every event", ctx.InFlight())
	}
	// The first Submit, before the loop runs, arms the eventfd for the
	// stream goroutine; after that the loop reaps. Without it, every
	// round (about 50 here) would be a wakeup.
	if w := st.Wakeups - before.Wakeups; w > 2 {
		t.Errorf("the stream goroutine woke %d times for a loop that reaps for itself", w)
	}
	if calls := st.IOSubmitCalls - before.IOSubmitCalls; calls >= total {
		t.Errorf("%d io_submit calls for %d reads: the loop's Submits were not gathered", calls, total)
	}
	t.Logf("%d reads, %d io_submit calls, %d stream wakeups", total, st.IOSubmitCalls-before.IOSubmitCalls, st.Wakeups-before.Wakeups)
}

// A Submit of a yielded Block from the body goes to the kernel even when
// the body breaks right after it: the loop flushes as it ends. Its event
// comes through Events, whether its I/O ended inside io_submit (buffered)
// or is still in flight when the loop has ended (a large O_DIRECT read),
// which the loop, as it ran, left to itself to reap.
func TestCompletionsBreakAfterSubmit(t *testing.T) {
	df, _ := directFile(t, 32<<20)
	for _, c := range []struct {
		name string
		b    *aio.Block
		n    int
	}{
		{"buffered", aio.NewRead(tempFile(t, pattern(4096, 1)), make([]byte, 512), 0), 512},
		{"O_DIRECT", aio.NewRead(df, aligned(16<<20), 16<<20), 16 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := streamContext(t, 4)
			submit(t, ctx, c.b)
			for ev := range ctx.Completions() {
				if _, err := ctx.Submit(ev.Block); err != nil {
					t.Fatal(err)
				}
				break
			}
			select {
			case ev := <-ctx.Events():
				if ev.Block != c.b || ev.N() != c.n {
					t.Fatalf("event %+v", ev)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("the Block submitted before the break never completed; %d in flight", ctx.InFlight())
			}
		})
	}
}

// A Block the body submits again whose file is closed before the loop
// sends it to the kernel comes back as an event with EBADF, once: the
// refusal is its event, since its Submit has returned.
func TestCompletionsDeferredRefusal(t *testing.T) {
	ctx := streamContext(t, 4)
	f := reopen(t, tempFile(t, pattern(4096, 1)))
	b := aio.NewRead(f, make([]byte, 512), 0)
	other := aio.NewRead(tempFile(t, pattern(4096, 2)), make([]byte, 512), 0)
	// Buffered reads complete inside io_submit, in order: both events
	// are ready, b's first.
	submit(t, ctx, b, other)
	var got []aio.Event
	for ev := range ctx.Completions() {
		got = append(got, ev)
		if len(got) == 1 {
			if ev.Block != b {
				t.Fatalf("first event for %p, want b's (%p)", ev.Block, b)
			}
			// The loop yields other's event before it flushes, so
			// b's Submit is still queued when its file closes.
			if n, err := ctx.Submit(b); n != 1 || err != nil {
				t.Fatalf("Submit in the loop: %d, %v", n, err)
			}
			f.Close()
		}
		if len(got) == 3 {
			break
		}
	}
	if got[1].Block != other || got[2].Block != b {
		t.Fatalf("events for %p, %p, %p; want b %p, other %p, b", got[0].Block, got[1].Block, got[2].Block, b, other)
	}
	if !errors.Is(got[2].Err(), syscall.EBADF) {
		t.Fatalf("event of a Block whose file closed before the flush: %d, %v; want EBADF", got[2].Res, got[2].Err())
	}
	if ctx.InFlight() != 0 || b.InFlight() {
		t.Fatalf("in flight after the refusal: %d, %v", ctx.InFlight(), b.InFlight())
	}
}

// Several Completions loops and a reader of Events at once: each event goes
// to exactly one of them, and Close ends the loops.
func TestCompletionsShared(t *testing.T) {
	const n = 300
	ctx := streamContext(t, 32)
	f := tempFile(t, pattern(1<<16, 3))
	var mu sync.Mutex
	seen := map[*aio.Block]int{}
	var wg sync.WaitGroup
	count := func(ev aio.Event) {
		mu.Lock()
		seen[ev.Block]++
		mu.Unlock()
	}
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ev := range ctx.Completions() {
				count(ev)
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ev := range ctx.Events() {
			count(ev)
		}
	}()
	df, _ := directFile(t, 1<<16)
	for i := range n {
		file := f
		var buf []byte = make([]byte, 512)
		if i%2 == 0 {
			file, buf = df, aligned(4096)
		}
		submit(t, ctx, aio.NewRead(file, buf, int64(i%16)*4096))
	}
	if !settles(func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == n }) {
		t.Fatalf("%d of %d events delivered", len(seen), n)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait() // the loops end with Close
	for b, k := range seen {
		if k != 1 {
			t.Fatalf("Block %p delivered %d times", b, k)
		}
	}
}

// Completions on a Manual Context yields nothing and ends at once; on a
// closed one, it ends once the events left are yielded.
func TestCompletionsModes(t *testing.T) {
	for range newContext(t, 2).Completions() {
		t.Fatal("an event from a Manual Context's Completions")
	}
	ctx := streamContext(t, 2)
	b := aio.NewRead(tempFile(t, []byte("abc")), make([]byte, 3), 0)
	submit(t, ctx, b)
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	n := 0
	for ev := range ctx.Completions() {
		if ev.Block != b || ev.N() != 3 {
			t.Fatalf("event %+v", ev)
		}
		n++
	}
	if n != 1 {
		t.Fatalf("%d events after Close, want the 1 left", n)
	}
}

// A Wait with no deadline reaps for itself: the stream goroutine does not
// wake for it. Goroutines that Wait at once all get their own events.
func TestWaitLeads(t *testing.T) {
	const goroutines, rounds = 16, 50
	ctx := streamContext(t, goroutines)
	f, data := directFile(t, goroutines*4096)
	before := ctx.Stats()
	b := aio.NewRead(f, aligned(4096), 0)
	b.SetWait(true)
	for range rounds {
		submit(t, ctx, b)
		//lint:ignore SA1012 Wait documents a nil ctx, and this test takes that path
		if ev, err := b.Wait(nil); err != nil || ev.N() != 4096 {
			t.Fatalf("Wait: %+v, %v", ev, err)
		}
	}
	if w := ctx.Stats().Wakeups - before.Wakeups; w != 0 {
		t.Errorf("the stream goroutine woke %d times for one goroutine's Waits", w)
	}
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := aio.NewRead(f, aligned(4096), int64(g*4096))
			b.SetWait(true)
			for range rounds {
				if _, err := ctx.Submit(b); err != nil {
					t.Error(err)
					return
				}
				//lint:ignore SA1012 Wait documents a nil ctx, and this test takes that path
				ev, err := b.Wait(nil)
				if err != nil || ev.Block != b || ev.N() != 4096 || !bytes.Equal(b.Buffer(), data[g*4096:(g+1)*4096]) {
					t.Errorf("goroutine %d: %+v, %v", g, ev, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// A Block set to wait that nobody waits for is reaped when room is needed:
// a Submit waiting for room gets it.
func TestUnwaitedBlocksFreeRoom(t *testing.T) {
	ctx := streamContext(t, 2)
	f := tempFile(t, pattern(4096, 4))
	for range 10 {
		b := aio.NewRead(f, make([]byte, 512), 0)
		b.SetWait(true)
		done := make(chan error, 1)
		go func() { _, err := ctx.Submit(b); done <- err }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Submit waits for room that completed, unwaited Blocks hold")
		}
	}
}

// A reader of Events that submits each event's Block again at once, one
// in flight: its Submit's flush often finds the stream goroutine still
// holding reapMu after it sent the event, and leaves the pump to it; every
// event must still come. (The runner's Events engine once hung here: the
// holder had decided, before the Submit claimed its Block, that nothing
// needed the eventfd.)
func TestEventsResubmitOneInFlight(t *testing.T) {
	const rounds = 3000
	ctx := streamContext(t, 1)
	f, _ := directFile(t, 1<<16)
	b := aio.NewRead(f, aligned(4096), 0)
	submit(t, ctx, b)
	for i := range rounds {
		select {
		case ev := <-ctx.Events():
			if ev.N() != 4096 {
				t.Fatalf("read %d: %d, %v", i, ev.Res, ev.Err())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event after %d of %d rounds", i, rounds)
		}
		if i < rounds-1 {
			b.SetOffset(int64(i%16) * 4096)
			submit(t, ctx, b)
		}
	}
}
