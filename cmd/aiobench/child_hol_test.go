//go:build linux && cgo

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The buffered readers' order reads every block of the source once per
// pass, and not in order.
func TestColdOffset(t *testing.T) {
	for _, blocks := range []int64{1, 7, 64, 65536} {
		seen := map[int64]bool{}
		inOrder := true
		for k := range blocks {
			off := coldOffset(k, blocks)
			if off%ioSize != 0 || off < 0 || off >= blocks*ioSize || seen[off] {
				t.Fatalf("%d blocks: read %d at %d, out of the source or read before", blocks, k, off)
			}
			seen[off] = true
			inOrder = inOrder && off == k*ioSize
		}
		if coldOffset(blocks, blocks) != coldOffset(0, blocks) {
			t.Fatalf("%d blocks: the second pass starts elsewhere", blocks)
		}
		if blocks > 2 && inOrder {
			t.Fatalf("%d blocks: read in order, which the kernel would read ahead", blocks)
		}
	}
}

// W6's engine counts its O_DIRECT reads and their latencies, and, beside
// them, the buffered readers' reads, on the same Context or on another.
func TestHOLEngine(t *testing.T) {
	name, _ := dataFile(t, 64*ioSize)
	cold := filepath.Join(t.TempDir(), "cold")
	if _, err := makeFile(cold, 32*ioSize); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		readers int
		apart   bool
	}{{0, false}, {2, false}, {2, true}} {
		j := job{Kind: kindHOL, File: name, Direct: true, Depth: 4, Secs: 0.05, Cold: cold, Readers: c.readers, Apart: c.apart}
		res, err := runChild(keyHOL, j)
		if err != nil {
			t.Fatalf("%d readers, apart %v: %v", c.readers, c.apart, err)
		}
		if l := res.Lat; res.IOs <= 0 || l == nil || !(l.P50 > 0 && l.P50 <= l.P99) {
			t.Fatalf("%d readers, apart %v: %+v, latency %+v", c.readers, c.apart, res, l)
		}
		if (res.ColdIOs > 0) != (c.readers > 0) {
			t.Fatalf("%d readers, apart %v: %d buffered reads", c.readers, c.apart, res.ColdIOs)
		}
	}
	if _, err := runChild(keyHOL, job{Kind: kindHOL, File: name, Direct: true, Depth: 2, Secs: 0.01, Cold: cold, Readers: 3}); err == nil {
		t.Fatal("more buffered readers than O_DIRECT ones: no error")
	}
}

// -cases picks workloads; W5 is cold and File, os.File and the C loop's;
// W6 has its three cases where its source is set up.
func TestMakeCases(t *testing.T) {
	r := &runner{cfg: config{file: "/f", secs: 1, depths: []int{1, 32}, wdepths: []int{32}, w4Files: []int{1}, w4Reads: 1,
		idleSecs: 1, holReaders: 4}}
	ids := func() []string {
		var out []string
		for _, c := range r.makeCases() {
			out = append(out, c.id)
		}
		return out
	}
	all := ids()
	for _, want := range []string{readID(1), writeID(32), cachedID, idleID, w4ID(1), coldID} {
		if !slices.Contains(all, want) {
			t.Errorf("all cases %q lack %s", all, want)
		}
	}
	if slices.Contains(all, holMixedID) {
		t.Errorf("W6 without its source: %q", all)
	}

	r.cold = &coldSource{path: "/dev/loop9"}
	r.cfg.cases = map[string]bool{groupW5: true, groupW6: true}
	cases := r.makeCases()
	if got := ids(); !slices.Equal(got, []string{coldID, holAloneID, holMixedID, holApartID}) {
		t.Fatalf("-cases w5,w6: %q", got)
	}
	w5 := cases[0]
	var keys []string
	for _, e := range w5.engines {
		keys = append(keys, e.key)
	}
	if !w5.cold || w5.warm || w5.job.Direct || w5.job.Depth != 32 || !slices.Equal(keys, []string{keyFile, keyOSFile, keyC}) {
		t.Errorf("W5: %+v, engines %q", w5, keys)
	}
	for i, want := range []job{
		{Kind: kindHOL, File: "/f", Direct: true, Depth: 32, Secs: 1, Cold: "/dev/loop9"},
		{Kind: kindHOL, File: "/f", Direct: true, Depth: 32, Secs: 1, Cold: "/dev/loop9", Readers: 4},
		{Kind: kindHOL, File: "/f", Direct: true, Depth: 32, Secs: 1, Cold: "/dev/loop9", Readers: 4, Apart: true},
	} {
		if c := cases[1+i]; c.job != want || len(c.engines) != 1 || c.engines[0].key != keyHOL {
			t.Errorf("W6 case %s: %+v, want job %+v", c.id, c, want)
		}
	}

	// -engines without file-hol leaves W6 out.
	r.cfg.engines = map[string]bool{keyFile: true}
	if got := ids(); !slices.Equal(got, []string{coldID}) {
		t.Fatalf("-cases w5,w6 -engines file: %q", got)
	}
}

// dropCache empties a file's pages from the page cache.
func TestDropCache(t *testing.T) {
	name := filepath.Join(t.TempDir(), "f")
	if _, err := makeFile(name, 16*ioSize); err != nil {
		t.Fatal(err)
	}
	if err := dropCache(name); err != nil {
		t.Fatal(err)
	}
	if err := dropCache(filepath.Join(t.TempDir(), "none")); err == nil {
		t.Fatal("no error for a file that is not there")
	}
}

// As root, W6's loop device is attached over a file in /dev/shm and
// detached, its file removed, by close.
func TestLoopSource(t *testing.T) {
	if os.Geteuid() != 0 || testing.Short() {
		t.Skip("attaching a loop device takes root (and 256 MiB of /dev/shm)")
	}
	src, why, err := makeColdSource(holLoop, "/nowhere")
	if err != nil {
		t.Skipf("no loop device here: %v", err)
	}
	if why != "" || !strings.HasPrefix(src.path, "/dev/loop") || src.loop != src.path {
		t.Fatalf("source %+v, why %q", src, why)
	}
	loop, shm := src.loop, src.shm
	f, err := os.Open(loop)
	if err != nil {
		src.close()
		t.Fatal(err)
	}
	size, _ := f.Seek(0, 2)
	f.Close()
	if err := src.close(); err != nil {
		t.Fatal(err)
	}
	if size != coldSize {
		t.Fatalf("%s: %d bytes, want %d", loop, size, coldSize)
	}
	out, _ := exec.Command("losetup", "-j", filepath.Join(shm, "cold")).Output()
	if _, err := os.Stat(shm); err == nil || len(out) > 0 {
		t.Fatalf("after close: %s still there, losetup -j: %q", shm, out)
	}
	if err := src.close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
}
