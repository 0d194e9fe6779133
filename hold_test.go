//go:build linux && cgo

package aio

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// A file closed after Submit has claimed its Blocks, and before the flush's
// io_submit, is refused there: Submit of reads on B, A and B again, with A
// closed at that moment, submits the first, refuses the second with
// os.ErrClosed naming index 1, and does not submit the third, the rest of
// its round. The Blocks not submitted are idle, and the third goes in on
// its own after.
func TestSubmitFileClosedBeforeIOSubmit(t *testing.T) {
	dir := t.TempDir()
	open := func(name string) *os.File {
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, []byte(name+name+name+name), 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open("a"), open("b")
	ctx, err := NewContext(8, Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	blocks := []*Block{NewRead(b, make([]byte, 4), 0), NewRead(a, make([]byte, 4), 0), NewRead(b, make([]byte, 4), 0)}
	ctx.s.testBeforeSubmit = func() { a.Close() }
	n, err := ctx.Submit(blocks...)
	ctx.s.testBeforeSubmit = nil
	var e *Error
	if n != 1 || !errors.Is(err, os.ErrClosed) || !errors.As(err, &e) || e.Index != 1 {
		t.Fatalf("Submit with A closed before io_submit: %d, %v; want 1 and os.ErrClosed at block 1", n, err)
	}
	if st := ctx.Stats(); st.Submitted != 1 || ctx.InFlight() != 1 || blocks[1].InFlight() || blocks[2].InFlight() {
		t.Fatalf("%+v, %d in flight, blocks 1 and 2 in flight %v %v", st, ctx.InFlight(), blocks[1].InFlight(), blocks[2].InFlight())
	}
	if n, err := ctx.Submit(blocks[2]); n != 1 || err != nil {
		t.Fatalf("Submit of block 2 alone: %d, %v", n, err)
	}
	evs, err := ctx.GetEvents(2, 2, -1)
	if err != nil || len(evs) != 2 {
		t.Fatalf("GetEvents: %v, %v", evs, err)
	}
	for _, ev := range evs {
		if ev.Res != 4 || string(ev.Block.Buffer()) != "bbbb" {
			t.Fatalf("read of B: %d, %q", ev.Res, ev.Block.Buffer())
		}
	}
}
