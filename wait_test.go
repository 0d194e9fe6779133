//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

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
