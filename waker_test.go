//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
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

// wakersAtZero checks that the Context made between 1 and most eventfds
// for File calls, that every one is free again, and that its count is at
// zero, so that its next call waits for its own completion. It returns
// them.
func wakersAtZero(t *testing.T, ctx *aio.Context, most int) []int32 {
	t.Helper()
	made, free := aio.Wakers(ctx)
	if made < 1 || made > most || len(free) != made {
		t.Fatalf("%d wakers made, %d free; want 1 to %d made, all free", made, len(free), most)
	}
	for _, fd := range free {
		if c := eventfdCount(t, fd); c != "0" {
			t.Fatalf("waker %d left with count %s", fd, c)
		}
	}
	return free
}

// awaitErr returns what errc delivers, or ends the test if nothing comes
// within 20 s. It leaves the File open then: its Close would wait for the
// stuck call.
func awaitErr(t *testing.T, errc <-chan error, what string) error {
	t.Helper()
	select {
	case err := <-errc:
		return err
	case <-time.After(20 * time.Second):
		t.Fatalf("%s: still waiting after 20 s", what)
		return nil
	}
}

// One or two File calls at a time wait on eventfds of their own, which the
// kernel signals (waker_linux.go): the reads return their data, each
// eventfd is back at zero after every call, and Close closes them.
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
		if link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil && strings.Contains(link, "eventfd") {
			t.Fatalf("waker %d still open after Close: %s", fd, link)
		}
	}
}

// A call the kernel refuses ends at once, though the kernel never signals
// its eventfd: the refusal does (giveBack). Writes through a read-only
// O_DIRECT File are refused by io_submit with EBADF; between them, reads
// still wait for their own completions, and the eventfd ends at zero.
func TestFileWakerRefused(t *testing.T) {
	file, ctx, data := readOnlyFile(t, 1<<16)
	errc := make(chan error, 1)
	go func() {
		buf := aligned(4096)
		for i := range 100 {
			if n, err := file.WriteAt(buf, 0); n != 0 || !errors.Is(err, syscall.EBADF) {
				errc <- fmt.Errorf("WriteAt on a read-only file: %d, %v; want 0 and EBADF", n, err)
				return
			}
			off := int64(i*4096) % int64(len(data))
			if n, err := file.ReadAt(buf, off); n != len(buf) || err != nil || !bytes.Equal(buf, data[off:off+4096]) {
				errc <- fmt.Errorf("ReadAt(%d): %d, %v", off, n, err)
				return
			}
		}
		errc <- nil
	}()
	if err := awaitErr(t, errc, "refused writes and reads"); err != nil {
		t.Fatal(err)
	}
	wakersAtZero(t, ctx, 1)
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
}

// A call whose Block Close finds still queued ends with ErrClosed: Close
// refuses the Block and signals the call's eventfd for it. The Block is
// kept queued as a gathering leader would keep it.
func TestFileWakerClosedWhileQueued(t *testing.T) {
	df, _ := directFile(t, 1<<16)
	g, err := os.OpenFile(df.Name(), os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := aio.NewContext(8)
	if err != nil {
		t.Fatal(err)
	}
	file := mustFile(t, ctx, g)
	aio.HoldFlushes(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := file.ReadAt(aligned(4096), 0)
		errc <- err
	}()
	for {
		if queued, waking := aio.Queued(ctx); queued == 1 {
			if waking != 1 {
				t.Fatalf("the call's Block is queued without an eventfd to wait on")
			}
			break
		}
		select {
		case err := <-errc:
			t.Fatalf("ReadAt returned %v with its Block held in the queue", err)
		case <-time.After(time.Millisecond):
		}
	}
	if err := ctx.Close(); err != nil {
		t.Fatal(err)
	}
	if err := awaitErr(t, errc, "ReadAt with its Block queued at Close"); !errors.Is(err, aio.ErrClosed) {
		t.Fatalf("ReadAt with its Block queued at Close: %v; want ErrClosed", err)
	}
	if err := file.Close(); err != nil {
		t.Fatal(err)
	}
}

// Only while at most two File calls are in progress does a call wait on an
// eventfd of its own; calls that may stop waiting early (a ctx that can be
// done) count among them but never take one. With the flushes held, the
// test sees each call's Block queued: beside two calls with a deadline, a
// third call takes no eventfd; beside one, it takes one.
func TestFileWakersBounded(t *testing.T) {
	df, _ := directFile(t, 1<<20)
	file, ctx := fileOf(t, df, 64)
	for _, c := range []struct{ withDeadline, wantWaking int }{{2, 0}, {1, 1}} {
		aio.HoldFlushes(ctx)
		errc := make(chan error, c.withDeadline+1)
		deadline, cancel := context.WithTimeout(context.Background(), time.Minute)
		for i := range c.withDeadline {
			go func() {
				_, err := file.ReadAtContext(deadline, aligned(4096), int64(i)*4096)
				errc <- err
			}()
		}
		for {
			if queued, _ := aio.Queued(ctx); queued == c.withDeadline {
				break
			}
			time.Sleep(time.Millisecond)
		}
		go func() {
			_, err := file.ReadAt(aligned(4096), 1<<19)
			errc <- err
		}()
		for {
			queued, waking := aio.Queued(ctx)
			if queued == c.withDeadline+1 {
				if waking != c.wantWaking {
					t.Errorf("beside %d calls with a deadline, %d calls wait on an eventfd; want %d", c.withDeadline, waking, c.wantWaking)
				}
				break
			}
			time.Sleep(time.Millisecond)
		}
		aio.ReleaseFlushes(ctx)
		for range c.withDeadline + 1 {
			if err := awaitErr(t, errc, "reads released from the queue"); err != nil {
				t.Fatal(err)
			}
		}
		cancel()
	}
	wakersAtZero(t, ctx, 1)
}
