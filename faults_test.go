//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
	"github.com/linuxaio/aio/internal/testlock"
)

// The faults: each test puts the package through one fault on the real
// kernel and checks that it keeps working, loses nothing, corrupts nothing
// and leaks nothing (TestMain checks the leaks). RELIABILITY.md lists them.

// readOffset is the offset of the i-th 4 KiB read of a file of size bytes:
// a walk over the file's blocks in a scattered order.
func readOffset(i, size int) int64 { return int64(i*7919%(size/4096)) * 4096 }

// wantRead fails unless ev is a read of its whole buffer that holds data
// from the Block's offset.
func wantRead(t testing.TB, ev aio.Event, data []byte) {
	t.Helper()
	b := ev.Block
	off, buf := b.Offset(), b.Buffer()
	if ev.Err() != nil || ev.N() != len(buf) || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
		t.Fatalf("read of %d bytes at %d: res %d (%v), data right %v",
			len(buf), off, ev.Res, ev.Err(), bytes.Equal(buf, data[off:off+int64(len(buf))]))
	}
}

// mismatch returns the index of the first byte where a and b differ, or -1.
func mismatch(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// ledger counts the Blocks in flight, to check that each submission has one
// event and no more. Safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	pending map[*aio.Block]bool
	events  int
}

// submitted records that b went in.
func (o *ledger) submitted(b *aio.Block) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending = map[*aio.Block]bool{}
	}
	o.pending[b] = true
}

// event records b's event, failing on one that no submission is owed.
func (o *ledger) event(t testing.TB, b *aio.Block) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.pending[b] {
		t.Errorf("event for a Block not in flight: %p (a second event, or an unknown Block)", b)
	}
	delete(o.pending, b)
	o.events++
}

// left returns how many submissions still await their event.
func (o *ledger) left() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// How long the signal tests run: at least minReads reads, and on until the
// process has caught minSignals signals, failing if that takes over a
// minute.
const (
	minReads   = 4000
	minSignals = 500
	stormLimit = time.Minute
)

// GetEvents waiting with timeouts, with signals storming every thread:
// io_getevents returns EINTR again and again, the C core waits again for
// the time left, and every O_DIRECT read completes once with its data. An
// idle GetEvents interrupted many times still waits its whole timeout and
// returns no error.
func TestFaultSignalsGetEvents(t *testing.T) {
	const size, depth = 4 << 20, 64
	f, data := directFile(t, size)
	ctx := newContext(t, depth)
	idle := make([]*aio.Block, depth)
	for i := range idle {
		idle[i] = aio.NewRead(f, aligned(4096), 0)
	}
	storm := signalStorm(t)
	deadline := time.Now().Add(stormLimit)
	more := func(reads int) bool { return reads < minReads || storm.Caught() < minSignals }
	var o ledger
	for sent, stalls := 0, 0; ; {
		if more(sent) {
			for _, b := range idle {
				clear(b.Buffer())
				b.SetOffset(readOffset(sent, size))
				o.submitted(b)
				sent++
			}
			submit(t, ctx, idle...)
			idle = idle[:0]
		}
		if o.left() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d reads and %d signals caught in %v: the storm is too weak", o.events, storm.Caught(), stormLimit)
		}
		evs, err := ctx.GetEvents(o.left()/2+1, depth, time.Second)
		if err != nil {
			t.Fatalf("GetEvents under signals: %v", err)
		}
		if len(evs) == 0 {
			if stalls++; stalls == 10 {
				t.Fatalf("no event in 10 s with %d reads in flight", o.left())
			}
		}
		for _, ev := range evs {
			o.event(t, ev.Block)
			wantRead(t, ev, data)
			idle = append(idle, ev.Block)
		}
	}
	start := time.Now()
	evs, err := ctx.GetEvents(1, 1, 200*time.Millisecond)
	waited := time.Since(start)
	caught := storm.Stop()
	if err != nil || len(evs) != 0 || waited < 200*time.Millisecond {
		t.Fatalf("idle GetEvents(1, 1, 200ms) under signals: %d events, %v, after %v", len(evs), err, waited)
	}
	t.Logf("%d reads, %d signals caught, %+v", o.events, caught, ctx.Stats())
}

