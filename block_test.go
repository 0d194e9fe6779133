//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"os"
	"runtime"
	"syscall"
	"testing"
	"weak"

	"github.com/linuxaio/aio"
)

func pipe(t testing.TB) (r, w *os.File) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	return r, w
}

func TestWrite(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	data := pattern(1000, 3)
	ev := do(t, ctx, aio.NewWrite(f, data, 0))
	if ev.Err() != nil || ev.N() != len(data) || ev.Res2 != 0 {
		t.Fatalf("write: res %d res2 %d err %v", ev.Res, ev.Res2, ev.Err())
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("file holds %d bytes, %v; want the %d written", len(got), err, len(data))
	}
}

func TestRead(t *testing.T) {
	ctx := newContext(t, 8)
	data := pattern(4096, 5)
	f := tempFile(t, data)
	buf := make([]byte, 4096)
	ev := do(t, ctx, aio.NewRead(f, buf, 0))
	if ev.N() != 4096 || !bytes.Equal(buf, data) {
		t.Fatalf("read %d bytes, %v; data equal %v", ev.Res, ev.Err(), bytes.Equal(buf, data))
	}
	// At offset 1 the same read returns one byte less.
	clear(buf)
	ev = do(t, ctx, aio.NewRead(f, buf, 1))
	if ev.N() != 4095 || !bytes.Equal(buf[:4095], data[1:]) {
		t.Fatalf("read at offset 1: %d bytes, %v", ev.Res, ev.Err())
	}
}

func TestReadShortAtEOF(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("0123456789"))
	buf := make([]byte, 20)
	if ev := do(t, ctx, aio.NewRead(f, buf, 4)); ev.N() != 6 || string(buf[:6]) != "456789" {
		t.Fatalf("read across EOF: %d bytes %q, %v", ev.Res, buf[:6], ev.Err())
	}
	if ev := do(t, ctx, aio.NewRead(f, buf, 10)); ev.Res != 0 {
		t.Fatalf("read at EOF: res %d, want 0", ev.Res)
	}
	if ev := do(t, ctx, aio.NewRead(f, buf, 1<<40)); ev.Res != 0 {
		t.Fatalf("read past EOF: res %d, want 0", ev.Res)
	}
}

func TestReadHiPri(t *testing.T) {
	ctx := newContext(t, 8)
	data := pattern(512, 9)
	f := tempFile(t, data)
	b := aio.NewRead(f, make([]byte, 512), 0)
	if err := b.SetRWFlags(aio.RWFHiPri); err != nil {
		t.Fatal(err)
	}
	if b.RWFlags() != aio.RWFHiPri {
		t.Fatalf("RWFlags %#x", b.RWFlags())
	}
	if ev := do(t, ctx, b); ev.N() != 512 || !bytes.Equal(b.Buffer(), data) {
		t.Fatalf("HIPRI read: %d, %v", ev.Res, ev.Err())
	}
}

func TestReadNoWait(t *testing.T) {
	ctx := newContext(t, 8)
	data := pattern(512, 9)
	f := tempFile(t, data)
	b := aio.NewRead(f, make([]byte, 512), 0)
	b.SetRWFlags(aio.RWFNoWait)
	// The file was just written, so its page is cached: NOWAIT succeeds.
	if ev := do(t, ctx, b); ev.N() != 512 {
		t.Fatalf("NOWAIT read of a cached page: %d, %v", ev.Res, ev.Err())
	}
}

func TestRWFlagUnknown(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("data"))
	b := aio.NewRead(f, make([]byte, 4), 0)
	b.SetRWFlags(1 << 30) // no kernel defines this flag
	_, err := ctx.Submit(b)
	wantErr(t, err, syscall.EOPNOTSUPP, "io_submit", "RWF flags")
}

