//go:build linux && cgo

package aio_test

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// A file closed after its Block was made is refused at Submit, even when
// its descriptor number has been reused by another file meanwhile.
func TestSubmitClosedFileReusedFD(t *testing.T) {
	ctx := newContext(t, 4)
	a := tempFile(t, []byte("aaaa"))
	b := aio.NewWrite(a, []byte("XX"), 0)
	fd := a.Fd()
	a.Close()
	other := tempFile(t, []byte("oooo"))
	if other.Fd() != fd {
		t.Logf("descriptor %d not reused (got %d); the check still applies", fd, other.Fd())
	}
	_, err := ctx.Submit(b)
	wantErr(t, err, os.ErrClosed, "block 0")
	if data, _ := os.ReadFile(other.Name()); string(data) != "oooo" {
		t.Fatalf("write meant for a closed file reached another: %q", data)
	}
	// Pointed at an open file, the same Block works.
	b.SetFile(other)
	if ev := do(t, ctx, b); ev.N() != 2 {
		t.Fatalf("write: %d, %v", ev.Res, ev.Err())
	}
}

// A net.Conn given to a Block stays non-blocking, as Go's netpoller needs.
func TestBlockKeepsConnNonBlocking(t *testing.T) {
	tc, _ := tcpPair(t)
	ctx := newContext(t, 4)
	b := aio.NewPoll(tc, aio.PollOut)
	if ev := do(t, ctx, b); ev.PollEvents()&aio.PollOut == 0 {
		t.Fatalf("poll for out on a fresh connection: %#x", ev.Res)
	}
	rc, _ := tc.SyscallConn()
	var flags uintptr
	rc.Control(func(fd uintptr) { flags, _, _ = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0) })
	if flags&syscall.O_NONBLOCK == 0 {
		t.Fatal("the connection was switched to blocking mode")
	}
}

// A Submit that the kernel holds (a read whose copy waits on a
// userfaultfd; see stall) stalls neither reaping, nor Cancel, nor
// InFlight; Close waits for it.
//
// A signal ends the kernel's wait with an EFAULT event for the read: such
// a run is done again.
func TestBlockingSubmitStallsNothingElse(t *testing.T) {
	for range 5 {
		if stallsNothingElse(t) {
			return
		}
	}
	t.Fatal("the blocking read was interrupted by a signal 5 times")
}

