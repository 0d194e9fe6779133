//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// eventfdCount reads the count of the eventfd fd from /proc, or fails the
// test if fd is not an open eventfd.
func eventfdCount(t *testing.T, fd int32) string {
	t.Helper()
	info, err := os.ReadFile(fmt.Sprintf("/proc/self/fdinfo/%d", fd))
	if err != nil {
		t.Fatalf("waker %d: %v", fd, err)
	}
	for _, line := range strings.Split(string(info), "\n") {
		if v, ok := strings.CutPrefix(line, "eventfd-count:"); ok {
			return strings.TrimSpace(v)
		}
	}
	t.Fatalf("waker %d is not an eventfd:\n%s", fd, info)
	return ""
}

// wakersAtZero checks that every eventfd the Context made for File calls
// is free again, with its count at zero, so that its next call waits for
// its own completion.
func wakersAtZero(t *testing.T, ctx *aio.Context, wantMade int) []int32 {
	t.Helper()
	made, free := aio.Wakers(ctx)
	if made != wantMade || len(free) != made {
		t.Fatalf("%d wakers made, %d free; want %d made, all free", made, len(free), wantMade)
	}
	for _, fd := range free {
		if c := eventfdCount(t, fd); c != "0" {
			t.Fatalf("waker %d left with count %s", fd, c)
		}
	}
	return free
}

// One or two File calls at a time wait on eventfds of their own, which the
// kernel signals (waker_linux.go): the reads return their data, the
// Context makes one eventfd per concurrent call and no more, each is back
// at zero after every call, and Close closes them.
func TestFileWakers(t *testing.T) {
	df, data := directFile(t, 1<<20)
	ctx, err := aio.NewContext(8)
	if err != nil {
		t.Fatal(err)
	}
	file := fileOn(t, ctx, df)
	buf := aligned(4096)
	for i := range 50 {
		off := int64(i*4096) % int64(len(data))
		if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
			t.Fatalf("ReadAt(%d): %d, %v", off, n, err)
		}
	}
	wakersAtZero(t, ctx, 1)

	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := range 500 {
				off := int64((g*500+i)*4096) % int64(len(data))
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("ReadAt(%d): %d, %v", off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	fds := wakersAtZero(t, ctx, 2)

	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if _, err := os.Stat(fmt.Sprintf("/proc/self/fdinfo/%d", fd)); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("waker %d still open after Close: %v", fd, err)
		}
	}
}

// A call the kernel refuses ends at once, though the kernel never signals
// its eventfd: the refusal does (giveBack). Writes through a read-only
// O_DIRECT File are refused by io_submit with EBADF; between them, reads
// still wait for their own completions, and the eventfds end at zero.
func TestFileWakerRefused(t *testing.T) {
	df, data := directFile(t, 1<<16)
	ro, err := os.OpenFile(df.Name(), os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := streamContext(t, 8)
	file := mustFile(t, ctx, ro)
	defer file.Close()
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := aligned(4096)
		for i := range 100 {
			if n, err := file.WriteAt(buf, 0); n != 0 || !errors.Is(err, syscall.EBADF) {
				t.Errorf("WriteAt on a read-only file: %d, %v; want 0 and EBADF", n, err)
				return
			}
			off := int64(i*4096) % int64(len(data))
			if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
				t.Errorf("ReadAt(%d): %d, %v", off, n, err)
				return
			}
		}
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("a refused call still waits for its eventfd after 20 s")
	}
	wakersAtZero(t, ctx, 1)
}

// A call whose Block Close finds still queued ends with ErrClosed: Close
// refuses the Block and signals the call's eventfd for it. The Block is
// kept queued as a gathering leader would keep it.
func TestFileWakerClosedWhileQueued(t *testing.T) {
	df, _ := directFile(t, 1<<16)
	ctx, err := aio.NewContext(8)
	if err != nil {
		t.Fatal(err)
	}
	file := fileOn(t, ctx, df)
	aio.HoldFlushes(ctx, true)
	errc := make(chan error, 1)
	go func() {
		_, err := file.ReadAt(aligned(4096), 0)
		errc <- err
	}()
	for aio.Queued(ctx) == 0 {
		select {
		case err := <-errc:
			t.Fatalf("ReadAt returned %v with its Block held in the queue", err)
		case <-time.After(time.Millisecond):
		}
	}
	made, _ := aio.Wakers(ctx)
	if made != 1 {
		t.Fatalf("%d wakers made for the call; want 1", made)
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, aio.ErrClosed) {
			t.Fatalf("ReadAt with its Block queued at Close: %v; want ErrClosed", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("ReadAt still waits 20 s after Close refused its Block")
	}
}

// Past two calls at a time, calls wait for a leader instead, holding no
// thread: 16 goroutines reading at once make at most two eventfds, and
// every read returns its data.
func TestFileWakersBounded(t *testing.T) {
	df, data := directFile(t, 1<<20)
	file, ctx := fileOf(t, df, 64)
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := aligned(4096)
			for i := range 200 {
				off := int64((g*200+i)*4096) % int64(len(data))
				if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
					t.Errorf("ReadAt(%d): %d, %v", off, n, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if made, free := aio.Wakers(ctx); made > 2 || len(free) != made {
		t.Fatalf("%d wakers made, %d free; want at most 2, all free", made, len(free))
	}
}