func TestReadPriorityClasses(t *testing.T) {
	data := pattern(512, 11)
	f := tempFile(t, data)
	for _, c := range []struct {
		class aio.PrioClass
		level int
	}{{aio.PrioClassNone, 0}, {aio.PrioClassRT, 0}, {aio.PrioClassBE, 3}, {aio.PrioClassBE, 7}, {aio.PrioClassIdle, 0}} {
		ctx := newContext(t, 4)
		b := aio.NewRead(f, make([]byte, 512), 0)
		if err := b.SetPriority(c.class, c.level); err != nil {
			t.Fatal(err)
		}
		if class, level := b.Priority(); class != c.class || level != c.level {
			t.Fatalf("Priority() = %d, %d; want %d, %d", class, level, c.class, c.level)
		}
		n, err := ctx.Submit(b)
		if c.class == aio.PrioClassRT && errors.Is(err, syscall.EPERM) && os.Geteuid() != 0 {
			t.Logf("skipping the real-time class: it needs CAP_SYS_ADMIN or CAP_SYS_NICE (%v)", err)
			continue
		}
		if n != 1 || err != nil {
			t.Fatalf("class %d level %d: Submit %d, %v", c.class, c.level, n, err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.N() != 512 || !bytes.Equal(b.Buffer(), data) {
			t.Fatalf("class %d: read %d, %v", c.class, ev.Res, ev.Err())
		}
	}
	b := aio.NewRead(f, make([]byte, 1), 0)
	wantErr(t, b.SetPriority(aio.PrioClassBE, 8), syscall.EINVAL)
	wantErr(t, b.SetPriority(4, 0), syscall.EINVAL)
}

func TestTwoWritesOneSubmit(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	a := aio.NewWrite(f, []byte("hello "), 0)
	b := aio.NewWrite(f, []byte("world"), 6)
	submit(t, ctx, a, b)
	evs := reap(t, ctx, 2)
	got := map[*aio.Block]int64{evs[0].Block: evs[0].Res, evs[1].Block: evs[1].Res}
	if got[a] != 6 || got[b] != 5 {
		t.Fatalf("results %v, want 6 and 5", got)
	}
	if data, _ := os.ReadFile(f.Name()); string(data) != "hello world" {
		t.Fatalf("file holds %q", data)
	}
}

func TestReadVWriteV(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	w := aio.NewWriteV(f, [][]byte{[]byte("first,"), []byte("second")}, 3)
	if ev := do(t, ctx, w); ev.N() != 12 {
		t.Fatalf("writev: %d, %v", ev.Res, ev.Err())
	}
	if data, _ := os.ReadFile(f.Name()); string(data) != "\x00\x00\x00first,second" {
		t.Fatalf("file holds %q", data)
	}
	a, b := make([]byte, 4), make([]byte, 20)
	r := aio.NewReadV(f, [][]byte{a, b}, 1)
	if ev := do(t, ctx, r); ev.N() != 14 || string(a) != "\x00\x00fi" || string(b[:10]) != "rst,second" {
		t.Fatalf("readv: %d, %v: %q %q", ev.Res, ev.Err(), a, b)
	}
	if len(r.Buffers()) != 2 {
		t.Fatal("Buffers() lost the buffers")
	}
}

func TestFsyncFdsync(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("data to sync"))
	for _, b := range []*aio.Block{aio.NewFsync(f), aio.NewFdsync(f)} {
		if ev := do(t, ctx, b); ev.Res != 0 || ev.Err() != nil {
			t.Fatalf("%s: res %d, %v", b.Command(), ev.Res, ev.Err())
		}
	}
}

func TestPollPipe(t *testing.T) {
	ctx := newContext(t, 8)
	r, w := pipe(t)

	// Explicit mask: nothing until the pipe has data.
	b := aio.NewPoll(r, aio.PollIn)
	submit(t, ctx, b)
	if evs, _ := ctx.GetEvents(1, 1, 20e6); len(evs) != 0 {
		t.Fatalf("poll on an empty pipe completed: %+v", evs[0])
	}
	if _, err := w.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	if ev := reap(t, ctx, 1)[0]; ev.PollEvents()&aio.PollIn == 0 || ev.Err() != nil {
		t.Fatalf("poll for in: res %#x, %v", ev.Res, ev.Err())
	}

	// The default mask is in|out|pri: a pipe's write end is writable.
	d := aio.NewPoll(w, 0)
	if d.PollEvents() != aio.PollIn|aio.PollOut|aio.PollPri {
		t.Fatalf("default mask %#x", d.PollEvents())
	}
	if ev := do(t, ctx, d); ev.PollEvents()&aio.PollOut == 0 || ev.PollEvents()&aio.PollIn != 0 {
		t.Fatalf("default poll on a write end: %#x", ev.Res)
	}

	// A changed mask: the read end, still holding "x", polled for out
	// only, then for in.
	if err := b.SetPollEvents(aio.PollOut); err != nil {
		t.Fatal(err)
	}
	submit(t, ctx, b)
	if evs, _ := ctx.GetEvents(1, 1, 20e6); len(evs) != 0 {
		t.Fatalf("poll for out on a read end completed: %#x", evs[0].Res)
	}
	if err := ctx.Cancel(b); err != nil {
		t.Fatal(err)
	}
	reap(t, ctx, 1)
	b.SetPollEvents(aio.PollIn | aio.PollRdNorm)
	if ev := do(t, ctx, b); ev.PollEvents()&(aio.PollIn|aio.PollRdNorm) != aio.PollIn|aio.PollRdNorm {
		t.Fatalf("poll for in|rdnorm: %#x", ev.Res)
	}
}

func TestPollSocket(t *testing.T) {
	ctx := newContext(t, 8)
	client, server := tcpPair(t)
	b := aio.NewPoll(server, aio.PollIn)
	submit(t, ctx, b)
	if evs, _ := ctx.GetEvents(1, 1, 20e6); len(evs) != 0 {
		t.Fatal("poll on an idle socket completed")
	}
	if _, err := client.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	if ev := reap(t, ctx, 1)[0]; ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("poll on a socket with data: %#x", ev.Res)
	}
	// Polling consumed nothing: the data is still there to read.
	buf := make([]byte, 4)
	if n, err := server.Read(buf); n != 4 || err != nil || string(buf) != "ping" {
		t.Fatalf("read after poll: %d %q %v", n, buf, err)
	}
}

