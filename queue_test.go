//go:build linux && cgo

package aio_test

import (
	"context"
	"errors"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

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
