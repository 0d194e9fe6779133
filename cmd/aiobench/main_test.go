//go:build linux && cgo

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
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
		if err != nil || res.IOs <= 0 || res.Seconds < 0.04 {
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
	var depth, reapMax, ios, ring, calls int
	last := strings.TrimSpace(string(out))
	last = last[strings.LastIndex(last, "\n")+1:]
	if _, err := fmt.Sscanf(last, "aiocore-bench: depth=%d reap_max=%d bs=4096 ios=%d", &depth, &reapMax, &ios); err != nil {
		t.Fatalf("-r 1: %v in %q", err, last)
	}
	fields := strings.Fields(last)
	fmt.Sscanf(fields[len(fields)-2], "ring_events=%d", &ring)
	fmt.Sscanf(fields[len(fields)-1], "getevents_calls=%d", &calls)
	if depth != 8 || reapMax != 1 || ios != 400 || ring+calls != ios {
		t.Fatalf("-r 1: depth %d, reap_max %d, %d reads, %d from the ring and %d io_getevents calls: %q", depth, reapMax, ios, ring, calls, last)
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
	for _, j := range []job{
		{Kind: kindRand, Depth: 4, Direct: true, Secs: 0.05},
		{Kind: kindRand, Depth: 4, Direct: true, Write: true, Secs: 0.05},
		{Kind: kindRand, Depth: 4, Secs: 0.05},
	} {
		j.File, _ = dataFile(t, 64*ioSize)
		stdout, u, err := runMeasured(fioArgv(r, keyFio, j))
		if err != nil {
			t.Fatal(err)
		}
		res, err := fioOutput(stdout)
		if err != nil || res.IOs <= 0 || res.Seconds <= 0 {
			t.Fatalf("%+v: %+v, %v", j, res, err)
		}
		if u.Threads < 2 {
			t.Fatalf("fio --thread ran %d threads, want its job thread beside the main one", u.Threads)
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