// An idle Block may change command and be submitted again.
func TestChangeCommand(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, nil)
	buf := []byte("payload")
	b := aio.NewWrite(f, buf, 0)
	if ev := do(t, ctx, b); ev.N() != 7 {
		t.Fatalf("write: %d, %v", ev.Res, ev.Err())
	}
	if err := b.SetCommand(aio.CmdRead); err != nil {
		t.Fatal(err)
	}
	clear(buf)
	if ev := do(t, ctx, b); ev.N() != 7 || string(buf) != "payload" || b.Command() != aio.CmdRead {
		t.Fatalf("read back: %d %q", ev.Res, buf)
	}

	v := aio.NewReadV(f, [][]byte{make([]byte, 3), make([]byte, 4)}, 0)
	if ev := do(t, ctx, v); ev.N() != 7 {
		t.Fatalf("readv: %d", ev.Res)
	}
	v.SetCommand(aio.CmdWriteV)
	v.SetOffset(7)
	if ev := do(t, ctx, v); ev.N() != 7 {
		t.Fatalf("writev: %d", ev.Res)
	}
	if data, _ := os.ReadFile(f.Name()); string(data) != "payloadpayload" {
		t.Fatalf("file holds %q", data)
	}

	s := aio.NewFsync(f)
	do(t, ctx, s)
	s.SetCommand(aio.CmdFdsync)
	if ev := do(t, ctx, s); ev.Res != 0 {
		t.Fatalf("fdsync: %d", ev.Res)
	}
	// A sync Block turned into a read has no buffer: refused, not sent.
	s.SetCommand(aio.CmdRead)
	_, err := ctx.Submit(s)
	wantErr(t, err, syscall.EINVAL, "read of 0 bytes")
	s.SetBuffer(make([]byte, 7))
	if ev := do(t, ctx, s); ev.N() != 7 {
		t.Fatalf("read after SetBuffer: %d", ev.Res)
	}
	wantErr(t, s.SetCommand(4), syscall.EINVAL)
	if aio.CmdWriteV.String() != "writev" || aio.Command(4).String() != "Command(4)" {
		t.Fatal("Command.String")
	}
}

