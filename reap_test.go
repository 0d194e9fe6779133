//go:build linux && cgo

package aio_test

import (
	"errors"
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
