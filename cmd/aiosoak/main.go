//go:build linux

// Command aiosoak is the data-verifying soak of the aio package. For the
// given duration, several goroutines per file write 4 KiB checksummed
// records (record.go) at random offsets and read some back, through each
// way of doing I/O with the package (ways.go: the Events stream, Block.Wait,
// GetEvents), each on an O_DIRECT file and on a buffered one. Then every
// record of every file is read back, through the package and again with
// plain reads, and verified: each must be the last generation written at
// its offset.
//
// It reports the I/Os done, the bytes verified, the errors, the resident
// memory after a warm-up and at the end, and the kernel AIO contexts and
// goroutines left once everything is closed. It exits with status 1 if
// any I/O failed or any record was wrong, if resident memory grew by more
// than 10%, or if a context or goroutine was left.
//
//	go run ./cmd/aiosoak -duration 20s
//
// It needs Linux.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

func main() {
	var c config
	flag.DurationVar(&c.duration, "duration", 20*time.Second, "how long to write")
	flag.StringVar(&c.dir, "dir", "", "directory for the files; by default $TMPDIR, else the current directory, whichever supports O_DIRECT")
	flag.Int64Var(&c.size, "size", 16<<20, "bytes per file")
	flag.IntVar(&c.writers, "writers", 4, "goroutines per file")
	flag.Parse()
	if c.size < int64(c.writers)*recordSize || c.writers < 1 || c.duration <= 0 {
		fmt.Fprintln(os.Stderr, "aiosoak: need -writers ≥ 1, -duration > 0 and -size ≥ 4096 × writers")
		os.Exit(2)
	}
	if !run(c) {
		fmt.Println("FAIL")
		os.Exit(1)
	}
	fmt.Println("PASS")
}

type config struct {
	duration time.Duration
	dir      string
	size     int64
	writers  int
}

// target is one file and the way the soak does I/O on it.
type target struct {
	name string // way/mode
	path string
	f    *os.File
	rw   recordIO
	seed uint64
	// gens holds, per record, the generation of its last completed
	// write. Record i is written and read only by writer i % writers
	// while writing, so it needs no lock.
	gens []uint64

	writes, reads, verified, errs atomic.Int64
}

// errorsShown bounds the errors printed in full.
const errorsShown = 10

var shown atomic.Int64

func (t *target) fail(err error) {
	t.errs.Add(1)
	if shown.Add(1) <= errorsShown {
		fmt.Fprintf(os.Stderr, "aiosoak: %s: %v\n", t.name, err)
	}
}

func run(c config) (ok bool) {
	goroutines, maps, aioNr := runtime.NumGoroutine(), aioMappings(), procInt("/proc/sys/fs/aio-nr")
	dir, err := pickDir(c.dir)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiosoak: %v\n", err)
		return false
	}
	targets, err := openTargets(c, dir)
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiosoak: %v\n", err)
		return false
	}
	fmt.Printf("aiosoak: %v, %d files of %d MiB in %s (%d ways × O_DIRECT and buffered), %d writers each\n",
		c.duration, len(targets), c.size>>20, dir, len(ways), c.writers)

	rssStart, rssEnd := write(c, targets)
	verify(c, targets)
	for _, t := range targets {
		t.close()
	}
	ok = report(c, targets, rssStart, rssEnd)
	endMaps := aioMappings()
	endGoroutines := runtime.NumGoroutine()
	for deadline := time.Now().Add(2 * time.Second); endGoroutines > goroutines && time.Now().Before(deadline); endGoroutines = runtime.NumGoroutine() {
		time.Sleep(10 * time.Millisecond)
	}
	fmt.Printf("aio contexts: %d mapped at start, %d at end; fs.aio-nr %d at start, %d at end (machine-wide: other processes count too)\n",
		maps, endMaps, aioNr, procInt("/proc/sys/fs/aio-nr"))
	fmt.Printf("goroutines: %d at start, %d at end\n", goroutines, endGoroutines)
	if endMaps != maps {
		fmt.Println("aiosoak: kernel AIO contexts left open")
		ok = false
	}
	if endGoroutines > goroutines {
		fmt.Println("aiosoak: goroutines left running")
		ok = false
	}
	return ok
}

