//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// noWaitBlocksOrSkip skips the test, saying why, unless reads of f, a
// buffered file, try RWF_NOWAIT on a Context made with TryNoWait: its file
// system does not take the flag for buffered reads (tmpfs, or xfs before
// 4.13, ext4 before 5.5, btrfs before 5.9). On this project's machines the
// temporary directory is ext4, and the test runs.
func noWaitBlocksOrSkip(t testing.TB, f *os.File) {
	t.Helper()
	if !aio.BlockTriesNoWait(aio.NewRead(f, make([]byte, 1), 0)) {
		var fs syscall.Statfs_t
		syscall.Statfs(f.Name(), &fs)
		t.Skipf("buffered reads of %s (file system magic %#x) do not take RWF_NOWAIT", f.Name(), fs.Type)
	}
}

// noReadahead turns read-ahead off for f (POSIX_FADV_RANDOM), so that a
// pread caches only the pages it reads.
func noReadahead(t testing.TB, f *os.File) {
	t.Helper()
	const random = 1 // POSIX_FADV_RANDOM
	if _, _, e := syscall.Syscall6(syscall.SYS_FADVISE64, f.Fd(), 0, 0, random, 0, 0); e != 0 {
		t.Fatalf("posix_fadvise: %v", e)
	}
}

// completeOne submits b on ctx and returns its event, taken the way mode
// names: from Events, Block.Wait, GetEvents or a Completions loop.
func completeOne(t *testing.T, ctx *aio.Context, mode string, b *aio.Block) aio.Event {
	t.Helper()
	if err := b.SetWait(mode == "wait"); err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, b)
	switch mode {
	case "wait":
		ev, err := b.Wait(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return ev
	case "completions":
		for ev := range ctx.Completions() {
			return ev
		}
		t.Fatal("Completions ended with no event")
	}
	return await(t, ctx, 1)[0]
}

