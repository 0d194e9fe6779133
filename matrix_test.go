//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// The file-system and device matrix (issue 15). The rest of the suite runs
// on whatever file system holds the temporary directory; this test puts the
// package on each file system and device a storage engine meets: ext4, xfs
// and btrfs on loop devices of 512- and 4096-byte logical sectors, tmpfs,
// and the loop devices themselves with no file system, opened with
// O_DIRECT. On each cell (TestMatrix/<cell>/<check>) it checks:
//
//   - alignment: DirectAlignment against what the kernel enforces, probed
//     with plain O_DIRECT preads and pwrites of written blocks; misaligned
//     requests through the package refused before the kernel, naming the
//     alignment, where it is known;
//   - data: O_DIRECT and buffered writes and reads from many goroutines
//     through the Events stream, Block.Wait and File, then read back through
//     the page cache;
//   - flags: every RWF flag accepted and doing what it says, or refused by
//     the kernel with EOPNOTSUPP (at io_submit, with an error naming the
//     kernel) or EINVAL; and features, after the cells, that HaveRWFlags and
//     HaveCommand agree with what the cells did;
//   - sync: fsync and fdsync commands, and File's Sync and Datasync;
//   - nospace: a write larger than the free space of a nearly full file
//     system, or across the end of a raw device, reports the bytes that fit
//     and ENOSPC, the bytes are there, and nothing else changed;
//
// and then, concurrently on every cell, soak: cmd/aiosoak on each mount,
// and the same kind of checksummed soak, in this process, on each raw
// device (aiosoak makes files). Soaking the cells at once keeps the matrix
// within the time CI gives it (about 3 minutes) with a 20-second soak on
// each; AIO_MATRIX_SOAK sets another duration.
//
// The cells run one after another: loop devices are a shared resource, and
// the checks of page-cache state (NOWAIT, DONTCACHE) and of free space want
// a quiet machine. It needs root, losetup, mkfs.ext4, mkfs.xfs and
// mkfs.btrfs, and loop devices, and skips, saying which is missing, without
// them. scripts/test.sh runs it once, in a step of its own, and skips it in
// the runs under cgocheck2, -race and -asan. RELIABILITY.md ("File systems
// and devices") has the table it logs at the end.
func TestMatrix(t *testing.T) {
	matrixNeeds(t)
	start := time.Now()
	specs := []cellSpec{
		{"ext4", 512}, {"ext4", 4096},
		{"xfs", 512}, {"xfs", 4096},
		{"btrfs", 512}, {"btrfs", 4096},
		{"tmpfs", 0},
		{"raw", 512}, {"raw", 4096},
	}
	took := &flagTally{cells: map[aio.RWFlags][]string{}}
	var cells []*cell
	for _, spec := range specs {
		t.Run(spec.name(), func(ct *testing.T) {
			c := setupCell(t, ct, spec)
			c.sum.flags = map[aio.RWFlags]string{}
			cells = append(cells, c)
			ct.Run("alignment", c.checkAlignment)
			ct.Run("data", c.checkData)
			ct.Run("flags", func(t *testing.T) { c.checkFlags(t, took) })
			ct.Run("sync", c.checkSync)
			ct.Run("nospace", c.checkNoSpace)
			ct.Run("buffered", c.checkBuffered)
		})
	}
	t.Run("features", func(t *testing.T) { checkFeatures(t, took, len(cells) == len(specs)) })
	t.Run("soak", func(t *testing.T) { soakCells(t, cells) })
	t.Logf("the matrix on Linux %s took %v", mxKernel(), time.Since(start).Round(100*time.Millisecond))
	logTable(t, cells)
}

// mxKernel returns the running kernel's release, as uname -r gives it.
func mxKernel() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "unknown"
	}
	var b []byte
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b = append(b, byte(c))
	}
	return string(b)
}

// ---- alignment ----

// dioRule is what the kernel takes on a file opened with O_DIRECT, as
// probed: for offsets, lengths and buffer addresses, the smallest power of
// two (from 1 to 4096) it takes requests aligned to; 0 if it takes none.
type dioRule struct{ off, length, mem int }

func (r dioRule) String() string {
	return fmt.Sprintf("off %d, len %d, mem %d", r.off, r.length, r.mem)
}

// probeDirect finds what the kernel takes for O_DIRECT reads (or writes) of
// f, whose bytes at base hold data, with plain preads (pwrites of the bytes
// already there), apart from the package: for each of offset, length and
// buffer address, the smallest power of two that the kernel does not refuse
// with EINVAL, the other two kept aligned to a page. Every read that goes
// through must return the file's bytes.
func probeDirect(t *testing.T, f *os.File, base int64, data []byte, write bool) dioRule {
	t.Helper()
	const page = 4096
	buf, err := aio.AlignedBuffer(3*page, page)
	if err != nil {
		t.Fatal(err)
	}
	defer aio.FreeBuffer(buf)
	fd := int(f.Fd())
	try := func(off int64, n, memOff int) bool {
		p := buf[memOff : memOff+n]
		var err error
		if write {
			copy(p, data[off:])
			var m int
			if m, err = syscall.Pwrite(fd, p, base+off); err == nil && m != n {
				t.Fatalf("O_DIRECT pwrite of %d bytes at %d: %d", n, off, m)
			}
		} else {
			clear(p)
			var m int
			if m, err = syscall.Pread(fd, p, base+off); err == nil && (m != n || !bytes.Equal(p, data[off:off+int64(n)])) {
				t.Fatalf("O_DIRECT pread of %d bytes at %d (buffer address +%d): %d bytes, data right %v",
					n, off, memOff, m, bytes.Equal(p[:m], data[off:off+int64(m)]))
			}
		}
		if err == syscall.EINVAL {
			return false
		}
		if err != nil {
			t.Fatalf("O_DIRECT %d bytes at %d (buffer address +%d, write %v): %v", n, off, memOff, write, err)
		}
		return true
	}
	smallest := func(ok func(p int) bool) int {
		for p := 1; p <= page; p *= 2 {
			if ok(p) {
				return p
			}
		}
		return 0
	}
	return dioRule{
		off:    smallest(func(p int) bool { return try(int64(p), page, 0) }),
		length: smallest(func(p int) bool { return try(0, p, 0) }),
		mem:    smallest(func(p int) bool { return try(0, page, p%page) }),
	}
}

