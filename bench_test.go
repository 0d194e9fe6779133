//go:build linux && cgo

package aio_test

import (
	"bytes"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// benchFile is the file the benchmarks read: AIO_BENCH_FILE if set (to
// compare with csrc's aiocore-bench on the same file), else AIO_BENCH_SIZE
// bytes (default 256 MiB) of data made once per run beside the package
// (tmpfs before Linux 6.6 refuses O_DIRECT) and removed by TestMain.
var benchFile = sync.OnceValues(func() (string, error) {
	if name := os.Getenv("AIO_BENCH_FILE"); name != "" {
		return name, nil
	}
	size := int64(256 << 20)
	if s := os.Getenv("AIO_BENCH_SIZE"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return "", err
		}
		size = n
	}
	f, err := os.CreateTemp(".", ".aio-bench-")
	if err != nil {
		return "", err
	}
	defer f.Close()
	benchPath = f.Name()
	chunk := pattern(1<<20, 1)
	for off := int64(0); off < size; off += int64(len(chunk)) {
		if _, err := f.Write(chunk[:min(int64(len(chunk)), size-off)]); err != nil {
			return "", err
		}
	}
	return f.Name(), f.Sync()
})

// BenchmarkGetEventsIntoReadDirect does O_DIRECT 4 KiB random reads with 32
// in flight, reaping with GetEventsInto into one slice and resubmitting each
// completed Block in one batch. It reports IOPS, CPU microseconds per read,
// OS threads and allocations (none per read).
func BenchmarkGetEventsIntoReadDirect(b *testing.B) {
	name, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	const depth = 32
	ctx, err := aio.NewContext(depth, aio.Manual())
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.Close()
	batch, offset := benchReads(b, name, syscall.O_DIRECT, depth)

	events := make([]aio.Event, depth)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	if _, err := ctx.Submit(batch...); err != nil {
		b.Fatal(err)
	}
	inflight, issued := depth, depth
	for done := 0; done < b.N; {
		n, err := ctx.GetEventsInto(events, 1, -1)
		if err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
		for _, ev := range events[:n] {
			if ev.N() != 4096 {
				b.Fatalf("read: %d, %v", ev.Res, ev.Err())
			}
			done++
			inflight--
			if issued < b.N {
				ev.Block.SetOffset(offset())
				batch = append(batch, ev.Block)
				issued++
			}
		}
		if len(batch) > 0 {
			if _, err := ctx.Submit(batch...); err != nil {
				b.Fatal(err)
			}
			inflight += len(batch)
		}
	}
	for inflight > 0 {
		n, _ := ctx.GetEventsInto(events, 1, -1)
		inflight -= n
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "IOPS")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/IO")
	b.ReportMetric(float64(osThreads()), "threads")
}

// BenchmarkReadDirect does O_DIRECT 4 KiB random reads with 32 in flight
// through the Events stream: each round takes the events that are there and
// resubmits their Blocks in one Submit. It reports IOPS, CPU microseconds
// per read and OS threads.
func BenchmarkReadDirect(b *testing.B) { benchStream(b, syscall.O_DIRECT) }

// BenchmarkReadCached is BenchmarkReadDirect on a page-cache-hot file: the
// kernel copies each read inside io_submit, so it measures the package's
// own cost per I/O.
func BenchmarkReadCached(b *testing.B) { benchStream(b, 0) }

