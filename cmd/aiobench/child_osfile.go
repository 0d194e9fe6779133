//go:build linux && cgo

package main

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"
)

// osfileRand runs a random-I/O job the way plain Go would: Depth goroutines,
// each calling ReadAt (or WriteAt) in a loop, so that Depth I/Os are in
// flight. Each blocking call holds an OS thread while the disk works.
func osfileRand(j job) (childResult, error) {
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	defer f.Close()
	return goroutinesRand(j, f, size)
}

// readerWriterAt is what goroutinesRand drives: an *os.File or an
// *aio.File.
type readerWriterAt interface {
	io.ReaderAt
	io.WriterAt
}

// goroutinesRand runs j on f, of size bytes, from Depth goroutines each
// calling ReadAt (or WriteAt) in a loop.
//
// Latency: each goroutine keeps a histogram of its own (no sharing while
// measuring), merged at the end. It reads the clock as each call returns;
// that reading is also the start of its next call (only picking an offset
// comes between), so one clock read per I/O.
func goroutinesRand(j job, f readerWriterAt, size int64) (childResult, error) {
	return perGoroutine(j, func(i int, buf []byte, stop *atomic.Bool, lat *histogram) (int64, error) {
		offset := offsets(size, seed(i))
		var n int64
		t := clock()
		for !stop.Load() {
			off := offset()
			var got int
			var err error
			if j.Write {
				got, err = f.WriteAt(buf, off)
			} else {
				got, err = f.ReadAt(buf, off)
			}
			now := clock()
			lat.record(now - t)
			t = now
			n++
			if got != ioSize {
				return n, fmt.Errorf("at %d: %d bytes, %v", off, got, err)
			}
		}
		return n, nil
	})
}

// perGoroutine runs j's Depth goroutines, each running loop with its own
// number, ioSize buffer (filled with data for writes) and histogram, from
// one start signal until the job's time is up and stop is set. loop
// returns the I/Os it did.
func perGoroutine(j job, loop func(i int, buf []byte, stop *atomic.Bool, lat *histogram) (int64, error)) (childResult, error) {
	var (
		stop   atomic.Bool
		done   atomic.Int64
		wg     sync.WaitGroup
		errs   = make([]error, j.Depth)
		lats   = make([]histogram, j.Depth)
		bufs   = newArena(j.Depth)
		starts = make(chan struct{})
	)
	for i := range j.Depth {
		fill(bufs.buf(i), seed(i))
	}
	for i := range j.Depth {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-starts
			n, err := loop(i, bufs.buf(i), &stop, &lats[i])
			done.Add(n)
			errs[i] = err
		}()
	}
	w := startWindow()
	close(starts)
	time.Sleep(j.duration())
	stop.Store(true)
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return childResult{}, err
		}
	}
	var lat histogram
	for i := range lats {
		lat.merge(&lats[i])
	}
	return w.result(done.Load(), &lat), nil
}

// osfileW4Sequential runs W4 with one ReadAt after another, the plain
// open()-and-read loop of linux_aio's table.
func osfileW4Sequential(j job) (childResult, error) {
	return osfileW4(j, func(files []w4File) error {
		for _, w := range files {
			n, err := w.f.ReadAt(w.buf, 0)
			if err := checkW4Read(w, n, err); err != nil {
				return err
			}
		}
		return nil
	})
}

// osfileW4Goroutines runs W4 with a goroutine per file each round, so that
// the reads are in flight together, the Go counterpart of a thread pool.
func osfileW4Goroutines(j job) (childResult, error) {
	errs := make([]error, j.Files)
	return osfileW4(j, func(files []w4File) error {
		var wg sync.WaitGroup
		for i, w := range files {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := w.f.ReadAt(w.buf, 0)
				errs[i] = checkW4Read(w, n, err)
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// osfileW4 opens W4's files and runs round Reads times, Interval apart.
func osfileW4(j job, round func([]w4File) error) (childResult, error) {
	files, err := openW4(j)
	if err != nil {
		return childResult{}, err
	}
	defer closeW4(files)
	start := time.Now()
	for range j.Reads {
		if err := round(files); err != nil {
			return childResult{}, err
		}
		time.Sleep(j.Interval)
	}
	return childResult{IOs: int64(j.Reads * len(files)), Seconds: time.Since(start).Seconds()}, nil
}
