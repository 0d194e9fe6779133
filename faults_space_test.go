//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
	"github.com/linuxaio/aio/internal/testlock"
)

// The space and limit faults: a full ring, aio-max-nr reached, a full
// device, no space left, the file size limit. Each test puts the package
// through one fault on the real kernel and checks that it keeps working,
// loses nothing, corrupts nothing and leaks nothing (TestMain checks the
// leaks). RELIABILITY.md lists them.

// A Context of 4 slots flooded by 16 goroutines, each with an O_DIRECT
// and a buffered read, in both modes and under both FullPolicies: FullWait
// makes every Submit wait until it gets in; FullError refuses with ErrFull,
// naming the Block and submitting nothing, until a retry gets in. Every
// submission has one event with its data. ReadAt callers on a File wait
// for room under either policy: every call returns its data, none ErrFull.
func TestFaultFullRing(t *testing.T) {
	const size = 1 << 20
	direct, data := directFile(t, size)
	buffered := tempFile(t, data)
	for _, c := range []struct {
		name string
		opts []aio.Option
	}{
		{"stream_FullWait", nil},
		{"stream_FullError", []aio.Option{aio.WhenFull(aio.FullError)}},
		{"manual_FullWait", []aio.Option{aio.Manual(), aio.WhenFull(aio.FullWait)}},
		{"manual_FullError", []aio.Option{aio.Manual()}},
	} {
		t.Run(c.name, func(t *testing.T) {
			policy := aio.FullWait
			if strings.HasSuffix(c.name, "FullError") {
				policy = aio.FullError
			}
			flood(t, streamContext(t, 4, c.opts...), policy, data, direct, buffered)
		})
	}
	for _, policy := range []aio.FullPolicy{aio.FullWait, aio.FullError} {
		t.Run("file_"+policy.String(), func(t *testing.T) {
			ctx := streamContext(t, 4, aio.WhenFull(policy))
			floodFiles(t, ctx, data, fileOn(t, ctx, direct), fileOn(t, ctx, buffered))
		})
	}
}

// floodFiles has 16 goroutines each make 100 ReadAt calls of 4 KiB on
// files, all on ctx, and checks that every call returns its data, and that
// the flood filled ctx.
func floodFiles(t *testing.T, ctx *aio.Context, data []byte, files ...*aio.File) {
	const goroutines, each = 16, 100
	var wg sync.WaitGroup
	var reads atomic.Int64
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := range each {
				off := readOffset(g*each+i, len(data))
				clear(buf)
				file := files[i%len(files)]
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("%s: ReadAt(%d) on a full Context: %d, %v", file.Name(), off, n, err)
					return
				}
				reads.Add(1)
			}
		}()
	}
	// Look at how many slots are taken, every 100 µs, until the flood ends.
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	most := 0
	for running := true; running; {
		select {
		case <-done:
			running = false
		default:
			most = max(most, ctx.InFlight())
			time.Sleep(100 * time.Microsecond)
		}
	}
	if reads.Load() != goroutines*each {
		t.Fatalf("%d of %d reads done", reads.Load(), goroutines*each)
	}
	if most != ctx.Cap() {
		t.Fatalf("at most %d of %d slots taken: the flood did not fill the Context", most, ctx.Cap())
	}
	t.Logf("%d reads through %d slots, %+v", reads.Load(), ctx.Cap(), ctx.Stats())
}

