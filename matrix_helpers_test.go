//go:build linux && cgo

package aio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/linuxaio/aio"
)

// The machinery of the file-system and device matrix (matrix_test.go):
// loop devices over sparse images, file systems made and mounted on them,
// tmpfs, and the raw devices; the system calls the checks need that the
// syscall package lacks; and the ways of doing I/O through the package that
// the data check and the raw devices' soak share.

// mxImageSize is the size of every image: xfsprogs 6.1 refuses file systems
// of 300 MB or less, btrfs wants 114 MiB; the images are sparse, so only
// what is written takes room.
const mxImageSize = 320 << 20

// mxTmpfsSize is the size of the matrix's tmpfs.
const mxTmpfsSize = 256 << 20

// cellSpec names one cell of the matrix: a file system (or "raw", a loop
// device with none) and the logical sector size of its device (0 for
// tmpfs, which has none).
type cellSpec struct {
	fs     string
	sector int
}

func (s cellSpec) name() string {
	if s.sector == 0 {
		return s.fs
	}
	return fmt.Sprintf("%s-%d", s.fs, s.sector)
}

// raw reports whether the cell is a loop device with no file system.
func (s cellSpec) raw() bool { return s.fs == "raw" }

// cell is a set-up cell: a mounted file system, or a raw loop device whose
// "files" are disjoint regions of the device.
type cell struct {
	cellSpec
	dir  string // the mount point; "" for a raw device
	dev  string // the loop device; "" for tmpfs
	size int64  // the device's size (raw), or the file system's

	mu   sync.Mutex
	next int64 // raw: where the next region starts
	sum  cellSummary
}

// cellSummary collects what a cell's checks found, for the table TestMatrix
// logs (RELIABILITY.md, "File systems and devices").
type cellSummary struct {
	align, data, fsync, nospace, soak string
	flags                             map[aio.RWFlags]string
}

// mxTools are the programs the matrix runs.
var mxTools = []string{"losetup", "mkfs.ext4", "mkfs.xfs", "mkfs.btrfs"}

// matrixNeeds skips t, saying why, where the matrix cannot run: without
// root, the tools, loop devices or the file systems in the kernel.
func matrixNeeds(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("the file-system matrix needs root, to make loop devices and mount file systems")
	}
	for _, tool := range mxTools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the file-system matrix needs %s (util-linux, e2fsprogs, xfsprogs, btrfs-progs; scripts/deps.sh --test installs them): %v", tool, err)
		}
	}
	if _, err := os.Stat("/dev/loop-control"); err != nil {
		t.Skipf("no loop device support (CONFIG_BLK_DEV_LOOP): %v", err)
	}
}

// mxHaveFS returns nil if the kernel has file system fs, else why not.
func mxHaveFS(fs string) error {
	b, err := os.ReadFile("/proc/filesystems")
	if err != nil {
		return err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.TrimSpace(strings.TrimPrefix(line, "nodev")) == fs {
			return nil
		}
	}
	return fmt.Errorf("%s is not in /proc/filesystems", fs)
}