// With TryNoWait, a buffered read the page cache holds is one io_submit
// with RWF_NOWAIT; one it holds in part or not at all is sent again for the
// rest, and its one event carries every byte, on every way of reaping.
// Reads across and past the end of the file, and readv, come out as they
// would without the option; a Block that asks for RWF_NOWAIT itself keeps
// its EAGAIN.
func TestTryNoWait(t *testing.T) {
	const size = 256 << 10
	data := pattern(size, 11)
	f := tempFile(t, data)
	noWaitBlocksOrSkip(t, f)
	noReadahead(t, f)
	for _, mode := range []string{"events", "wait", "manual", "completions"} {
		t.Run(mode, func(t *testing.T) {
			opts := []aio.Option{aio.TryNoWait()}
			if mode == "manual" {
				opts = append(opts, aio.Manual())
			}
			ctx := streamContext(t, 8, opts...)
			last := ctx.Stats()
			// read checks ev against the file's bytes at off and the
			// Stats that the read moved: hits, fallbacks, io_submits.
			// With mayHit, a read whole at the first try (see
			// untilFallback) passes too, and read reports false.
			read := func(what string, ev aio.Event, off int64, n, hits, fallbacks, calls int, mayHit bool) bool {
				t.Helper()
				b := ev.Block
				got := make([]byte, 0, n)
				if b.Command() == aio.CmdReadV {
					for _, p := range b.Buffers() {
						got = append(got, p...)
					}
				} else {
					got = append(got, b.Buffer()...)
				}
				if ev.Err() != nil || ev.N() != n || !bytes.Equal(got[:n], data[off:off+int64(n)]) {
					t.Fatalf("%s: res %d (%v), want %d bytes; data right %v", what, ev.Res, ev.Err(), n,
						ev.N() == n && bytes.Equal(got[:n], data[off:off+int64(n)]))
				}
				// The event of a read sent again may come before
				// its io_submit has returned and been counted.
				var st aio.Stats
				var dh, df, dc, db uint64
				hit := false
				if !settles(func() bool {
					st = ctx.Stats()
					dh, df = st.NoWaitHits-last.NoWaitHits, st.NoWaitFallbacks-last.NoWaitFallbacks
					dc, db = st.IOSubmitCalls-last.IOSubmitCalls, st.BlockingCalls-last.BlockingCalls
					hit = mayHit && dh == 1 && df == 0 && db == 0 && dc == 1
					return hit || dh == uint64(hits) && df == uint64(fallbacks) && db == uint64(fallbacks) && dc == uint64(calls)
				}) {
					t.Fatalf("%s: %d hits, %d fallbacks, %d blocking calls, %d io_submit calls; want %d, %d, %d, %d",
						what, dh, df, db, dc, hits, fallbacks, fallbacks, calls)
				}
				last = st
				return !hit
			}

			b := aio.NewRead(f, make([]byte, 10000), 12345)
			if _, err := f.ReadAt(make([]byte, 10000), 12345); err != nil {
				t.Fatal(err)
			}
			read("cached", completeOne(t, ctx, mode, b), 12345, 10000, 1, 0, 1, false)

			b.SetOffset(50000)
			untilFallback(t, "uncached", func() bool {
				dropCache(t, f)
				return read("uncached", completeOne(t, ctx, mode, b), 50000, 10000, 0, 1, 2, true)
			})

			part := aio.NewRead(f, make([]byte, 20000), 98304)
			untilFallback(t, "the first page cached", func() bool {
				dropCache(t, f)
				if _, err := f.ReadAt(make([]byte, 4096), 98304); err != nil {
					t.Fatal(err)
				}
				return read("the first page cached", completeOne(t, ctx, mode, part), 98304, 20000, 0, 1, 2, true)
			})

			// Cached to the end: the short count is sent again, to
			// find the end.
			across := aio.NewRead(f, make([]byte, 8192), size-100)
			read("across the end", completeOne(t, ctx, mode, across), size-100, 100, 0, 1, 2, false)
			across.SetOffset(size + 10)
			read("past the end", completeOne(t, ctx, mode, across), size, 0, 1, 0, 1, false)

			v := aio.NewReadV(f, [][]byte{make([]byte, 1000), make([]byte, 3000)}, 777)
			untilFallback(t, "readv, uncached", func() bool {
				dropCache(t, f)
				return read("readv, uncached", completeOne(t, ctx, mode, v), 777, 4000, 0, 1, 2, true)
			})

			own := aio.NewRead(f, make([]byte, 4096), 8192)
			own.SetRWFlags(aio.RWFNoWait)
			untilFallback(t, "a Block with its own RWFNoWait, uncached", func() bool {
				dropCache(t, f)
				ev := completeOne(t, ctx, mode, own)
				if ev.N() == 4096 {
					return false
				}
				if ev.Err() != syscall.EAGAIN {
					t.Fatalf("a Block with its own RWFNoWait, uncached: res %d (%v); want EAGAIN", ev.Res, ev.Err())
				}
				return true
			})
			last = ctx.Stats()
		})
	}
	// O_DIRECT reads never wait inside io_submit: they go as they are.
	if df, _ := directFile(t, 1<<20); aio.BlockTriesNoWait(aio.NewRead(df, aligned(4096), 0)) {
		t.Fatal("an O_DIRECT read tries RWF_NOWAIT")
	}
	// Without the option nothing tries RWF_NOWAIT.
	ctx := streamContext(t, 4)
	dropCache(t, f)
	ev := completeOne(t, ctx, "events", aio.NewRead(f, make([]byte, 4096), 0))
	if st := ctx.Stats(); ev.N() != 4096 || st.NoWaitHits+st.NoWaitFallbacks+st.BlockingCalls != 0 {
		t.Fatalf("without TryNoWait: res %d, stats %+v", ev.Res, st)
	}
}

