//go:build linux && cgo

package main

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/linuxaio/aio/internal/testlock"
)

// TestMain lets the tests run this package's engines in processes of their
// own, as the runner does: the test binary started with -engine runs one
// job instead of the tests. The tests hold testlock shared, so that
// package aio's test of fs.aio-max-nr does not run beside them.
func TestMain(m *testing.M) {
	if len(os.Args) == 5 && os.Args[1] == "-engine" && os.Args[3] == "-job" {
		os.Exit(childMain(os.Args[2], os.Args[4]))
	}
	os.Exit(testlock.Run(m))
}

// testRunner is a runner for the engines' commands: this test binary for
// our own engines, csrc's benchmark built with make, and fio if installed.
func testRunner(t *testing.T) *runner {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return &runner{self: self}
}

// dataFile makes a file of size bytes of pseudo-random data in a directory
// that takes O_DIRECT, and returns its name and contents.
func dataFile(t *testing.T, size int64) (string, []byte) {
	t.Helper()
	name := filepath.Join(t.TempDir(), "data")
	if _, err := makeFile(name, size); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECT, 0)
	if errors.Is(err, syscall.EINVAL) {
		t.Skipf("%s refuses O_DIRECT (tmpfs before Linux 6.6); set TMPDIR to a disk", filepath.Dir(name))
	}
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return name, data
}

// makeFile writes the size asked, keeps a file of that size as it is, and
// replaces one of another size.
func TestMakeFile(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	for _, c := range []struct {
		size int64
		made bool
	}{{10000, true}, {10000, false}, {8192, true}} {
		made, err := makeFile(name, c.size)
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if made != c.made || fi.Size() != c.size {
			t.Fatalf("makeFile(%d): made %v, size %d; want made %v", c.size, made, fi.Size(), c.made)
		}
	}
	data, _ := os.ReadFile(name)
	if bytes.Count(data, []byte{0}) > len(data)/16 {
		t.Fatal("the file is mostly zeros, not pseudo-random data")
	}
}

// Each of our own random-I/O engines, run as a process by the runner's
// command, completes I/O and reports it; the write engines change the
// file's blocks.
func TestOwnEnginesRandom(t *testing.T) {
	r := testRunner(t)
	for _, e := range randEngines {
		if _, own := childEngines[e.key]; !own {
			continue
		}
		for _, write := range []bool{false, true} {
			name, before := dataFile(t, 64*ioSize)
			j := job{Kind: kindRand, File: name, Write: write, Direct: true, Depth: 4, Secs: 0.05}
			stdout, u, err := runMeasured(e.argv(r, e.key, j))
			if err != nil {
				t.Fatalf("%s, write %v: %v", e.key, write, err)
			}
			res, err := e.output(stdout)
			if err != nil || res.IOs <= 0 || res.Seconds <= 0 {
				t.Fatalf("%s, write %v: %+v, %v", e.key, write, res, err)
			}
			// Every I/O's latency was counted, and the cgo calls:
			// none for os.File, some for the package's engines.
			if l := res.Lat; l == nil || !(l.P50 > 0 && l.P50 <= l.P99 && l.P99 <= l.P999) {
				t.Fatalf("%s, write %v: latency %+v", e.key, write, l)
			}
			if c := res.CgoCalls; c == nil || (*c == 0) != (e.key == keyOSFile) {
				t.Fatalf("%s, write %v: cgo calls %v", e.key, write, c)
			}
			// A Go process has several threads; a goroutine per I/O
			// blocked in the kernel may add more.
			if u.Threads < 2 || u.CPU <= 0 || u.RSS <= 0 || u.VSZ < u.RSS {
				t.Fatalf("%s: usage %+v", e.key, u)
			}
			after, _ := os.ReadFile(name)
			if changed := !bytes.Equal(before, after); changed != write {
				t.Fatalf("%s, write %v: file changed %v", e.key, write, changed)
			}
		}
	}
}

// Each W4 engine reads every file whole, each round.
func TestW4Engines(t *testing.T) {
	dir := t.TempDir()
	if err := makeW4Files(dir, 3); err != nil {
		t.Fatal(err)
	}
	dataFile(t, ioSize) // skips where the temporary directory refuses O_DIRECT
	for _, e := range w4Engines {
		res, err := runChild(e.key, job{Kind: kindW4, Dir: dir, Files: 3, Reads: 4})
		if err != nil || res.IOs != 12 {
			t.Fatalf("%s: %+v, %v; want 12 reads", e.key, res, err)
		}
	}
}

// A W4 read is whole when it returns the file's size, with or without
// io.EOF; a short read or another error is not.
func TestCheckW4Read(t *testing.T) {
	f, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := w4File{f: f, size: 5000}
	for _, c := range []struct {
		n     int
		err   error
		whole bool
	}{{5000, nil, true}, {5000, io.EOF, true}, {4096, io.EOF, false}, {5000, syscall.EIO, false}} {
		if err := checkW4Read(w, c.n, c.err); (err == nil) != c.whole {
			t.Errorf("checkW4Read(%d, %v) = %v", c.n, c.err, err)
		}
	}
}

