//go:build linux && cgo

package aio_test

import (
	"errors"
	"os"
	"syscall"
	"testing"

	"github.com/linuxaio/aio"
)

// In a batch, the Blocks before a refused one stay submitted.
func TestPartialSubmit(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("0123456789"))
	r, _ := pipe(t)
	closed := int(r.Fd())
	r.Close()
	a := aio.NewRead(f, make([]byte, 2), 0)
	bad := aio.NewRead(aio.FD(closed), make([]byte, 2), 0)
	c := aio.NewRead(f, make([]byte, 2), 2)
	n, err := ctx.Submit(a, bad, c)
	if n != 1 {
		t.Fatalf("Submit returned %d, want 1", n)
	}
	var ae *aio.Error
	if !errors.As(err, &ae) || ae.Index != 1 || !errors.Is(err, syscall.EBADF) {
		t.Fatalf("error %v, want EBADF for block 1", err)
	}
	if !a.InFlight() || bad.InFlight() || c.InFlight() {
		t.Fatal("wrong Blocks in flight")
	}
	if ev := reap(t, ctx, 1)[0]; ev.Block != a || ev.N() != 2 {
		t.Fatalf("event %+v", ev)
	}
	submit(t, ctx, c)
	reap(t, ctx, 1)
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

// sliceRC is a RawConn value that cannot be compared: it holds a slice.
type sliceRC struct {
	inner syscall.RawConn
	calls []string
}

func (r sliceRC) Control(f func(uintptr)) error    { return r.inner.Control(f) }
func (r sliceRC) Read(f func(uintptr) bool) error  { return r.inner.Read(f) }
func (r sliceRC) Write(f func(uintptr) bool) error { return r.inner.Write(f) }

// loggedRC decorates a RawConn, as a user wraps one for logging or
// metrics: a struct with an interface field, which reflect reports as
// comparable whatever the field holds.
type loggedRC struct{ syscall.RawConn }

// decoratedConn hands out a loggedRC around a sliceRC.
type decoratedConn struct{ f *os.File }

func (c decoratedConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return nil, err
	}
	return loggedRC{sliceRC{rc, []string{"read"}}}, nil
}

// Blocks on files whose RawConn is a decorator of an uncomparable value go
// in together, 2 of them (compared pairwise) and 12 (hashed into a map),
// and read the right data. (Issue 11: Submit panicked comparing them, and
// left the Context wedged.)
func TestSubmitDecoratedRawConn(t *testing.T) {
	for _, n := range []int{2, 12} {
		ctx := newContext(t, 16)
		data := pattern(64, 9)
		f := tempFile(t, data)
		blocks := make([]*aio.Block, n)
		for i := range blocks {
			blocks[i] = aio.NewRead(decoratedConn{f}, make([]byte, 4), int64(4*i))
		}
		var got int
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Submit of %d Blocks on decorated RawConns panicked: %v", n, r)
				}
			}()
			got, err = ctx.Submit(blocks...)
		}()
		if got != n || err != nil {
			t.Fatalf("Submit of %d: %d, %v", n, got, err)
		}
		for _, ev := range reap(t, ctx, n) {
			off := ev.Block.Offset()
			if ev.N() != 4 || string(ev.Block.Buffer()) != string(data[off:off+4]) {
				t.Fatalf("read at %d: %d bytes %q", off, ev.N(), ev.Block.Buffer())
			}
		}
	}
}

// panickyConn's RawConn panics in Control once armed.
type panickyConn struct {
	f     *os.File
	armed *bool
}

func (c panickyConn) SyscallConn() (syscall.RawConn, error) {
	rc, err := c.f.SyscallConn()
	return panickyRC{rc, c.armed}, err
}

type panickyRC struct {
	syscall.RawConn
	armed *bool
}

func (r panickyRC) Control(f func(uintptr)) error {
	if *r.armed {
		panic("metrics backend down")
	}
	return r.RawConn.Control(f)
}

// A RawConn whose Control panics makes Submit fail with an error wrapping
// EBADF that names the panic; Submit itself does not panic, the Block is
// idle, and the Context goes on working and closes.
func TestSubmitPanickingControl(t *testing.T) {
	for _, stream := range []bool{false, true} {
		var ctx *aio.Context
		if stream {
			ctx = streamContext(t, 8)
		} else {
			ctx = newContext(t, 8)
		}
		f := tempFile(t, pattern(64, 2))
		armed := false
		b := aio.NewRead(panickyConn{f, &armed}, make([]byte, 4), 0)
		good := aio.NewRead(f, make([]byte, 4), 4)
		armed = true
		var n int
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Submit panicked: %v", r)
				}
			}()
			n, err = ctx.Submit(good, b)
		}()
		if n != 0 || !errors.Is(err, syscall.EBADF) || !errors.Is(err, err) {
			t.Fatalf("Submit with a panicking Control: %d, %v; want 0 and EBADF", n, err)
		}
		wantErr(t, err, syscall.EBADF, "metrics backend down", "block 1")
		if b.InFlight() || good.InFlight() || ctx.InFlight() != 0 {
			t.Fatalf("after the refusal: Blocks in flight %v %v, context %d", b.InFlight(), good.InFlight(), ctx.InFlight())
		}
		armed = false
		submit(t, ctx, b, good)
		if evs := await(t, ctx, 2); evs[0].N() != 4 || evs[1].N() != 4 {
			t.Fatalf("events after the refusal: %+v", evs)
		}
	}
}

// countingRC panics at its Control call number at (counting from 1).
type countingRC struct {
	syscall.RawConn
	calls *int
	at    int
}

func (r countingRC) Control(f func(uintptr)) error {
	if *r.calls++; *r.calls == r.at {
		panic("panic at call " + string(rune('0'+r.at)))
	}
	return r.RawConn.Control(f)
}

type countingConn struct{ rc countingRC }

func (c countingConn) SyscallConn() (syscall.RawConn, error) { return c.rc, nil }

// A Control that panics late, at each of the points where Submit reads the
// descriptor (the check, the claim under the Context's lock, the hold
// around io_submit under the submitter's lock), is refused with the panic
// named, leaves nothing claimed and no lock held: the same Context
// submits, reaps and closes after it.
func TestSubmitControlPanicsLate(t *testing.T) {
	for at := 2; at <= 4; at++ {
		ctx := newContext(t, 8)
		f := tempFile(t, pattern(64, 3))
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		calls := 0
		b := aio.NewRead(countingConn{countingRC{rc, &calls, at}}, make([]byte, 4), 0)
		other := aio.NewRead(f, make([]byte, 4), 8)
		var n int
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Control panicking at call %d: Submit panicked: %v", at, r)
				}
			}()
			n, err = ctx.Submit(other, b)
		}()
		if calls < at {
			t.Fatalf("Control called %d times, the test wants a panic at call %d", calls, at)
		}
		if !errors.Is(err, syscall.EBADF) || n > 1 {
			t.Fatalf("Control panicking at call %d: Submit %d, %v; want EBADF", at, n, err)
		}
		wantErr(t, err, syscall.EBADF, "panic at call")
		if b.InFlight() {
			t.Fatalf("Control panicking at call %d: the Block stays in flight", at)
		}
		if n == 1 {
			reap(t, ctx, 1)
		}
		submit(t, ctx, b, other)
		reap(t, ctx, 2)
		if ctx.InFlight() != 0 {
			t.Fatalf("InFlight %d", ctx.InFlight())
		}
	}
}
