//go:build linux

package main

import (
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/linuxaio/aio/internal/testlock"
)

// TestMain holds testlock shared, so that package aio's test of
// fs.aio-max-nr does not run beside these tests.
func TestMain(m *testing.M) { os.Exit(testlock.Run(m)) }

// The verifier finds each kind of wrong record: a record that could not
// fail its check would make the soak prove nothing.
func TestCheckRecord(t *testing.T) {
	const off, gen, seed = 3 * recordSize, 7, 0x1234
	good := alignedRecord()
	fillRecord(good, off, gen, seed)
	if err := checkRecord(good, off, gen, seed); err != nil {
		t.Fatalf("a good record: %v", err)
	}
	if err := checkRecord(make([]byte, recordSize), off, 0, seed); err != nil {
		t.Fatalf("zeros where nothing was written: %v", err)
	}
	other := func(off int64, gen, seed uint64) []byte {
		p := make([]byte, recordSize)
		fillRecord(p, off, gen, seed)
		return p
	}
	flipped := append([]byte(nil), good...)
	flipped[100] ^= 1
	zeroCRC := append([]byte(nil), good...)
	copy(zeroCRC[recordSize-4:], []byte{0, 0, 0, 0})
	for _, c := range []struct {
		name string
		p    []byte
		gen  uint64
		want string
	}{
		{"one bit flipped", flipped, gen, "checksum"},
		{"checksum zeroed", zeroCRC, gen, "checksum"},
		{"another offset's record", other(off+recordSize, gen, seed), gen, "offset"},
		{"another file's record", other(off, gen, seed+1), gen, "seed"},
		{"an older generation", other(off, gen-1, seed), gen, "generation"},
		{"a newer generation", other(off, gen+1, seed), gen, "generation"},
		{"zeros instead of a record", make([]byte, recordSize), gen, "checksum"},
		{"a record where nothing was written", good, 0, "never written"},
	} {
		err := checkRecord(c.p, off, c.gen, seed)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error about %q", c.name, err, c.want)
		}
	}
}

// Every way reads back what it wrote, from many goroutines at once, on an
// O_DIRECT file, and leaves no kernel AIO context once closed.
func TestWays(t *testing.T) {
	dir, err := pickDir("")
	if err != nil {
		t.Skip(err) // no O_DIRECT here: tmpfs before Linux 6.6
	}
	for _, w := range ways {
		t.Run(w.name, func(t *testing.T) {
			f, err := os.CreateTemp(dir, ".aiosoak-test-")
			if err != nil {
				t.Fatal(err)
			}
			defer os.Remove(f.Name())
			defer f.Close()
			g, err := os.OpenFile(f.Name(), os.O_RDWR|syscall.O_DIRECT, 0)
			if err != nil {
				t.Fatal(err)
			}
			defer g.Close()
			const depth, n = 4, 64
			rw, err := w.open(g, depth)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for i := range 2 * depth {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := alignedRecord()
					for slot := i; slot < n; slot += 2 * depth {
						off := int64(slot) * recordSize
						fillRecord(buf, off, uint64(slot+1), 9)
						if _, err := rw.WriteAt(buf, off); err != nil {
							t.Error(err)
							return
						}
						clear(buf)
						if _, err := rw.ReadAt(buf, off); err != nil {
							t.Error(err)
							return
						}
						if err := checkRecord(buf, off, uint64(slot+1), 9); err != nil {
							t.Error(err)
						}
					}
				}()
			}
			wg.Wait()
			if _, err := rw.ReadAt(alignedRecord(), n*recordSize); err == nil {
				t.Error("a read past the end of the file returned no error")
			}
			if err := rw.Close(); err != nil {
				t.Fatal(err)
			}
			if m := aioMappings(); m != 0 {
				t.Fatalf("%d kernel AIO contexts mapped after Close", m)
			}
		})
	}
}
