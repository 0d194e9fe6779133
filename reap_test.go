//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// A GetEvents waiting for more events than will come returns soon after
// Close, with the events it had collected and no error: it neither spins
// nor keeps them. With nothing collected it returns ErrClosed. (Issue 11:
// it used to call reap again at once, for ever with a timeout of -1.)
func TestGetEventsReturnsAfterClose(t *testing.T) {
	for _, timeout := range []time.Duration{-1, 2 * time.Second} {
		for _, collected := range []int{0, 1} {
			ctx, err := aio.NewContext(4, aio.Manual())
			if err != nil {
				t.Fatal(err)
			}
			f := tempFile(t, pattern(100, 1))
			if collected > 0 {
				// Buffered: complete inside io_submit, ready to reap.
				submit(t, ctx, aio.NewRead(f, make([]byte, 10), 0))
			}
			type result struct {
				evs []aio.Event
				err error
				at  time.Time
			}
			got := make(chan result, 1)
			go func() {
				evs, err := ctx.GetEvents(2, 2, timeout)
				got <- result{evs, err, time.Now()}
			}()
			time.Sleep(100 * time.Millisecond) // GetEvents waits in the kernel
			closed := time.Now()
			if err := ctx.Close(); err != nil {
				t.Fatal(err)
			}
			var r result
			select {
			case r = <-got:
			case <-time.After(5 * time.Second):
				t.Fatalf("timeout %v, %d collected: GetEvents still running 5 s after Close", timeout, collected)
			}
			if late := r.at.Sub(closed); late > time.Second {
				t.Errorf("timeout %v: GetEvents returned %v after Close; its doc says within 50 ms", timeout, late)
			}
			switch {
			case collected > 0 && (r.err != nil || len(r.evs) != 1 || r.evs[0].N() != 10):
				t.Errorf("timeout %v: GetEvents after Close: %v, %v; want the one event it collected and no error", timeout, r.evs, r.err)
			case collected == 0 && (!errors.Is(r.err, aio.ErrClosed) || len(r.evs) != 0):
				t.Errorf("timeout %v: GetEvents with nothing collected after Close: %v, %v; want ErrClosed", timeout, r.evs, r.err)
			}
		}
	}
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

// GetEventsInto fills the caller's slice: at least minNr and at most
// len(events) events, each Block's once, and the rest of the slice
// untouched; it refuses what GetEvents refuses, and ends on Close alike.
func TestGetEventsInto(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	var blocks []*aio.Block
	for i := range 5 {
		blocks = append(blocks, aio.NewWrite(f, []byte("abcd"), int64(4*i)))
	}
	submit(t, ctx, blocks...)
	events := make([]aio.Event, 3, 8) // the capacity past len is not to be used
	sentinel := aio.Event{Res: -12345}
	spare := events[:cap(events)]
	for i := range spare {
		spare[i] = sentinel
	}
	seen := map[*aio.Block]bool{}
	for got := 0; got < 5; {
		n, err := ctx.GetEventsInto(events, 1, time.Second)
		if err != nil || n < 1 || n > 3 {
			t.Fatalf("GetEventsInto: %d, %v", n, err)
		}
		for _, ev := range events[:n] {
			if ev.Err() != nil || ev.N() != 4 || seen[ev.Block] {
				t.Fatalf("bad event %+v", ev)
			}
			seen[ev.Block] = true
		}
		for _, ev := range spare[3:] {
			if ev != sentinel {
				t.Fatalf("GetEventsInto wrote past len(events): %+v", ev)
			}
		}
		got += n
	}
	if ctx.InFlight() != 0 {
		t.Fatalf("InFlight %d after every event", ctx.InFlight())
	}
	// Nothing in flight: a zero timeout returns at once with none.
	if n, err := ctx.GetEventsInto(events, 0, 0); n != 0 || err != nil {
		t.Fatalf("GetEventsInto with nothing in flight: %d, %v", n, err)
	}
	// minNr past len(events), or negative, is refused.
	for _, minNr := range []int{4, -1} {
		n, err := ctx.GetEventsInto(events, minNr, 0)
		wantErr(t, err, syscall.EINVAL, "aio: GetEventsInto:")
		if n != 0 {
			t.Fatalf("GetEventsInto(min %d): %d events", minNr, n)
		}
	}
	// A stream-mode Context has no GetEventsInto.
	_, err := streamContext(t, 2).GetEventsInto(events, 1, 0)
	wantErr(t, err, aio.ErrWrongMode, "aio: GetEventsInto:")
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	n, err := ctx.GetEventsInto(events, 1, -1)
	wantErr(t, err, aio.ErrClosed, "aio: GetEventsInto:")
	if n != 0 {
		t.Fatalf("GetEventsInto after Close: %d events", n)
	}
}