func flood(t *testing.T, ctx *aio.Context, policy aio.FullPolicy, data []byte, files ...*os.File) {
	const goroutines, each = 16, 100
	var o ledger
	var refused atomic.Int64
	owner := map[*aio.Block]chan *aio.Block{} // where a Block goes back after its event
	mine := make([]chan *aio.Block, goroutines)
	for g := range mine {
		mine[g] = make(chan *aio.Block, len(files))
		for _, f := range files {
			b := aio.NewRead(f, aligned(4096), 0)
			owner[b] = mine[g]
			mine[g] <- b
		}
	}
	stopReader := make(chan struct{})
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		// Under FullError, read nothing until a Submit has found the
		// Context full: 32 Blocks for 4 slots make sure one does, where a
		// prompt reader on a loaded machine might let every Submit in.
		for policy == aio.FullError && refused.Load() == 0 {
			select {
			case <-stopReader:
				return
			case <-time.After(50 * time.Microsecond):
			}
		}
		deliver := func(ev aio.Event) {
			o.event(t, ev.Block)
			off := ev.Block.Offset()
			if ev.N() != 4096 || !bytes.Equal(ev.Block.Buffer(), data[off:off+4096]) {
				t.Errorf("read at %d: %d, %v", off, ev.Res, ev.Err())
			}
			owner[ev.Block] <- ev.Block
		}
		for {
			if ctx.Events() != nil {
				select {
				case ev := <-ctx.Events():
					deliver(ev)
				case <-stopReader:
					return
				}
				continue
			}
			evs, err := ctx.GetEvents(1, 4, 10*time.Millisecond)
			if err != nil {
				t.Errorf("GetEvents: %v", err)
				return
			}
			for _, ev := range evs {
				deliver(ev)
			}
			select {
			case <-stopReader:
				return
			default:
			}
		}
	}()
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				b := <-mine[g]
				clear(b.Buffer())
				b.SetOffset(readOffset(g*each+i, len(data)))
				o.submitted(b)
				for {
					n, err := ctx.Submit(b)
					if n == 1 {
						break
					}
					var ae *aio.Error
					if policy == aio.FullError && errors.Is(err, aio.ErrFull) && errors.As(err, &ae) && ae.Index == 0 && !b.InFlight() {
						refused.Add(1)
						time.Sleep(20 * time.Microsecond)
						continue
					}
					t.Errorf("Submit under %v: %d, %v", policy, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if !settles(func() bool { return o.left() == 0 }) {
		t.Errorf("%d submissions without an event", o.left())
	}
	close(stopReader)
	<-readerDone
	if o.events != goroutines*each {
		t.Fatalf("%d events, want %d", o.events, goroutines*each)
	}
	if policy == aio.FullError && refused.Load() == 0 {
		t.Fatal("no Submit found the Context full: the flood did not fill it")
	}
	t.Logf("%d reads through 4 slots, %d refused with ErrFull, %+v", o.events, refused.Load(), ctx.Stats())
}

// fs.aio-max-nr exhausted by this test's own Contexts (the sysctl is left
// as it is): the next NewContext fails with EAGAIN and an error that names
// the limit; the Contexts made keep doing I/O, in both modes; Close gives
// their slots back to fs.aio-nr.
//
// Since Linux 4.12 io_setup counts exactly the events asked for against
// the limit (before, twice as many): the test needs neither, as it halves
// its request on each refusal until a context of 1 is refused. Other
// processes' contexts count too, so while the limit is reached their
// io_setup fails as well: the test holds it for as short a time as it can,
// and first takes testlock exclusive, which waits for this module's other
// test binaries (go test ./... runs them beside this one) to finish.
func TestFaultAioMaxNr(t *testing.T) {
	release, waited, err := testlock.Exclusive()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(release) // after closeAll: Cleanups run last first
	if waited > time.Second {
		t.Logf("waited %v for the other test binaries", waited.Round(time.Millisecond))
	}
	limit, base := procInt(t, "/proc/sys/fs/aio-max-nr"), aioNr(t)
	if limit-base > 1<<18 {
		t.Skipf("fs.aio-max-nr is %d: reaching it would take %d MiB of kernel memory", limit, (limit-base)>>14)
	}
	f, data := directFile(t, 1<<20)
	mappings := aioMappings()
	var held []*aio.Context
	closeAll := func() {
		var wg sync.WaitGroup
		for _, ctx := range held {
			wg.Add(1)
			go func() { defer wg.Done(); ctx.Close() }()
		}
		wg.Wait()
	}
	t.Cleanup(closeAll)

	// Half of what is left in stream mode, then the rest in manual mode,
	// halving each request the kernel refuses, down to 1.
	var refused error
	n := max((limit-base)/2, 1)
	for tries := 0; tries < 64 && refused == nil; tries++ {
		opts := []aio.Option{aio.Manual()}
		if len(held) == 0 {
			opts = nil
		}
		ctx, err := aio.NewContext(n, opts...)
		switch {
		case err == nil:
			held = append(held, ctx)
			n = max(limit-aioNr(t), 1)
		case !errors.Is(err, syscall.EAGAIN):
			t.Fatalf("NewContext(%d) with aio-nr %d of %d: %v", n, aioNr(t), limit, err)
		case n == 1:
			refused = err
		default:
			n /= 2
		}
	}
	if refused == nil || len(held) < 2 {
		t.Fatalf("fs.aio-max-nr not reached with %d Contexts (others come and go): last error %v", len(held), refused)
	}
	wantErr(t, refused, syscall.EAGAIN, "io_setup", "aio-max-nr")
	var ae *aio.Error
	if !errors.As(refused, &ae) || ae.Op != "NewContext" || ae.Syscall != "io_setup" || ae.Index != -1 {
		t.Fatalf("error %#v is not an *aio.Error for io_setup", refused)
	}
	peak, ours, sizes := aioNr(t), 0, []int{}
	for _, ctx := range held {
		b := aio.NewRead(f, aligned(4096), 4096)
		submit(t, ctx, b)
		wantRead(t, await(t, ctx, 1)[0], data)
		ours += ctx.Cap()
		sizes = append(sizes, ctx.Cap())
	}
	closeAll()
	if peak < ours {
		t.Fatalf("aio-nr %d with %d slots of ours open", peak, ours)
	}
	if got := aioMappings(); got != mappings {
		t.Fatalf("%d AIO rings mapped after Close, %d before", got, mappings)
	}
	aioNrBack(t, base, peak, sizes...)
	t.Logf("limit %d reached with %d Contexts of %d slots in all; aio-nr %d at the start, %d at the peak, %d after Close; %v",
		limit, len(held), ours, base, peak, aioNr(t), refused)
}

// /dev/full has no write_iter, so the kernel refuses AIO writes to it in
// io_submit with EINVAL (plain write(2) gets ENOSPC): Submit returns that,
// naming the Block and saying it is a character device, and nothing is
// submitted. A read of it works. Real ENOSPC is TestFaultNoSpace.
func TestFaultDevFull(t *testing.T) {
	full, err := os.OpenFile("/dev/full", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	ctx := newContext(t, 4)
	for _, b := range []*aio.Block{
		aio.NewWrite(full, []byte("data"), 0),
		aio.NewWriteV(full, [][]byte{[]byte("da"), []byte("ta")}, 0),
	} {
		before := ctx.Stats()
		n, err := ctx.Submit(b)
		wantErr(t, err, syscall.EINVAL, "io_submit", "block 0", b.Command().String(), "(/dev/full) is a character device")
		if st := ctx.Stats(); n != 0 || st.Submitted != before.Submitted || ctx.InFlight() != 0 || b.InFlight() {
			t.Fatalf("%s to /dev/full: %d submitted, Stats %+v", b.Command(), n, st)
		}
	}
	buf := pattern(64, 1)
	if ev := do(t, ctx, aio.NewRead(full, buf, 0)); ev.N() != 64 || !bytes.Equal(buf, make([]byte, 64)) {
		t.Fatalf("read of /dev/full: %d, %v", ev.Res, ev.Err())
	}
}

// A full filesystem: a 64 KiB tmpfs mounted in a mount namespace of a
// child process. A write larger than the room left is cut short; the next
// gets ENOSPC in its Event; the data that fit is in the file. Through a
// File, once the file is emptied, a WriteAt of the same returns the bytes
// that fit and an error wrapping ENOSPC.
func TestFaultNoSpace(t *testing.T) {
	if isChild(t) {
		noSpace(t)
		return
	}
	attr := &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS} // Go makes / private in it
	if os.Geteuid() != 0 {
		attr.Cloneflags = syscall.CLONE_NEWUSER
		attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}}
		attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}}
	}
	if err := runChild(t, attr); err != nil {
		t.Skipf("cannot start a process in a new mount namespace here: %v", err)
	}
}