// stalledRetry submits a stalled read on ctx with its file's pages dropped,
// so that TryNoWait sends it again, where its copy stalls: out of the
// Context's shared io_submit. It returns the stall once the read is sent
// again. Where RWF_NOWAIT reads the dropped page whole after all (see
// untilFallback), the copy stalls inside Submit instead: it releases that
// stall, takes its event and tries again with a new one.
func stalledRetry(t *testing.T, ctx *aio.Context) *stall {
	t.Helper()
	for range 10 {
		s := newStall(t)
		f := s.Read.File().(*os.File)
		noWaitBlocksOrSkip(t, f)
		dropCache(t, f)
		before := ctx.Stats().BlockingCalls
		submitted := make(chan error, 1)
		go func() {
			_, err := ctx.Submit(s.Read)
			submitted <- err
		}()
		select {
		case err := <-submitted:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(2 * time.Second):
			s.Release() // read whole by RWF_NOWAIT, its copy stalled
			if err := <-submitted; err != nil {
				t.Fatal(err)
			}
			await(t, ctx, 1)
			continue
		}
		if ctx.Events() == nil {
			// Manual: the EAGAIN is reaped, and the read sent
			// again, by GetEvents.
			if evs, err := ctx.GetEvents(0, 8, 0); len(evs) != 0 || err != nil {
				t.Fatalf("GetEvents while the read is sent again: %v, %v", evs, err)
			}
		}
		if !settles(func() bool { return ctx.Stats().BlockingCalls > before }) {
			t.Fatal("the uncached read was not sent again")
		}
		return s
	}
	t.Fatal("10 reads of a dropped page, and RWF_NOWAIT read every one whole")
	return nil
}