func benchStream(b *testing.B, flags int) {
	name, err := benchFile()
	if err != nil {
		b.Fatal(err)
	}
	const depth = 32
	ctx, err := aio.NewContext(depth)
	if err != nil {
		b.Fatal(err)
	}
	defer ctx.Close()
	events := ctx.Events()
	batch, offset := benchReads(b, name, flags, depth)

	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	if _, err := ctx.Submit(batch...); err != nil {
		b.Fatal(err)
	}
	issued := depth
	take := func(ev aio.Event) {
		if ev.N() != 4096 {
			b.Fatalf("read: %d, %v", ev.Res, ev.Err())
		}
		if issued < b.N {
			ev.Block.SetOffset(offset())
			batch = append(batch, ev.Block)
			issued++
		}
	}
	for done := 0; done < b.N; {
		batch = batch[:0]
		take(<-events)
		done++
	more:
		for done < b.N {
			select {
			case ev := <-events:
				take(ev)
				done++
			default:
				break more
			}
		}
		if len(batch) > 0 {
			if _, err := ctx.Submit(batch...); err != nil {
				b.Fatal(err)
			}
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	st := ctx.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "IOPS")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/IO")
	b.ReportMetric(float64(osThreads()), "threads")
	b.ReportMetric(float64(st.Submitted)/float64(max(st.IOSubmitCalls, 1)), "IO/io_submit")
	b.ReportMetric(float64(st.Wakeups)/float64(b.N), "wakeups/IO")
}

// benchReads opens name with flags (O_DIRECT, or none for cache-hot reads,
// whose pages it reads in first) for the rest of the benchmark, and returns
// n Blocks reading 4 KiB each at random offsets, and the generator of
// further offsets.
func benchReads(b *testing.B, name string, flags, n int) ([]*aio.Block, func() int64) {
	f, err := os.OpenFile(name, os.O_RDONLY|flags, 0)
	if err != nil {
		b.Skipf("open: %v", err)
	}
	b.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	if flags&syscall.O_DIRECT == 0 {
		buf := make([]byte, 1<<20)
		for off := int64(0); off < fi.Size(); off += int64(len(buf)) {
			f.ReadAt(buf, off)
		}
	}
	blocks := uint64(fi.Size() / 4096)
	rng := uint64(88172645463325252)
	offset := func() int64 { // xorshift64
		rng ^= rng << 13
		rng ^= rng >> 7
		rng ^= rng << 17
		return int64(rng%blocks) * 4096
	}
	batch := make([]*aio.Block, 0, n)
	for range n {
		batch = append(batch, aio.NewRead(f, aligned(4096), offset()))
	}
	return batch, offset
}

var benchPath string // set once benchFile exists

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// osThreads returns the process's OS thread count from /proc/self/status.
func osThreads() int {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if v, ok := bytes.CutPrefix(line, []byte("Threads:")); ok {
			n, _ := strconv.Atoi(string(bytes.TrimSpace(v)))
			return n
		}
	}
	return -1
}

// Submitting a reused Block allocates nothing, on an O_DIRECT file (with
// its alignment check) as on a buffered one; reaping with GetEvents
// allocates only the returned slice, and with GetEventsInto nothing.
func TestSubmitAllocs(t *testing.T) {
	ctx := newContext(t, 4)
	df, _ := directFile(t, 1<<16)
	for _, b := range []*aio.Block{
		aio.NewRead(tempFile(t, pattern(4096, 1)), make([]byte, 512), 0),
		aio.NewRead(df, aligned(4096), 4096),
		aio.NewReadV(df, [][]byte{aligned(4096), aligned(4096)}, 0),
	} {
		var submitErr, reapErr error
		submits := testing.AllocsPerRun(100, func() {
			if _, err := ctx.Submit(b); err != nil {
				submitErr = err
			}
			if _, err := ctx.GetEvents(1, 1, -1); err != nil {
				reapErr = err
			}
		})
		if submitErr != nil || reapErr != nil {
			t.Fatal(submitErr, reapErr)
		}
		if submits > 1 {
			t.Fatalf("%s: Submit and GetEvents allocate %.1f times per I/O, want at most 1 (the result slice)", b.Command(), submits)
		}
		events := make([]aio.Event, 1)
		into := testing.AllocsPerRun(100, func() {
			if _, err := ctx.Submit(b); err != nil {
				submitErr = err
			}
			if n, err := ctx.GetEventsInto(events, 1, -1); n != 1 || err != nil || events[0].Block != b {
				reapErr = fmt.Errorf("GetEventsInto: %d, %v, %+v", n, err, events[0])
			}
		})
		if submitErr != nil || reapErr != nil {
			t.Fatal(submitErr, reapErr)
		}
		if into != 0 {
			t.Fatalf("%s: Submit and GetEventsInto allocate %.1f times per I/O, want 0", b.Command(), into)
		}
	}
}