// checkAlignment compares DirectAlignment with what the kernel enforces
// for reads and writes of written blocks, and checks that the package
// refuses misaligned Blocks and File calls before the kernel where the
// alignment is known, and passes them on where it is not (btrfs, which
// falls back to buffered I/O for them, and tmpfs, which needs none).
func (c *cell) checkAlignment(t *testing.T) {
	const size = 64 << 10
	s := c.open(t, "align", size, 0)
	data := pattern(size, 11)
	s.fill(t, data)
	f := s.reopen(t, syscall.O_DIRECT)
	a, err := aio.DirectAlignment(f)
	if err != nil {
		t.Fatalf("DirectAlignment: %v", err)
	}
	rd := probeDirect(t, f, s.base, data, false)
	wr := probeDirect(t, f, s.base, data, true)
	t.Logf("DirectAlignment %+v; the kernel takes reads at %v, writes at %v", a, rd, wr)
	if rd.off == 0 || rd.length == 0 || rd.mem == 0 || wr.off == 0 || wr.length == 0 || wr.mem == 0 {
		t.Fatalf("the kernel refuses page-aligned O_DIRECT I/O: reads %v, writes %v", rd, wr)
	}
	// Never less than the kernel enforces: a request the package lets
	// through must not fail in the kernel for its alignment.
	if a.ReadOffset < max(rd.off, rd.length) || a.Offset < max(wr.off, wr.length) || a.Memory < max(rd.mem, wr.mem) {
		t.Errorf("DirectAlignment %+v is less than the kernel enforces: reads %v, writes %v", a, rd, wr)
	}
	// Where the file system reports it (statx), exactly what it enforces.
	if a.Source == aio.AlignStatx && (a.ReadOffset != max(rd.off, rd.length) || a.Offset != max(wr.off, wr.length) || a.Memory != max(rd.mem, wr.mem)) {
		t.Errorf("statx DIOALIGN %+v differs from what the kernel enforces: reads %v, writes %v", a, rd, wr)
	}
	c.sum.align = fmt.Sprintf("%d/%d/%d (%v); kernel: reads %d/%d, writes %d/%d",
		a.Memory, a.Offset, a.ReadOffset, a.Source, rd.mem, max(rd.off, rd.length), wr.mem, max(wr.off, wr.length))

	ctx, fileCtx := newContext(t, 4), streamContext(t, 4)
	file := mxFile(t, fileCtx, s, syscall.O_DIRECT)
	fa := file.Alignment()
	buf := aligned(3 * 4096)
	if fa.Source == aio.AlignNone {
		// Nothing is checked: the kernel alone judges, and here it
		// takes misaligned requests.
		if max(rd.off, rd.length, rd.mem, wr.off, wr.length, wr.mem) != 1 {
			t.Fatalf("the File checks no alignment (DirectAlignment %+v) but the kernel enforces reads %v, writes %v", a, rd, wr)
		}
		p := buf[3 : 3+1000]
		ev, err := mxEvent(t, ctx, aio.NewRead(f, p, s.base+7))
		if err != nil || ev.N() != len(p) || !bytes.Equal(p, data[7:7+len(p)]) {
			t.Fatalf("misaligned O_DIRECT read Block: %d, %v, %v", ev.Res, ev.Err(), err)
		}
		clear(p)
		if n, err := file.ReadAt(p, s.base+9); n != len(p) || err != nil || !bytes.Equal(p, data[9:9+len(p)]) {
			t.Fatalf("misaligned O_DIRECT ReadAt: %d, %v", n, err)
		}
		c.sum.align += "; misaligned taken"
		if c.fs == "btrfs" {
			c.btrfsFallback(t, s, f)
		}
		return
	}
	if fa.Memory != a.Memory || fa.Offset != a.Offset || fa.ReadOffset != a.ReadOffset {
		t.Fatalf("File.Alignment %+v, DirectAlignment %+v", fa, a)
	}
	before := ctx.Stats()
	refused := func(what string, b *aio.Block, rule int) {
		t.Helper()
		n, err := ctx.Submit(b)
		if n != 0 || b.InFlight() {
			t.Fatalf("%s: submitted", what)
		}
		wantErr(t, err, syscall.EINVAL, strconv.Itoa(rule))
	}
	refused("read at half the read alignment", aio.NewRead(f, buf[:fa.ReadOffset], s.base+int64(fa.ReadOffset/2)), fa.ReadOffset)
	refused("write at half the write alignment", aio.NewWrite(f, buf[:fa.Offset], s.base+int64(fa.Offset/2)), fa.Offset)
	refused("read of half the read alignment", aio.NewRead(f, buf[:fa.ReadOffset/2], s.base), fa.ReadOffset)
	if fa.Memory > 1 {
		refused("read into a buffer at half the memory alignment", aio.NewRead(f, buf[fa.Memory/2:fa.Memory/2+fa.ReadOffset], s.base), fa.Memory)
	}
	if after := ctx.Stats(); after.IOSubmitCalls != before.IOSubmitCalls {
		t.Fatalf("misaligned Blocks reached io_submit: %+v, before %+v", after, before)
	}
	// A misaligned File read goes through a bounce buffer; a misaligned
	// File write is refused before io_submit.
	fileBefore := fileCtx.Stats()
	half := int64(fa.ReadOffset / 2)
	n, err := file.ReadAt(buf[:fa.ReadOffset], s.base+half)
	if n != fa.ReadOffset || err != nil || !bytes.Equal(buf[:n], data[half:half+int64(n)]) {
		t.Fatalf("misaligned ReadAt: %d, %v", n, err)
	}
	if after := fileCtx.Stats(); after.BouncedReads != fileBefore.BouncedReads+1 || after.Submitted != fileBefore.Submitted+1 {
		t.Fatalf("misaligned ReadAt: Stats %+v, before %+v; want one bounced read of one Block", after, fileBefore)
	}
	fileBefore = fileCtx.Stats()
	n, err = file.WriteAt(buf[:fa.Offset/2], s.base)
	if n != 0 {
		t.Fatalf("misaligned WriteAt wrote %d bytes", n)
	}
	wantErr(t, err, syscall.EINVAL, strconv.Itoa(fa.Offset))
	if after := fileCtx.Stats(); after.IOSubmitCalls != fileBefore.IOSubmitCalls {
		t.Fatalf("misaligned WriteAt reached io_submit: %+v, before %+v", after, fileBefore)
	}
	// Aligned as reported, both go through.
	p := buf[fa.Memory : fa.Memory+fa.ReadOffset]
	if n, err := file.ReadAt(p, s.base+int64(fa.ReadOffset)); n != len(p) || err != nil || !bytes.Equal(p, data[fa.ReadOffset:fa.ReadOffset+len(p)]) {
		t.Fatalf("ReadAt aligned as reported: %d, %v", n, err)
	}
	if got := s.plain(t, 0, size); !bytes.Equal(got, data) {
		t.Fatal("the file changed")
	}
	c.sum.align += "; misaligned refused (File reads bounced)"
}

// btrfsFallback shows that btrfs does a misaligned O_DIRECT read as a
// buffered one, where it refuses nothing: with the range out of the page
// cache, an aligned O_DIRECT read leaves it out, and a misaligned one
// brings it in.
func (c *cell) btrfsFallback(t *testing.T, s *spot, f *os.File) {
	if left := s.dropCache(t, 0, 64<<10); left != 0 {
		t.Fatalf("%d pages stay cached after POSIX_FADV_DONTNEED", left)
	}
	fresh := aligned(8192)
	if n, err := syscall.Pread(int(f.Fd()), fresh, s.base+8192); n != len(fresh) || err != nil {
		t.Fatalf("aligned O_DIRECT pread: %d, %v", n, err)
	}
	t.Logf("aligned O_DIRECT read into a fresh buffer: %d pages cached", s.resident(t, 0, 64<<10))
	s.dropCache(t, 0, 64<<10)
	p := aligned(8192)
	for i := range p {
		p[i] = 1 // fault the pages in
	}
	if n, err := syscall.Pread(int(f.Fd()), p, s.base+8192); n != len(p) || err != nil {
		t.Fatalf("aligned O_DIRECT pread: %d, %v", n, err)
	}
	if in := s.resident(t, 0, 64<<10); in != 0 {
		t.Fatalf("an aligned O_DIRECT read brought %d pages into the page cache", in)
	}
	if n, err := syscall.Pread(int(f.Fd()), p[1:4001], s.base+8192+3); n != 4000 || err != nil {
		t.Fatalf("misaligned O_DIRECT pread: %d, %v", n, err)
	}
	if in := s.resident(t, 0, 64<<10); in == 0 {
		t.Fatal("a misaligned O_DIRECT read took by btrfs left the page cache empty: not the buffered fallback")
	}
	c.sum.align += " (btrfs does them as buffered I/O)"
}

