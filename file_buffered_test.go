//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// dropCache drops f's pages from the page cache (posix_fadvise DONTNEED),
// so that the next read of them goes to the disk. Written pages are
// flushed first: dirty pages would stay.
func dropCache(t testing.TB, f *os.File) {
	t.Helper()
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	const dontNeed = 4 // POSIX_FADV_DONTNEED
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, dontNeed, 0, 0); e != 0 {
		t.Fatalf("posix_fadvise: %v", e)
	}
}

// untilFallback runs attempt, which drops pages from the page cache and
// reads them, until a read comes back from RWF_NOWAIT unfinished, as attempt
// reports, up to 50 times. A read of dropped pages does not always: the
// NOWAIT read itself starts reading them from the disk, and on a fast disk
// (this project's VM, its host caching the file) it sometimes finds them
// read when it looks again: 76 of 500 dropped 4 KiB pages, measured.
func untilFallback(t testing.TB, what string, attempt func() bool) {
	t.Helper()
	for range 50 {
		if attempt() {
			return
		}
	}
	t.Fatalf("%s: 50 reads of dropped pages, and RWF_NOWAIT read every one whole", what)
}

// noWaitOrSay reports whether file's reads try RWF_NOWAIT, and says in the
// log why not where they do not: a file system or kernel that does not take
// it for buffered reads (tmpfs, or xfs before 4.13, ext4 before 5.5, btrfs
// before 5.9).
func noWaitOrSay(t testing.TB, file *aio.File) bool {
	t.Helper()
	if aio.TriesNoWait(file) {
		return true
	}
	var fs syscall.Statfs_t
	syscall.Statfs(file.Name(), &fs)
	t.Logf("reads of %s (file system magic %#x) do not try RWF_NOWAIT here: checking the blocking path alone", file.Name(), fs.Type)
	return false
}

// A read of a buffered file that the page cache holds is served by one
// preadv2 with RWF_NOWAIT, with no io_submit and no blocking call; once
// the pages are dropped, the same read falls back to a blocking pread and
// still returns the file's bytes. io.EOF comes at the end either way.
func TestFileBufferedNoWait(t *testing.T) {
	const size = 1 << 20
	data := pattern(size, 3)
	f := tempFile(t, data)
	file, ctx := fileOf(t, f, 8)
	nowait := noWaitOrSay(t, file)
	before := ctx.Stats()
	buf := make([]byte, 4096+3)
	for i := range 100 {
		off := int64(i*7919) % (size - int64(len(buf)))
		if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
			t.Fatalf("cached ReadAt at %d: %d, %v", off, n, err)
		}
	}
	if n, err := file.ReadAt(buf, size-10); n != 10 || err != io.EOF || !bytes.Equal(buf[:10], data[size-10:]) {
		t.Fatalf("ReadAt across the end: %d, %v; want 10, io.EOF", n, err)
	}
	if n, err := file.ReadAt(buf, size+5); n != 0 || err != io.EOF {
		t.Fatalf("ReadAt past the end: %d, %v; want 0, io.EOF", n, err)
	}
	st := ctx.Stats()
	if st.IOSubmitCalls != before.IOSubmitCalls {
		t.Fatalf("buffered reads went through io_submit: %+v", st)
	}
	if nowait && (st.NoWaitHits != 102 || st.NoWaitFallbacks != 0 || st.BlockingCalls != 0) {
		t.Fatalf("102 cached reads: %d NOWAIT hits, %d fallbacks, %d blocking calls", st.NoWaitHits, st.NoWaitFallbacks, st.BlockingCalls)
	}
	if !nowait && st.BlockingCalls != 102 {
		t.Fatalf("102 reads: %d blocking calls", st.BlockingCalls)
	}

	off := int64(size / 2)
	untilFallback(t, "cold ReadAt", func() bool {
		dropCache(t, f)
		before = ctx.Stats()
		if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
			t.Fatalf("cold ReadAt: %d, %v", n, err)
		}
		st = ctx.Stats()
		if nowait && st.NoWaitHits == before.NoWaitHits+1 && st.BlockingCalls == before.BlockingCalls {
			return false // read whole after all: try again
		}
		if nowait && (st.NoWaitFallbacks != before.NoWaitFallbacks+1 || st.BlockingCalls != before.BlockingCalls+1) {
			t.Fatalf("a cold read: NOWAIT fallbacks %d→%d, blocking calls %d→%d; want one more each",
				before.NoWaitFallbacks, st.NoWaitFallbacks, before.BlockingCalls, st.BlockingCalls)
		}
		return true
	})
	if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil {
		t.Fatalf("ReadAt again: %d, %v", n, err)
	}
	if again := ctx.Stats(); nowait && again.NoWaitHits != st.NoWaitHits+1 {
		t.Fatalf("the same read, now cached: NOWAIT hits %d→%d", st.NoWaitHits, again.NoWaitHits)
	}
}