// The stream and Block.Wait with signals storming every thread: every
// O_DIRECT read, from a submitting goroutine and from a waiting one,
// completes once with its data, and nothing more arrives.
func TestFaultSignalsStream(t *testing.T) {
	const size, waited = 4 << 20, 1024
	f, data := directFile(t, size)
	ctx, err := aio.NewContext(64)
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	storm := signalStorm(t)
	deadline := time.Now().Add(stormLimit)
	var o ledger
	free := make(chan *aio.Block, 48)
	for range cap(free) {
		free <- aio.NewRead(f, aligned(4096), 0)
	}
	submitted := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { // submits what the reader below frees
		defer wg.Done()
		defer close(submitted)
		for i := 0; i < minReads || storm.Caught() < minSignals; i++ {
			if time.Now().After(deadline) {
				t.Errorf("%d reads and %d signals caught in %v: the storm is too weak", i, storm.Caught(), stormLimit)
				return
			}
			b := <-free
			clear(b.Buffer())
			b.SetOffset(readOffset(i, size))
			o.submitted(b)
			if n, err := ctx.Submit(b); n != 1 {
				t.Errorf("Submit under signals: %d, %v", n, err)
				return
			}
		}
	}()
	go func() { // submits batches of Blocks set to wait, and waits for each
		defer wg.Done()
		blocks := make([]*aio.Block, 16)
		for i := range blocks {
			blocks[i] = aio.NewRead(f, aligned(4096), 0)
			blocks[i].SetWait(true)
		}
		for i := 0; i < waited; i += len(blocks) {
			for k, b := range blocks {
				clear(b.Buffer())
				b.SetOffset(readOffset(size/4096-1-i-k, size))
			}
			if n, err := ctx.Submit(blocks...); n != len(blocks) {
				t.Errorf("Submit under signals: %d, %v", n, err)
				return
			}
			for _, b := range blocks {
				dl, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				ev, err := b.Wait(dl)
				cancel()
				if err != nil || ev.Block != b || ev.N() != 4096 ||
					!bytes.Equal(b.Buffer(), data[b.Offset():b.Offset()+4096]) {
					t.Errorf("Wait under signals: res %d, %v", ev.Res, err)
					return
				}
			}
		}
	}()
	deliver := func(ev aio.Event) {
		o.event(t, ev.Block)
		wantRead(t, ev, data)
		free <- ev.Block
	}
	for running := true; running; {
		select {
		case ev := <-ctx.Events():
			deliver(ev)
		case <-submitted:
			running = false
		}
	}
	for o.left() > 0 {
		deliver(recv(t, ctx))
	}
	wg.Wait()
	caught := storm.Stop()
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	for ev := range ctx.Events() {
		t.Fatalf("event after every read was delivered: %+v", ev)
	}
	t.Logf("%d streamed and %d waited reads, %d signals caught, %+v", o.events, waited, caught, ctx.Stats())
}

// ReadAt and WriteAt through a File from 32 goroutines, with signals
// storming every thread: every O_DIRECT read returns its whole 4 KiB with
// the file's data, and every write is whole. The writes put back the bytes
// the file holds, so that a read racing one still has one right answer;
// the whole file is checked at the end.
func TestFaultSignalsFile(t *testing.T) {
	const size, goroutines = 4 << 20, 32
	df, data := directFile(t, size)
	file, ctx := fileOf(t, df, 64)
	storm := signalStorm(t)
	deadline := time.Now().Add(stormLimit)
	var reads, writes, next atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := 0; reads.Load() < minReads || storm.Caught() < minSignals; i++ {
				if time.Now().After(deadline) {
					t.Errorf("%d reads and %d signals caught in %v: the storm is too weak", reads.Load(), storm.Caught(), stormLimit)
					return
				}
				off := readOffset(int(next.Add(1)), size)
				want := data[off : off+4096]
				if i%4 == 3 {
					copy(buf, want)
					if n, err := file.WriteAt(buf, off); n != len(buf) || err != nil {
						t.Errorf("WriteAt(%d) under signals: %d, %v", off, n, err)
						return
					}
					writes.Add(1)
					continue
				}
				clear(buf)
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, want) {
					t.Errorf("ReadAt(%d) under signals: %d, %v, data right %v", off, n, err, bytes.Equal(buf, want))
					return
				}
				reads.Add(1)
			}
		}()
	}
	wg.Wait()
	caught := storm.Stop()
	if got, err := os.ReadFile(df.Name()); err != nil || mismatch(got, data) >= 0 {
		t.Fatalf("file after the writes: %d bytes, %v, first wrong byte at %d", len(got), err, mismatch(got, data))
	}
	t.Logf("%d reads and %d writes through a File, %d signals caught, %+v", reads.Load(), writes.Load(), caught, ctx.Stats())
}

