//go:build linux && cgo

package main

import (
	"fmt"
	"time"

	"github.com/linuxaio/aio"
)

// aioRand runs a random-I/O job through the package's Events stream, the
// way bench_test.go's BenchmarkReadDirect does: Depth Blocks made once;
// each turn takes the event that is due and every other one already there,
// and resubmits their Blocks at new offsets with one Submit. Nothing is
// allocated per I/O.
func aioRand(j job) (childResult, error) {
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
	offset := offsets(size, seed(0))
	batch := make([]*aio.Block, j.Depth)
	for i := range batch {
		buf := aligned(ioSize)
		if j.Write {
			fill(buf, seed(i))
			batch[i] = aio.NewWrite(f, buf, offset())
		} else {
			batch[i] = aio.NewRead(f, buf, offset())
		}
	}
	events := ctx.Events()

	var done int64
	var failed error
	issuing := true
	take := func(ev aio.Event) {
		done++
		if ev.N() != ioSize && failed == nil {
			failed = fmt.Errorf("%s at %d: %d bytes, %v", ev.Block.Command(), ev.Block.Offset(), ev.Res, ev.Err())
		}
		if issuing {
			ev.Block.SetOffset(offset())
			batch = append(batch, ev.Block)
		}
	}
	start := time.Now()
	deadline := start.Add(j.duration())
	if _, err := ctx.Submit(batch...); err != nil {
		return childResult{}, err
	}
	for inflight := j.Depth; inflight > 0; {
		batch = batch[:0]
		issuing = failed == nil && time.Now().Before(deadline)
		take(<-events)
		inflight--
	more:
		for inflight > 0 {
			select {
			case ev := <-events:
				take(ev)
				inflight--
			default:
				break more
			}
		}
		if len(batch) > 0 {
			if _, err := ctx.Submit(batch...); err != nil {
				return childResult{}, err
			}
			inflight += len(batch)
		}
	}
	return childResult{IOs: done, Seconds: time.Since(start).Seconds()}, failed
}

// aioW4 runs W4 through the Events stream: each round submits one read per
// file in one Submit, takes their events, then sleeps for the interval.
func aioW4(j job) (childResult, error) {
	files, err := openW4(j)
	if err != nil {
		return childResult{}, err
	}
	defer closeW4(files)
	ctx, err := aio.NewContext(len(files))
	if err != nil {
		return childResult{}, err
	}
	defer ctx.Close()
	blocks := make([]*aio.Block, len(files))
	index := make(map[*aio.Block]int, len(files))
	for i, w := range files {
		blocks[i] = aio.NewRead(w.f, w.buf, 0)
		index[blocks[i]] = i
	}
	events := ctx.Events()
	start := time.Now()
	for range j.Reads {
		if _, err := ctx.Submit(blocks...); err != nil {
			return childResult{}, err
		}
		for range blocks {
			ev := <-events
			if err := checkW4Read(files[index[ev.Block]], ev.N(), ev.Err()); err != nil {
				return childResult{}, err
			}
		}
		time.Sleep(j.Interval)
	}
	return childResult{IOs: int64(j.Reads * len(files)), Seconds: time.Since(start).Seconds()}, nil
}