// ---- data ----

// checkData writes a file (a region of a raw device) per way (Events
// stream, Block.Wait, File) and mode (O_DIRECT, buffered) from 8
// goroutines, 16 KiB at a time in interleaved chunks, then has each
// goroutine read back another's chunks through the same way, and finally
// reads everything through the page cache, apart from the package.
func (c *cell) checkData(t *testing.T) {
	const (
		goroutines = 8
		chunk      = 16 << 10
		size       = 1 << 20
	)
	var ios atomic.Int64
	for mi, mode := range []struct {
		name string
		flag int
	}{{"direct", syscall.O_DIRECT}, {"buffered", 0}} {
		for wi, way := range mxWayNames {
			s := c.open(t, "data-"+mode.name+"-"+way, size, mode.flag)
			rw := mxWay(t, way, s, s.f, mode.flag, goroutines)
			data := pattern(size, byte(1+mi*3+wi))
			var wg sync.WaitGroup
			phase := func(read bool) {
				for g := range goroutines {
					wg.Add(1)
					go func() {
						defer wg.Done()
						buf := aligned(chunk)
						for i := g; i < size/chunk; i += goroutines {
							j := i
							if read {
								j = (i + 1) % (size / chunk) // another goroutine's chunk
							}
							want := data[j*chunk : (j+1)*chunk]
							var n int
							var err error
							if read {
								clear(buf)
								n, err = rw.ReadAt(buf, int64(j*chunk))
							} else {
								copy(buf, want)
								n, err = rw.WriteAt(buf, int64(j*chunk))
							}
							if n != chunk || err != nil || !bytes.Equal(buf, want) {
								t.Errorf("%s %s: %s of chunk %d: %d, %v, data right %v", way, mode.name,
									map[bool]string{true: "read", false: "write"}[read], j, n, err, bytes.Equal(buf, want))
								return
							}
							ios.Add(1)
						}
					}()
				}
				wg.Wait()
			}
			phase(false)
			phase(true)
			if got := s.plain(t, 0, size); !bytes.Equal(got, data) {
				t.Fatalf("%s %s: the page cache holds other bytes from %d on", way, mode.name, mismatch(got, data))
			}
		}
	}
	c.sum.data = fmt.Sprintf("%d I/Os verified", ios.Load())
}

// ---- flags ----

// flagTally records, per RWF flag, the cells whose kernel took it.
type flagTally struct {
	mu    sync.Mutex
	cells map[aio.RWFlags][]string
}

func (ft *flagTally) took(flag aio.RWFlags, cell string) {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	ft.cells[flag] = append(ft.cells[flag], cell)
}

// mxFlags are the RWF flags the package exposes, with their names.
var mxFlags = []struct {
	flag aio.RWFlags
	name string
}{
	{aio.RWFHiPri, "HIPRI"}, {aio.RWFDSync, "DSYNC"}, {aio.RWFSync, "SYNC"}, {aio.RWFNoWait, "NOWAIT"},
	{aio.RWFAppend, "APPEND"}, {aio.RWFNoAppend, "NOAPPEND"}, {aio.RWFAtomic, "ATOMIC"},
	{aio.RWFDontCache, "DONTCACHE"}, {aio.RWFNoSignal, "NOSIGNAL"},
}

// mxModes are O_DIRECT and buffered.
var mxModes = []struct {
	name string
	flag int
}{{"direct", syscall.O_DIRECT}, {"buffered", 0}}

// refusal is what a flag check returns when the kernel refused the flag
// on this file: with EOPNOTSUPP at io_submit (whose error is checked to
// name the kernel), or EINVAL or EOPNOTSUPP in the event.
type refusal struct {
	short string // for the table
	err   error
}

func (r *refusal) Error() string { return r.short + ": " + r.err.Error() }

// syscallName returns an errno's name, as the table says it.
func syscallName(e syscall.Errno) string {
	switch e {
	case syscall.EOPNOTSUPP:
		return "EOPNOTSUPP"
	case syscall.EINVAL:
		return "EINVAL"
	}
	return e.Error()
}

// checkFlags puts every RWF flag through its own check, and checks that the
// kernel refuses those HaveRWFlags says it lacks.
func (c *cell) checkFlags(t *testing.T, took *flagTally) {
	for _, fl := range mxFlags {
		t.Run(fl.name, func(t *testing.T) {
			ctx := newContext(t, 8)
			var note string
			var err error
			switch fl.flag {
			case aio.RWFNoWait:
				note, err = c.flagNoWait(t, ctx)
			case aio.RWFAppend:
				note, err = c.flagAppend(t, ctx)
			case aio.RWFNoAppend:
				note, err = c.flagNoAppend(t, ctx)
			case aio.RWFAtomic:
				note, err = c.flagAtomic(t, ctx)
			case aio.RWFDontCache:
				note, err = c.flagDontCache(t, ctx)
			default:
				note, err = c.flagPlain(t, ctx, fl.flag)
			}
			have := aio.HaveRWFlags(fl.flag)
			var r *refusal
			switch {
			case err == nil:
				took.took(fl.flag, c.name())
				if have != nil {
					t.Errorf("the kernel took %s here, but HaveRWFlags says %v", fl.name, have)
				}
			case errors.As(err, &r):
				t.Logf("%s refused: %v", fl.name, r.err)
				note = "refused: " + r.short
				if !c.mayRefuse(fl.flag) {
					t.Errorf("%s: %v; every file system and device takes it", fl.name, err)
				}
			default:
				t.Fatal(err)
			}
			c.sum.flags[fl.flag] = note
			t.Logf("%s: %s", fl.name, note)
		})
	}
}

// mayRefuse reports whether the cell's kernel may refuse flag: the flags
// that need the file system's support (NOWAIT, ATOMIC, DONTCACHE) may be;
// the others every file and device takes.
func (c *cell) mayRefuse(flag aio.RWFlags) bool {
	return flag == aio.RWFNoWait || flag == aio.RWFAtomic || flag == aio.RWFDontCache
}

// flagOutcome sorts the result of a Block carrying flag: nil if the kernel
// took it (the caller checks the rest), else a *refusal if it refused the
// flag as it may (EOPNOTSUPP from io_submit naming the kernel, or EINVAL or
// EOPNOTSUPP in the event), else another error.
func flagOutcome(ev aio.Event, submitErr error) error {
	if submitErr != nil {
		if errors.Is(submitErr, syscall.EOPNOTSUPP) && strings.Contains(submitErr.Error(), mxKernel()) {
			return &refusal{"EOPNOTSUPP at Submit", submitErr}
		}
		return fmt.Errorf("Submit: %v (want EOPNOTSUPP naming the kernel %s, or success)", submitErr, mxKernel())
	}
	if err := ev.Err(); err == syscall.EOPNOTSUPP || err == syscall.EINVAL {
		return &refusal{fmt.Sprintf("%v in the event", syscallName(err.(syscall.Errno))), err}
	}
	return nil
}