func noSpace(t *testing.T) {
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size=64k,mode=0700"); err != nil {
		t.Skipf("cannot mount a tmpfs in a mount namespace here: %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, syscall.MNT_DETACH) })
	f, err := os.Create(dir + "/data")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ctx := newContext(t, 4)
	data := pattern(128<<10, 4)
	ev := do(t, ctx, aio.NewWrite(f, data, 0))
	n := ev.N()
	if ev.Err() != nil || n <= 0 || n >= len(data) {
		t.Fatalf("write of %d bytes to a 64 KiB filesystem: %d, %v; want a short write", len(data), ev.Res, ev.Err())
	}
	ev = do(t, ctx, aio.NewWrite(f, data[n:], int64(n)))
	if !errors.Is(ev.Err(), syscall.ENOSPC) || ev.N() != 0 {
		t.Fatalf("write to a full filesystem: %d, %v; want ENOSPC", ev.Res, ev.Err())
	}
	if got, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(got, data[:n]) {
		t.Fatalf("file holds %d bytes (%v), want the %d written", len(got), err, n)
	}
	if err := f.Truncate(0); err != nil {
		t.Fatal(err)
	}
	file, _ := fileOf(t, f, 4)
	m, err := file.WriteAt(data, 0)
	if !errors.Is(err, syscall.ENOSPC) || m <= 0 || m >= len(data) {
		t.Fatalf("WriteAt of %d bytes to a 64 KiB filesystem: %d, %v; want the bytes that fit and ENOSPC", len(data), m, err)
	}
	if got, err := os.ReadFile(f.Name()); err != nil || !bytes.Equal(got, data[:m]) {
		t.Fatalf("file holds %d bytes (%v), want the %d WriteAt reported", len(got), err, m)
	}
	if k, err := file.WriteAt(data[m:m+1], int64(m)); k != 0 || !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("WriteAt of 1 byte to a full filesystem: %d, %v; want 0 and ENOSPC", k, err)
	}
	t.Logf("short write of %d bytes, then ENOSPC; WriteAt: %d bytes, %v", n, m, err)
}

