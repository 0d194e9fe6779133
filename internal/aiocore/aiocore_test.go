//go:build linux && cgo

package aiocore

import (
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio/internal/testlock"
)

// TestMain holds testlock shared, so that package aio's test of
// fs.aio-max-nr does not run beside these tests.
func TestMain(m *testing.M) { os.Exit(testlock.Run(m)) }

func TestCreateBadSize(t *testing.T) {
	for _, n := range []int{0, -1, MaxSlots + 1} {
		if x, e := Create(n); x != nil || e != syscall.EINVAL {
			t.Fatalf("Create(%d) = %v, %v; want EINVAL", n, x, e)
		}
	}
}

// pipeCtx returns a 4-slot Ctx and a pipe, all closed at the end of the
// test, the Ctx checked to destroy cleanly.
func pipeCtx(t *testing.T) (x *Ctx, r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	x, e := Create(4)
	if e != 0 {
		t.Fatal(e)
	}
	t.Cleanup(func() {
		if e := x.Destroy(); e != 0 {
			t.Error(e)
		}
	})
	return x, r, w
}

// A poll request goes through the descriptor array, io_submit, io_cancel
// and io_getevents, and comes back with its slot in Data.
func TestRoundTrip(t *testing.T) {
	x, r, _ := pipeCtx(t)
	if x.Slots() != 4 || len(x.Reqs()) != 4 || len(x.Events()) != 4 {
		t.Fatalf("Slots %d, %d reqs, %d events; want 4", x.Slots(), len(x.Reqs()), len(x.Events()))
	}
	if n, e := x.Submit(5); n != 0 || e != syscall.EINVAL {
		t.Fatalf("Submit(5) on 4 slots = %d, %v; want EINVAL", n, e)
	}
	x.Reqs()[0] = Req{Slot: 3, Opcode: CmdPoll, Fd: int32(r.Fd()), Resfd: -1, Buf: 1 /* POLLIN */}
	if n, e := x.Submit(1); n != 1 || e != 0 {
		t.Fatalf("Submit(1) = %d, %v", n, e)
	}
	if n, e := x.GetEvents(0, 4, 0); n != 0 || e != 0 {
		t.Fatalf("GetEvents on a pending poll = %d, %v", n, e)
	}
	if e := x.Cancel(9); e != syscall.EINVAL {
		t.Fatalf("Cancel(9) = %v, want EINVAL", e)
	}
	if e := x.Cancel(3); e != 0 {
		t.Fatalf("Cancel(3) = %v", e)
	}
	n, e := x.GetEvents(1, 4, time.Second)
	if n != 1 || e != 0 {
		t.Fatalf("GetEvents = %d, %v", n, e)
	}
	if ev := x.Events()[0]; ev.Data != 3 || ev.Res != 0 {
		t.Fatalf("event %+v, want slot 3 with an empty mask", ev)
	}
	if n, e := x.GetEvents(2, 1, 0); n != 0 || e != syscall.EINVAL {
		t.Fatalf("GetEvents(2, 1) = %d, %v; want EINVAL", n, e)
	}
	// The slot's iocb still holds the poll: Resubmit sends it again,
	// refusing a slot out of range and a skip on anything but a read.
	if e := x.Resubmit(9, 0, 0); e != syscall.EINVAL {
		t.Fatalf("Resubmit(9) = %v, want EINVAL", e)
	}
	if e := x.Resubmit(3, 0, 1); e != syscall.EINVAL {
		t.Fatalf("Resubmit of a poll with a skip = %v, want EINVAL", e)
	}
	if e := x.Resubmit(3, 0, 0); e != 0 {
		t.Fatalf("Resubmit(3) = %v", e)
	}
	if e := x.Cancel(3); e != 0 {
		t.Fatalf("Cancel of the poll sent again = %v", e)
	}
	if n, e := x.GetEvents(1, 4, time.Second); n != 1 || e != 0 || x.Events()[0].Data != 3 {
		t.Fatalf("GetEvents after Resubmit = %d, %v, %+v", n, e, x.Events()[0])
	}
}

func TestDioAlign(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "align")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	a, e := GetDioAlign(int(f.Fd()))
	if e == syscall.EOPNOTSUPP {
		t.Skip("statx reports no DIOALIGN here (Linux 6.1+ on a file system that fills it)")
	}
	if e != 0 || a.Mem == 0 || a.Offset < 512 || a.Mem&(a.Mem-1) != 0 || a.Offset&(a.Offset-1) != 0 ||
		a.ReadOffset == 0 || a.ReadOffset > a.Offset {
		t.Fatalf("GetDioAlign = %+v, %v", a, e)
	}
	if a, e := GetDioAlign(-1); e != syscall.EBADF || a != (DioAlign{}) {
		t.Fatalf("GetDioAlign(-1) = %+v, %v; want EBADF", a, e)
	}
}

// One reaper at a time: while io_getevents waits on the context, reading
// its ring from user space (Reap), another io_getevents, or turning the
// ring off is refused with EBUSY, and the ring is left alone.
func TestSecondReaperRefused(t *testing.T) {
	x, r, w := pipeCtx(t)
	if x.RingNr() <= 4 {
		t.Fatalf("RingNr %d, want more than the 4 slots", x.RingNr())
	}
	x.Reqs()[0] = Req{Slot: 0, Opcode: CmdPoll, Fd: int32(r.Fd()), Resfd: -1, Buf: 1 /* POLLIN */}
	if n, e := x.Submit(1); n != 1 || e != 0 {
		t.Fatalf("Submit = %d, %v", n, e)
	}
	type result struct {
		n int
		e syscall.Errno
	}
	waiter := make(chan result, 1)
	go func() {
		n, e := x.GetEvents(1, 1, 10*time.Second)
		waiter <- result{n, e}
	}()
	time.Sleep(100 * time.Millisecond) // the waiter is in io_getevents
	before := x.Stats()
	if n, e := x.Reap(0, 4, 0); e != syscall.EBUSY {
		t.Fatalf("Reap during io_getevents = %d, %v; want EBUSY", n, e)
	}
	if n, e := x.GetEvents(0, 4, 0); e != syscall.EBUSY {
		t.Fatalf("GetEvents during io_getevents = %d, %v; want EBUSY", n, e)
	}
	if e := x.UseRing(false); e != syscall.EBUSY {
		t.Fatalf("UseRing during io_getevents = %v; want EBUSY", e)
	}
	if after := x.Stats(); after != before {
		t.Fatalf("refused calls touched the context: %+v -> %+v", before, after)
	}
	w.Write([]byte{1})
	if res := <-waiter; res.n != 1 || res.e != 0 || x.Events()[0].Data != 0 {
		t.Fatalf("waiter: %+v", res)
	}
	if n, e := x.Reap(0, 4, 0); n != 0 || e != 0 {
		t.Fatalf("Reap after the waiter = %d, %v", n, e)
	}
	if st := x.Stats(); st.RingEvents != 0 || st.GetEventsEvents != 1 || st.SubmitCalls != 1 || st.Submitted != 1 {
		t.Fatalf("Stats %+v", st)
	}
}