// mxWrite writes p at off of s (relative to its base) through a Block on f
// carrying flags, and returns its event or the error of Submit.
func mxWrite(t *testing.T, ctx *aio.Context, f *os.File, s *spot, p []byte, off int64, flags aio.RWFlags) (aio.Event, error) {
	t.Helper()
	b := aio.NewWrite(f, p, s.base+off)
	if err := b.SetRWFlags(flags); err != nil {
		t.Fatal(err)
	}
	return mxEvent(t, ctx, b)
}

// mxRead reads into p at off of s through a Block on f carrying flags.
func mxRead(t *testing.T, ctx *aio.Context, f *os.File, s *spot, p []byte, off int64, flags aio.RWFlags) (aio.Event, error) {
	t.Helper()
	b := aio.NewRead(f, p, s.base+off)
	if err := b.SetRWFlags(flags); err != nil {
		t.Fatal(err)
	}
	return mxEvent(t, ctx, b)
}

// flagPlain checks a flag that changes how, not what, the kernel writes
// (HIPRI, DSYNC, SYNC, NOSIGNAL): a write carrying it, O_DIRECT and
// buffered, completes whole and its bytes are in the file; so does a read
// (HIPRI, the one of them that applies to reads). Durability is not seen
// here. Every file system takes them.
func (c *cell) flagPlain(t *testing.T, ctx *aio.Context, flag aio.RWFlags) (string, error) {
	for _, mode := range mxModes {
		s := c.open(t, "flag-"+mode.name, 64<<10, mode.flag)
		p := aligned(16 << 10)
		copy(p, pattern(len(p), 21))
		ev, err := mxWrite(t, ctx, s.f, s, p, 4096, flag)
		if err := flagOutcome(ev, err); err != nil {
			return "", fmt.Errorf("%s write: %v", mode.name, err)
		}
		if ev.N() != len(p) || !bytes.Equal(s.plain(t, 4096, len(p)), p) {
			return "", fmt.Errorf("%s write with RWF flags %#x: %d, %v, or the bytes are not in the file", mode.name, flag, ev.Res, ev.Err())
		}
		if flag == aio.RWFHiPri {
			q := aligned(len(p))
			ev, err := mxRead(t, ctx, s.f, s, q, 4096, flag)
			if err := flagOutcome(ev, err); err != nil {
				return "", fmt.Errorf("%s read: %v", mode.name, err)
			}
			if ev.N() != len(q) || !bytes.Equal(q, p) {
				return "", fmt.Errorf("%s read with RWF_HIPRI: %d, %v, data right %v", mode.name, ev.Res, ev.Err(), bytes.Equal(q, p))
			}
		}
	}
	return "ok", nil
}

// flagNoWait: a buffered read of a range not in the page cache fails with
// EAGAIN instead of reading the device; once the range is cached the same
// read succeeds. (On tmpfs the pages are the file: always cached.) An
// O_DIRECT read with NOWAIT, and a buffered write, succeed or fail with
// EAGAIN (buffered NOWAIT writes may do so spuriously since Linux 6.0).
func (c *cell) flagNoWait(t *testing.T, ctx *aio.Context) (string, error) {
	const size = 256 << 10
	s := c.open(t, "nowait", size, 0)
	data := pattern(size, 23)
	s.fill(t, data)
	p := aligned(64 << 10)
	var note string
	if left := s.dropCache(t, 0, size); left == 0 {
		var ev aio.Event
		for range 50 {
			var err error
			ev, err = mxRead(t, ctx, s.f, s, p, 0, aio.RWFNoWait)
			if err := flagOutcome(ev, err); err != nil {
				return "", err
			}
			if ev.Res <= 0 {
				break
			}
			// The NOWAIT read started reading the pages, and found
			// some read by the time it looked again (see
			// untilFallback): drop them and try again.
			s.dropCache(t, 0, size)
		}
		if ev.Err() != syscall.EAGAIN {
			return "", fmt.Errorf("NOWAIT read of an uncached range: %d, %v; want EAGAIN", ev.Res, ev.Err())
		}
		note = "uncached: EAGAIN"
	} else if c.fs != "tmpfs" {
		return "", fmt.Errorf("%d pages of %d stay cached after fsync and POSIX_FADV_DONTNEED", left, size/4096)
	} else {
		note = "uncached: n/a (tmpfs)"
	}
	s.plain(t, 0, size) // into the cache
	clear(p)
	ev, err := mxRead(t, ctx, s.f, s, p, 0, aio.RWFNoWait)
	if err := flagOutcome(ev, err); err != nil {
		return "", err
	}
	if ev.N() != len(p) || !bytes.Equal(p, data[:len(p)]) {
		return "", fmt.Errorf("NOWAIT read of a cached range: %d, %v; want its data", ev.Res, ev.Err())
	}
	note += "; cached: read"
	d := s.reopen(t, syscall.O_DIRECT)
	clear(p)
	ev, err = mxRead(t, ctx, d, s, p, 64<<10, aio.RWFNoWait)
	switch {
	case err != nil:
		note += fmt.Sprintf("; direct read: refused at Submit (%v)", err)
	case ev.Err() == syscall.EOPNOTSUPP:
		note += "; direct read: EOPNOTSUPP in the event"
	case ev.Err() == syscall.EAGAIN:
		note += "; direct read: EAGAIN"
	case ev.N() == len(p) && bytes.Equal(p, data[64<<10:128<<10]):
		note += "; direct read: read"
	default:
		return "", fmt.Errorf("O_DIRECT NOWAIT read: %d, %v", ev.Res, ev.Err())
	}
	q := aligned(16 << 10)
	copy(q, pattern(len(q), 24))
	ev, err = mxWrite(t, ctx, s.f, s, q, 128<<10, aio.RWFNoWait)
	switch {
	case err != nil:
		note += fmt.Sprintf("; buffered write: refused (%v)", err)
	case ev.Err() == syscall.EAGAIN:
		note += "; buffered write: EAGAIN"
	case ev.Err() == syscall.EOPNOTSUPP:
		// ext4 and block devices take no buffered NOWAIT writes, and
		// say so in the event.
		note += "; buffered write: EOPNOTSUPP in the event"
	case ev.N() == len(q) && bytes.Equal(s.plain(t, 128<<10, len(q)), q):
		note += "; buffered write: written"
	default:
		return "", fmt.Errorf("buffered NOWAIT write: %d, %v", ev.Res, ev.Err())
	}
	return note, nil
}

