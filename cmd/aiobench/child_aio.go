//go:build linux && cgo

package main

import (
	"fmt"
	"os"
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
// GetEventsInto, which waits in io_getevents, as the C loop does, into the
// loop's own slice, allocating nothing (GetEvents would allocate its
// result each turn, which the C loop does not). Beside aioRand it shows
// what handing completions through the stream costs.
func aioManualRand(j job) (childResult, error) {
	return aioLoop(j, []aio.Option{aio.Manual()}, func(ctx *aio.Context, evs []aio.Event) ([]aio.Event, error) {
		n, err := ctx.GetEventsInto(evs[:cap(evs)], 1, -1)
		return evs[:n], err
	})
}

// aioLoop runs a random-I/O job on a Context made with opts: it submits
// Depth Blocks, then until the job's time is up takes a turn of events
// from reap and resubmits their Blocks at new offsets with one Submit, then
// waits for the rest.
//
// Latency: the clock is read once per turn, as reap returns; that reading
// is the completion time of the turn's events and the submission time of
// the Blocks resubmitted in the same turn (only setting their offsets comes
// between). The C loop does the same, so both pay one clock read per turn.
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
	bufs := newArena(j.Depth)
	batch := jobBlocks(j, f, bufs, offset)
	evs := make([]aio.Event, 0, j.Depth)
	submitted := make([]int64, j.Depth) // by buffer index: when its Block went in
	var lat histogram

	var done int64
	w := startWindow()
	deadline := w.t0 + int64(j.duration())
	for i := range submitted {
		submitted[i] = w.t0
	}
	if _, err := ctx.Submit(batch...); err != nil {
		return childResult{}, err
	}
	for inflight := j.Depth; inflight > 0; {
		evs, err = reap(ctx, evs[:0])
		if err != nil {
			return childResult{}, err
		}
		now := clock()
		issuing := now < deadline
		batch = batch[:0]
		for _, ev := range evs {
			if ev.N() != ioSize {
				return childResult{}, fmt.Errorf("%s at %d: %d bytes, %v", ev.Block.Command(), ev.Block.Offset(), ev.Res, ev.Err())
			}
			i := bufs.index(ev.Block.Buffer())
			lat.record(now - submitted[i])
			if issuing {
				ev.Block.SetOffset(offset())
				submitted[i] = now
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
	return w.result(done, &lat), nil
}

// aioNaturalRand runs a random-I/O job the way a new user of the package
// writes it first: submit Depth reads, then range over Completions and resubmit
// each event's Block at a new offset with a Submit call of its own, one
// call per I/O, no batching, no select. The completion-path work aims to
// make this loop as fast as the batched one (aioRand), so the runner
// measures it as written, not as tuned.
//
// Latency: the clock is read as each event arrives; that reading is also
// the resubmitted Block's submission time (only SetOffset comes between).
func aioNaturalRand(j job) (childResult, error) {
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
	bufs := newArena(j.Depth)
	blocks := jobBlocks(j, f, bufs, offset)
	submitted := make([]int64, j.Depth)
	var lat histogram

	var done int64
	w := startWindow()
	deadline := w.t0 + int64(j.duration())
	for i := range submitted {
		submitted[i] = w.t0
	}
	if _, err := ctx.Submit(blocks...); err != nil {
		return childResult{}, err
	}
	inflight := j.Depth
	for ev := range ctx.Completions() {
		now := clock()
		if ev.N() != ioSize {
			return childResult{}, fmt.Errorf("%s at %d: %d bytes, %v", ev.Block.Command(), ev.Block.Offset(), ev.Res, ev.Err())
		}
		i := bufs.index(ev.Block.Buffer())
		lat.record(now - submitted[i])
		done++
		inflight--
		if now < deadline {
			ev.Block.SetOffset(offset())
			submitted[i] = now
			if _, err := ctx.Submit(ev.Block); err != nil {
				return childResult{}, err
			}
			inflight++
		}
		if inflight == 0 {
			break
		}
	}
	return w.result(done, &lat), nil
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

// jobBlocks makes the job's Depth Blocks, one per buffer of bufs: reads,
// or writes of seeded data, at offsets from offset.
func jobBlocks(j job, f *os.File, bufs arena, offset func() int64) []*aio.Block {
	blocks := make([]*aio.Block, j.Depth)
	for i := range blocks {
		if j.Write {
			fill(bufs.buf(i), seed(i))
			blocks[i] = aio.NewWrite(f, bufs.buf(i), offset())
		} else {
			blocks[i] = aio.NewRead(f, bufs.buf(i), offset())
		}
	}
	return blocks
}
