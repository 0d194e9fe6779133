//go:build linux && cgo

package main

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/linuxaio/aio/internal/testlock"
)

// TestMain holds testlock shared, so that package aio's test of
// fs.aio-max-nr does not run beside these tests.
func TestMain(m *testing.M) { os.Exit(testlock.Run(m)) }

// dcopy's output file equals its input byte for byte, for sizes that end
// mid-chunk and mid-block, an empty file, and depths from 1 up; the
// progress bar reaches 100%.
func TestCopy(t *testing.T) {
	for _, c := range []struct {
		size      int
		depth, bs string
	}{
		{24<<20 + 4096 + 100, "8", "1048576"},
		{3<<20 + 512, "1", "65536"},
		{100, "4", "4096"},
		{0, "2", "4096"},
	} {
		dir := t.TempDir()
		src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
		data := make([]byte, c.size)
		rand.Read(data)
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		var out, progress bytes.Buffer
		if err := run([]string{"-depth", c.depth, "-bs", c.bs, src, dst}, &out, &progress); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(dst)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, data) {
			t.Fatalf("size %d: the copy differs (%d bytes)", c.size, len(got))
		}
		if !strings.Contains(progress.String(), "100%") || !strings.Contains(out.String(), "MiB/s") {
			t.Fatalf("output %q, progress %q", out.String(), progress.String())
		}
	}
}

// A source that does not exist, or bad arguments, fail with an error.
func TestCopyErrors(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	if err := run([]string{filepath.Join(dir, "missing"), filepath.Join(dir, "dst")}, &out, &out); err == nil {
		t.Fatal("copying a missing file succeeded")
	}
	if err := run([]string{"only-one"}, &out, &out); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("one argument: %v", err)
	}
	// A file copied onto itself, by its name or through a link, is
	// refused and left as it was.
	src := filepath.Join(dir, "src")
	data := make([]byte, 10000)
	rand.Read(data)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(src, link); err != nil {
		t.Fatal(err)
	}
	for _, dst := range []string{src, link} {
		if err := run([]string{src, dst}, &out, &out); err == nil || !strings.Contains(err.Error(), "same file") {
			t.Fatalf("copy onto %s: %v", dst, err)
		}
		if got, _ := os.ReadFile(src); !bytes.Equal(got, data) {
			t.Fatalf("copy onto %s changed the source", dst)
		}
	}
}
