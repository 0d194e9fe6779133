//go:build linux && cgo

package aio

import (
	"errors"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
)

// A file closed after Submit has claimed its Blocks, and before the flush's
// io_submit, is refused there: Submit of reads on B, A and B again, with A
// closed at that moment, submits the first, refuses the second with
// os.ErrClosed naming index 1, and does not submit the third, the rest of
// its round. The Blocks not submitted are idle, and the third goes in on
// its own after.
func TestSubmitFileClosedBeforeIOSubmit(t *testing.T) {
	a, b := testFile(t, []byte("aaaa")), testFile(t, []byte("bbbb"))
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

// valueRC is a RawConn of a type that cannot be compared (a struct with a
// slice), as a user's syscall.Conn may return.
type valueRC struct {
	rc   syscall.RawConn
	tags []string
}

func (v valueRC) Control(f func(uintptr)) error    { return v.rc.Control(f) }
func (v valueRC) Read(f func(uintptr) bool) error  { return v.rc.Read(f) }
func (v valueRC) Write(f func(uintptr) bool) error { return v.rc.Write(f) }

type valueConn struct{ f *os.File }

func (c valueConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.f.SyscallConn()
	return valueRC{rc, nil}, err
}

// lateRC is a RawConn whose Control runs f and then fails, once late is
// set, as a wrapper checking something after the fact might.
type lateRC struct {
	rc   syscall.RawConn
	late *atomic.Bool
}

func (c lateRC) Control(f func(uintptr)) error {
	if err := c.rc.Control(f); err != nil || !c.late.Load() {
		return err
	}
	return errors.New("late error")
}
func (c lateRC) Read(f func(uintptr) bool) error  { return c.rc.Read(f) }
func (c lateRC) Write(f func(uintptr) bool) error { return c.rc.Write(f) }

type lateConn struct {
	f    *os.File
	late *atomic.Bool
}

func (c lateConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.f.SyscallConn()
	return lateRC{rc, c.late}, err
}

// testFile returns a file holding data (4096 zeros if nil), open for
// reading and closed at the end of the test.
func testFile(t *testing.T, data []byte) *os.File {
	if data == nil {
		data = make([]byte, 4096)
	}
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// A flush holds each file once: Blocks on one *os.File share a key (its
// SyscallConn is new at each call), a file whose RawConn is a pointer goes
// by it, and any other goes Block by Block, so that Submit never compares
// what could panic when compared. Blocks of each kind go in together.
func TestHoldKeys(t *testing.T) {
	f := testFile(t, nil)
	a, b := NewRead(f, make([]byte, 4), 0), NewRead(f, make([]byte, 4), 0)
	if a.holdKey != b.holdKey || a.holdKey != any(f) {
		t.Fatalf("Blocks on one *os.File: keys %v and %v, want the file", a.holdKey, b.holdKey)
	}
	v1, v2 := NewRead(valueConn{f}, make([]byte, 4), 0), NewRead(valueConn{f}, make([]byte, 4), 0)
	if v1.holdKey != any(v1) || v2.holdKey != any(v2) {
		t.Fatalf("Blocks on a file with an uncomparable RawConn: keys %v, %v, want each Block", v1.holdKey, v2.holdKey)
	}
	var late atomic.Bool
	l := NewRead(lateConn{f, &late}, make([]byte, 4), 0)
	if l.holdKey != any(l) {
		t.Fatalf("a Block on a file whose RawConn is a struct: key %T, want the Block", l.holdKey)
	}
	pc := &ptrConn{f: f}
	p1, p2 := NewRead(pc, make([]byte, 4), 0), NewRead(pc, make([]byte, 4), 0)
	if p1.holdKey != p2.holdKey || p1.holdKey != any(pc.rc) {
		t.Fatalf("Blocks on a file with a pointer RawConn: keys %v, %v, want the RawConn", p1.holdKey, p2.holdKey)
	}
	ctx, err := NewContext(8, Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	if n, err := ctx.Submit(v1, v2, a, b, l, p1, p2); n != 7 || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	if evs, err := ctx.GetEvents(7, 7, -1); len(evs) != 7 || err != nil {
		t.Fatalf("GetEvents: %d, %v", len(evs), err)
	}
}

// ptrConn returns the same pointer RawConn at every call.
type ptrConn struct {
	f  *os.File
	rc *valueRC
}

func (c *ptrConn) SyscallConn() (syscall.RawConn, error) {
	if c.rc == nil {
		rc, err := c.f.SyscallConn()
		if err != nil {
			return nil, err
		}
		c.rc = &valueRC{rc, []string{"ptr"}}
	}
	return c.rc, nil
}

// A Control that runs its function and then fails has held the file all
// the same: the flush does not take the error for a closed file and call
// io_submit again for the same requests.
func TestSubmitControlFailsAfterRunning(t *testing.T) {
	f := testFile(t, nil)
	var late atomic.Bool
	ctx, err := NewContext(8, Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	a, b := NewRead(f, make([]byte, 4), 0), NewRead(lateConn{f, &late}, make([]byte, 4), 0)
	ctx.s.testBeforeSubmit = func() { late.Store(true) }
	if n, err := ctx.Submit(a, b); n != 2 || err != nil {
		t.Fatalf("Submit: %d, %v", n, err)
	}
	if st := ctx.Stats(); st.Submitted != 2 {
		t.Fatalf("2 Blocks, %d requests taken by io_submit: %+v", st.Submitted, st)
	}
	if evs, err := ctx.GetEvents(2, 2, -1); len(evs) != 2 || err != nil {
		t.Fatalf("GetEvents: %d, %v", len(evs), err)
	}
}

// A batch of 1000 distinct files, the 990th closed before io_submit: the
// files are held 1000 deep, and the 989 Blocks before its Block go in.
func TestSubmitManyFilesOneClosed(t *testing.T) {
	const n, closed = 1000, 989
	path := testFile(t, nil).Name()
	ctx, err := NewContext(n, Manual())
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	blocks, files := make([]*Block, n), make([]*os.File, n)
	for i := range blocks {
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		files[i], blocks[i] = f, NewRead(f, make([]byte, 1), 0)
	}
	ctx.s.testBeforeSubmit = func() { files[closed].Close() }
	k, err := ctx.Submit(blocks...)
	var e *Error
	if k != closed || !errors.Is(err, os.ErrClosed) || !errors.As(err, &e) || e.Index != closed {
		t.Fatalf("Submit: %d, %v; want %d and os.ErrClosed at block %d", k, err, closed, closed)
	}
	if evs, err := ctx.GetEvents(k, k, -1); len(evs) != k || err != nil {
		t.Fatalf("GetEvents: %d, %v", len(evs), err)
	}
}
