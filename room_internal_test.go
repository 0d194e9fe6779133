//go:build linux && cgo

package aio

import (
	"context"
	"os"
	"testing"
	"time"
)

// A Submit that finds the room held by unread events, which the reader
// takes just after (here, while claim looks), goes on once it looks
// again, rather than waiting for a signal of freed slots that never comes:
// nothing is in flight to free them. Before the fix, Submit judged what held
// the room by reading the channel a second time, found it empty, and waited
// for ever.
func TestSubmitRoomFreedByReaderMeanwhile(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "aio")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(make([]byte, 8192)); err != nil {
		t.Fatal(err)
	}
	ctx, err := NewContext(2)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	s := ctx.s
	reads := func() []*Block {
		return []*Block{NewRead(f, make([]byte, 512), 0), NewRead(f, make([]byte, 512), 4096)}
	}
	// Buffered reads complete inside io_submit: their two events wait
	// unread in Events, and hold both slots' room.
	if n, err := ctx.Submit(reads()...); n != 2 || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	select {
	case <-s.avail: // a token left by that Submit would hide the bug
	default:
	}
	// The reader takes both events once claim has found no room.
	taken := 0
	s.testNoRoom = func() {
		for taken < 2 {
			<-ctx.Events()
			taken++
		}
	}
	wait, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n, err := ctx.SubmitContext(wait, reads()...); n != 2 || err != nil {
		t.Fatalf("SubmitContext after the reader took the events: %d, %v", n, err)
	}
	if taken != 2 {
		t.Fatalf("the reader took %d events, want 2", taken)
	}
	for range 2 {
		if ev := <-ctx.Events(); ev.N() != 512 {
			t.Fatalf("read: %d, %v", ev.Res, ev.Err())
		}
	}
}