// A buffered read that must wait for its data waits in an io_submit of its
// own: while it is stuck there, O_DIRECT and cached buffered reads on the
// same Context go on, and Close waits for it.
func TestTryNoWaitBlocksNobody(t *testing.T) {
	ctx := streamContext(t, 16, aio.TryNoWait())
	df, data := directFile(t, 1<<20)
	cached := pattern(8192, 4)
	bf := tempFile(t, cached)
	s := stalledRetry(t, ctx)

	for i := range 50 {
		d := aio.NewRead(df, aligned(4096), readOffset(i, len(data)))
		c := aio.NewRead(bf, make([]byte, 100), int64(i))
		submit(t, ctx, d, c)
		for _, ev := range await(t, ctx, 2) {
			switch ev.Block {
			case d:
				wantRead(t, ev, data)
			case c:
				wantRead(t, ev, cached)
			default:
				t.Fatalf("the stuck read completed before Release: res %d", ev.Res)
			}
		}
	}
	closed := make(chan error, 1)
	go func() { closed <- ctx.Close() }()
	select {
	case err := <-closed:
		t.Fatalf("Close returned while a read was stuck in the kernel: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	s.Release()
	ev := recv(t, ctx)
	if ev.Block != s.Read || ev.Err() != syscall.EFAULT && (ev.N() != 3 || string(s.Read.Buffer()) != "abc") {
		t.Fatalf("the stuck read after Release: res %d (%v), %q", ev.Res, ev.Err(), s.Read.Buffer())
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	if _, ok := <-ctx.Events(); ok {
		t.Fatal("Events open after Close")
	}
}

// waitingRetry submits a read of a new file with its page dropped, until
// one comes back from RWF_NOWAIT unfinished (see untilFallback), and
// returns it, and its file, once its retry waits for its turn (MaxBlocking
// 1, taken by a stalled retry).
func waitingRetry(t *testing.T, ctx *aio.Context) (*aio.Block, *os.File) {
	t.Helper()
	for range 50 {
		f := tempFile(t, pattern(4096, 2))
		dropCache(t, f)
		b := aio.NewRead(f, make([]byte, 4096), 0)
		before := ctx.Stats().NoWaitFallbacks
		submit(t, ctx, b)
		if ctx.Events() == nil {
			evs, err := ctx.GetEvents(0, 8, 0)
			switch {
			case err != nil || len(evs) > 1 || len(evs) == 1 && evs[0].Block != b:
				t.Fatalf("GetEvents while the read waits for its turn: %v, %v", evs, err)
			case len(evs) == 1:
				continue // read whole
			}
			return b, f
		}
		for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
			if ctx.Stats().NoWaitFallbacks > before {
				return b, f
			}
			select {
			case ev := <-ctx.Events():
				if ev.Block != b {
					t.Fatalf("event for %p", ev.Block)
				}
				deadline = time.Time{} // read whole: try again
			default:
			}
		}
	}
	t.Fatal("50 reads of a dropped page, and RWF_NOWAIT read every one whole")
	return nil, nil
}

// Reads sent again take turns under MaxBlocking. One waiting for its turn
// when Close comes ends with ECANCELED, while Close waits for the one in
// the kernel; on a Manual Context, one whose file was closed meanwhile
// ends with EBADF, delivered by GetEvents.
func TestTryNoWaitTurns(t *testing.T) {
	t.Run("close", func(t *testing.T) {
		ctx := streamContext(t, 8, aio.TryNoWait(), aio.MaxBlocking(1))
		s := stalledRetry(t, ctx)
		waiting, _ := waitingRetry(t, ctx)
		closed := make(chan error, 1)
		go func() { closed <- ctx.Close() }()
		if ev := recv(t, ctx); ev.Block != waiting || ev.Err() != syscall.ECANCELED {
			t.Fatalf("the read waiting for its turn at Close: res %d (%v); want ECANCELED", ev.Res, ev.Err())
		}
		s.Release()
		if ev := recv(t, ctx); ev.Block != s.Read {
			t.Fatalf("event for %p; want the stuck read", ev.Block)
		}
		if err := <-closed; err != nil {
			t.Fatal(err)
		}
		if st := ctx.Stats(); st.BlockingCalls != 1 {
			t.Fatalf("%d reads sent again; want 1", st.BlockingCalls)
		}
	})
	t.Run("closed file", func(t *testing.T) {
		ctx := streamContext(t, 8, aio.TryNoWait(), aio.MaxBlocking(1), aio.Manual())
		s := stalledRetry(t, ctx)
		gone, f := waitingRetry(t, ctx)
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
		s.Release()
		// The read sent again fails, but its Block stays in flight
		// until GetEvents hands out its event.
		if !settles(func() bool { return ctx.Stats().BlockingCalls == 2 }) {
			t.Fatal("the second read never had its turn")
		}
		time.Sleep(20 * time.Millisecond)
		if err := gone.SetBuffer(make([]byte, 1)); !gone.InFlight() || !errors.Is(err, aio.ErrInFlight) {
			t.Fatalf("a Block whose event GetEvents has not handed out: InFlight %v, SetBuffer %v", gone.InFlight(), err)
		}
		for _, ev := range reap(t, ctx, 2) {
			switch {
			case ev.Block == gone && ev.Err() != syscall.EBADF:
				t.Fatalf("the read whose file closed before its turn: res %d (%v); want EBADF", ev.Res, ev.Err())
			case ev.Block != gone && ev.Block != s.Read:
				t.Fatalf("event for %p", ev.Block)
			}
		}
		if gone.InFlight() || s.Read.InFlight() || ctx.InFlight() != 0 {
			t.Fatal("Blocks still in flight after their events")
		}
	})
}

// A Block with an eventfd of its own (SetResFD) is sent once, without
// RWF_NOWAIT: sent twice, it would signal its eventfd twice for one event,
// and a caller that reaps as many events as its eventfd counts would wait
// for ever.
func TestTryNoWaitResFD(t *testing.T) {
	f := tempFile(t, pattern(1<<20, 3))
	noWaitBlocksOrSkip(t, f)
	ctx := streamContext(t, 4, aio.TryNoWait(), aio.Manual())
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, 0, 0)
	if e != 0 {
		t.Fatalf("eventfd2: %v", e)
	}
	defer syscall.Close(int(efd))
	b := aio.NewRead(f, make([]byte, 8192), 0)
	b.SetResFD(int(efd))
	if aio.BlockTriesNoWait(b) {
		t.Fatal("a Block with its own eventfd tries RWF_NOWAIT")
	}
	dropCache(t, f)
	if ev := do(t, ctx, b); ev.N() != 8192 {
		t.Fatalf("read: res %d (%v)", ev.Res, ev.Err())
	}
	var count [8]byte
	if _, err := syscall.Read(int(efd), count[:]); err != nil {
		t.Fatal(err)
	}
	if n := binary.LittleEndian.Uint64(count[:]); n != 1 {
		t.Fatalf("the eventfd counted %d completions for one event", n)
	}
}