// flagAppend: a write carrying RWF_APPEND to a file not open with O_APPEND
// goes to the end of the file, whatever its offset, and the bytes before
// stay. A block device has no end to append to: the kernel takes the flag
// and writes at the offset given, as it does for O_APPEND (Linux 6.18,
// blkdev_write_iter makes no append check).
func (c *cell) flagAppend(t *testing.T, ctx *aio.Context) (string, error) {
	var note string
	for _, mode := range mxModes {
		s := c.open(t, "append-"+mode.name, 64<<10, mode.flag)
		head := pattern(8192, 25)
		s.fill(t, head)
		p := aligned(4096)
		copy(p, pattern(len(p), 26))
		ev, err := mxWrite(t, ctx, s.f, s, p, 0, aio.RWFAppend)
		if err := flagOutcome(ev, err); err != nil {
			return "", err
		}
		if c.raw() {
			if ev.N() != len(p) || !bytes.Equal(s.plain(t, 0, len(p)), p) {
				return "", fmt.Errorf("%s RWF_APPEND write at 0 of a device: %d, %v; want it written at 0", mode.name, ev.Res, ev.Err())
			}
			copy(head, p)
			note = "ignored: written at its offset"
		} else {
			if ev.N() != len(p) || s.fileSize(t) != 8192+4096 || !bytes.Equal(s.plain(t, 8192, 4096), p) {
				return "", fmt.Errorf("%s RWF_APPEND write: %d, %v, file size %d; want 4096 bytes at 8192", mode.name, ev.Res, ev.Err(), s.fileSize(t))
			}
			note = "appended"
		}
		if !bytes.Equal(s.plain(t, 0, len(head)), head) {
			return "", fmt.Errorf("%s RWF_APPEND write changed the bytes before the end", mode.name)
		}
	}
	return note, nil
}

// flagNoAppend: on a file open with O_APPEND, a write with RWF_NOAPPEND
// goes to its own offset, where one without goes to the end (on a block
// device, which ignores O_APPEND, to its offset too).
func (c *cell) flagNoAppend(t *testing.T, ctx *aio.Context) (string, error) {
	for _, mode := range mxModes {
		s := c.open(t, "noappend-"+mode.name, 64<<10, mode.flag)
		s.fill(t, pattern(8192, 27))
		g := s.reopen(t, mode.flag|os.O_APPEND)
		p := aligned(4096)
		copy(p, pattern(len(p), 28))
		ev, err := mxWrite(t, ctx, g, s, p, 0, 0)
		if err != nil {
			return "", fmt.Errorf("%s write to an O_APPEND file: %v", mode.name, err)
		}
		switch {
		case c.raw() && ev.N() == len(p) && bytes.Equal(s.plain(t, 0, len(p)), p):
		case !c.raw() && ev.N() == len(p) && s.fileSize(t) == 8192+4096:
		default:
			return "", fmt.Errorf("%s write to an O_APPEND file, without RWF_NOAPPEND: %d, %v; want it appended", mode.name, ev.Res, ev.Err())
		}
		end := s.fileSize(t)
		copy(p, pattern(len(p), 29))
		ev, err = mxWrite(t, ctx, g, s, p, 4096, aio.RWFNoAppend)
		if err := flagOutcome(ev, err); err != nil {
			return "", err
		}
		if ev.N() != len(p) || s.fileSize(t) != end || !bytes.Equal(s.plain(t, 4096, 4096), p) {
			return "", fmt.Errorf("%s RWF_NOAPPEND write at 4096: %d, %v, size %d (was %d); want it there", mode.name, ev.Res, ev.Err(), s.fileSize(t), end)
		}
	}
	return "written at its offset", nil
}

// flagAtomic: statx STATX_WRITE_ATOMIC gives the file's atomic write unit.
// Where it has one, an O_DIRECT write of the smallest unit carrying
// RWF_ATOMIC completes whole, and one past the largest (if that is small)
// is refused. Where it has none, the kernel refuses the flag. Buffered
// files: whatever the kernel does, it refuses or writes the bytes.
func (c *cell) flagAtomic(t *testing.T, ctx *aio.Context) (string, error) {
	s := c.open(t, "atomic", 1<<20, syscall.O_DIRECT)
	s.fill(t, make([]byte, 1<<20))
	lo, hi := atomicUnits(s.f)
	note := fmt.Sprintf("statx unit %d–%d", lo, hi)
	size := int(max(lo, 4096))
	p := aligned(size)
	copy(p, pattern(size, 30))
	ev, err := mxWrite(t, ctx, s.f, s, p, int64(size), aio.RWFAtomic)
	oc := flagOutcome(ev, err)
	switch {
	case hi == 0 && oc == nil:
		return "", fmt.Errorf("RWF_ATOMIC write of %d bytes on a file with no atomic unit: %d, %v; want it refused", size, ev.Res, ev.Err())
	case hi == 0:
		if r, ok := oc.(*refusal); ok {
			r.short = note + "; " + r.short
		}
		return "", oc
	case oc != nil:
		return "", fmt.Errorf("RWF_ATOMIC write of %d bytes, the atomic unit: %v", size, oc)
	case ev.N() != size || !bytes.Equal(s.plain(t, int64(size), size), p):
		return "", fmt.Errorf("RWF_ATOMIC write of %d bytes: %d, %v", size, ev.Res, ev.Err())
	}
	note += fmt.Sprintf("; direct %d bytes: written", size)
	if hi <= 8<<20 {
		q := aligned(int(2 * hi))
		ev, err := mxWrite(t, ctx, s.f, s, q, 0, aio.RWFAtomic)
		if flagOutcome(ev, err) == nil {
			return "", fmt.Errorf("RWF_ATOMIC write of %d bytes, past the largest unit %d: %d, %v; want it refused", len(q), hi, ev.Res, ev.Err())
		}
		note += fmt.Sprintf("; %d bytes: refused", len(q))
	}
	b := c.open(t, "atomic-buffered", 64<<10, 0)
	ev, err = mxWrite(t, ctx, b.f, b, p, 0, aio.RWFAtomic)
	switch oc := flagOutcome(ev, err); {
	case oc != nil:
		note += "; buffered: refused"
	case ev.N() == size && bytes.Equal(b.plain(t, 0, size), p):
		note += "; buffered: written"
	default:
		return "", fmt.Errorf("buffered RWF_ATOMIC write: %d, %v", ev.Res, ev.Err())
	}
	return note, nil
}