// W4's files are 1 KB to 100 KB, the same on every run.
func TestW4Sizes(t *testing.T) {
	a, b := w4Sizes(24), w4Sizes(24)
	for i := range a {
		if a[i] != b[i] || a[i] < 1000 || a[i] > 100000 {
			t.Fatalf("file %d: %d then %d bytes", i, a[i], b[i])
		}
	}
}

// An engine that is unknown, or lacks the workload, is an error.
func TestRunChildUnknown(t *testing.T) {
	if _, err := runChild("nonesuch", job{Kind: kindRand}); err == nil {
		t.Fatal("no error for an unknown engine")
	}
	if _, err := runChild(keySeq, job{Kind: kindRand}); err == nil {
		t.Fatal("no error for W4's sequential engine on random I/O")
	}
}

// The C loop, built with make, runs random reads and writes and its last
// line is read back.
func TestCEngine(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed (bash scripts/deps.sh --test)")
	}
	build := exec.Command("make", "-s", "-C", "../../csrc", "build/aiocore-bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	r := &runner{cbench: "../../csrc/build/aiocore-bench"}
	for _, write := range []bool{false, true} {
		name, before := dataFile(t, 64*ioSize)
		j := job{Kind: kindRand, File: name, Write: write, Direct: true, Depth: 8, Secs: 0.05}
		stdout, u, err := runMeasured(cArgv(r, keyC, j))
		if err != nil {
			t.Fatal(err)
		}
		res, err := cOutput(stdout)
		if err != nil || res.IOs <= 0 || res.Seconds < 0.04 || res.Lat == nil || res.CgoCalls != nil {
			t.Fatalf("write %v: %+v, %v from %q", write, res, err, stdout)
		}
		if u.Threads != 1 {
			t.Fatalf("the C loop had %d threads, want 1", u.Threads)
		}
		after, _ := os.ReadFile(name)
		if changed := !bytes.Equal(before, after); changed != write {
			t.Fatalf("write %v: file changed %v", write, changed)
		}
	}
	if _, err := cOutput([]byte("aiocore-bench: error: open x: ENOENT\n")); err == nil {
		t.Fatal("no error for output without ios= and seconds=")
	}

	// -r 1 reaps one event per round: each comes from the ring or from
	// one io_getevents call of its own.
	name, _ := dataFile(t, 64*ioSize)
	out, err := exec.Command(r.cbench, "-f", name, "-d", "8", "-n", "400", "-r", "1").Output()
	if err != nil {
		t.Fatalf("-r 1: %v", err)
	}
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndex(last, "\n")+1:]
	field := map[string]string{}
	for _, f := range strings.Fields(last) {
		if k, v, ok := strings.Cut(f, "="); ok {
			field[k] = v
		}
	}
	number := func(k string) int {
		n, err := strconv.Atoi(field[k])
		if err != nil {
			t.Fatalf("-r 1: %s=%q in %q", k, field[k], last)
		}
		return n
	}
	depth, reapMax, ios := number("depth"), number("reap_max"), number("ios")
	ring, calls := number("ring_events"), number("getevents_calls")
	if depth != 8 || reapMax != 1 || ios != 400 || ring+calls != ios {
		t.Fatalf("-r 1: depth %d, reap_max %d, %d reads, %d from the ring and %d io_getevents calls: %q", depth, reapMax, ios, ring, calls, last)
	}
	res, err := cOutput(out)
	if err != nil || res.Lat == nil || !(res.Lat.P50 > 0 && res.Lat.P50 <= res.Lat.P99 && res.Lat.P99 <= res.Lat.P999) {
		t.Fatalf("-r 1: latency %+v, %v from %q", res.Lat, err, last)
	}
	if err := exec.Command(r.cbench, "-f", name, "-r", "0").Run(); err == nil {
		t.Fatal("-r 0 accepted")
	}
}

