//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/linuxaio/aio"
)

// The fallback for kernels without statx DIOALIGN reads the logical block
// size of the file's block device, and agrees with sysfs and with statx.
func TestBlockAlignment(t *testing.T) {
	df, _ := directFile(t, 4096)
	a, err := aio.BlockAlignment(df)
	if err != nil {
		t.Skipf("file not on a block device: %v", err)
	}
	if a.Source != aio.AlignBlockDevice || a.Offset != a.Memory || a.Offset < 512 {
		t.Fatalf("BlockAlignment %+v", a)
	}
	st, err := aio.DirectAlignment(df)
	if err != nil {
		t.Fatal(err)
	}
	if st.Source == aio.AlignStatx && st.Offset != a.Offset {
		t.Fatalf("statx says offsets align to %d, the device's block size is %d", st.Offset, a.Offset)
	}
	// A block device itself, through BLKSSZGET: the file's own device
	// if the sandbox lets us open it, else any other one it does.
	names := []string{devName(t, df)}
	if m, _ := filepath.Glob("/sys/class/block/*/queue/logical_block_size"); len(m) > 0 {
		for _, p := range m {
			names = append(names, filepath.Base(filepath.Dir(filepath.Dir(p))))
		}
	}
	for _, name := range names {
		bd, err := os.Open("/dev/" + name)
		if err != nil {
			continue
		}
		defer bd.Close()
		want := procInt(t, "/sys/class/block/"+name+"/queue/logical_block_size")
		b, err := aio.BlockAlignment(bd)
		if err != nil || b.Offset != want || b.Source != aio.AlignBlockDevice {
			t.Fatalf("BLKSSZGET on /dev/%s: %+v, %v; sysfs says %d", name, b, err, want)
		}
		t.Logf("/dev/%s: %d-byte logical blocks", name, want)
		return
	}
	t.Skipf("BLKSSZGET not checked: this sandbox opens none of the block devices %v", names)
}

// devName returns the name of the block device f is on, as under /dev.
func devName(t *testing.T, f *os.File) string {
	var st syscall.Stat_t
	if err := syscall.Stat(f.Name(), &st); err != nil {
		t.Fatal(err)
	}
	uevent, err := os.ReadFile(fmt.Sprintf("/sys/dev/block/%d:%d/uevent", st.Dev>>8&0xfff, st.Dev&0xff|st.Dev>>12&0xfff00))
	if err != nil {
		t.Fatal(err)
	}
	_, name, _ := bytes.Cut(uevent, []byte("DEVNAME="))
	name, _, _ = bytes.Cut(name, []byte("\n"))
	return string(name)
}

// Where nothing reports the alignment (a file on no block device, here
// tmpfs, whose statx gives no DIOALIGN), DirectAlignment gives the page
// size, and Submit checks nothing.
func TestDirectAlignmentNoDevice(t *testing.T) {
	name := filepath.Join("/dev/shm", fmt.Sprintf("aio-test-%d", os.Getpid()))
	if err := os.WriteFile(name, pattern(8192, 1), 0o600); err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	defer os.Remove(name)
	f, a, err := aio.OpenDirect(name, os.O_RDONLY, 0)
	if errors.Is(err, syscall.EINVAL) {
		t.Skipf("tmpfs refuses O_DIRECT on this kernel (before 6.6): %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	file := mustFile(t, streamContext(t, 4), f)
	defer file.Close()
	if a.Source == aio.AlignStatx {
		t.Skipf("this kernel's tmpfs reports DIOALIGN: %+v", a)
	}
	page := os.Getpagesize()
	if a != (aio.Alignment{Memory: page, Offset: page, ReadOffset: page, Source: aio.AlignPage}) {
		t.Fatalf("OpenDirect on tmpfs: alignment %+v", a)
	}
	if file.Alignment().Source != aio.AlignNone {
		t.Fatalf("File on tmpfs checks %+v", file.Alignment())
	}
	if n, err := file.ReadAt(make([]byte, 100), 10); n != 100 || err != nil {
		t.Fatalf("unaligned ReadAt on tmpfs O_DIRECT: %d, %v", n, err)
	}
}