// flagDontCache: a buffered write carrying RWF_DONTCACHE leaves its range
// out of the page cache once written back (the kernel starts the writeback
// and drops the pages as it ends: polled for up to 3 s), and a read of an
// uncached range carrying it leaves the range uncached; the data are right.
// File systems without it refuse it at io_submit.
func (c *cell) flagDontCache(t *testing.T, ctx *aio.Context) (string, error) {
	const size = 256 << 10
	gone := func(s *spot) bool {
		for deadline := time.Now().Add(3 * time.Second); ; time.Sleep(10 * time.Millisecond) {
			if s.resident(t, 0, size) == 0 {
				return true
			}
			if time.Now().After(deadline) {
				return false
			}
		}
	}
	w := c.open(t, "dontcache-write", size, 0)
	data := pattern(size, 31)
	ev, err := mxWrite(t, ctx, w.f, w, data, 0, aio.RWFDontCache)
	if err := flagOutcome(ev, err); err != nil {
		return "", err
	}
	if ev.N() != size {
		return "", fmt.Errorf("RWF_DONTCACHE write: %d, %v", ev.Res, ev.Err())
	}
	if !gone(w) {
		return "", fmt.Errorf("RWF_DONTCACHE write: %d of %d pages still cached after 3 s", w.resident(t, 0, size), size/4096)
	}
	if !bytes.Equal(w.plain(t, 0, size), data) {
		return "", errors.New("RWF_DONTCACHE write: the file holds other bytes")
	}
	r := c.open(t, "dontcache-read", size, 0)
	r.fill(t, data)
	if left := r.dropCache(t, 0, size); left != 0 {
		return "", fmt.Errorf("%d pages stay cached after POSIX_FADV_DONTNEED", left)
	}
	p := make([]byte, size)
	ev, err = mxRead(t, ctx, r.f, r, p, 0, aio.RWFDontCache)
	if err != nil || ev.N() != size || !bytes.Equal(p, data) {
		return "", fmt.Errorf("RWF_DONTCACHE read: %d, %v, %v", ev.Res, ev.Err(), err)
	}
	if !gone(r) {
		return "", fmt.Errorf("RWF_DONTCACHE read: %d of %d pages still cached after 3 s", r.resident(t, 0, size), size/4096)
	}
	note := "buffered write and read: uncached after"
	d := c.open(t, "dontcache-direct", size, syscall.O_DIRECT)
	q := aligned(16 << 10)
	copy(q, data)
	ev, err = mxWrite(t, ctx, d.f, d, q, 0, aio.RWFDontCache)
	switch oc := flagOutcome(ev, err); {
	case oc != nil:
		note += "; direct: refused"
	case ev.N() == len(q) && bytes.Equal(d.plain(t, 0, len(q)), q):
		note += "; direct: written (flag ignored)"
	default:
		return "", fmt.Errorf("O_DIRECT RWF_DONTCACHE write: %d, %v", ev.Res, ev.Err())
	}
	return note, nil
}

// checkFeatures checks, once every cell has run, that the feature probes
// agree with the kernel: a flag HaveRWFlags reports was taken by at least
// one cell (the cells' refusals of flags it lacks are checked in each), and
// the fsync and fdsync commands every cell ran are reported present.
func checkFeatures(t *testing.T, took *flagTally, all bool) {
	if !all {
		t.Skip("not every cell ran")
	}
	for _, fl := range mxFlags {
		have := aio.HaveRWFlags(fl.flag)
		cells := took.cells[fl.flag]
		switch {
		case have == nil && len(cells) == 0:
			t.Errorf("HaveRWFlags(%s) says the kernel has it, but no cell took it", fl.name)
		case have != nil && len(cells) > 0:
			t.Errorf("HaveRWFlags(%s): %v, but %v took it", fl.name, have, cells)
		}
		t.Logf("%s: HaveRWFlags %v; taken on %v", fl.name, have, cells)
	}
	for _, cmd := range []aio.Command{aio.CmdFsync, aio.CmdFdsync} {
		if err := aio.HaveCommand(cmd); err != nil {
			t.Errorf("HaveCommand(%v): %v, but every cell ran it", cmd, err)
		}
	}
}

// ---- sync ----

// checkSync runs fsync and fdsync commands, as Blocks and as File's Sync and
// Datasync, after writes, O_DIRECT and buffered: each completes with 0.
func (c *cell) checkSync(t *testing.T) {
	if err := aio.HaveCommand(aio.CmdFsync); err != nil {
		t.Fatalf("HaveCommand(CmdFsync): %v", err)
	}
	ctx := newContext(t, 4)
	for _, mode := range mxModes {
		s := c.open(t, "sync-"+mode.name, 64<<10, mode.flag)
		p := aligned(16 << 10)
		copy(p, pattern(len(p), 33))
		if ev, err := mxWrite(t, ctx, s.f, s, p, 0, 0); err != nil || ev.N() != len(p) {
			t.Fatalf("%s write: %d, %v, %v", mode.name, ev.Res, ev.Err(), err)
		}
		for _, b := range []*aio.Block{aio.NewFsync(s.f), aio.NewFdsync(s.f)} {
			if ev, err := mxEvent(t, ctx, b); err != nil || ev.Res != 0 {
				t.Fatalf("%s %v: %d, %v, %v", mode.name, b.Command(), ev.Res, ev.Err(), err)
			}
		}
		file := mxFile(t, streamContext(t, 4), s, mode.flag)
		if _, err := file.WriteAt(p, s.base+int64(len(p))); err != nil {
			t.Fatal(err)
		}
		if err := file.Sync(); err != nil {
			t.Fatalf("%s File.Sync: %v", mode.name, err)
		}
		if err := file.Datasync(); err != nil {
			t.Fatalf("%s File.Datasync: %v", mode.name, err)
		}
	}
	c.sum.fsync = "0"
}

// ---- no space ----

// checkNoSpace fills the file system but for a few MiB, then writes more
// than that through the package: a buffered write Block (resubmitted from
// where each short write stopped) and an O_DIRECT File.WriteAt. Each
// reports the bytes that fit, a short count or ENOSPC, never more; the
// file holds exactly those bytes; a file written before is unchanged. On
// a raw device, the same across the device's end. How much fits differs
// by file system (metadata, reservations), so only the invariants are
// checked, and the counts logged.
func (c *cell) checkNoSpace(t *testing.T) {
	if c.raw() {
		c.noSpaceDevice(t)
		return
	}
	// Registered first, run last: once the files are removed, commit, so
	// that btrfs has their space back for the soak.
	t.Cleanup(syncFS)
	other := c.open(t, "other", 1<<20, 0)
	otherData := pattern(1<<20, 35)
	other.fill(t, otherData)
	room := c.open(t, "room", 8<<20, 0)
	room.fill(t, make([]byte, 8<<20))
	// Fill the rest with preallocated extents, in ever smaller pieces.
	filler := c.open(t, "filler", 0, 0)
	var off int64
	for chunk := freeBytes(t, c.dir); chunk >= 64<<10; {
		switch err := syscall.Fallocate(int(filler.f.Fd()), 0, off, chunk); err {
		case nil:
			off += chunk
		case syscall.ENOSPC:
			chunk /= 2
		default:
			t.Fatalf("fallocate: %v", err)
		}
	}
	room.f.Close()
	if err := os.Remove(room.path); err != nil {
		t.Fatal(err)
	}
	syncFS()
	free := freeBytes(t, c.dir)
	want := int(free) + 16<<20
	data := pattern(want, 36)
	t.Logf("filled with %d MiB; %d KiB free; writing %d KiB", off>>20, free>>10, want>>10)

	ctx := newContext(t, 4)
	buffered := c.open(t, "full-buffered", int64(want), 0)
	total, rounds := 0, 0
	var last error
	for ; rounds < 16; rounds++ {
		ev, err := mxWrite(t, ctx, buffered.f, buffered, data[total:], int64(total), 0)
		if err != nil {
			t.Fatalf("Submit: %v", err)
		}
		if ev.Err() != nil {
			last = ev.Err()
			break
		}
		if ev.N() <= 0 || total+ev.N() >= want {
			t.Fatalf("write of %d bytes at %d with %d KiB free: %d", want-total, total, free>>10, ev.N())
		}
		total += ev.N()
	}
	if !errors.Is(last, syscall.ENOSPC) {
		t.Fatalf("buffered writes of %d bytes: %d written in %d rounds, then %v; want ENOSPC", want, total, rounds, last)
	}
	if got := buffered.plain(t, 0, want); !bytes.Equal(got, data[:total]) {
		t.Fatalf("buffered: the file holds %d bytes, the writes reported %d; first difference at %d", len(got), total, mismatch(got, data[:total]))
	}
	buffered.f.Close()
	os.Remove(buffered.path)
	syncFS()

	direct := c.open(t, "full-direct", int64(want), syscall.O_DIRECT)
	file := mxFile(t, streamContext(t, 4), direct, syscall.O_DIRECT)
	p := aligned(want)
	copy(p, data)
	n, err := file.WriteAt(p, 0)
	if n >= want || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("O_DIRECT WriteAt of %d bytes with %d KiB free: %d, %v; want fewer bytes and ENOSPC", want, free>>10, n, err)
	}
	// A write that cannot be placed whole may place nothing (ext4 and
	// xfs allocate an O_DIRECT write's blocks at once): write on from where
	// it stopped, 1 MiB at a time, until ENOSPC.
	first, writes := n, 0
	for n < want {
		writes++
		m, err := file.WriteAt(p[n:min(n+1<<20, want)], int64(n))
		n += m
		if err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("O_DIRECT WriteAt of 1 MiB at %d: %d, %v; want ENOSPC", n-m, m, err)
			}
			break
		}
	}
	if n >= want {
		t.Fatalf("O_DIRECT: %d bytes fit in %d KiB", n, free>>10)
	}
	if got := direct.plain(t, 0, want); !bytes.Equal(got, data[:n]) {
		t.Fatalf("O_DIRECT: the file holds %d bytes, WriteAt reported %d; first difference at %d", len(got), n, mismatch(got, data[:n]))
	}
	if !bytes.Equal(other.plain(t, 0, 1<<20), otherData) {
		t.Fatal("the other file changed")
	}
	c.sum.nospace = fmt.Sprintf("%d KiB free: buffered Blocks %d KiB in %d writes, then ENOSPC; O_DIRECT WriteAt %d KiB and ENOSPC, %d KiB in all after %d more of 1 MiB",
		free>>10, total>>10, rounds+1, first>>10, n>>10, writes)
	t.Log(c.sum.nospace)
}

