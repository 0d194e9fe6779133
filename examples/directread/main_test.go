//go:build linux && cgo

package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/linuxaio/aio/internal/testlock"
)

// TestMain holds testlock shared, so that package aio's test of
// fs.aio-max-nr does not run beside these tests.
func TestMain(m *testing.M) { os.Exit(testlock.Run(m)) }

// The checksum readDirect computes from out-of-order O_DIRECT completions
// matches a plain sequential read, for sizes that end mid-read and depths
// from 1 up.
func TestReadDirect(t *testing.T) {
	for _, c := range []struct {
		size      int64
		depth, bs int
	}{
		{4 << 20, 1, 4096},
		{4<<20 + 4096*3, 8, 16384},
		{1<<20 + 100, 32, 4096},
	} {
		name := filepath.Join(t.TempDir(), "data")
		if err := makeFile(name, c.size); err != nil {
			t.Fatal(err)
		}
		r, err := readDirect(name, c.depth, c.bs)
		if err != nil {
			t.Fatal(err)
		}
		want, err := plainSum(name)
		if err != nil {
			t.Fatal(err)
		}
		if r.Sum != want || r.Bytes != c.size {
			t.Fatalf("size %d depth %d: crc %08x over %d bytes, want %08x over %d", c.size, c.depth, r.Sum, r.Bytes, want, c.size)
		}
		if !r.Direct {
			t.Logf("%s does not support O_DIRECT; read buffered", name)
		}
		if r.IOs != int((c.size+int64(c.bs)-1)/int64(c.bs)) {
			t.Fatalf("%d reads for %d bytes of %d", r.IOs, c.size, c.bs)
		}
	}
}
