//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

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