// noSpaceDevice writes across the end of a raw device: a Block is cut
// short at the end and the next one gets ENOSPC; WriteAt returns the bytes
// up to the end and ENOSPC; O_DIRECT and buffered; the bytes before the
// region are untouched.
func (c *cell) noSpaceDevice(t *testing.T) {
	const tail = 1 << 20
	ctx := newContext(t, 4)
	guard := c.open(t, "", 1<<20, 0) // any region: not the device's end
	guardData := pattern(1<<20, 37)
	guard.fill(t, guardData)
	end := &spot{path: c.dev, base: c.size - tail, size: tail}
	for _, mode := range mxModes {
		f := end.reopen(t, mode.flag)
		end.f = f
		p := aligned(tail + 64<<10)
		copy(p, pattern(len(p), 38))
		ev, err := mxWrite(t, ctx, f, end, p, 0, 0)
		if err != nil || ev.Err() != nil || ev.N() != tail {
			t.Fatalf("%s write across the device's end: %d, %v, %v; want %d bytes", mode.name, ev.Res, ev.Err(), err, tail)
		}
		ev, err = mxWrite(t, ctx, f, end, p[tail:], tail, 0)
		if err != nil || ev.Err() != syscall.ENOSPC {
			t.Fatalf("%s write at the device's end: %d, %v, %v; want ENOSPC", mode.name, ev.Res, ev.Err(), err)
		}
		if !bytes.Equal(end.plain(t, 0, tail+4096), p[:tail]) {
			t.Fatalf("%s: the device's last MiB is not what was written", mode.name)
		}
		copy(p, pattern(len(p), 39))
		file := mxFile(t, streamContext(t, 4), end, mode.flag)
		n, err := file.WriteAt(p, end.base)
		if n != tail || !errors.Is(err, syscall.ENOSPC) {
			t.Fatalf("%s WriteAt across the device's end: %d, %v; want %d and ENOSPC", mode.name, n, err, tail)
		}
		if !bytes.Equal(end.plain(t, 0, tail), p[:tail]) {
			t.Fatalf("%s: WriteAt's bytes are not at the device's end", mode.name)
		}
	}
	if !bytes.Equal(guard.plain(t, 0, 1<<20), guardData) {
		t.Fatal("a region away from the end changed")
	}
	c.sum.nospace = fmt.Sprintf("%d KiB up to the end, then ENOSPC", tail>>10)
}

// ---- soak ----

// mxSoakDuration is how long each cell is soaked: AIO_MATRIX_SOAK, a Go
// duration, or 20 s.
func mxSoakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("AIO_MATRIX_SOAK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			t.Fatalf("AIO_MATRIX_SOAK=%q: want a positive duration", s)
		}
		return d
	}
	return 20 * time.Second
}

