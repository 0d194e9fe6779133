//go:build linux && cgo

package aio

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// A Wait that follows just as the stream goroutine starts to lead
// (leadStream) returns at its deadline, while the stream goroutine goes on
// leading for other I/O. Before the fix, follow queued on reapMu behind the
// stream goroutine, and its count in waiting kept the stream leading: the
// Wait returned only when the load stopped. Here the test holds reapMu as a
// leader does at its end, with the eventfd armed, so that the stream
// goroutine, woken by the load, is first in line for it.
func TestFollowDoesNotQueueBehindTheLeader(t *testing.T) {
	path := t.TempDir() + "/direct"
	if err := os.WriteFile(path, make([]byte, 64<<20), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_DIRECT, 0)
	if err != nil {
		t.Skipf("O_DIRECT: %v", err)
	}
	defer f.Close()
	aligned := func(n int) []byte {
		b := make([]byte, n+4096)
		off := int(4096 - uintptr(unsafe.Pointer(&b[0]))%4096)
		return b[off : off+n]
	}
	c, err := NewContext(16)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := c.s

	s.reapMu.Lock()
	s.arm()
	var stop atomic.Bool
	var wg sync.WaitGroup
	for i := range 6 {
		if _, err := c.Submit(NewRead(f, aligned(16<<20), int64(i%4)*(16<<20))); err != nil {
			t.Fatal(err)
		}
	}
	wg.Add(1)
	go func() { // keeps the load going through Events
		defer wg.Done()
		for ev := range c.Events() {
			if !stop.Load() {
				if _, err := c.Submit(ev.Block); err != nil {
					return
				}
			}
		}
	}()
	time.Sleep(20 * time.Millisecond) // the stream goroutine waits for reapMu

	w := NewRead(f, aligned(4096), 64*4096)
	w.SetWait(true)
	if _, err := c.Submit(w); err != nil {
		t.Fatal(err)
	}
	took := make(chan time.Duration, 1)
	go func() {
		cx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		start := time.Now()
		w.Wait(cx)
		took <- time.Since(start)
	}()
	time.Sleep(20 * time.Millisecond) // the Wait follows
	s.pumpWanted.Store(false)
	s.reapMu.Unlock()
	select {
	case <-took:
	case <-time.After(3 * time.Second):
		stop.Store(true)
		t.Errorf("a Wait with a 50 ms deadline returned only after %v, once the load stopped", <-took)
	}
	stop.Store(true)
	c.Close()
	wg.Wait()
}