// Writes of a buffered file are blocking pwrites, at any offset and
// length, outside io_submit; Sync still goes through kernel AIO.
func TestFileBufferedWrites(t *testing.T) {
	data := pattern(1<<16, 4)
	f := tempFile(t, data)
	file, ctx := fileOf(t, f, 4)
	before := ctx.Stats()
	for i, off := range []int64{0, 1, 4095, 60000, 1 << 16} {
		p := pattern(777+i, byte(i))
		if n, err := file.WriteAt(p, off); n != len(p) || err != nil {
			t.Fatalf("WriteAt at %d: %d, %v", off, n, err)
		}
		got := make([]byte, len(p))
		if n, err := file.ReadAt(got, off); n != len(p) || err != nil || !bytes.Equal(got, p) {
			t.Fatalf("ReadAt of what was written at %d: %d, %v", off, n, err)
		}
	}
	st := ctx.Stats()
	if st.IOSubmitCalls != before.IOSubmitCalls || st.BlockingCalls < before.BlockingCalls+5 {
		t.Fatalf("5 writes: %d io_submit calls, %d blocking calls", st.IOSubmitCalls-before.IOSubmitCalls, st.BlockingCalls-before.BlockingCalls)
	}
	if err := file.Sync(); err != nil {
		t.Fatal(err)
	}
	if after := ctx.Stats(); after.IOSubmitCalls != st.IOSubmitCalls+1 {
		t.Fatalf("Sync: %d io_submit calls; want 1", after.IOSubmitCalls-st.IOSubmitCalls)
	}
}