func TestResFD(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("data"))
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if e != 0 {
		t.Fatal(e)
	}
	defer syscall.Close(int(efd))
	b := aio.NewRead(f, make([]byte, 4), 0)
	b.SetResFD(int(efd))
	if b.ResFD() != int(efd) {
		t.Fatal("ResFD")
	}
	do(t, ctx, b)
	do(t, ctx, b)
	var count [8]byte
	if n, err := syscall.Read(int(efd), count[:]); n != 8 || err != nil || count[0] != 2 {
		t.Fatalf("eventfd read %d, %v: count %d, want 2", n, err, count[0])
	}
	b.SetResFD(-5)
	if b.ResFD() != -1 {
		t.Fatal("negative resfd not cleared")
	}
}

func TestBadResFD(t *testing.T) {
	ctx := newContext(t, 8)
	f := tempFile(t, []byte("data"))
	r, w := pipe(t)
	closed := int(r.Fd())
	r.Close()

	b := aio.NewRead(f, make([]byte, 4), 0)
	b.SetResFD(closed)
	n, err := ctx.Submit(b)
	if n != 0 {
		t.Fatalf("Submit %d", n)
	}
	wantErr(t, err, syscall.EBADF, "io_submit", "resfd")
	if b.InFlight() || ctx.InFlight() != 0 {
		t.Fatal("refused Block in flight")
	}

	// An open descriptor that is not an eventfd.
	b.SetResFD(int(w.Fd()))
	_, err = ctx.Submit(b)
	wantErr(t, err, syscall.EINVAL, "not an eventfd")
}

func TestDirectIO(t *testing.T) {
	ctx := newContext(t, 64)
	f, data := directFile(t, 1<<20)

	// 32 aligned 4 KiB reads in one batch, in reverse order.
	var blocks []*aio.Block
	for i := range 32 {
		blocks = append(blocks, aio.NewRead(f, aligned(4096), int64(31-i)*4096))
	}
	submit(t, ctx, blocks...)
	for _, ev := range reap(t, ctx, 32) {
		off := ev.Block.Offset()
		if ev.N() != 4096 || !bytes.Equal(ev.Block.Buffer(), data[off:off+4096]) {
			t.Fatalf("O_DIRECT read at %d: %d, %v", off, ev.Res, ev.Err())
		}
	}

	// Aligned writes, read back through the page cache.
	w := aligned(8192)
	copy(w, pattern(8192, 99))
	if ev := do(t, ctx, aio.NewWrite(f, w, 65536)); ev.N() != 8192 {
		t.Fatalf("O_DIRECT write: %d, %v", ev.Res, ev.Err())
	}
	got, err := os.ReadFile(f.Name())
	if err != nil || !bytes.Equal(got[65536:65536+8192], w) {
		t.Fatalf("written data not in the file: %v", err)
	}

	// Empty buffers in a vector are skipped by the kernel, and by the
	// check: their address (Go's zero-size base) does not matter.
	v := aio.NewReadV(f, [][]byte{{}, aligned(4096), make([]byte, 0), aligned(4096)}, 8192)
	if ev := do(t, ctx, v); ev.N() != 8192 || !bytes.Equal(v.Buffers()[1], data[8192:12288]) {
		t.Fatalf("readv with empty buffers: %d, %v", ev.Res, ev.Err())
	}
}