// Writes past RLIMIT_FSIZE, in a child process that ignores SIGXFSZ: a
// write that crosses the limit is cut short at it, one that starts there
// gets EFBIG in its Event, buffered and O_DIRECT alike, and the process
// lives on. Through a File, a WriteAt across the limit returns the bytes
// up to it and an error wrapping EFBIG.
func TestFaultFileSizeLimit(t *testing.T) {
	if !isChild(t) {
		if err := runChild(t, nil); err != nil {
			t.Fatal(err)
		}
		return
	}
	const limit = 8192
	buffered := tempFile(t, nil)
	direct, _ := directFile(t, 4096)
	signal.Ignore(syscall.SIGXFSZ)
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
		t.Fatal(err)
	}
	ctx := newContext(t, 4)
	for _, f := range []*os.File{buffered, direct} {
		if ev := do(t, ctx, aio.NewWrite(f, aligned(3*4096), 4096)); ev.N() != limit-4096 {
			t.Fatalf("%s: write across the limit: %d, %v; want %d bytes", f.Name(), ev.Res, ev.Err(), limit-4096)
		}
		if ev := do(t, ctx, aio.NewWrite(f, aligned(4096), limit)); !errors.Is(ev.Err(), syscall.EFBIG) {
			t.Fatalf("%s: write at the limit: %d, %v; want EFBIG", f.Name(), ev.Res, ev.Err())
		}
		if fi, err := f.Stat(); err != nil || fi.Size() != limit {
			t.Fatalf("%s: size %v, %v; want %d", f.Name(), fi.Size(), err, limit)
		}
		if err := f.Truncate(0); err != nil {
			t.Fatal(err)
		}
		file, _ := fileOf(t, f, 4)
		data := aligned(3 * 4096)
		copy(data, pattern(len(data), 6))
		if n, err := file.WriteAt(data, 4096); n != limit-4096 || !errors.Is(err, syscall.EFBIG) {
			t.Fatalf("%s: WriteAt across the limit: %d, %v; want %d bytes and EFBIG", f.Name(), n, err, limit-4096)
		}
		got := aligned(3 * 4096)
		if n, err := file.ReadAt(got, 0); n != limit || err != io.EOF || !bytes.Equal(got[4096:limit], data[:limit-4096]) {
			t.Fatalf("%s: ReadAt after WriteAt across the limit: %d, %v, data right %v", f.Name(), n, err, bytes.Equal(got[4096:limit], data[:limit-4096]))
		}
	}
}