// fio runs the same jobs, and its JSON report is read back.
func TestFioEngine(t *testing.T) {
	fio, err := exec.LookPath("fio")
	if err != nil {
		t.Skip("fio is not installed (bash scripts/deps.sh --bench)")
	}
	r := &runner{fio: fio}
	for _, key := range []string{keyFio, keyUring} {
		for _, j := range []job{
			{Kind: kindRand, Depth: 4, Direct: true, Secs: 0.05},
			{Kind: kindRand, Depth: 4, Direct: true, Write: true, Secs: 0.05},
			{Kind: kindRand, Depth: 4, Secs: 0.05},
		} {
			j.File, _ = dataFile(t, 64*ioSize)
			argv := fioArgv(r, key, j)
			stdout, u, err := runMeasured(argv)
			if err != nil {
				t.Fatal(err)
			}
			res, err := fioOutput(stdout)
			if err != nil || res.IOs <= 0 || res.Seconds <= 0 {
				t.Fatalf("%s %+v: %+v, %v", key, j, res, err)
			}
			if res.Lat == nil || !(res.Lat.P50 > 0 && res.Lat.P50 <= res.Lat.P99 && res.Lat.P99 <= res.Lat.P999) {
				t.Fatalf("%s %+v: latency %+v", key, j, res.Lat)
			}
			if u.Threads < 2 {
				t.Fatalf("fio --thread ran %d threads, want its job thread beside the main one", u.Threads)
			}
			if wantEngine := map[string]string{keyFio: "libaio", keyUring: "io_uring"}[key]; !slices.Contains(argv, "--ioengine="+wantEngine) {
				t.Fatalf("%s: %q", key, argv)
			}
		}
	}
	for _, bad := range []string{"", "note: no JSON", `{"jobs": []}`, `{"jobs": [{"error": 5}]}`} {
		if _, err := fioOutput([]byte(bad)); err == nil {
			t.Fatalf("no error for fio output %q", bad)
		}
	}
}

// runMeasured reports a failing command's standard error.
func TestRunMeasuredFails(t *testing.T) {
	_, _, err := runMeasured([]string{"/bin/sh", "-c", "echo broken >&2; exit 3"})
	if err == nil || !bytes.Contains([]byte(err.Error()), []byte("broken")) {
		t.Fatalf("err = %v, want the command's standard error", err)
	}
}

// The idle check reports the process idle with and without a Context, and
// its threads.
func TestIdleEngine(t *testing.T) {
	name, _ := dataFile(t, 64*ioSize)
	res, err := runChild(keyIdle, job{Kind: kindIdle, File: name, Direct: true, Depth: 4, Secs: 0.05})
	if err != nil {
		t.Fatal(err)
	}
	i := res.Idle
	if i == nil || res.IOs <= 0 || i.Secs < 0.05 || i.Threads < 2 || i.Held != len(i.HeldWhat) {
		t.Fatalf("idle check: %+v, %+v", res, i)
	}
}

// The threads an idle Go program parks are not counted as held; the
// test's own goroutines park the same way.
func TestHeldThreads(t *testing.T) {
	threads, held := heldThreads()
	if threads < 2 || len(held) != 0 {
		t.Fatalf("%d threads, held: %q", threads, held)
	}
}

// perf stat's CSV output is read by event name; a count perf could not
// take is an error.
func TestParsePerf(t *testing.T) {
	out := "# started on Sat Dec  5 12:37:31 2026\n\n" +
		"1234,,raw_syscalls:sys_enter,2332307,100.00,12.434,K/sec\n" +
		"7,,cpu-migrations,2332307,100.00,0.000,/sec\n"
	c, err := parsePerf([]byte(out))
	if err != nil || c.syscalls != 1234 || c.migrations != 7 {
		t.Fatalf("parsePerf = %+v, %v", c, err)
	}
	for _, bad := range []string{
		"",
		"<not supported>,,raw_syscalls:sys_enter,0,100.00,,\n7,,cpu-migrations,1,100.00,,\n",
		"1234,,raw_syscalls:sys_enter,2332307,100.00,12.434,K/sec\n",
	} {
		if _, err := parsePerf([]byte(bad)); err == nil {
			t.Errorf("no error for %q", bad)
		}
	}
}

// The accounting runs count system calls per I/O under perf stat: the C
// loop fewer than two per I/O at depth 8 (an io_submit per batch, an
// io_getevents when the ring is empty), the stream some, os.File one
// pread each at least.
func TestAccount(t *testing.T) {
	perf, why := findPerf()
	if perf == "" {
		t.Skip(why)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not installed (bash scripts/deps.sh --test)")
	}
	build := exec.Command("make", "-s", "-C", "../../csrc", "build/aiocore-bench")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("make: %v\n%s", err, out)
	}
	r := testRunner(t)
	r.perf, r.cbench = perf, "../../csrc/build/aiocore-bench"
	r.cfg.acctSecs = 0.2
	name, _ := dataFile(t, 256*ioSize)
	j := job{Kind: kindRand, File: name, Direct: true, Depth: 8}
	for _, c := range []struct {
		key    string
		lo, hi float64
	}{{keyC, 0.01, 2}, {keyAIO, 0.01, 20}, {keyOSFile, 1, 20}} {
		sys, mig, err := r.account(engineByKey(c.key), j)
		if err != nil {
			t.Fatalf("%s: %v", c.key, err)
		}
		if sys < c.lo || sys > c.hi || mig < 0 {
			t.Errorf("%s: %.3f system calls and %.3f migrations per I/O; want %g to %g system calls", c.key, sys, mig, c.lo, c.hi)
		}
	}
}
