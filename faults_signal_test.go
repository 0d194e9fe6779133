//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// The signal faults: signals storming every thread while I/O runs and
// while Submit or GetEvents wait in the kernel. Each test puts the package
// through one fault on the real kernel and checks that it keeps working,
// loses nothing, corrupts nothing and leaks nothing (TestMain checks the
// leaks). RELIABILITY.md lists them.

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