// A Block keeps its file referenced while in flight, so an *os.File that
// only the Block refers to is not collected (and its fd closed) under the
// kernel; once the Block is dropped, the file is collected.
func TestBlockKeepsFileReferenced(t *testing.T) {
	ctx := newContext(t, 4)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	file := weak.Make(r)
	b := aio.NewPoll(r, aio.PollIn)
	r = nil
	submit(t, ctx, b)
	for range 3 {
		runtime.GC()
	}
	if file.Value() == nil {
		t.Fatal("the file of an in-flight Block was collected")
	}
	w.Write([]byte("x"))
	if ev := reap(t, ctx, 1)[0]; ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("poll: %#x", ev.Res)
	}
	b = nil
	if !settles(func() bool { runtime.GC(); return file.Value() == nil }) {
		t.Fatal("the file is still referenced after its Block was dropped")
	}
}

// Making a Block reads the descriptor without making a non-blocking file
// blocking, as os.File.Fd would.
func TestBlockKeepsNonBlocking(t *testing.T) {
	r, w := pipe(t)
	for _, f := range []*os.File{r, w} {
		aio.NewPoll(f, 0)
		aio.NewRead(f, make([]byte, 1), 0)
		rc, err := f.SyscallConn()
		if err != nil {
			t.Fatal(err)
		}
		var flags int
		rc.Control(func(fd uintptr) {
			r, _, _ := syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
			flags = int(r)
		})
		if flags&syscall.O_NONBLOCK == 0 {
			t.Fatal("making a Block switched the pipe to blocking mode")
		}
	}
}

// The RWF flags newer than linux_aio's list, each doing what it says on
// this kernel (or refused with EOPNOTSUPP where the kernel predates it).
func TestNewerRWFlags(t *testing.T) {
	ctx := newContext(t, 4)
	older := func(err error, flag string) bool {
		if errors.Is(err, syscall.EOPNOTSUPP) {
			t.Logf("%s not supported by this kernel or file system: %v", flag, err)
			return true
		}
		return false
	}

	// RWF_NOAPPEND (6.9): a write at offset 0 on an O_APPEND file lands at 0.
	f := tempFile(t, []byte("0123456789"))
	af, err := os.OpenFile(f.Name(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	w := aio.NewWrite(af, []byte("ab"), 0)
	w.SetRWFlags(aio.RWFNoAppend)
	if n, err := ctx.Submit(w); !older(err, "RWF_NOAPPEND") {
		if n != 1 || err != nil {
			t.Fatalf("Submit: %v", err)
		}
		reap(t, ctx, 1)
		if data, _ := os.ReadFile(f.Name()); string(data) != "ab23456789" {
			t.Fatalf("RWF_NOAPPEND write left %q", data)
		}
	}

	// RWF_NOSIGNAL (6.15) matters for pipes and sockets, which the
	// package does not read or write: on a file the kernel takes it, and
	// the write is done.
	p := aio.NewWrite(tempFile(t, nil), []byte("n"), 0)
	p.SetRWFlags(aio.RWFNoSignal)
	if n, err := ctx.Submit(p); !older(err, "RWF_NOSIGNAL") {
		if n != 1 {
			t.Fatalf("Submit: %v", err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.Err() != nil || ev.N() != 1 {
			t.Fatalf("RWF_NOSIGNAL write to a file: res %d", ev.Res)
		}
	}

	// RWF_DONTCACHE (6.14): the read works; the page cache is the
	// kernel's business.
	d := aio.NewRead(f, make([]byte, 10), 0)
	d.SetRWFlags(aio.RWFDontCache)
	if n, err := ctx.Submit(d); !older(err, "RWF_DONTCACHE") {
		if n != 1 {
			t.Fatalf("Submit: %v", err)
		}
		if ev := reap(t, ctx, 1)[0]; ev.N() != 10 {
			t.Fatalf("RWF_DONTCACHE read: %d, %v", ev.Res, ev.Err())
		}
	}
}