// A buffered read whose copy to the buffer waits (on a userfaultfd; see
// stall) holds its Submit inside io_submit. Signals reaching every thread
// meanwhile, the waiting one included, neither end that Submit early with
// an error nor make it submit twice: once the wait ends, Submit returns 1
// and the read's one event carries the whole data. (Where the kernel does
// end such a wait, it completes the read with EINTR or EFAULT, and the
// package delivers that event as it is, once: Submit's doc says so.)
func TestFaultSignalsDuringStalledRead(t *testing.T) {
	ctx := newContext(t, 4)
	st := newStall(t)
	storm := signalStorm(t)
	submitted := make(chan error, 1)
	go func() {
		n, err := ctx.Submit(st.Read)
		if err == nil && n != 1 {
			err = fmt.Errorf("Submit returned %d", n)
		}
		submitted <- err
	}()
	deadline := time.Now().Add(10 * time.Second)
	for storm.Caught() < 500 && time.Now().Before(deadline) {
		select {
		case err := <-submitted:
			t.Fatalf("Submit of a stalled read returned under signals before the stall ended: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	caught := storm.Caught()
	st.Release()
	if err := <-submitted; err != nil {
		t.Fatal(err)
	}
	storm.Stop()
	ev := reap(t, ctx, 1)[0]
	switch {
	case ev.Block != st.Read:
		t.Fatalf("event for %p, want the read", ev.Block)
	case errors.Is(ev.Err(), syscall.EINTR) || errors.Is(ev.Err(), syscall.EFAULT):
		t.Logf("the kernel ended the wait: %v, delivered once", ev.Err())
	case ev.N() != 3 || string(st.Read.Buffer()) != "abc":
		t.Fatalf("read after %d signals: %d, %v, %q", caught, ev.Res, ev.Err(), st.Read.Buffer())
	}
	if caught < 500 {
		t.Fatalf("only %d signals caught in 10 s", caught)
	}
}

// A Context of 4 slots flooded by 16 goroutines, each with an O_DIRECT
// and a buffered read, in both modes and under both FullPolicies: FullWait
// makes every Submit wait until it gets in; FullError refuses with ErrFull,
// naming the Block and submitting nothing, until a retry gets in. Every
// submission has one event with its data. ReadAt callers on a File wait
// for room under either policy: every call returns its data, none ErrFull.
func TestFaultFullRing(t *testing.T) {
	const size = 1 << 20
	direct, data := directFile(t, size)
	buffered := tempFile(t, data)
	for _, c := range []struct {
		name string
		opts []aio.Option
	}{
		{"stream_FullWait", nil},
		{"stream_FullError", []aio.Option{aio.WhenFull(aio.FullError)}},
		{"manual_FullWait", []aio.Option{aio.Manual(), aio.WhenFull(aio.FullWait)}},
		{"manual_FullError", []aio.Option{aio.Manual()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			policy := aio.FullWait
			if strings.HasSuffix(c.name, "FullError") {
				policy = aio.FullError
			}
			flood(t, streamContext(t, 4, c.opts...), policy, data, direct, buffered)
		})
	}
	for _, policy := range []aio.FullPolicy{aio.FullWait, aio.FullError} {
		t.Run("file_"+policy.String(), func(t *testing.T) {
			ctx := streamContext(t, 4, aio.WhenFull(policy))
			floodFiles(t, ctx, data, fileOn(t, ctx, direct), fileOn(t, ctx, buffered))
		})
	}
}

// floodFiles has 16 goroutines each make 100 ReadAt calls of 4 KiB on
// files, all on ctx, and checks that every call returns its data, and that
// the flood filled ctx.
func floodFiles(t *testing.T, ctx *aio.Context, data []byte, files ...*aio.File) {
	const goroutines, each = 16, 100
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := range each {
				off := readOffset(g*each+i, len(data))
				clear(buf)
				file := files[i%len(files)]
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("%s: ReadAt(%d) on a full Context: %d, %v", file.Name(), off, n, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	// Look at how many slots are taken, every 100 µs, until the flood ends.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	most := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			most = max(most, ctx.InFlight())
			time.Sleep(100 * time.Microsecond)
		}
	}
	if reads.Load() != goroutines*each {
		t.Fatalf("%d of %d reads done", reads.Load(), goroutines*each)
	}
	if most != ctx.Cap() {
		t.Fatalf("at most %d of %d slots taken: the flood did not fill the Context", most, ctx.Cap())
	}
	t.Logf("%d reads through %d slots, %+v", reads.Load(), ctx.Cap(), ctx.Stats())
}

func flood(t *testing.T, ctx *aio.Context, policy aio.FullPolicy, data []byte, files ...*os.File) {
	const goroutines, each = 16, 100
	var o ledger
	var refused atomic.Int64
	owner := map[*aio.Block]chan *aio.Block{} // where a Block goes back after its event
	mine := make([]chan *aio.Block, goroutines)
	for g := range mine {
		mine[g] = make(chan *aio.Block, len(files))
		for _, f := range files {
			b := aio.NewRead(f, aligned(4096), 0)
			owner[b] = mine[g]
			mine[g] <- b
		}
	}
	stopReader := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		// Under FullError, read nothing until a Submit has found the
		// Context full: 32 Blocks for 4 slots make sure one does, where a
		// prompt reader on a loaded machine might let every Submit in.
		for policy == aio.FullError && refused.Load() == 0 {
			select {
			case <-stopReader:
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
		deliver := func(ev aio.Event) {
			o.event(t, ev.Block)
			off := ev.Block.Offset()
			if ev.N() != 4096 || !bytes.Equal(ev.Block.Buffer(), data[off:off+4096]) {
				t.Errorf("read at %d: %d, %v", off, ev.Res, ev.Err())
			}
			owner[ev.Block] <- ev.Block
		}
		for {
			if ctx.Events() != nil {
				select {
				case ev := <-ctx.Events():
					deliver(ev)
				case <-stopReader:
					return
				}
				continue
			}
			evs, err := ctx.GetEvents(1, 4, 10*time.Millisecond)
			if err != nil {
				t.Errorf("GetEvents: %v", err)
				return
			}
			for _, ev := range evs {
				deliver(ev)
			}
			select {
			case <-stopReader:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				b := <-mine[g]
				clear(b.Buffer())
				b.SetOffset(readOffset(g*each+i, len(data)))
				o.submitted(b)
				for {
					n, err := ctx.Submit(b)
					if n == 1 {
						break
					}
					var ae *aio.Error
					if policy == aio.FullError && errors.Is(err, aio.ErrFull) && errors.As(err, &ae) && ae.Index == 0 && !b.InFlight() {
						refused.Add(1)
						time.Sleep(20 * time.Microsecond)
						continue
					}
					t.Errorf("Submit under %v: %d, %v", policy, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if !settles(func() bool { return o.left() == 0 }) {
		t.Errorf("%d submissions without an event", o.left())
	}
	close(stopReader)
	<-readerDone
	if o.events != goroutines*each {
		t.Fatalf("%d events, want %d", o.events, goroutines*each)
	}
	if policy == aio.FullError && refused.Load() == 0 {
		t.Fatal("no Submit found the Context full: the flood did not fill it")
	}
	t.Logf("%d reads through 4 slots, %d refused with ErrFull, %+v", o.events, refused.Load(), ctx.Stats())
}

// fs.aio-max-nr exhausted by this test's own Contexts (the sysctl is left
// as it is): the next NewContext fails with EAGAIN and an error that names
// the limit; the Contexts made keep doing I/O, in both modes; Close gives
// their slots back to fs.aio-nr.
//
// Since Linux 4.12 io_setup counts exactly the events asked for against
// the limit (before, twice as many): the test needs neither, as it halves
// its request on each refusal until a context of 1 is refused. Other
// processes' contexts count too, so while the limit is reached their
// io_setup fails as well: the test holds it for as short a time as it can,
// and first takes testlock exclusive, which waits for this module's other
// test binaries (go test ./... runs them beside this one) to finish.
func TestFaultAioMaxNr(t *testing.T) {
	release, waited, err := testlock.Exclusive()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release) // after closeAll: Cleanups run last first
	if waited > time.Second {
		t.Logf("waited %v for the other test binaries", waited.Round(time.Millisecond))
	}
	limit, base := procInt(t, "/proc/sys/fs/aio-max-nr"), aioNr(t)
	if limit-base > 1<<18 {
		t.Skipf("fs.aio-max-nr is %d: reaching it would take %d MiB of kernel memory", limit, (limit-base)>>14)
	}
	f, data := directFile(t, 1<<20)
	mappings := aioMappings()
	var held []*aio.Context
	closeAll := func() {
		var wg sync.WaitGroup
		for _, ctx := range held {
			wg.Add(1)
			go func() { defer wg.Done(); ctx.Close() }()
		}
		wg.Wait()
	}
	t.Cleanup(closeAll)

	// Half of what is left in stream mode, then the rest in manual mode,
	// halving each request the kernel refuses, down to 1.
	var refused error
	n := max((limit-base)/2, 1)
	for tries := 0; tries < 64 && refused == nil; tries++ {
		opts := []aio.Option{aio.Manual()}
		if len(held) == 0 {
			opts = nil
		}
		ctx, err := aio.NewContext(n, opts...)
		switch {
		case err == nil:
			held = append(held, ctx)
			n = max(limit-aioNr(t), 1)
		case !errors.Is(err, syscall.EAGAIN):
			t.Fatalf("NewContext(%d) with aio-nr %d of %d: %v", n, aioNr(t), limit, err)
		case n == 1:
			refused = err
		default:
			n /= 2
		}
	}
	if refused == nil || len(held) < 2 {
		t.Fatalf("fs.aio-max-nr not reached with %d Contexts (others come and go): last error %v", len(held), refused)
	}
	wantErr(t, refused, syscall.EAGAIN, "io_setup", "aio-max-nr")
	var ae *aio.Error
	if !errors.As(refused, &ae) || ae.Op != "io_setup" || ae.Index != -1 {
		t.Fatalf("error %#v is not an *aio.Error for io_setup", refused)
	}
	peak, ours, sizes := aioNr(t), 0, []int{}
	for _, ctx := range held {
		b := aio.NewRead(f, aligned(4096), 4096)
		submit(t, ctx, b)
		wantRead(t, await(t, ctx, 1)[0], data)
		ours += ctx.Cap()
		sizes = append(sizes, ctx.Cap())
	}
	closeAll()
	if peak < ours {
		t.Fatalf("aio-nr %d with %d slots of ours open", peak, ours)
	}
	if got := aioMappings(); got != mappings {
		t.Fatalf("%d AIO rings mapped after Close, %d before", got, mappings)
	}
	aioNrBack(t, base, peak, sizes...)
	t.Logf("limit %d reached with %d Contexts of %d slots in all; aio-nr %d at the start, %d at the peak, %d after Close; %v",
		limit, len(held), ours, base, peak, aioNr(t), refused)
}

// /dev/full has no write_iter, so the kernel refuses AIO writes to it in
// io_submit with EINVAL (plain write(2) gets ENOSPC): Submit returns that,
// naming the Block and saying it is a character device, and nothing is
// submitted. A read of it works. Real ENOSPC is TestFaultNoSpace.
func TestFaultDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	ctx := newContext(t, 4)
	for _, b := range []*aio.Block{
		aio.NewWrite(full, []byte("data"), 0),
		aio.NewWriteV(full, [][]byte{[]byte("da"), []byte("ta")}, 0),
	} {
		before := ctx.Stats()
		n, err := ctx.Submit(b)
		wantErr(t, err, syscall.EINVAL, "io_submit", "block 0", b.Command().String(), "(/dev/full) is a character device")
		if st := ctx.Stats(); n != 0 || st.Submitted != before.Submitted || ctx.InFlight() != 0 || b.InFlight() {
			t.Fatalf("%s to /dev/full: %d submitted, Stats %+v", b.Command(), n, st)
		}
	}
	buf := pattern(64, 1)
	if ev := do(t, ctx, aio.NewRead(full, buf, 0)); ev.N() != 64 || !bytes.Equal(buf, make([]byte, 64)) {
		t.Fatalf("read of /dev/full: %d, %v", ev.Res, ev.Err())
	}
}

// A full filesystem: a 64 KiB tmpfs mounted in a mount namespace of a
// child process. A write larger than the room left is cut short; the next
// gets ENOSPC in its Event; the data that fit is in the file. Through a
// File, once the file is emptied, a WriteAt of the same returns the bytes
// that fit and an error wrapping ENOSPC.
func TestFaultNoSpace(t *testing.T) {
	if isChild(t) {
		noSpace(t)
		return
	}
	attr := &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS} // Go makes / private in it
	if os.Geteuid() != 0 {
		attr.Cloneflags = syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	if err := runChild(t, attr); err != nil {
		t.Skipf("cannot start a process in a new mount namespace here: %v", err)
	}
}

func noSpace(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs in a mount namespace here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	f, err := os.Create(dir + "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := newContext(t, 4)
	data := pattern(128<<10, 4)
	ev := do(t, ctx, aio.NewWrite(f, data, 0))
	n := ev.N()
	if ev.Err() != nil || n <= 0 || n >= len(data) {
		t.Fatalf("write of %d bytes to a 64 KiB filesystem: %d, %v; want a short write", len(data), ev.Res, ev.Err())
	}
	ev = do(t, ctx, aio.NewWrite(f, data[n:], int64(n)))
	if !errors.Is(ev.Err(), syscall.ENOSPC) || ev.N() != 0 {
		t.Fatalf("write to a full filesystem: %d, %v; want ENOSPC", ev.Res, ev.Err())
	}
	if got, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(got, data[:n]) {
		t.Fatalf("file holds %d bytes (%v), want the %d written", len(got), err, n)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	file, _ := fileOf(t, f, 4)
	m, err := file.WriteAt(data, 0)
	if !errors.Is(err, syscall.ENOSPC) || m <= 0 || m >= len(data) {
		t.Fatalf("WriteAt of %d bytes to a 64 KiB filesystem: %d, %v; want the bytes that fit and ENOSPC", len(data), m, err)
	}
	if got, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(got, data[:m]) {
		t.Fatalf("file holds %d bytes (%v), want the %d WriteAt reported", len(got), err, m)
	}
	if k, err := file.WriteAt(data[m:m+1], int64(m)); k != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt of 1 byte to a full filesystem: %d, %v; want 0 and ENOSPC", k, err)
	}
	t.Logf("short write of %d bytes, then ENOSPC; WriteAt: %d bytes, %v", n, m, err)
}

// Writes past RLIMIT_FSIZE, in a child process that ignores SIGXFSZ: a
// write that crosses the limit is cut short at it, one that starts there
// gets EFBIG in its Event, buffered and O_DIRECT alike, and the process
// lives on. Through a File, a WriteAt across the limit returns the bytes
// up to it and an error wrapping EFBIG.
func TestFaultFileSizeLimit(t *testing.T) {
	if !isChild(t) {
		if err := runChild(t, nil); err != nil {
			t.Fatal(err)
		}
		return
	}
	const limit = 8192
	buffered := tempFile(t, nil)
	direct, _ := directFile(t, 4096)
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, 4)
	for _, f := range []*os.File{buffered, direct} {
		if ev := do(t, ctx, aio.NewWrite(f, aligned(3*4096), 4096)); ev.N() != limit-4096 {
			t.Fatalf("%s: write across the limit: %d, %v; want %d bytes", f.Name(), ev.Res, ev.Err(), limit-4096)
		}
		if ev := do(t, ctx, aio.NewWrite(f, aligned(4096), limit)); !errors.Is(ev.Err(), syscall.EFBIG) {
			t.Fatalf("%s: write at the limit: %d, %v; want EFBIG", f.Name(), ev.Res, ev.Err())
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != limit {
			t.Fatalf("%s: size %v, %v; want %d", f.Name(), fi.Size(), err, limit)
		}
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		file, _ := fileOf(t, f, 4)
		data := aligned(3 * 4096)
		copy(data, pattern(len(data), 6))
		if n, err := file.WriteAt(data, 4096); n != limit-4096 || !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("%s: WriteAt across the limit: %d, %v; want %d bytes and EFBIG", f.Name(), n, err, limit-4096)
		}
		got := aligned(3 * 4096)
		if n, err := file.ReadAt(got, 0); n != limit || err != io.EOF || !bytes.Equal(got[4096:limit], data[:limit-4096]) {
			t.Fatalf("%s: ReadAt after WriteAt across the limit: %d, %v, data right %v", f.Name(), n, err, bytes.Equal(got[4096:limit], data[:limit-4096]))
		}
	}
}

// The file's owner closes it while its I/O is in flight. The kernel holds
// its own reference to the file from io_submit until the event, so the
// I/O is not disturbed: O_DIRECT reads complete with their data, a poll on
// a pipe still fires. Once the event is delivered the kernel lets go of
// the file, and the Block refuses to go in again (os.ErrClosed).
func TestFaultOwnerClosesFile(t *testing.T) {
	t.Run("direct_reads", func(t *testing.T) {
		const size = 8 << 20
		f, data := directFile(t, size)
		g, err := os.OpenFile(f.Name(), os.O_RDONLY|syscall.O_DIRECT, 0)
		if err != nil {
			t.Fatal(err)
		}
		ctx := streamContext(t, 128)
		blocks := make([]*aio.Block, 128)
		for i := range blocks {
			blocks[i] = aio.NewRead(g, aligned(64<<10), int64(i)*64<<10)
		}
		submit(t, ctx, blocks...)
		g.Close()
		inFlight := ctx.InFlight()
		for _, ev := range await(t, ctx, len(blocks)) {
			wantRead(t, ev, data)
		}
		t.Logf("%d of %d reads in flight when the file was closed", inFlight, len(blocks))
		before := ctx.Stats()
		_, err = ctx.Submit(blocks[0])
		wantErr(t, err, os.ErrClosed, "block 0")
		if st := ctx.Stats(); st.IOSubmitCalls != before.IOSubmitCalls || blocks[0].InFlight() {
			t.Fatalf("a Block on a closed file was submitted: %+v", st)
		}
	})
	t.Run("file_Close", fileCloseUnderReads)
	t.Run("file_owner_closes", fileOwnerClosesUnderReads)
	t.Run("pipe_poll", func(t *testing.T) {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		ctx := newContext(t, 4)
		poll := aio.NewPoll(r, aio.PollIn)
		submit(t, ctx, poll)
		r.Close()
		if evs, err := ctx.GetEvents(0, 4, 0); len(evs) != 0 || err != nil || !poll.InFlight() {
			t.Fatalf("poll of a pipe closed by its owner: %v, %v", evs, err)
		}
		// The kernel's reference keeps the pipe's read end open: writing
		// works, and wakes the poll.
		if _, err := w.Write([]byte{1}); err != nil {
			t.Fatalf("write to the pipe while its poll holds the read end: %v", err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.Block != poll || ev.PollEvents()&aio.PollIn == 0 {
			t.Fatalf("event %+v, want POLLIN", ev)
		}
		// After the event, the read end is gone for good.
		if _, err := w.Write([]byte{1}); !errors.Is(err, syscall.EPIPE) {
			t.Fatalf("write after the poll's event: %v, want EPIPE", err)
		}
	})
}

// The file's owner closes it while Submit calls of its Blocks are under
// way, and opens another file, which takes the closed descriptor's number:
// 8 goroutines keep writing a marker through Blocks on file A while
// another closes A and opens B, 200 times over. Each write goes to A or is
// refused with os.ErrClosed, and B never gets a byte: a flush holds every
// file of its batch open from before io_submit until it returns, so a
// number read when a Block was claimed cannot be closed, nor reused, before
// the kernel takes it.
func TestFaultOwnerClosesDuringSubmit(t *testing.T) {
	dir := t.TempDir()
	nameA, nameB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	zeros := make([]byte, 4096)
	ctx := streamContext(t, 64)
	go func() {
		for range ctx.Events() { // until Close
		}
	}()
	var wrote, refused, reused int
	for round := range 200 {
		if err := os.WriteFile(nameB, zeros, 0o600); err != nil {
			t.Fatal(err)
		}
		a, err := os.OpenFile(nameA, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		var fdA int
		rc, _ := a.SyscallConn()
		rc.Control(func(fd uintptr) { fdA = int(fd) })
		var mu sync.Mutex
		var wg sync.WaitGroup
		stop := make(chan struct{})
		for g := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b := aio.NewWrite(a, []byte("marker"), int64(g*8))
				for {
					select {
					case <-stop:
						return
					default:
					}
					n, err := ctx.Submit(b)
					mu.Lock()
					switch {
					case n == 1:
						wrote++
					case errors.Is(err, os.ErrClosed):
						refused++
					default:
						t.Errorf("Submit: %d, %v", n, err)
					}
					mu.Unlock()
					if n != 1 {
						return
					}
					for b.InFlight() {
						runtime.Gosched()
					}
				}
			}()
		}
		time.Sleep(time.Duration(round%5) * 50 * time.Microsecond)
		a.Close()
		fb, err := os.OpenFile(nameB, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		var fdB int
		rcB, _ := fb.SyscallConn()
		rcB.Control(func(fd uintptr) { fdB = int(fd) })
		if fdB == fdA {
			reused++
		}
		close(stop)
		wg.Wait()
		for ctx.InFlight() > 0 {
			runtime.Gosched()
		}
		got, err := os.ReadFile(nameB)
		fb.Close()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, zeros) {
			t.Fatalf("round %d: file B, opened on A's descriptor number %v, got A's writes: %q", round, fdB == fdA, bytes.TrimRight(got, "\x00"))
		}
	}
	if reused == 0 || refused == 0 || wrote == 0 {
		t.Fatalf("%d writes, %d refused, B on A's number in %d rounds: the test did not race", wrote, refused, reused)
	}
	t.Logf("%d writes to A, %d refused with os.ErrClosed; B took A's number in %d of 200 rounds", wrote, refused, reused)
}

// A file truncated under in-flight O_DIRECT reads, then extended again.
// The kernel takes the file's size when io_submit accepts a read, and
// truncation waits for the reads in flight (inode_dio_wait in ext4, XFS
// and the other iomap filesystems), so each read sees the file as it was
// when it was submitted: reads submitted before the cut return the old
// data in full, reads submitted after it stop at the new end of file (0
// bytes past it), and once the file grows again the bytes past the cut
// read as zeros, never as the old data. No errors, one event each.
//
// Then the same through a File: ReadAt calls from 256 goroutines while the
// file is cut again. Each returns the whole chunk if its read went in
// before the cut, else a short read ending at the new end with io.EOF
// (none past it); the data is right up to where it stops. A ReadAt of each
// chunk after the cut does the latter.
func TestFaultTruncateUnderReads(t *testing.T) {
	const size, chunk, cut = 16 << 20, 64 << 10, 5<<20 + 1000
	f, data := directFile(t, size)
	ctx := streamContext(t, size/chunk)
	blocks := make([]*aio.Block, size/chunk)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, aligned(chunk), int64(i)*chunk)
	}
	// holds returns the n bytes at off of the file: the old data before
	// cut and, past it, the old data if stale, else zeros.
	holds := func(off, n int64, stale bool) []byte {
		want := data[off : off+n]
		if !stale && off+n > cut {
			keep := max(off, cut)
			want = append(data[off:keep:keep], make([]byte, off+n-keep)...)
		}
		return want
	}
	// check fails unless the events are those of reads of a file of end
	// bytes, holding what holds says.
	check := func(evs []aio.Event, end int64, stale bool, phase string) {
		t.Helper()
		for _, ev := range evs {
			off, buf, n := ev.Block.Offset(), ev.Block.Buffer(), int64(ev.N())
			if want := min(max(end-off, 0), chunk); ev.Err() != nil || n != want {
				t.Fatalf("%s: read at %d: %d, %v; want %d bytes", phase, off, ev.Res, ev.Err(), want)
			}
			if i := mismatch(buf[:n], holds(off, n, stale)); i >= 0 {
				t.Fatalf("%s: read at %d of %d bytes: wrong data at %d", phase, off, n, off+int64(i))
			}
		}
	}
	readAll := func() {
		for _, b := range blocks {
			clear(b.Buffer())
		}
		submit(t, ctx, blocks...)
	}

	readAll()
	inFlight := ctx.InFlight()
	if err := f.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	check(await(t, ctx, len(blocks)), size, true, "submitted before the cut")
	readAll()
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	check(await(t, ctx, len(blocks)), cut, false, "submitted after the cut, before the regrowth")
	readAll()
	check(await(t, ctx, len(blocks)), size, false, "submitted after the regrowth")
	t.Logf("%d of %d reads not yet reaped when the truncation started", inFlight, len(blocks))

	// ReadAt through a File while the file is cut again: each call's
	// result is that of the file before the cut, whole, or after it,
	// short with io.EOF.
	file, fctx := fileOf(t, f, len(blocks))
	// readAt fails unless a ReadAt of chunk at off returned n bytes and
	// err as from a file of end bytes (holds says what they are).
	readAt := func(buf []byte, off int64, n int, err error, end int64, phase string) {
		want := int(min(max(end-off, 0), chunk))
		var wantErr error
		if want < chunk {
			wantErr = io.EOF
		}
		if n != want || err != wantErr {
			t.Errorf("%s: ReadAt(%d): %d, %v; want %d, %v", phase, off, n, err, want, wantErr)
			return
		}
		if i := mismatch(buf[:n], holds(off, int64(n), false)); i >= 0 {
			t.Errorf("%s: ReadAt(%d) of %d bytes: wrong data at %d", phase, off, n, off+int64(i))
		}
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	var whole, short atomic.Int64
	for i := range blocks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// The chunks past the cut first: more of them go in before it.
			buf, off := aligned(chunk), int64(len(blocks)-1-i)*chunk
			<-start
			n, err := file.ReadAt(buf, off)
			if n == chunk && err == nil {
				whole.Add(1)
				readAt(buf, off, n, err, size, "ReadAt before the cut")
				return
			}
			short.Add(1)
			readAt(buf, off, n, err, cut, "ReadAt after the cut")
		}()
	}
	close(start)
	for fctx.Stats().Submitted < 32 && whole.Load()+short.Load() < int64(len(blocks)) {
		runtime.Gosched()
	}
	inFlight = fctx.InFlight()
	if err := f.Truncate(cut); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	buf := aligned(chunk)
	for i := range blocks {
		off := int64(i) * chunk
		n, err := file.ReadAt(buf, off)
		readAt(buf, off, n, err, cut, "ReadAt after the cut")
	}
	t.Logf("%d ReadAt calls in flight at the cut: %d whole, %d cut short", inFlight, whole.Load(), short.Load())
}

// Close with 4096 O_DIRECT reads in flight, in both modes. Manual: Close
// waits until the kernel has filled every buffer, discards the events and
// leaves every Block idle. Stream: every read's event, with its data, and
// the cancelled polls' are delivered, each once, before Events closes.
// Either way the kernel context, its aio-nr slots, the goroutines and the
// descriptors are given back. The same with 4096 goroutines in a File's
// ReadAt: each returns its data or ErrClosed.
func TestFaultCloseThousandsInFlight(t *testing.T) {
	const n = 4096
	f, data := directFile(t, n*4096)
	r, _ := pipe(t)
	for _, mode := range []string{"manual", "stream"} {
		t.Run(mode, func(t *testing.T) {
			var opts []aio.Option
			if mode == "manual" {
				opts = append(opts, aio.Manual())
			}
			mappings, goroutines, fds, base := aioMappings(), runtime.NumGoroutine(), countFDs(), aioNr(t)
			ctx, err := aio.NewContext(n+16, opts...)
			if err != nil {
				t.Fatal(err)
			}
			slab := aligned(n * 4096)
			blocks := make([]*aio.Block, 0, n+16)
			for i := range n {
				blocks = append(blocks, aio.NewRead(f, slab[i*4096:(i+1)*4096:(i+1)*4096], readOffset(i, n*4096)))
			}
			if mode == "stream" {
				for range 16 {
					blocks = append(blocks, aio.NewPoll(r, aio.PollIn))
				}
			}
			submit(t, ctx, blocks...)
			peak := aioNr(t)
			if err := ctx.Close(); err != nil {
				t.Fatal(err)
			}
			if mode == "stream" {
				seen := map[*aio.Block]bool{}
				for ev := range ctx.Events() {
					if seen[ev.Block] {
						t.Fatalf("second event for a Block: %+v", ev)
					}
					seen[ev.Block] = true
					if ev.Block.Command() == aio.CmdPoll {
						wantErr(t, ev.Err(), syscall.ECANCELED)
						continue
					}
					wantRead(t, ev, data)
				}
				if len(seen) != len(blocks) {
					t.Fatalf("%d events, want %d", len(seen), len(blocks))
				}
			}
			for _, b := range blocks {
				if b.InFlight() {
					t.Fatal("a Block is in flight after Close")
				}
				if off := b.Offset(); b.Command() == aio.CmdRead && !bytes.Equal(b.Buffer(), data[off:off+4096]) {
					t.Fatalf("read at %d not done when Close returned", off)
				}
			}
			if st := ctx.Stats(); st.Submitted != uint64(len(blocks)) {
				t.Fatalf("Stats %+v: want %d submitted", st, len(blocks))
			}
			if got := aioMappings(); got != mappings {
				t.Fatalf("%d AIO rings mapped after Close, %d before", got, mappings)
			}
			if !settles(func() bool { return runtime.NumGoroutine() <= goroutines && countFDs() <= fds }) {
				t.Fatalf("goroutines %d (%d before), descriptors %d (%d before)", runtime.NumGoroutine(), goroutines, countFDs(), fds)
			}
			aioNrBack(t, base, peak, n+16)
			// Idle, the Blocks work on another Context.
			other := newContext(t, 4)
			wantRead(t, do(t, other, blocks[0]), data)
		})
	}
	t.Run("file", func(t *testing.T) { fileCloseContextUnderReads(t, f, data) })
}