// openTargets makes, for every way, an O_DIRECT file and a buffered one,
// each c.size bytes of zeros, and the way's recordIO over it.
func openTargets(c config, dir string) ([]*target, error) {
	var targets []*target
	for i, w := range ways {
		for j, mode := range []string{"direct", "buffered"} {
			t := &target{
				name: w.name + "/" + mode,
				path: filepath.Join(dir, fmt.Sprintf("aiosoak-%d-%s-%s", os.Getpid(), w.name, mode)),
				seed: uint64(os.Getpid())<<16 | uint64(i)<<8 | uint64(j) | 1<<63,
				gens: make([]uint64, c.size/recordSize),
			}
			flags := os.O_RDWR | os.O_CREATE | os.O_EXCL
			if mode == "direct" {
				flags |= syscall.O_DIRECT
			}
			var err error
			if t.f, err = os.OpenFile(t.path, flags, 0o600); err != nil {
				return targets, err
			}
			targets = append(targets, t)
			if err := t.f.Truncate(c.size); err != nil {
				return targets, err
			}
			if t.rw, err = w.open(t.f, c.writers); err != nil {
				return targets, fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	return targets, nil
}

// close releases the target's way and removes its file; it may be called
// again.
func (t *target) close() {
	if t.rw != nil {
		if err := t.rw.Close(); err != nil {
			t.fail(fmt.Errorf("close: %w", err))
		}
		t.rw = nil
	}
	if t.f != nil {
		t.f.Close()
		os.Remove(t.path)
		t.f = nil
	}
}

// pickDir returns dir, or when it is empty the first of $TMPDIR and the
// current directory that supports O_DIRECT (tmpfs before Linux 6.6 does
// not).
func pickDir(dir string) (string, error) {
	dirs := []string{dir}
	if dir == "" {
		dirs = []string{os.TempDir(), "."}
	}
	var why []string
	for _, d := range dirs {
		f, err := os.CreateTemp(d, ".aiosoak-probe-")
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		name := f.Name()
		f.Close()
		g, err := os.OpenFile(name, os.O_RDWR|syscall.O_DIRECT, 0)
		os.Remove(name)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: O_DIRECT: %v", d, err))
			continue
		}
		g.Close()
		return d, nil
	}
	return "", fmt.Errorf("no directory for the files: %s", strings.Join(why, "; "))
}

// write runs the writers for c.duration and returns the resident memory
// after the warm-up and at the end, both measured while they run. It
// measures every second, each time after a garbage collection (see rss),
// so that both figures come after the same regime of collections: a first
// forced collection alone gives back more than the steady state keeps.
func write(c config, targets []*target) (rssStart, rssEnd int64) {
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i, t := range targets {
		for w := range c.writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t.writer(w, c.writers, uint64(i*c.writers+w+1)*0x9e3779b97f4a7c15, &stop)
			}()
		}
	}
	start := time.Now()
	warmup := min(max(c.duration/10, 2*time.Second), 30*time.Second, c.duration/2)
	every := max(c.duration/10, 5*time.Second)
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	next := start.Add(every)
	for now := time.Now(); now.Sub(start) < c.duration; now = <-tick.C {
		r := rss()
		if rssStart == 0 && now.Sub(start) >= warmup {
			rssStart = r
			fmt.Printf("%6.0fs  warm-up done: RSS %.1f MiB\n", now.Sub(start).Seconds(), mib(rssStart))
		}
		if !now.Before(next) {
			progress(now.Sub(start), targets, r)
			next = next.Add(every)
		}
	}
	rssEnd = rss()
	if rssStart == 0 {
		rssStart = rssEnd
	}
	stop.Store(true)
	wg.Wait()
	progress(time.Since(start), targets, rssEnd)
	return rssStart, rssEnd
}

// writer writes and reads back, at random, the records it owns: those at
// index w modulo writers.
func (t *target) writer(w, writers int, rng uint64, stop *atomic.Bool) {
	buf := alignedRecord()
	owned := uint64((len(t.gens) - w + writers - 1) / writers)
	for !stop.Load() {
		rng ^= rng << 13 // xorshift64
		rng ^= rng >> 7
		rng ^= rng << 17
		slot := w + int(rng>>2%owned)*writers
		off := int64(slot) * recordSize
		if rng&3 == 0 {
			t.readBack(buf, slot)
			continue
		}
		gen := t.gens[slot] + 1
		fillRecord(buf, off, gen, t.seed)
		if _, err := t.rw.WriteAt(buf, off); err != nil {
			t.fail(err)
			continue
		}
		t.gens[slot] = gen
		t.writes.Add(1)
	}
}

