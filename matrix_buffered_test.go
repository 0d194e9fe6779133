//go:build linux && cgo

package aio_test

import (
	"bytes"
	"testing"

	"github.com/linuxaio/aio"
)

// checkBuffered reads a buffered file through a File, on the cell's file
// system: a cached read is one RWF_NOWAIT hit; once the pages are dropped,
// the read falls back to a blocking pread and still returns the file's
// bytes. On ext4, xfs, btrfs and raw devices the File must try NOWAIT (this
// kernel is past every release that added it); on tmpfs it must not.
func (c *cell) checkBuffered(t *testing.T) {
	const size = 256 << 10
	s := c.open(t, "buffered", size, 0)
	data := pattern(size, 41)
	s.fill(t, data)
	ctx := streamContext(t, 8)
	file := mxFile(t, ctx, s, 0)
	if want := c.fs != "tmpfs"; aio.TriesNoWait(file) != want {
		t.Fatalf("File tries RWF_NOWAIT: %v; want %v on %s", aio.TriesNoWait(file), want, c.name())
	}
	read := func(what string) aio.Stats {
		t.Helper()
		before := ctx.Stats()
		buf := make([]byte, 10000)
		off := s.base + 12345
		if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[12345:12345+len(buf)]) {
			t.Fatalf("%s ReadAt: %d, %v", what, n, err)
		}
		st := ctx.Stats()
		st.NoWaitHits -= before.NoWaitHits
		st.NoWaitFallbacks -= before.NoWaitFallbacks
		st.BlockingCalls -= before.BlockingCalls
		if st.IOSubmitCalls != before.IOSubmitCalls {
			t.Fatalf("%s buffered read went through io_submit", what)
		}
		return st
	}
	if st := read("cached"); aio.TriesNoWait(file) && (st.NoWaitHits != 1 || st.BlockingCalls != 0) {
		t.Fatalf("cached read: %d hits, %d blocking calls; want 1, 0", st.NoWaitHits, st.BlockingCalls)
	}
	if left := s.dropCache(t, 0, size); left == 0 {
		untilFallback(t, "uncached read", func() bool {
			s.dropCache(t, 0, size)
			st := read("uncached")
			if st.NoWaitHits == 1 && st.BlockingCalls == 0 {
				return false // read whole after all (see untilFallback)
			}
			if st.NoWaitFallbacks != 1 || st.BlockingCalls != 1 {
				t.Fatalf("uncached read: %d fallbacks, %d blocking calls; want 1 each", st.NoWaitFallbacks, st.BlockingCalls)
			}
			return true
		})
	} else if c.fs != "tmpfs" {
		t.Fatalf("%d pages stay cached after fsync and POSIX_FADV_DONTNEED", left)
	}
	if _, err := file.WriteAt([]byte("written"), s.base+3); err != nil {
		t.Fatal(err)
	}
	copy(data[3:], "written")
	read("after a write")

	// A Block on a Context made with TryNoWait: the uncached read is
	// sent again, and its one event holds every byte.
	tryCtx := streamContext(t, 4, aio.TryNoWait())
	b := aio.NewRead(s.f, make([]byte, 20000), s.base+4000)
	if want := c.fs != "tmpfs"; aio.BlockTriesNoWait(b) != want {
		t.Fatalf("Block tries RWF_NOWAIT: %v; want %v on %s", aio.BlockTriesNoWait(b), want, c.name())
	}
	tryRead := func(what string) {
		t.Helper()
		submit(t, tryCtx, b)
		if ev := recv(t, tryCtx); ev.N() != 20000 || !bytes.Equal(b.Buffer(), data[4000:24000]) {
			t.Fatalf("%s read of a Block with TryNoWait: res %d (%v)", what, ev.Res, ev.Err())
		}
	}
	if _, err := s.f.ReadAt(make([]byte, 20000), s.base+4000); err != nil {
		t.Fatal(err)
	}
	tryRead("cached")
	if st := tryCtx.Stats(); aio.BlockTriesNoWait(b) && (st.NoWaitHits != 1 || st.NoWaitFallbacks != 0) {
		t.Fatalf("TryNoWait, cached: %d hits, %d fallbacks; want 1, 0", st.NoWaitHits, st.NoWaitFallbacks)
	}
	if !aio.BlockTriesNoWait(b) {
		return
	}
	untilFallback(t, "TryNoWait, uncached", func() bool {
		s.dropCache(t, 0, size)
		tryRead("uncached")
		return tryCtx.Stats().NoWaitFallbacks == 1
	})
}