func stallsNothingElse(t *testing.T) (done bool) {
	ctx, err := aio.NewContext(8, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	st := newStall(t)
	r, _ := pipe(t)
	poll := aio.NewPoll(r, aio.PollIn)
	submit(t, ctx, poll)

	read := st.Read
	submitted := make(chan error)
	go func() {
		_, err := ctx.Submit(read)
		submitted <- err
	}()
	if !settles(func() bool { return ctx.InFlight() == 2 }) {
		t.Fatalf("InFlight %d, want 2 while a Submit waits in the kernel", ctx.InFlight())
	}
	reaped := make(chan struct{})
	interrupted := false
	go func() {
		defer close(reaped)
		if evs, err := ctx.GetEvents(0, 8, 0); len(evs) == 1 && evs[0].Block == read && errors.Is(evs[0].Err(), syscall.EFAULT) {
			interrupted = true
			return
		} else if err != nil || len(evs) != 0 {
			t.Errorf("GetEvents: %v, %v", evs, err)
		}
		if err := ctx.Cancel(poll); err != nil {
			t.Error(err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.Block != poll || !errors.Is(ev.Err(), syscall.ECANCELED) {
			t.Errorf("event %+v, want the cancelled poll", ev)
		}
	}()
	select {
	case <-reaped:
	case <-time.After(5 * time.Second):
		t.Fatal("reaping and Cancel waited for a Submit held in the kernel")
	}
	if interrupted {
		<-submitted
		ctx.Close()
		return false
	}

	closed := make(chan error)
	go func() { closed <- ctx.Close() }()
	select {
	case <-closed:
		t.Fatal("Close returned while io_submit was still running")
	case <-time.After(50 * time.Millisecond):
	}
	st.Release()
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if read.InFlight() {
		t.Fatal("after Close: the read is in flight")
	}
	// Close discards a Manual Context's unreaped events: the data tells
	// whether the read ran whole or a signal ended its copy.
	return string(read.Buffer()) == "abc"

}

// A GetEvents that only polls does not wait behind one that waits.
func TestGetEventsPollWhileAnotherWaits(t *testing.T) {
	ctx := newContext(t, 8)
	waiting := make(chan error)
	go func() {
		_, err := ctx.GetEvents(1, 1, 300*time.Millisecond)
		waiting <- err
	}()
	time.Sleep(10 * time.Millisecond)
	start := time.Now()
	if evs, err := ctx.GetEvents(0, 8, 0); err != nil || len(evs) != 0 {
		t.Fatalf("GetEvents: %v, %v", evs, err)
	}
	if _, err := ctx.GetEvents(0, 8, 20*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 250*time.Millisecond {
		t.Fatalf("polling GetEvents calls took %v behind a waiting one", d)
	}
	if err := <-waiting; err != nil {
		t.Fatal(err)
	}
}

// A Context dropped without Close is closed by the garbage collector: its
// kernel context goes away and its in-flight Blocks become idle.
func TestContextCollected(t *testing.T) {
	before := aioMappings()
	r, _ := pipe(t)
	b := aio.NewPoll(r, aio.PollIn)
	func() {
		ctx, err := aio.NewContext(4, aio.Manual())
		if err != nil {
			t.Fatal(err)
		}
		submit(t, ctx, b)
	}()
	if !settles(func() bool { runtime.GC(); return aioMappings() == before && !b.InFlight() }) {
		t.Fatalf("dropped Context: %d contexts mapped (%d before), Block in flight %v", aioMappings(), before, b.InFlight())
	}
}

// A stream-mode Context dropped without Close is closed by the garbage
// collector too, although its goroutine runs on: the pending poll is
// cancelled, its event delivered, the Events channel closed, and the
// goroutine, descriptors and kernel context go away.
func TestStreamContextCollected(t *testing.T) {
	r, _ := pipe(t)
	before, goroutines, fds := aioMappings(), runtime.NumGoroutine(), countFDs()
	b := aio.NewPoll(r, aio.PollIn)
	events := func() <-chan aio.Event {
		ctx, err := aio.NewContext(4)
		if err != nil {
			t.Fatal(err)
		}
		submit(t, ctx, b)
		return ctx.Events()
	}()
	if !settles(func() bool { runtime.GC(); return aioMappings() == before }) {
		t.Fatalf("dropped Context: %d contexts mapped (%d before)", aioMappings(), before)
	}
	ev, ok := <-events
	if !ok || ev.Block != b || !errors.Is(ev.Err(), syscall.ECANCELED) {
		t.Fatalf("event %+v (%v), want the cancelled poll", ev, ok)
	}
	if _, ok := <-events; ok {
		t.Fatal("Events not closed")
	}
	if !settles(func() bool { return runtime.NumGoroutine() <= goroutines && countFDs() <= fds }) {
		t.Fatalf("goroutines %d (%d before), descriptors %d (%d before)", runtime.NumGoroutine(), goroutines, countFDs(), fds)
	}
}

// A Context used by a running call is not collected under it: GetEvents,
// the last use of its Context, waits out its timeout while the garbage
// collector runs, instead of failing with ErrClosed.
func TestContextKeptAliveDuringCall(t *testing.T) {
	r, _ := pipe(t)
	b := aio.NewPoll(r, aio.PollIn)
	ctx, err := aio.NewContext(4, aio.Manual())
	if err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, b)
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
				runtime.GC()
				time.Sleep(time.Millisecond)
			}
		}
	}()
	_, err = ctx.GetEvents(1, 1, 300*time.Millisecond)
	close(stop)
	if err != nil {
		t.Fatalf("GetEvents: %v", err)
	}
	if !settles(func() bool { runtime.GC(); return !b.InFlight() }) {
		t.Fatal("the Context was not collected after its last use")
	}
}

// RWF flags on a command that takes none are refused, naming the Block.
func TestRWFlagsOnSync(t *testing.T) {
	ctx := newContext(t, 4)
	f := tempFile(t, []byte("data"))
	b := aio.NewRead(f, make([]byte, 4), 0)
	b.SetRWFlags(aio.RWFHiPri)
	b.SetCommand(aio.CmdFsync)
	n, err := ctx.Submit(aio.NewRead(f, make([]byte, 4), 0), b)
	if n != 0 {
		t.Fatalf("Submit %d", n)
	}
	wantErr(t, err, syscall.EINVAL, "block 1", "apply to reads and writes, not fsync")
}

// A Cancel that arrives while the poll's Submit is still in io_submit
// (held there by a blocking read earlier in the batch) is carried out once
// io_submit returns, not lost.
func TestCancelDuringSubmit(t *testing.T) {
	ctx := newContext(t, 8)
	st := newStall(t)
	r, _ := pipe(t)
	read := st.Read
	poll := aio.NewPoll(r, aio.PollIn)
	submitted := make(chan error)
	go func() {
		_, err := ctx.Submit(read, poll)
		submitted <- err
	}()
	if !settles(func() bool { return poll.InFlight() }) {
		t.Fatal("the batch was not claimed")
	}
	if err := ctx.Cancel(poll); err != nil {
		t.Fatalf("Cancel during Submit: %v", err)
	}
	st.Release()
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	evs := reap(t, ctx, 2)
	for _, ev := range evs {
		if ev.Block == poll && !errors.Is(ev.Err(), syscall.ECANCELED) {
			t.Fatalf("poll cancelled during Submit: res %d, want ECANCELED", ev.Res)
		}
	}
}
