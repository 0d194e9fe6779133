//go:build linux && cgo

package aio_test

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFileReadAtDirect does 4 KiB random ReadAt calls from 32
// goroutines on an O_DIRECT file (AIO_BENCH_FILE, or the benchmarks' own
// file), through aio.File and through os.File in the same run. It reports
// IOPS, CPU microseconds per read and the OS threads that ran during the
// benchmark ("threads": threads whose context-switch counts moved, so that
// idle threads left by an earlier benchmark do not count).
func BenchmarkFileReadAtDirect(b *testing.B) {
	name, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B) *os.File {
		f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECT, 0)
		if err != nil {
			b.Skipf("open: %v", err)
		}
		return f
	}
	b.Run("aio.File", func(b *testing.B) {
		ctx := streamContext(b, 64)
		file := mustFile(b, ctx, open(b))
		defer file.Close()
		benchReadAt(b, file)
		st := ctx.Stats()
		b.ReportMetric(float64(st.Submits)/float64(st.IOSubmitCalls), "reads/io_submit")
	})
	b.Run("os.File", func(b *testing.B) {
		f := open(b)
		defer f.Close()
		benchReadAt(b, f)
	})
}

// BenchmarkFileReadAtCached is BenchmarkFileReadAtDirect on the same file
// opened without O_DIRECT and read into the page cache first: the cache-hot
// reads of W3, which a File serves with preadv2 and RWF_NOWAIT, outside
// io_submit.
func BenchmarkFileReadAtCached(b *testing.B) {
	name, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	open := func(b *testing.B) *os.File {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, f); err != nil { // into the page cache
			b.Fatal(err)
		}
		return f
	}
	b.Run("aio.File", func(b *testing.B) {
		ctx := streamContext(b, 64)
		file := mustFile(b, ctx, open(b))
		defer file.Close()
		benchReadAt(b, file)
		st := ctx.Stats()
		b.ReportMetric(float64(st.NoWaitHits)/float64(b.N), "nowait-hits/read")
	})
	b.Run("os.File", func(b *testing.B) {
		f := open(b)
		defer f.Close()
		benchReadAt(b, f)
	})
}

// benchReadAt runs b.N 4 KiB ReadAt calls at random aligned offsets of r
// from 32 goroutines, and reports IOPS, CPU per read and threads used.
func benchReadAt(b *testing.B, r interface {
	io.ReaderAt
	Name() string
}) {
	const goroutines = 32
	fi, err := os.Stat(r.Name())
	if err != nil {
		b.Fatal(err)
	}
	blocks := uint64(fi.Size() / 4096)
	var left atomic.Int64
	left.Store(int64(b.N))
	var wg sync.WaitGroup
	bufs := make([][]byte, goroutines)
	for g := range bufs {
		bufs[g] = aligned(4096)
	}
	b.ResetTimer()
	threads0, cpu0, start := threadSwitches(), cpuTime(), time.Now()
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := uint64(g)*0x9e3779b97f4a7c15 + 1
			for left.Add(-1) >= 0 {
				rng ^= rng << 13
				rng ^= rng >> 7
				rng ^= rng << 17
				if n, err := r.ReadAt(bufs[g], int64(rng%blocks)*4096); n != 4096 {
					b.Errorf("ReadAt: %d, %v", n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "IOPS")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/IO")
	b.ReportMetric(float64(threadsMoved(threads0, threadSwitches())), "threads")
}

// threadSwitches returns the context-switch count of each of the process's
// OS threads, by thread id.
func threadSwitches() map[string]int {
	m := make(map[string]int)
	tasks, _ := filepath.Glob("/proc/self/task/*/status")
	for _, p := range tasks {
		st, err := os.ReadFile(p)
		if err != nil {
			continue // the thread exited
		}
		n := 0
		for _, line := range bytes.Split(st, []byte("\n")) {
			if v, ok := bytes.CutPrefix(line, []byte("voluntary_ctxt_switches:")); ok {
				c, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
				n += c
			}
			if v, ok := bytes.CutPrefix(line, []byte("nonvoluntary_ctxt_switches:")); ok {
				c, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
				n += c
			}
		}
		m[filepath.Base(filepath.Dir(p))] = n
	}
	return m
}

// threadsMoved counts the threads in after that are new or switched since
// before: the threads that ran in between.
func threadsMoved(before, after map[string]int) int {
	n := 0
	for tid, c := range after {
		if old, ok := before[tid]; !ok || c != old {
			n++
		}
	}
	return n
}