// mxRun runs a command, failing t with its output if it fails.
func mxRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// setupCell makes the cell of spec: for a loop device, a sparse image in a
// temporary directory and a loop device over it with the spec's logical
// sector size; a file system on it (mkfs, mount) unless the cell is raw;
// for tmpfs, a mount. Everything is undone by a cleanup of owner (the
// matrix as a whole: the cells stay mounted for the soak, after their own
// subtests), which runs even when the test fails: unmount (retried while
// busy, then lazily), detach the loop device, remove the image. t, the
// cell's subtest, is the one that fails if setting up does.
func setupCell(owner, t *testing.T, spec cellSpec) *cell {
	t.Helper()
	if spec.fs != "raw" {
		if err := mxHaveFS(spec.fs); err != nil {
			t.Skipf("no %s in this kernel: %v", spec.fs, err)
		}
	}
	c := &cell{cellSpec: spec, size: mxImageSize}
	base := owner.TempDir()
	if !spec.raw() {
		c.dir = filepath.Join(base, spec.name())
		if err := os.Mkdir(c.dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	img := ""
	var mounted bool
	owner.Cleanup(func() { c.teardown(owner, img, mounted) })
	if spec.fs == "tmpfs" {
		c.size = mxTmpfsSize
		if err := syscall.Mount("tmpfs", c.dir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0755", mxTmpfsSize)); err != nil {
			t.Fatalf("mount -t tmpfs: %v", err)
		}
		mounted = true
		return c
	}
	img = filepath.Join(base, spec.name()+".img")
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	err = f.Truncate(mxImageSize) // sparse
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("losetup", "-f", "--show", "-b", fmt.Sprint(spec.sector), img).CombinedOutput()
	if err != nil {
		t.Skipf("no loop device: losetup -f --show -b %d: %v: %s", spec.sector, err, out)
	}
	c.dev = strings.TrimSpace(string(out))
	if got := mxSysfsInt(t, c.dev, "queue/logical_block_size"); got != spec.sector {
		t.Fatalf("%s has %d-byte logical blocks, want %d", c.dev, got, spec.sector)
	}
	if spec.raw() {
		return c
	}
	switch spec.fs {
	case "ext4":
		mxRun(t, "mkfs.ext4", "-q", "-F", c.dev)
	case "xfs":
		// mkfs.xfs takes the sector size from the device.
		mxRun(t, "mkfs.xfs", "-f", "-q", c.dev)
	case "btrfs":
		mxRun(t, "mkfs.btrfs", "-f", "-q", c.dev)
	default:
		t.Fatalf("unknown file system %q", spec.fs)
	}
	if err := syscall.Mount(c.dev, c.dir, spec.fs, 0, ""); err != nil {
		t.Fatalf("mount -t %s %s: %v", spec.fs, c.dev, err)
	}
	mounted = true
	return c
}

// teardown unmounts the cell, detaches its loop device and removes its
// image, whatever state setting up reached; a failure fails owner, as a
// mount or loop device left behind would disturb the machine.
func (c *cell) teardown(owner *testing.T, img string, mounted bool) {
	if mounted {
		var err error
		for range 50 {
			if err = syscall.Unmount(c.dir, 0); err != syscall.EBUSY {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err == syscall.EBUSY {
			owner.Errorf("umount %s: busy for 5 s; detaching it lazily", c.dir)
			err = syscall.Unmount(c.dir, syscall.MNT_DETACH)
		}
		if err != nil {
			owner.Errorf("umount %s: %v", c.dir, err)
		}
	}
	if c.dev != "" {
		var out []byte
		var err error
		for range 20 {
			if out, err = exec.Command("losetup", "-d", c.dev).CombinedOutput(); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			owner.Errorf("losetup -d %s: %v: %s", c.dev, err, out)
		}
	}
	if img != "" {
		if err := os.Remove(img); err != nil && !os.IsNotExist(err) {
			owner.Errorf("removing %s: %v", img, err)
		}
	}
}

// mxSysfsInt reads a number from the sysfs directory of block device dev.
func mxSysfsInt(t testing.TB, dev, name string) int {
	t.Helper()
	return procInt(t, filepath.Join("/sys/class/block", filepath.Base(dev), name))
}

// spot is where a check does its I/O: a file of its own on a file system
// (base 0), or a region of a raw device starting at base.
type spot struct {
	f    *os.File
	path string // the file, or the device
	base int64
	size int64 // the bytes the spot may use
}

// open returns a new spot of size bytes, opened with flag (O_RDWR added;
// O_DIRECT, O_APPEND may be in it), closed at the end of t. On a file
// system it is a new, empty file named name; on a raw device, the next
// unused region of the device, rounded up to 1 MiB.
func (c *cell) open(t testing.TB, name string, size int64, flag int) *spot {
	t.Helper()
	s := &spot{size: size}
	if c.raw() {
		c.mu.Lock()
		s.base = c.next
		c.next += (size + 1<<20 - 1) &^ (1<<20 - 1)
		c.mu.Unlock()
		if c.next > c.size {
			t.Fatalf("%s: no room left on the device for %d bytes", c.dev, size)
		}
		s.path = c.dev
	} else {
		s.path = filepath.Join(c.dir, name)
		flag |= os.O_CREATE | os.O_EXCL
	}
	f, err := os.OpenFile(s.path, flag|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatalf("open %s with flags %#x: %v", s.path, flag, err)
	}
	s.f = f
	t.Cleanup(func() {
		f.Close()
		if !c.raw() {
			os.Remove(s.path)
		}
	})
	return s
}

// reopen opens the spot again with flag (O_RDWR added), closed at the end
// of t.
func (s *spot) reopen(t testing.TB, flag int) *os.File {
	t.Helper()
	f, err := os.OpenFile(s.path, flag|os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// fill writes data at the spot's start through the page cache and syncs it
// to the device, so that its blocks are written (O_DIRECT reads of holes
// are not checked for alignment by some file systems).
func (s *spot) fill(t testing.TB, data []byte) {
	t.Helper()
	f := s.reopen(t, 0)
	if _, err := f.WriteAt(data, s.base); err != nil {
		t.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// plain reads n bytes at off of the spot through the page cache, apart
// from the package; fewer at the end of a file.
func (s *spot) plain(t testing.TB, off int64, n int) []byte {
	t.Helper()
	f, err := os.Open(s.path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p := make([]byte, n)
	m, err := f.ReadAt(p, s.base+off)
	if err != nil && !errors.Is(err, io.EOF) {
		t.Fatalf("plain read of %s at %d: %v", s.path, s.base+off, err)
	}
	return p[:m]
}

// fileSize returns the size of the spot's file (the device's for a raw one).
func (s *spot) fileSize(t testing.TB) int64 {
	t.Helper()
	n, err := s.f.Seek(0, 2)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// mxFile returns a File on ctx over a descriptor of its own for the spot,
// opened with flag (O_RDWR added), closed at the end of t. It is the
// matrix's one caller of Context.File.
func mxFile(t testing.TB, ctx *aio.Context, s *spot, flag int) *aio.File {
	t.Helper()
	g, err := os.OpenFile(s.path, flag|os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	file, err := ctx.File(g)
	if err != nil {
		g.Close()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := file.Close(); err != nil {
			t.Error(err)
		}
	})
	return file
}

// dropCache writes the spot's dirty pages back and drops its range from
// the page cache (POSIX_FADV_DONTNEED), and reports how many of its pages
// stay resident: tmpfs keeps them all, its pages being the file.
func (s *spot) dropCache(t testing.TB, off, n int64) int {
	t.Helper()
	if err := s.f.Sync(); err != nil {
		t.Fatal(err)
	}
	const dontNeed = 4 // POSIX_FADV_DONTNEED
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, s.f.Fd(), uintptr(s.base+off), uintptr(n), dontNeed, 0, 0); e != 0 {
		t.Fatalf("fadvise DONTNEED: %v", e)
	}
	return s.resident(t, off, n)
}

// resident returns how many pages of the spot's range [off, off+n) are in
// the page cache (mincore of a shared mapping: mapping reads nothing in).
func (s *spot) resident(t testing.TB, off, n int64) int {
	t.Helper()
	page := int64(os.Getpagesize())
	start := (s.base + off) &^ (page - 1)
	length := s.base + off + n - start
	m, err := syscall.Mmap(int(s.f.Fd()), start, int(length), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		t.Fatalf("mmap of %s: %v", s.path, err)
	}
	defer syscall.Munmap(m)
	vec := make([]byte, (length+page-1)/page)
	if _, _, e := syscall.Syscall(syscall.SYS_MINCORE, uintptr(unsafe.Pointer(unsafe.SliceData(m))), uintptr(length), uintptr(unsafe.Pointer(unsafe.SliceData(vec)))); e != 0 {
		t.Fatalf("mincore: %v", e)
	}
	in := 0
	for _, v := range vec {
		in += int(v & 1)
	}
	return in
}

// atomicUnits returns the atomic write limits statx reports for f
// (STATX_WRITE_ATOMIC, Linux 6.11): the smallest and largest untorn write,
// 0 and 0 where the file has none or the kernel does not say.
func atomicUnits(f *os.File) (lo, hi uint32) {
	const (
		statxWriteAtomic = 0x10000 // STATX_WRITE_ATOMIC
		atEmptyPath      = 0x1000  // AT_EMPTY_PATH
		unitMinOff       = 168     // stx_atomic_write_unit_min
		unitMaxOff       = 172     // stx_atomic_write_unit_max
	)
	if sysStatx == 0 {
		return 0, 0
	}
	var buf [256]byte
	empty := [1]byte{}
	if _, _, e := syscall.Syscall6(sysStatx, f.Fd(), uintptr(unsafe.Pointer(&empty[0])), atEmptyPath,
		statxWriteAtomic, uintptr(unsafe.Pointer(&buf[0])), 0); e != 0 {
		return 0, 0
	}
	mask := *(*uint32)(unsafe.Pointer(&buf[0]))
	if mask&statxWriteAtomic == 0 {
		return 0, 0
	}
	return *(*uint32)(unsafe.Pointer(&buf[unitMinOff])), *(*uint32)(unsafe.Pointer(&buf[unitMaxOff]))
}

// sysStatx is statx's number, which the syscall package lacks: 332 on
// amd64, 383 on 386, 291 on arm64 and the other architectures of the
// generic table. (Elsewhere statx fails, and the file counts as having no
// atomic unit.)
var sysStatx = map[string]uintptr{"amd64": 332, "386": 383, "arm64": 291, "riscv64": 291, "loong64": 291}[runtime.GOARCH]

// syncFS flushes every file system (sync(2)), so that space freed by
// removing files is free again: btrfs frees it at its next commit.
func syncFS() { syscall.Sync() }

// freeBytes returns the bytes free on the file system at dir (to root,
// for whom ext4 keeps its reserved blocks too).
func freeBytes(t testing.TB, dir string) int64 {
	t.Helper()
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		t.Fatal(err)
	}
	return int64(st.Bfree) * st.Bsize
}

// rwAt is a way of doing positioned I/O through the package.
type rwAt interface {
	ReadAt(p []byte, off int64) (int, error)
	WriteAt(p []byte, off int64) (int, error)
}

// streamRW does each call as a Block submitted to a stream Context, whose
// event a dispatcher goroutine takes from Events and hands to the caller:
// many goroutines may call it at once.
type streamRW struct {
	ctx     *aio.Context
	f       *os.File
	flags   aio.RWFlags
	waiting sync.Map // *aio.Block → chan aio.Event
	done    chan struct{}
}

// newStreamRW returns a streamRW on f over a stream Context of its own with
// slots slots, closed (and its dispatcher ended) at the end of t.
func newStreamRW(t testing.TB, f *os.File, slots int) *streamRW {
	t.Helper()
	ctx, err := aio.NewContext(slots)
	if err != nil {
		t.Fatal(err)
	}
	s := &streamRW{ctx: ctx, f: f, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for ev := range ctx.Events() {
			ch, ok := s.waiting.LoadAndDelete(ev.Block)
			if !ok {
				t.Errorf("event for a Block nobody waits for: %+v", ev)
				continue
			}
			ch.(chan aio.Event) <- ev
		}
	}()
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Error(err)
		}
		<-s.done
	})
	return s
}

func (s *streamRW) ReadAt(p []byte, off int64) (int, error) {
	return s.do(aio.NewRead(s.f, p, off))
}

func (s *streamRW) WriteAt(p []byte, off int64) (int, error) {
	return s.do(aio.NewWrite(s.f, p, off))
}

func (s *streamRW) do(b *aio.Block) (int, error) {
	if s.flags != 0 {
		if err := b.SetRWFlags(s.flags); err != nil {
			return 0, err
		}
	}
	ch := make(chan aio.Event, 1)
	s.waiting.Store(b, ch)
	if _, err := s.ctx.Submit(b); err != nil {
		s.waiting.Delete(b)
		return 0, err
	}
	ev := <-ch
	return ev.N(), ev.Err()
}

// waitRW does each call as a Block set with SetWait, and waits for it with
// Block.Wait.
type waitRW struct {
	ctx *aio.Context
	f   *os.File
}

func newWaitRW(t testing.TB, f *os.File, slots int) *waitRW {
	t.Helper()
	return &waitRW{ctx: streamContext(t, slots), f: f}
}

func (w *waitRW) ReadAt(p []byte, off int64) (int, error) {
	return w.do(aio.NewRead(w.f, p, off))
}

func (w *waitRW) WriteAt(p []byte, off int64) (int, error) {
	return w.do(aio.NewWrite(w.f, p, off))
}

func (w *waitRW) do(b *aio.Block) (int, error) {
	if err := b.SetWait(true); err != nil {
		return 0, err
	}
	if _, err := w.ctx.Submit(b); err != nil {
		return 0, err
	}
	ev, err := b.Wait(context.Background())
	if err != nil {
		return 0, err
	}
	return ev.N(), ev.Err()
}

// offsetRW shifts a way's offsets by base: a raw device's region.
type offsetRW struct {
	rw   rwAt
	base int64
}

func (o offsetRW) ReadAt(p []byte, off int64) (int, error)  { return o.rw.ReadAt(p, o.base+off) }
func (o offsetRW) WriteAt(p []byte, off int64) (int, error) { return o.rw.WriteAt(p, o.base+off) }

// mxWayNames are the ways mxWay makes, each a path through the package.
var mxWayNames = []string{"stream", "wait", "file"}

// mxWay returns the way named name of doing I/O on the spot through the
// package: "stream", Blocks whose events come from Events; "wait", Blocks
// waited for with Block.Wait, both over f (the spot opened with flag); or
// "file", a File over a descriptor of its own opened with flag. Offsets
// are shifted to the spot's base.
func mxWay(t testing.TB, name string, s *spot, f *os.File, flag, slots int) rwAt {
	t.Helper()
	switch name {
	case "stream":
		return offsetRW{newStreamRW(t, f, slots), s.base}
	case "wait":
		return offsetRW{newWaitRW(t, f, slots), s.base}
	case "file":
		return offsetRW{mxFile(t, streamContext(t, slots), s, flag), s.base}
	}
	t.Fatalf("no way %q", name)
	return nil
}

// mxEvent submits b to the Manual Context ctx and returns its event, or the
// error of Submit (then no event): flags the kernel or file refuses are
// refused by io_submit itself.
func mxEvent(t testing.TB, ctx *aio.Context, b *aio.Block) (aio.Event, error) {
	t.Helper()
	if _, err := ctx.Submit(b); err != nil {
		if b.InFlight() {
			t.Fatalf("Submit failed (%v) but the Block is in flight", err)
		}
		return aio.Event{}, err
	}
	return reap(t, ctx, 1)[0], nil
}