// readBack reads record slot through the target's way and verifies it.
func (t *target) readBack(buf []byte, slot int) {
	off := int64(slot) * recordSize
	if _, err := t.rw.ReadAt(buf, off); err != nil {
		t.fail(err)
		return
	}
	t.reads.Add(1)
	if err := checkRecord(buf, off, t.gens[slot], t.seed); err != nil {
		t.fail(err)
		return
	}
	t.verified.Add(recordSize)
}

// verify reads every record of every file back through its way, by the
// writers' partition, then again with plain reads of the file by path.
func verify(c config, targets []*target) {
	var wg sync.WaitGroup
	for _, t := range targets {
		for w := range c.writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := alignedRecord()
				for slot := w; slot < len(t.gens); slot += c.writers {
					t.readBack(buf, slot)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.verifyPlain()
		}()
	}
	wg.Wait()
}

// verifyPlain checks every record with os.File reads, apart from the
// package. It runs beside verify's reads through the package: nothing
// writes any more.
func (t *target) verifyPlain() {
	f, err := os.Open(t.path)
	if err != nil {
		t.fail(err)
		return
	}
	defer f.Close()
	buf := make([]byte, 256*recordSize)
	for base := 0; base < len(t.gens); base += 256 {
		n := min(256, len(t.gens)-base)
		if _, err := f.ReadAt(buf[:n*recordSize], int64(base)*recordSize); err != nil {
			t.fail(fmt.Errorf("plain read at %d: %w", int64(base)*recordSize, err))
			return
		}
		for i := range n {
			slot := base + i
			if err := checkRecord(buf[i*recordSize:], int64(slot)*recordSize, t.gens[slot], t.seed); err != nil {
				t.fail(fmt.Errorf("plain read: %w", err))
				continue
			}
			t.verified.Add(recordSize)
		}
	}
}

func progress(elapsed time.Duration, targets []*target, rss int64) {
	var ios, errs int64
	for _, t := range targets {
		ios += t.writes.Load() + t.reads.Load()
		errs += t.errs.Load()
	}
	fmt.Printf("%6.0fs  %d I/Os (%.0f per second), %d errors, RSS %.1f MiB, %d goroutines\n",
		elapsed.Seconds(), ios, float64(ios)/elapsed.Seconds(), errs, mib(rss), runtime.NumGoroutine())
}

// report prints the figures of each target and the totals, and says
// whether they pass.
func report(c config, targets []*target, rssStart, rssEnd int64) bool {
	fmt.Printf("%-16s %10s %10s %12s %7s\n", "way/file", "writes", "reads", "verified", "errors")
	var writes, reads, verified, errs int64
	for _, t := range targets {
		fmt.Printf("%-16s %10d %10d %8.1f MiB %7d\n", t.name, t.writes.Load(), t.reads.Load(), mib(t.verified.Load()), t.errs.Load())
		writes += t.writes.Load()
		reads += t.reads.Load()
		verified += t.verified.Load()
		errs += t.errs.Load()
	}
	fmt.Printf("total: %d I/Os (%d writes, %d reads) in %v, %d bytes verified, %d errors\n",
		writes+reads, writes, reads, c.duration, verified, errs)
	growth := float64(rssEnd-rssStart) / float64(rssStart)
	fmt.Printf("RSS: %.1f MiB after the warm-up, %.1f MiB at the end (%+.1f%%; measured every second after runtime.GC and debug.FreeOSMemory, with the writers running)\n",
		mib(rssStart), mib(rssEnd), 100*growth)
	ok := errs == 0 && writes > 0
	if growth > 0.10 {
		fmt.Println("aiosoak: resident memory grew by more than 10%")
		ok = false
	}
	return ok
}

// alignedRecord returns a record buffer aligned for O_DIRECT.
func alignedRecord() []byte {
	const align = 4096
	p := make([]byte, recordSize+align)
	skip := (align - int(uintptr(unsafe.Pointer(unsafe.SliceData(p)))%align)) % align
	return p[skip : skip+recordSize : skip+recordSize]
}

func mib(n int64) float64 { return float64(n) / (1 << 20) }