// soakCells soaks every cell at once for mxSoakDuration: cmd/aiosoak on
// each mount (built once), and rawSoak on each raw device. Each cell's
// result is a subtest of its own.
func soakCells(t *testing.T, cells []*cell) {
	d := mxSoakDuration(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skipf("the soak builds cmd/aiosoak and needs the go command: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "aiosoak")
	if out, err := exec.Command(goTool, "build", "-o", bin, "./cmd/aiosoak").CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/aiosoak: %v\n%s", err, out)
	}
	type result struct {
		out  string
		err  error
		raw  *rawSoakResult
		took time.Duration
	}
	results := make([]result, len(cells))
	raws := make([]*rawSoaker, len(cells))
	for i, c := range cells {
		if c.raw() {
			raws[i] = newRawSoaker(t, c)
		}
	}
	var wg sync.WaitGroup
	for i, c := range cells {
		wg.Add(1)
		go func() {
			defer wg.Done()
			start := time.Now()
			if c.raw() {
				results[i].raw = raws[i].run(d)
			} else {
				ctx, cancel := context.WithTimeout(context.Background(), d+3*time.Minute)
				defer cancel()
				// Files of 8 MiB: 64 MiB a cell, room on every one.
				out, err := exec.CommandContext(ctx, bin, "-duration", d.String(), "-dir", c.dir, "-size", strconv.Itoa(8<<20)).CombinedOutput()
				results[i].out, results[i].err = string(out), err
			}
			results[i].took = time.Since(start)
		}()
	}
	wg.Wait()
	total := regexp.MustCompile(`(?m)^total: (\d+) I/Os .* (\d+) bytes verified, (\d+) errors$`)
	for i, c := range cells {
		t.Run(c.name(), func(t *testing.T) {
			r := results[i]
			if r.raw != nil {
				for _, e := range r.raw.errs {
					t.Error(e)
				}
				if r.raw.writes == 0 || r.raw.verified == 0 {
					t.Errorf("the soak did nothing: %+v", r.raw)
				}
				c.sum.soak = fmt.Sprintf("%d I/Os, %d MiB verified, %d errors (in-process)", r.raw.writes+r.raw.reads, r.raw.verified>>20, len(r.raw.errs))
				t.Logf("%v: %s", r.took.Round(time.Second), c.sum.soak)
				return
			}
			if r.err != nil || !strings.Contains(r.out, "\nPASS\n") {
				t.Fatalf("aiosoak on %s: %v\n%s", c.dir, r.err, r.out)
			}
			m := total.FindStringSubmatch(r.out)
			if m == nil {
				t.Fatalf("aiosoak printed no total:\n%s", r.out)
			}
			verified, _ := strconv.ParseInt(m[2], 10, 64)
			c.sum.soak = fmt.Sprintf("%s I/Os, %d MiB verified, %s errors", m[1], verified>>20, m[3])
			t.Logf("%v: %s", r.took.Round(time.Second), c.sum.soak)
		})
	}
}

// rawSoaker is the soak of a raw device, done in this process: aiosoak
// writes files, and a raw device has none. Like aiosoak, it writes 4 KiB
// records holding their offset, a generation number and a CRC-32C at
// random places of a region per way (Events stream, Block.Wait, File) and
// mode (O_DIRECT, buffered), two goroutines per region each owning half the
// records, reads a quarter back as it goes, and at the end reads every
// record through the package and again through the page cache.
type rawSoaker struct {
	targets []*rawTarget
}

type rawTarget struct {
	name string
	s    *spot
	rw   rwAt
	gens []uint64
}

type rawSoakResult struct {
	writes, reads, verified int64
	errs                    []string
}

const (
	rawRecord  = 4096
	rawRegion  = 8 << 20
	rawWriters = 2
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

func newRawSoaker(t *testing.T, c *cell) *rawSoaker {
	r := &rawSoaker{}
	for _, mode := range mxModes {
		for _, way := range mxWayNames {
			s := c.open(t, "", rawRegion, mode.flag)
			r.targets = append(r.targets, &rawTarget{
				name: way + "/" + mode.name,
				s:    s,
				rw:   mxWay(t, way, s, s.f, mode.flag, 4*rawWriters),
				gens: make([]uint64, rawRegion/rawRecord),
			})
		}
	}
	return r
}

// record fills p with the record at off of generation gen.
func rawFill(p []byte, off int64, gen uint64) {
	binary.LittleEndian.PutUint64(p[0:], uint64(off))
	binary.LittleEndian.PutUint64(p[8:], gen)
	x := uint64(off)*0x9e3779b97f4a7c15 ^ gen
	for i := 16; i < len(p)-4; i += 8 {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(p[i:], x)
	}
	binary.LittleEndian.PutUint32(p[len(p)-4:], crc32.Checksum(p[:len(p)-4], castagnoli))
}

// rawCheck says what is wrong with the record p read at off, which should
// be of generation gen (0: never written, all zeros).
func rawCheck(p []byte, off int64, gen uint64) error {
	if gen == 0 {
		if !bytes.Equal(p, make([]byte, len(p))) {
			return fmt.Errorf("record at %d: never written, not zeros", off)
		}
		return nil
	}
	if crc32.Checksum(p[:len(p)-4], castagnoli) != binary.LittleEndian.Uint32(p[len(p)-4:]) {
		return fmt.Errorf("record at %d: bad checksum", off)
	}
	if o, g := int64(binary.LittleEndian.Uint64(p)), binary.LittleEndian.Uint64(p[8:]); o != off || g != gen {
		return fmt.Errorf("record at %d: holds offset %d generation %d, want generation %d", off, o, g, gen)
	}
	return nil
}

func (r *rawSoaker) run(d time.Duration) *rawSoakResult {
	res := &rawSoakResult{}
	var mu sync.Mutex
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if len(res.errs) < 20 {
			res.errs = append(res.errs, err.Error())
		}
	}
	var writes, reads, verified atomic.Int64
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for ti, tg := range r.targets {
		for w := range rawWriters {
			wg.Add(1)
			go func() {
				defer wg.Done()
				buf := aligned(rawRecord)
				rng := uint64(ti*rawWriters+w+1) * 0x9e3779b97f4a7c15
				owned := len(tg.gens) / rawWriters
				for time.Now().Before(deadline) {
					rng ^= rng << 13
					rng ^= rng >> 7
					rng ^= rng << 17
					slot := w + int(rng>>2%uint64(owned))*rawWriters
					off := int64(slot) * rawRecord
					if rng&3 == 0 {
						if n, err := tg.rw.ReadAt(buf, off); n != rawRecord || err != nil {
							fail(fmt.Errorf("%s: read at %d: %d, %v", tg.name, off, n, err))
							return
						}
						reads.Add(1)
						if err := rawCheck(buf, off, tg.gens[slot]); err != nil {
							fail(fmt.Errorf("%s: %v", tg.name, err))
							return
						}
						verified.Add(rawRecord)
						continue
					}
					gen := tg.gens[slot] + 1
					rawFill(buf, off, gen)
					if n, err := tg.rw.WriteAt(buf, off); n != rawRecord || err != nil {
						fail(fmt.Errorf("%s: write at %d: %d, %v", tg.name, off, n, err))
						return
					}
					tg.gens[slot] = gen
					writes.Add(1)
				}
			}()
		}
	}
	wg.Wait()
	for _, tg := range r.targets {
		buf := aligned(rawRecord)
		for slot := range tg.gens {
			off := int64(slot) * rawRecord
			if n, err := tg.rw.ReadAt(buf, off); n != rawRecord || err != nil {
				fail(fmt.Errorf("%s: final read at %d: %d, %v", tg.name, off, n, err))
				break
			}
			if err := rawCheck(buf, off, tg.gens[slot]); err != nil {
				fail(fmt.Errorf("%s: final read: %v", tg.name, err))
				break
			}
			verified.Add(rawRecord)
		}
		f, err := os.Open(tg.s.path)
		if err != nil {
			fail(err)
			continue
		}
		all := make([]byte, rawRegion)
		if _, err := f.ReadAt(all, tg.s.base); err != nil {
			fail(err)
		}
		f.Close()
		for slot := range tg.gens {
			off := int64(slot) * rawRecord
			if err := rawCheck(all[off:off+rawRecord], off, tg.gens[slot]); err != nil {
				fail(fmt.Errorf("%s: plain read: %v", tg.name, err))
				break
			}
			verified.Add(rawRecord)
		}
	}
	res.writes, res.reads, res.verified = writes.Load(), reads.Load(), verified.Load()
	return res
}

// ---- the table ----

// logTable logs a row per cell, in the layout of RELIABILITY.md's table.
func logTable(t *testing.T, cells []*cell) {
	var b strings.Builder
	b.WriteString("\n| cell | alignment: reported mem/write/read (source); enforced | data |")
	for _, fl := range mxFlags {
		b.WriteString(" " + fl.name + " |")
	}
	b.WriteString(" fsync, fdsync | ENOSPC | soak |\n")
	for _, c := range cells {
		fmt.Fprintf(&b, "| %s | %s | %s |", c.name(), c.sum.align, c.sum.data)
		for _, fl := range mxFlags {
			b.WriteString(" " + c.sum.flags[fl.flag] + " |")
		}
		fmt.Fprintf(&b, " %s | %s | %s |\n", c.sum.fsync, c.sum.nospace, c.sum.soak)
	}
	t.Log(b.String())
}
