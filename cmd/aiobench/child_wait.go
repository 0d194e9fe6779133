//go:build linux && cgo

package main

import (
	"context"
	"fmt"
	"sync/atomic"

	"github.com/linuxaio/aio"
)

// aioWaitRand runs a random-I/O job through Block.Wait: Depth goroutines,
// each owning one Block set with SetWait, loop on Submit and Wait, so that
// Depth I/Os are in flight. It is how a caller with one request at a time
// per goroutine (a database's page reads) uses the package without a File:
// the completion path must wake the one goroutine that waits, not hand the
// event through the Events stream. No Context option is needed for it: a
// stream-mode Context sends the completion of a Block set to wait to its
// Wait, not to Events.
//
// Latency: as for goroutinesRand, one clock read per I/O, as Wait returns.
func aioWaitRand(j job) (res childResult, err error) {
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	defer f.Close()
	ctx, err := aio.NewContext(j.Depth)
	if err != nil {
		return childResult{}, err
	}
	defer ctx.Close()
	return perGoroutine(j, func(i int, buf []byte, stop *atomic.Bool, lat *histogram) (int64, error) {
		offset := offsets(size, seed(i))
		b := aio.NewRead(f, buf, 0)
		if j.Write {
			b = aio.NewWrite(f, buf, 0)
		}
		if err := b.SetWait(true); err != nil {
			return 0, err
		}
		var n int64
		t := clock()
		for !stop.Load() {
			b.SetOffset(offset())
			if _, err := ctx.Submit(b); err != nil {
				return n, err
			}
			ev, err := b.Wait(context.Background())
			if err != nil {
				return n, err
			}
			now := clock()
			lat.record(now - t)
			t = now
			n++
			if ev.N() != ioSize {
				return n, fmt.Errorf("%s at %d: %d bytes, %v", b.Command(), b.Offset(), ev.Res, ev.Err())
			}
		}
		return n, nil
	})
}
