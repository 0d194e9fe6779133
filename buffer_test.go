//go:build linux && cgo

package aio_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"unsafe"

	"github.com/linuxaio/aio"
)

// mapped reports whether p's first byte lies in a mapping of
// /proc/self/maps: freed buffers must not.
func mapped(t *testing.T, p []byte) bool {
	t.Helper()
	maps, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		t.Fatal(err)
	}
	addr := uint64(uintptr(unsafe.Pointer(unsafe.SliceData(p))))
	for _, line := range strings.Split(string(maps), "\n") {
		var lo, hi uint64
		if _, err := fmt.Sscanf(line, "%x-%x", &lo, &hi); err == nil && lo <= addr && addr < hi {
			return true
		}
	}
	return false
}

// Aligned buffers are zeroed, aligned as asked, outside the Go heap, fit for
// O_DIRECT I/O, and gone once freed; what is not one is refused.
func TestAlignedBuffer(t *testing.T) {
	df, data := directFile(t, 1<<20)
	ctx := streamContext(t, 4)
	for _, align := range []int{0, 512, 4096, 1 << 16, 1 << 21} {
		p, err := aio.AlignedBuffer(12288, align)
		if err != nil {
			t.Fatal(err)
		}
		want := align
		if want == 0 {
			want = os.Getpagesize()
		}
		if a := uintptr(unsafe.Pointer(&p[0])); a%uintptr(want) != 0 || len(p) != 12288 || cap(p) != len(p) {
			t.Fatalf("AlignedBuffer(12288, %d): address %#x, len %d, cap %d", align, a, len(p), cap(p))
		}
		if bytes.Count(p, []byte{0}) != len(p) {
			t.Fatal("AlignedBuffer: not zeroed")
		}
		b := aio.NewRead(df, p[:8192], 4096)
		b.SetWait(true)
		if _, err := ctx.Submit(b); err != nil {
			t.Fatal(err)
		}
		if ev, err := b.Wait(context.Background()); err != nil || ev.N() != 8192 || !bytes.Equal(p[:8192], data[4096:4096+8192]) {
			t.Fatalf("O_DIRECT read into an aligned buffer: %+v, %v", ev, err)
		}
		if !mapped(t, p) {
			t.Fatal("AlignedBuffer is not mapped")
		}
		if err := aio.FreeBuffer(p[:0]); err != nil {
			t.Fatal(err)
		}
		if mapped(t, p) {
			t.Fatal("FreeBuffer left the mapping")
		}
		wantErr(t, aio.FreeBuffer(p), syscall.EINVAL, "already freed")
	}
	wantErr(t, aio.FreeBuffer(make([]byte, 4096)), syscall.EINVAL)
	wantErr(t, aio.FreeBuffer(nil), syscall.EINVAL)
	for _, bad := range [][2]int{{0, 0}, {-1, 0}, {4096, 3}, {4096, -4096}} {
		_, err := aio.AlignedBuffer(bad[0], bad[1])
		wantErr(t, err, syscall.EINVAL, "power of two")
	}
}

// A BufferPool reuses what is put back, refuses what is not its own, and
// frees everything by Close and the Puts after it.
func TestBufferPool(t *testing.T) {
	pool, err := aio.NewBufferPool(8192, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := pool.Get()
	if err != nil {
		t.Fatal(err)
	}
	b, _ := pool.Get()
	if len(a) != 8192 || &a[0] == &b[0] || uintptr(unsafe.Pointer(&a[0]))%4096 != 0 {
		t.Fatalf("Get: len %d, %p and %p", len(a), &a[0], &b[0])
	}
	a[0] = 7
	if err := pool.Put(a[:10]); err != nil {
		t.Fatal(err)
	}
	wantErr(t, pool.Put(a), syscall.EINVAL, "already put back")
	wantErr(t, pool.Put(make([]byte, 8192)), syscall.EINVAL)
	wantErr(t, aio.FreeBuffer(b), syscall.EINVAL, "BufferPool")
	c, _ := pool.Get()
	if &c[0] != &a[0] || len(c) != 8192 || c[0] != 7 {
		t.Fatal("Get did not reuse the buffer put back")
	}
	pool.Put(c)
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if mapped(t, c) {
		t.Fatal("Close left an idle buffer mapped")
	}
	if _, err := pool.Get(); err == nil {
		t.Fatal("Get after Close succeeded")
	}
	if err := pool.Put(b); err != nil || mapped(t, b) {
		t.Fatalf("Put after Close: %v, still mapped %v", err, mapped(t, b))
	}
	if _, err := aio.NewBufferPool(4096, 100); err == nil {
		t.Fatal("NewBufferPool with alignment 100 succeeded")
	}
}
