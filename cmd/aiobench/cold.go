//go:build linux && cgo

package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
)

// Cold buffered reads (W5, W6) need a page cache that does not hold the
// blocks read. posix_fadvise(POSIX_FADV_DONTNEED) drops a file's clean
// cached pages, on a regular file and on a block device alike; the module
// has no golang.org/x/sys, so it is called with syscall.Syscall6.
const fadvDontNeed = 4 // POSIX_FADV_DONTNEED

// fadvise calls posix_fadvise(fd, off, n, advice); n 0 means to the end.
// It takes the 64-bit ABI's arguments (amd64, arm64, riscv64...), the
// machines the runner is used on.
func fadvise(fd uintptr, off, n int64, advice int) error {
	_, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, fd, uintptr(off), uintptr(n), uintptr(advice), 0, 0)
	if e != 0 {
		return e
	}
	return nil
}

// dropCache drops name's pages from the page cache, after writing back
// any dirty ones (DONTNEED leaves those), so that its next buffered reads
// go to the device.
func dropCache(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil && !errors.Is(err, syscall.EINVAL) {
		return fmt.Errorf("sync %s: %w", name, err)
	}
	if err := fadvise(f.Fd(), 0, 0, fadvDontNeed); err != nil {
		return fmt.Errorf("posix_fadvise(%s, DONTNEED): %w", name, err)
	}
	return nil
}

// Where W6's cold buffered readers read from (-holsource).
const (
	holLoop = "loop" // a loop device over a file in /dev/shm: no disk shared
	holDisk = "disk" // a file beside -file, on the disk the O_DIRECT reads use
	holAuto = "auto" // holLoop if it can be set up (root), else holDisk
)

// coldSize is the size of W6's cold source.
const coldSize = 256 << 20

// coldSource is the file or block device W6's buffered readers read.
type coldSource struct {
	path string // what the readers open
	what string // for the report
	loop string // the loop device to detach, if one was attached
	shm  string // its backing file in /dev/shm, removed after
}

// makeColdSource sets up W6's cold source as asked (holLoop, holDisk or
// holAuto) and returns it, with why it fell back from a loop device to
// the disk if it did.
//
// The loop device is what W6 is for: its reads go through the block layer
// and the loop driver, so a buffered read that misses the page cache is
// done inside io_submit, as on a disk, yet shares no queue with the
// O_DIRECT reads, whose p99 then moves with head-of-line blocking in the
// shared io_submit and not with disk contention. Setting it up takes
// root.
func makeColdSource(kind, diskFile string) (src *coldSource, why string, err error) {
	if kind != holDisk {
		src, err := loopSource()
		if err == nil || kind == holLoop {
			return src, "", err
		}
		why = err.Error()
	}
	name := diskFile + ".cold"
	if _, err := makeFile(name, coldSize); err != nil {
		return nil, why, err
	}
	return &coldSource{path: name, what: fmt.Sprintf("`%s`, %d MiB on the O_DIRECT file's disk", name, coldSize>>20)}, why, nil
}

// loopSource attaches a loop device to a new file of coldSize bytes in
// /dev/shm.
func loopSource() (*coldSource, error) {
	if os.Geteuid() != 0 {
		return nil, errors.New("not root: a loop device cannot be attached")
	}
	shm, err := os.MkdirTemp("/dev/shm", "aiobench-")
	if err != nil {
		return nil, err
	}
	src := &coldSource{shm: shm}
	if _, err := makeFile(filepath.Join(shm, "cold"), coldSize); err != nil {
		src.close()
		return nil, err
	}
	out, err := exec.Command("losetup", "-f", "--show", filepath.Join(shm, "cold")).Output()
	if err != nil {
		src.close()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%v: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("losetup -f --show: %v", err)
	}
	src.loop = strings.TrimSpace(string(out))
	src.path = src.loop
	src.what = fmt.Sprintf("%s, a loop device over a %d MiB file in /dev/shm, read as a raw block device", src.loop, coldSize>>20)
	return src, nil
}

// close detaches the loop device and removes its backing file; a source
// on the disk stays, like -file, for the next run.
func (s *coldSource) close() error {
	if s == nil {
		return nil
	}
	var err error
	if s.loop != "" {
		if out, e := exec.Command("losetup", "-d", s.loop).CombinedOutput(); e != nil {
			err = fmt.Errorf("losetup -d %s: %v: %s", s.loop, e, strings.TrimSpace(string(out)))
		}
		s.loop = ""
	}
	if s.shm != "" {
		os.RemoveAll(s.shm)
		s.shm = ""
	}
	return err
}
