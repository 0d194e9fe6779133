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
	return aioLoop(j, nil, func(ctx *aio.Context, evs []aio.Event) ([]aio.Event, error) {
		events := ctx.Events()
		evs = append(evs, <-events)
		for len(evs) < cap(evs) {
			select {
			case ev := <-events:
				evs = append(evs, ev)
			default:
				return evs, nil
			}
		}
		return evs, nil
	})
}

// aioManualRand is aioRand on a Manual Context: each turn reaps with
// GetEvents, which waits in io_getevents, as the C loop does. Beside
// aioRand it shows what handing completions through the stream costs.
func aioManualRand(j job) (childResult, error) {
	return aioLoop(j, []aio.Option{aio.Manual()}, func(ctx *aio.Context, evs []aio.Event) ([]aio.Event, error) {
		got, err := ctx.GetEvents(1, cap(evs), -1)
		return append(evs, got...), err
	})
}

// aioLoop runs a random-I/O job on a Context made with opts: it submits
// Depth Blocks, then until the job's time is up takes a turn of events
// from reap and resubmits their Blocks at new offsets with one Submit, then
// waits for the rest.
func aioLoop(j job, opts []aio.Option, reap func(*aio.Context, []aio.Event) ([]aio.Event, error)) (childResult, error) {
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	defer f.Close()
	ctx, err := aio.NewContext(j.Depth, opts...)
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
	evs := make([]aio.Event, 0, j.Depth)

	var done int64
	start := time.Now()
	deadline := start.Add(j.duration())
	if _, err := ctx.Submit(batch...); err != nil {
		return childResult{}, err
	}
	for inflight := j.Depth; inflight > 0; {
		issuing := time.Now().Before(deadline)
		evs, err = reap(ctx, evs[:0])
		if err != nil {
			return childResult{}, err
		}
		batch = batch[:0]
		for _, ev := range evs {
			if ev.N() != ioSize {
				return childResult{}, fmt.Errorf("%s at %d: %d bytes, %v", ev.Block.Command(), ev.Block.Offset(), ev.Res, ev.Err())
			}
			if issuing {
				ev.Block.SetOffset(offset())
				batch = append(batch, ev.Block)
			}
		}
		done += int64(len(evs))
		inflight -= len(evs)
		if len(batch) > 0 {
			if _, err := ctx.Submit(batch...); err != nil {
				return childResult{}, err
			}
			inflight += len(batch)
		}
	}
	return childResult{IOs: done, Seconds: time.Since(start).Seconds()}, nil
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