// stalledWrite starts a WriteAt of the stall's 3 bytes to file, which stays
// in pwrite until the stall is released, and returns its result's channel
// once it has stayed there 100 ms. ok is false if a signal ended it early
// (EFAULT): the caller tries again.
func stalledWrite(t *testing.T, file *aio.File, s *stall) (done chan error, ok bool) {
	t.Helper()
	done = make(chan error, 1)
	go func() {
		_, err := file.WriteAt(s.mem[:3], 0)
		done <- err
	}()
	select {
	case err := <-done:
		if errors.Is(err, syscall.EFAULT) {
			return nil, false
		}
		t.Fatalf("a stalled WriteAt returned before Release: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	return done, true
}

// withStalledWrite runs fn while a WriteAt to a buffered File of ctx is
// stalled in pwrite (see stall), then releases it and checks that it ends.
func withStalledWrite(t *testing.T, ctx *aio.Context, fn func(buffered *aio.File)) {
	for range 5 {
		s := newStall(t)
		buffered := mustFile(t, ctx, tempFile(t, []byte("xyz")))
		done, ok := stalledWrite(t, buffered, s)
		if !ok {
			buffered.Close()
			continue
		}
		fn(buffered)
		s.Release()
		if err := <-done; err != nil && !errors.Is(err, syscall.EFAULT) {
			t.Fatalf("the stalled WriteAt after Release: %v", err)
		}
		if err := buffered.Close(); err != nil {
			t.Fatal(err)
		}
		return
	}
	t.Fatal("a signal ended the stalled write 5 times")
}

// A buffered read or write that blocks holds up nobody else: while one is
// stuck in the kernel, O_DIRECT reads through another File and Blocks on
// the same Context go on, and the stuck File's Close waits for it. (Kernel
// AIO does buffered I/O inside io_submit, where it would hold every request
// of the same flush.)
func TestFileBufferedBlocksNobody(t *testing.T) {
	ctx := streamContext(t, 16)
	df, data := directFile(t, 1<<20)
	direct := fileOn(t, ctx, df)
	withStalledWrite(t, ctx, func(buffered *aio.File) {
		finished := make(chan struct{})
		go func() {
			defer close(finished)
			buf := aligned(4096)
			for i := range 200 {
				off := readOffset(i, len(data))
				if n, err := direct.ReadAt(buf, off); n != 4096 || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("O_DIRECT ReadAt while a buffered write is stuck: %d, %v", n, err)
					return
				}
			}
			b := aio.NewRead(df, aligned(4096), 0)
			b.SetWait(true)
			if _, err := ctx.Submit(b); err != nil {
				t.Error(err)
				return
			}
			if ev, err := b.Wait(context.Background()); err != nil || ev.N() != 4096 {
				t.Errorf("a Block while a buffered write is stuck: %+v, %v", ev, err)
			}
		}()
		select {
		case <-finished:
		case <-time.After(30 * time.Second):
			t.Fatal("O_DIRECT I/O on the same Context waited for a stuck buffered write")
		}
		closed := make(chan error, 1)
		go func() { closed <- buffered.Close() }()
		select {
		case err := <-closed:
			t.Fatalf("File.Close returned while its write was in the kernel: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	})
}

// MaxBlocking bounds the blocking calls of a Context's Files: with one
// stuck, a write waits its turn, and gives it up when its ctx is done or
// the Context closes, while a read the page cache holds needs no turn.
func TestMaxBlocking(t *testing.T) {
	for _, n := range []int{0, -1} {
		if _, err := aio.NewContext(4, aio.MaxBlocking(n)); !errors.Is(err, syscall.EINVAL) {
			t.Fatalf("MaxBlocking(%d): %v; want EINVAL", n, err)
		}
	}
	ctx := streamContext(t, 4, aio.MaxBlocking(1))
	data := pattern(8192, 5)
	other := mustFile(t, ctx, tempFile(t, data))
	defer other.Close()
	withStalledWrite(t, ctx, func(*aio.File) {
		short, stop := context.WithTimeout(context.Background(), 20*time.Millisecond)
		defer stop()
		if n, err := other.WriteAtContext(short, []byte("new"), 0); n != 0 || err != context.DeadlineExceeded {
			t.Fatalf("WriteAtContext waiting for its turn: %d, %v; want context.DeadlineExceeded", n, err)
		}
		if noWaitOrSay(t, other) {
			buf := make([]byte, 100)
			if n, err := other.ReadAt(buf, 10); n != 100 || err != nil || !bytes.Equal(buf, data[10:110]) {
				t.Fatalf("a cached ReadAt while the turn is taken: %d, %v", n, err)
			}
		}
		waiting := make(chan error, 1)
		go func() {
			_, err := other.WriteAt([]byte("new"), 0)
			waiting <- err
		}()
		time.Sleep(20 * time.Millisecond)
		if err := ctx.Close(); err != nil {
			t.Fatal(err)
		}
		if err := <-waiting; !errors.Is(err, aio.ErrClosed) {
			t.Fatalf("WriteAt waiting for its turn when the Context closed: %v; want ErrClosed", err)
		}
	})
	buf := make([]byte, 3)
	if n, err := other.ReadAt(buf, 0); n != 0 || !errors.Is(err, aio.ErrClosed) {
		t.Fatalf("ReadAt on a closed Context: %d, %v", n, err)
	}
}
