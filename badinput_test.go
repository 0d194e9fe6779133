//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"

	"github.com/linuxaio/aio"
	"github.com/linuxaio/aio/internal/aiocore"
)

// Bad input: each case is a subtest that checks the error (errors.Is with
// the right sentinel or errno, an *Error naming the Block by Index), that
// nothing was submitted, and that the Block works once the input is
// put right. RELIABILITY.md lists them.

// badCase is one bad Block: what Submit must answer, and how to put it
// right.
type badCase struct {
	name  string
	block func() *aio.Block
	// kernel is set when io_submit refuses the Block (one call, nothing
	// taken) rather than the package before it.
	kernel bool
	err    error
	words  []string
	fix    func(b *aio.Block) // then the Block must do its whole I/O
}

// runBad runs each case as a subtest on a Manual Context.
func runBad(t *testing.T, cases []badCase) {
	ctx := newContext(t, 8)
	good := tempFile(t, pattern(4096, 9))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := c.block()
			refused(t, ctx, aio.NewRead(good, make([]byte, 8), 0), b, c.kernel, c.err, c.words...)
			if c.fix == nil {
				return
			}
			c.fix(b)
			works(t, ctx, b)
		})
	}
}

// refused submits bad, after good in the same batch unless kernel is set,
// and checks that Submit refuses the batch with an *Error naming bad and
// wrapping target, its message holding words; that nothing was submitted
// (no Block accepted, no io_submit call unless kernel, nothing more in
// flight, no event); and that neither Block is in flight because of it.
func refused(t *testing.T, ctx *aio.Context, good, bad *aio.Block, kernel bool, target error, words ...string) {
	t.Helper()
	batch, index, sys, calls := []*aio.Block{good, bad}, 1, "", uint64(0)
	if kernel {
		batch, index, sys, calls = []*aio.Block{bad}, 0, "io_submit", 1
	}
	inFlightOf := func(b *aio.Block) bool { return b != nil && b.InFlight() }
	before, inFlight, badInFlight := ctx.Stats(), ctx.InFlight(), inFlightOf(bad)
	n, err := ctx.Submit(batch...)
	t.Log(err)
	wantErr(t, err, target, append(words, "block "+strconv.Itoa(index))...)
	var ae *aio.Error
	if !errors.As(err, &ae) || ae.Index != index || ae.Op != "Submit" || ae.Syscall != sys {
		t.Fatalf("error %#v: want an *aio.Error of Submit, system call %q, for block %d", err, sys, index)
	}
	st := ctx.Stats()
	if n != 0 || st.Submitted != before.Submitted || st.IOSubmitCalls-before.IOSubmitCalls != calls {
		t.Fatalf("Submit %d; Stats %+v then %+v: want nothing submitted, %d io_submit calls", n, before, st, calls)
	}
	if ctx.InFlight() != inFlight || good.InFlight() || inFlightOf(bad) != badInFlight {
		t.Fatalf("in flight after the refusal: %d (%d before), good %v, bad %v", ctx.InFlight(), inFlight, good.InFlight(), inFlightOf(bad))
	}
	if ctx.Events() == nil {
		if evs, err := ctx.GetEvents(0, ctx.Cap(), 0); len(evs) != 0 || err != nil {
			t.Fatalf("events after a refusal: %v, %v", evs, err)
		}
	}
}

// works submits b and checks that it transfers all its bytes, or for a
// sync or poll, that it succeeds.
func works(t *testing.T, ctx *aio.Context, b *aio.Block) {
	t.Helper()
	want := len(b.Buffer())
	for _, p := range b.Buffers() {
		want += len(p)
	}
	if ev := do(t, ctx, b); ev.Err() != nil || ev.N() != want {
		t.Fatalf("%s put right: %d, %v; want %d bytes", b.Command(), ev.Res, ev.Err(), want)
	}
}

// Empty buffers, negative offsets, and offsets or lengths past the largest
// int64: EINVAL from the package, before the kernel.
func TestBadBuffers(t *testing.T) {
	f := tempFile(t, pattern(64<<10, 1))
	buf := func() []byte { return make([]byte, 16) }
	bufs := func() [][]byte { return [][]byte{make([]byte, 8), make([]byte, 8)} }
	setBuf := func(b *aio.Block) { b.SetBuffer(buf()) }
	setBufs := func(b *aio.Block) { b.SetBuffers(bufs()) }
	zeroOff := func(b *aio.Block) { b.SetOffset(0) }
	cases := []badCase{
		{"nil_buffer_read", func() *aio.Block { return aio.NewRead(f, nil, 0) }, false, syscall.EINVAL, []string{"read of 0 bytes"}, setBuf},
		{"nil_buffer_write", func() *aio.Block { return aio.NewWrite(f, nil, 0) }, false, syscall.EINVAL, []string{"write of 0 bytes"}, setBuf},
		{"empty_buffer_read", func() *aio.Block { return aio.NewRead(f, []byte{}, 0) }, false, syscall.EINVAL, []string{"read of 0 bytes"}, setBuf},
		{"empty_buffer_write", func() *aio.Block { return aio.NewWrite(f, buf()[:0], 0) }, false, syscall.EINVAL, []string{"write of 0 bytes"}, setBuf},
		{"readv_of_empty_buffers", func() *aio.Block { return aio.NewReadV(f, [][]byte{{}, nil}, 0) }, false, syscall.EINVAL, []string{"readv of 0 bytes"}, setBufs},
		{"writev_of_empty_buffers", func() *aio.Block { return aio.NewWriteV(f, [][]byte{nil}, 0) }, false, syscall.EINVAL, []string{"writev of 0 bytes"}, setBufs},
		{"negative_offset_read", func() *aio.Block { return aio.NewRead(f, buf(), -1) }, false, syscall.EINVAL, []string{"negative offset -1"}, zeroOff},
		{"negative_offset_write", func() *aio.Block { return aio.NewWrite(f, buf(), math.MinInt64) }, false, syscall.EINVAL, []string{"negative offset"}, zeroOff},
		{"negative_offset_readv", func() *aio.Block { return aio.NewReadV(f, bufs(), -4096) }, false, syscall.EINVAL, []string{"negative offset -4096"}, zeroOff},
		{"negative_offset_writev", func() *aio.Block { return aio.NewWriteV(f, bufs(), -1) }, false, syscall.EINVAL, []string{"negative offset"}, zeroOff},
		{"offset_length_overflow_read", func() *aio.Block { return aio.NewRead(f, buf(), math.MaxInt64-15+1) }, false, syscall.EINVAL, []string{"plus length 16 overflows"}, zeroOff},
		{"offset_length_overflow_write", func() *aio.Block { return aio.NewWrite(f, buf(), math.MaxInt64) }, false, syscall.EINVAL, []string{"overflows"}, zeroOff},
		{"offset_length_overflow_writev", func() *aio.Block { return aio.NewWriteV(f, bufs(), math.MaxInt64-8) }, false, syscall.EINVAL, []string{"overflows"}, zeroOff},
		{"nil_block", func() *aio.Block { return nil }, false, syscall.EINVAL, []string{"nil Block"}, nil},
	}
	runBad(t, cases)
}

// Vectors of no buffers or of more than IOV_MAX (1024): EINVAL from the
// package. Exactly IOV_MAX works.
func TestBadVectors(t *testing.T) {
	f := tempFile(t, pattern(4096, 2))
	ones := func(n int) [][]byte {
		v := make([][]byte, n)
		for i := range v {
			v[i] = make([]byte, 1)
		}
		return v
	}
	setMax := func(b *aio.Block) { b.SetBuffers(ones(1024)) }
	runBad(t, []badCase{
		{"readv_nil", func() *aio.Block { return aio.NewReadV(f, nil, 0) }, false, syscall.EINVAL, []string{"readv of 0 buffers (1 to 1024 allowed)"}, setMax},
		{"writev_empty", func() *aio.Block { return aio.NewWriteV(f, [][]byte{}, 0) }, false, syscall.EINVAL, []string{"writev of 0 buffers"}, setMax},
		{"readv_over_IOV_MAX", func() *aio.Block { return aio.NewReadV(f, ones(1025), 0) }, false, syscall.EINVAL, []string{"readv of 1025 buffers"}, setMax},
		{"writev_over_IOV_MAX", func() *aio.Block { return aio.NewWriteV(f, ones(4096), 0) }, false, syscall.EINVAL, []string{"writev of 4096 buffers"}, setMax},
	})
}

// O_DIRECT requests that break the file's alignment: where the kernel
// reports it (statx DIOALIGN, Linux 6.1+), EINVAL from the package,
// naming the rule and the value that breaks it. Elsewhere the kernel takes
// the request and fails it with an EINVAL event, which the test then
// checks instead.
func TestBadDirectAlignment(t *testing.T) {
	f, _ := directFile(t, 1<<20)
	buf := aligned(3 * 4096)
	page := func() []byte { return aligned(4096) }
	cases := []badCase{
		{"read_offset", func() *aio.Block { return aio.NewRead(f, page(), 100) }, false, syscall.EINVAL,
			[]string{"O_DIRECT read", "offset 100 is not"}, func(b *aio.Block) { b.SetOffset(4096) }},
		{"write_offset", func() *aio.Block { return aio.NewWrite(f, page(), 4097) }, false, syscall.EINVAL,
			[]string{"O_DIRECT write", "offset 4097 is not"}, func(b *aio.Block) { b.SetOffset(8192) }},
		{"read_length", func() *aio.Block { return aio.NewRead(f, buf[:100], 0) }, false, syscall.EINVAL,
			[]string{"buffer length 100 is not"}, func(b *aio.Block) { b.SetBuffer(page()) }},
		{"read_address", func() *aio.Block { return aio.NewRead(f, buf[1:4097], 0) }, false, syscall.EINVAL,
			[]string{"buffer address 0x"}, func(b *aio.Block) { b.SetBuffer(page()) }},
		{"writev_length", func() *aio.Block { return aio.NewWriteV(f, [][]byte{buf[:4096], buf[4096:4196]}, 0) }, false, syscall.EINVAL,
			[]string{"buffer 1 length 100 is not"}, func(b *aio.Block) { b.SetBuffers([][]byte{page(), page()}) }},
		{"readv_address", func() *aio.Block { return aio.NewReadV(f, [][]byte{buf[:4096], buf[4097 : 4097+4096]}, 0) }, false, syscall.EINVAL,
			[]string{"buffer 1 address 0x"}, func(b *aio.Block) { b.SetBuffers([][]byte{page(), page()}) }},
	}
	if a, e := aiocore.GetDioAlign(int(f.Fd())); e != 0 || a.Mem == 0 {
		t.Logf("no O_DIRECT alignment reported here (%v): the kernel fails misaligned requests in their events", e)
		ctx := newContext(t, 4)
		for _, c := range cases {
			if ev := do(t, ctx, c.block()); !errors.Is(ev.Err(), syscall.EINVAL) {
				t.Errorf("%s: event %d, %v; want EINVAL", c.name, ev.Res, ev.Err())
			}
		}
		return
	}
	runBad(t, cases)
}

// Bad files: no descriptor, a closed one, one open the wrong way, a
// directory, a socket, a pipe and the other files pread(2) refuses. The
// package refuses what it can tell from the Block (a nil file, a negative
// or out-of-range descriptor, a closed *os.File, a directory, a file that
// cannot seek); io_submit refuses the rest (EBADF), taking nothing.
func TestBadFiles(t *testing.T) {
	f := tempFile(t, pattern(4096, 3))
	buf := func() []byte { return make([]byte, 16) }
	toFile := func(b *aio.Block) { b.SetFile(f) }

	r, _ := pipe(t)
	r.Close()
	// A descriptor number that is not open, high enough that no file
	// opened meanwhile takes it (the kernel gives the lowest free one).
	closedFD := aio.FD(1000)
	for ; fdIsOpen(int(closedFD)); closedFD++ {
	}
	readOnly, err := os.Open(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	writeOnly, err := os.OpenFile(f.Name(), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer writeOnly.Close()
	pr, pw := pipe(t)
	fifoPath := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifoPath, 0o600); err != nil {
		t.Fatal(err)
	}
	fifo, err := os.OpenFile(fifoPath, os.O_RDWR, 0) // O_RDWR: open does not wait for a writer
	if err != nil {
		t.Fatal(err)
	}
	defer fifo.Close()
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_CLOEXEC, 0)
	if e != 0 {
		t.Fatal(e)
	}
	defer syscall.Close(int(efd))
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0) // a tty: a character device that cannot seek
	if err != nil {
		t.Fatal(err)
	}
	defer ptmx.Close()
	stream := []string{"pipe", "NewPoll"}
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	tc, _ := tcpPair(t)
	var sp [2]int
	if sp, err = syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0); err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(sp[0])
	defer syscall.Close(sp[1])
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	socket := []string{"socket", "NewPoll"}

	runBad(t, []badCase{
		{"nil_file", func() *aio.Block { return aio.NewRead(nil, buf(), 0) }, false, syscall.EBADF, []string{"nil file"}, toFile},
		{"negative_fd", func() *aio.Block { return aio.NewRead(aio.FD(-1), buf(), 0) }, false, syscall.EBADF, []string{"not a valid descriptor"}, toFile},
		// An FD too large for a descriptor is refused, not truncated to
		// the number of an open file.
		{"fd_out_of_range", func() *aio.Block { return aio.NewWrite(aio.FD(1<<32|int(f.Fd())), buf(), 0) }, false, syscall.EBADF, []string{"not a valid descriptor"}, toFile},
		{"closed_os_file", func() *aio.Block { return aio.NewRead(r, buf(), 0) }, false, os.ErrClosed, nil, toFile},
		{"closed_fd", func() *aio.Block { return aio.NewRead(closedFD, buf(), 0) }, true, syscall.EBADF, []string{"fd " + strconv.Itoa(int(closedFD)) + " is not open"}, toFile},
		{"read_of_write_only_fd", func() *aio.Block { return aio.NewRead(writeOnly, buf(), 0) }, true, syscall.EBADF, []string{"not open for read"}, toFile},
		{"write_of_read_only_file", func() *aio.Block { return aio.NewWrite(readOnly, buf(), 0) }, true, syscall.EBADF, []string{"not open for write"}, toFile},
		{"directory_read", func() *aio.Block { return aio.NewRead(dir, buf(), 0) }, false, syscall.EISDIR, []string{"read of a directory"}, toFile},
		{"directory_write", func() *aio.Block { return aio.NewWrite(dir, buf(), 0) }, false, syscall.EISDIR, []string{"write of a directory"}, toFile},
		{"directory_readv", func() *aio.Block { return aio.NewReadV(dir, [][]byte{buf()}, 0) }, false, syscall.EISDIR, []string{"readv of a directory"}, toFile},
		{"tcp_socket_read", func() *aio.Block { return aio.NewRead(tc, buf(), 0) }, false, syscall.ESPIPE, socket, toFile},
		{"tcp_socket_write", func() *aio.Block { return aio.NewWrite(tc, buf(), 0) }, false, syscall.ESPIPE, socket, toFile},
		{"udp_socket_read", func() *aio.Block { return aio.NewRead(udp.(*net.UDPConn), buf(), 0) }, false, syscall.ESPIPE, socket, toFile},
		{"unix_socket_fd_readv", func() *aio.Block { return aio.NewReadV(aio.FD(sp[0]), [][]byte{buf()}, 0) }, false, syscall.ESPIPE, socket, toFile},
		// Kernel AIO would read these at their current position,
		// ignoring the offset; pread(2) refuses them with ESPIPE.
		{"pipe_read", func() *aio.Block { return aio.NewRead(pr, buf(), 8) }, false, syscall.ESPIPE, stream, toFile},
		{"pipe_write", func() *aio.Block { return aio.NewWrite(pw, buf(), 0) }, false, syscall.ESPIPE, stream, toFile},
		{"pipe_fd_writev", func() *aio.Block { return aio.NewWriteV(aio.FD(pw.Fd()), [][]byte{buf()}, 0) }, false, syscall.ESPIPE, stream, toFile},
		{"fifo_read", func() *aio.Block { return aio.NewRead(fifo, buf(), 0) }, false, syscall.ESPIPE, stream, toFile},
		{"eventfd_read", func() *aio.Block { return aio.NewRead(aio.FD(efd), make([]byte, 8), 0) }, false, syscall.ESPIPE, stream, toFile},
		{"tty_read", func() *aio.Block { return aio.NewRead(ptmx, buf(), 0) }, false, syscall.ESPIPE, stream, toFile},
	})

	// What a directory, a socket and a pipe do take: fsync, and poll.
	ctx := newContext(t, 4)
	pw.Write([]byte("x"))
	if ev := do(t, ctx, aio.NewPoll(pr, aio.PollIn)); ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("poll of a pipe: %d, %v", ev.Res, ev.Err())
	}
	// A character device that can seek is read as pread reads it.
	null, err := os.Open("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if ev := do(t, ctx, aio.NewRead(null, buf(), 4096)); ev.Err() != nil || ev.N() != 0 {
		t.Fatalf("read of /dev/null: %d, %v", ev.Res, ev.Err())
	}
	if ev := do(t, ctx, aio.NewFsync(dir)); ev.Err() != nil {
		t.Fatalf("fsync of a directory: %v", ev.Err())
	}
	if ev := do(t, ctx, aio.NewPoll(tc, aio.PollOut)); ev.PollEvents()&aio.PollOut == 0 {
		t.Fatalf("poll of a socket: %d, %v", ev.Res, ev.Err())
	}
}

// A Block in flight, submitted again to its own Context or to another,
// or given twice in one batch: ErrInFlight, nothing submitted, and the
// Block in flight undisturbed. Its setters refuse too, changing nothing.
func TestBadBlockInFlight(t *testing.T) {
	r, w := pipe(t)
	f := tempFile(t, pattern(4096, 4))
	ctx, other := newContext(t, 8), newContext(t, 8)
	poll := aio.NewPoll(r, aio.PollIn)
	submit(t, ctx, poll)
	good := func() *aio.Block { return aio.NewRead(f, make([]byte, 8), 0) }

	t.Run("same_context", func(t *testing.T) {
		refused(t, ctx, good(), poll, false, aio.ErrInFlight)
	})
	t.Run("another_context", func(t *testing.T) {
		refused(t, other, good(), poll, false, aio.ErrInFlight)
		wantErr(t, other.Cancel(poll), aio.ErrNotInFlight)
	})
	t.Run("twice_in_one_batch", func(t *testing.T) {
		a, b := good(), good()
		n, err := ctx.Submit(a, b, a)
		wantErr(t, err, aio.ErrInFlight, "block 2", "twice")
		if n != 0 || a.InFlight() || b.InFlight() || ctx.InFlight() != 1 {
			t.Fatalf("refused batch: %d submitted, in flight %v %v %d", n, a.InFlight(), b.InFlight(), ctx.InFlight())
		}
		submit(t, ctx, a, b)
		for _, ev := range reap(t, ctx, 2) {
			if ev.N() != 8 {
				t.Fatalf("read: %d, %v", ev.Res, ev.Err())
			}
		}
	})
	t.Run("setters", func(t *testing.T) {
		for name, err := range map[string]error{
			"SetOffset":     poll.SetOffset(1),
			"SetBuffer":     poll.SetBuffer(make([]byte, 1)),
			"SetBuffers":    poll.SetBuffers([][]byte{{1}}),
			"SetFile":       poll.SetFile(f),
			"SetCommand":    poll.SetCommand(aio.CmdRead),
			"SetPollEvents": poll.SetPollEvents(aio.PollOut),
			"SetRWFlags":    poll.SetRWFlags(aio.RWFNoWait),
			"SetPriority":   poll.SetPriority(aio.PrioClassBE, 1),
			"SetResFD":      poll.SetResFD(3),
			"SetWait":       poll.SetWait(true),
		} {
			if !errors.Is(err, aio.ErrInFlight) {
				t.Errorf("%s on a Block in flight: %v, want ErrInFlight", name, err)
			}
		}
		class, level := poll.Priority()
		if poll.Offset() != 0 || poll.Buffer() != nil || poll.Buffers() != nil || poll.File() != r ||
			poll.Command() != aio.CmdPoll || poll.PollEvents() != aio.PollIn || poll.RWFlags() != 0 ||
			class != aio.PrioClassNone || level != 0 || poll.ResFD() != -1 || poll.Waits() {
			t.Fatal("a refused setter changed the Block")
		}
	})

	// The poll is still in flight on ctx alone, and completes there once.
	if ctx.InFlight() != 1 || other.InFlight() != 0 {
		t.Fatalf("InFlight %d and %d, want 1 and 0", ctx.InFlight(), other.InFlight())
	}
	w.Write([]byte{1})
	if ev := reap(t, ctx, 1)[0]; ev.Block != poll || ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("event %+v, want POLLIN", ev)
	}
	wantErr(t, ctx.Cancel(poll), aio.ErrNotInFlight)
	// Idle again, it goes to the other Context.
	if ev := do(t, other, poll); ev.PollEvents()&aio.PollIn == 0 {
		t.Fatalf("poll on the other Context: %+v", ev)
	}
}

// A closed Context, in either mode: Submit (with Blocks or without),
// SubmitContext, GetEvents and Cancel return ErrClosed; nothing is
// submitted; Close again returns nil; the Blocks work elsewhere.
func TestBadClosedContext(t *testing.T) {
	f := tempFile(t, pattern(4096, 5))
	for _, mode := range []string{"manual", "stream"} {
		t.Run(mode, func(t *testing.T) {
			var opts []aio.Option
			if mode == "manual" {
				opts = append(opts, aio.Manual())
			}
			ctx, err := aio.NewContext(4, opts...)
			if err != nil {
				t.Fatal(err)
			}
			if err := ctx.Close(); err != nil {
				t.Fatal(err)
			}
			a, b := aio.NewRead(f, make([]byte, 8), 0), aio.NewRead(f, make([]byte, 8), 8)
			before := ctx.Stats()
			n, err := ctx.Submit(a, b)
			wantErr(t, err, aio.ErrClosed, "aio: Submit: block 0")
			st := ctx.Stats()
			if n != 0 || a.InFlight() || b.InFlight() || ctx.InFlight() != 0 ||
				st.Submitted != before.Submitted || st.IOSubmitCalls != before.IOSubmitCalls {
				t.Fatalf("Submit on a closed Context: %d, in flight %v %v, Stats %+v", n, a.InFlight(), b.InFlight(), st)
			}
			_, err = ctx.Submit()
			wantErr(t, err, aio.ErrClosed)
			_, err = ctx.SubmitContext(t.Context(), a)
			wantErr(t, err, aio.ErrClosed)
			wantErr(t, ctx.Cancel(a), aio.ErrClosed)
			if mode == "manual" {
				_, err = ctx.GetEvents(0, 1, 0)
				wantErr(t, err, aio.ErrClosed)
			} else if _, ok := <-ctx.Events(); ok {
				t.Fatal("Events of a closed Context gave an event")
			}
			if err := ctx.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			other := newContext(t, 4)
			works(t, other, a)
			works(t, other, b)
		})
	}
}

// NewContext with maxEvents of 0 or less, or past what one context may
// hold (1<<20 slots): EINVAL naming the number. Past fs.aio-max-nr
// (within that bound): EAGAIN from io_setup, naming the limit. An unknown
// FullPolicy: EINVAL. No kernel context is left behind.
func TestBadMaxEvents(t *testing.T) {
	limit := procInt(t, "/proc/sys/fs/aio-max-nr")
	mappings := aioMappings()
	for _, n := range []int{0, -1, math.MinInt, aiocore.MaxSlots + 1, 1 << 40, math.MaxInt} {
		t.Run(strconv.Itoa(n), func(t *testing.T) {
			ctx, err := aio.NewContext(n)
			if ctx != nil {
				ctx.Close()
			}
			wantErr(t, err, syscall.EINVAL, "NewContext", strconv.Itoa(n), "outside 1 to "+strconv.Itoa(aiocore.MaxSlots))
		})
	}
	t.Run("past_aio-max-nr", func(t *testing.T) {
		if limit+1 > aiocore.MaxSlots {
			t.Skipf("fs.aio-max-nr is %d: a context past it is larger than the package allows (%d)", limit, aiocore.MaxSlots)
		}
		ctx, err := aio.NewContext(limit+1, aio.Manual())
		if err == nil {
			ctx.Close()
			t.Fatalf("NewContext(%d) succeeded past fs.aio-max-nr", limit+1)
		}
		wantErr(t, err, syscall.EAGAIN, "io_setup", "aio-max-nr", strconv.Itoa(limit))
		var ae *aio.Error
		if !errors.As(err, &ae) || ae.Op != "NewContext" || ae.Syscall != "io_setup" || ae.Index != -1 {
			t.Fatalf("error %#v is not an *aio.Error for io_setup", err)
		}
	})
	t.Run("unknown_FullPolicy", func(t *testing.T) {
		_, err := aio.NewContext(4, aio.WhenFull(7))
		wantErr(t, err, syscall.EINVAL, "NewContext", "unknown FullPolicy 7")
	})
	if got := aioMappings(); got != mappings {
		t.Fatalf("%d AIO rings mapped, %d before", got, mappings)
	}
}

// GetEvents with minNr below 0, maxNr below minNr or minNr above Cap:
// EINVAL. maxNr above Cap is capped, not refused.
func TestBadGetEventsArguments(t *testing.T) {
	ctx := newContext(t, 4)
	for _, c := range [][2]int{{-1, 1}, {2, 1}, {5, 8}, {math.MinInt, math.MaxInt}} {
		t.Run(strconv.Itoa(c[0])+"_"+strconv.Itoa(c[1]), func(t *testing.T) {
			_, err := ctx.GetEvents(c[0], c[1], 0)
			wantErr(t, err, syscall.EINVAL, "GetEvents")
		})
	}
	if _, err := ctx.GetEvents(0, math.MaxInt, 0); err != nil {
		t.Fatal(err)
	}
}

// fdIsOpen reports whether fd is an open descriptor.
func fdIsOpen(fd int) bool {
	_, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_GETFD, 0)
	return e == 0
}

// badCall is one bad File call: what it must return, and the Context
// whose Stats must show that nothing reached io_submit.
type badCall struct {
	name  string
	ctx   *aio.Context
	call  func() (int, error)
	err   error // nil: the call must return 0, nil
	words []string
	skip  string // why the case cannot be run here, if it cannot
}

// File calls with bad input, on a File that cannot take any, or on a
// Context that cannot: each fails with the error below (errors.Is), reads
// or writes nothing, and reaches no io_submit. An empty buffer is no error:
// 0 bytes, nil, as os.File gives.
func TestBadFile(t *testing.T) {
	data := pattern(8192, 11)
	buffered := tempFile(t, data)
	df, _ := directFile(t, 1<<16)
	ctx := streamContext(t, 8)
	file, direct := fileOn(t, ctx, buffered), fileOn(t, ctx, df)
	buf := func() []byte { return make([]byte, 16) }

	closedFile := fileOn(t, ctx, buffered)
	if err := closedFile.Close(); err != nil {
		t.Fatal(err)
	}
	closedCtx, err := aio.NewContext(4)
	if err != nil {
		t.Fatal(err)
	}
	onClosedCtx := fileOn(t, closedCtx, buffered)
	if err := closedCtx.Close(); err != nil {
		t.Fatal(err)
	}
	manual := newContext(t, 4)
	onManual := fileOn(t, manual, buffered)
	dir, err := os.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	onDir := mustFile(t, ctx, dir)
	defer onDir.Close()
	g, err := os.OpenFile(buffered.Name(), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	onAppend := mustFile(t, ctx, g)
	defer onAppend.Close()

	cases := []badCall{
		{"negative_offset_read", ctx, func() (int, error) { return file.ReadAt(buf(), -1) }, syscall.EINVAL, []string{"aio: File.ReadAt:", "negative offset"}, ""},
		{"negative_offset_write", ctx, func() (int, error) { return file.WriteAt(buf(), math.MinInt64) }, syscall.EINVAL, []string{"aio: File.WriteAt:", "negative offset"}, ""},
		{"empty_buffer_read", ctx, func() (int, error) { return file.ReadAt(nil, 0) }, nil, nil, ""},
		{"empty_buffer_write", ctx, func() (int, error) { return direct.WriteAt([]byte{}, 0) }, nil, nil, ""},
		{"closed_File_read", ctx, func() (int, error) { return closedFile.ReadAt(buf(), 0) }, os.ErrClosed, []string{"the File is closed"}, ""},
		{"closed_File_write", ctx, func() (int, error) { return closedFile.WriteAt(buf(), 0) }, os.ErrClosed, []string{"the File is closed"}, ""},
		{"closed_Context", closedCtx, func() (int, error) { return onClosedCtx.ReadAt(buf(), 0) }, aio.ErrClosed, []string{"aio: File.ReadAt:"}, ""},
		{"Manual_Context", manual, func() (int, error) { return onManual.ReadAt(buf(), 0) }, aio.ErrWrongMode, []string{"aio: File.ReadAt:", "a File needs a stream-mode Context"}, ""},
		{"directory_read", ctx, func() (int, error) { return onDir.ReadAt(buf(), 0) }, syscall.EISDIR, []string{"read of a directory"}, ""},
		{"directory_write", ctx, func() (int, error) { return onDir.WriteAt(buf(), 0) }, syscall.EISDIR, []string{"write of a directory"}, ""},
		{"O_APPEND_write", ctx, func() (int, error) { return onAppend.WriteAt(buf(), 0) }, syscall.EINVAL, []string{"O_APPEND"}, ""},
	}
	cases = append(cases, misalignedCalls(ctx, direct)...)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.skip != "" {
				t.Skip(c.skip)
			}
			before := c.ctx.Stats()
			n, err := c.call()
			t.Log(err)
			if c.err == nil {
				if n != 0 || err != nil {
					t.Fatalf("%d, %v; want 0, nil", n, err)
				}
			} else {
				wantErr(t, err, c.err, c.words...)
				var ae *aio.Error
				if !errors.As(err, &ae) || ae.Index != -1 {
					t.Fatalf("error %#v: want an *aio.Error naming no Block", err)
				}
			}
			if st := c.ctx.Stats(); n != 0 || st.IOSubmitCalls != before.IOSubmitCalls || st.Submitted != before.Submitted || c.ctx.InFlight() != 0 {
				t.Fatalf("%d bytes; Stats %+v then %+v: want nothing submitted", n, before, st)
			}
		})
	}

	// The Files that can, still work; the directory and the socket take
	// Sync.
	got := make([]byte, len(data))
	if n, err := file.ReadAt(got, 0); n != len(data) || err != nil || !bytes.Equal(got, data) {
		t.Fatalf("ReadAt after the refusals: %d, %v", n, err)
	}
	if n, err := onAppend.ReadAt(got[:10], 0); n != 10 || err != nil {
		t.Fatalf("ReadAt of an O_APPEND File: %d, %v", n, err)
	}
	if err := onDir.Sync(); err != nil {
		t.Fatalf("Sync of a directory: %v", err)
	}
}

// misalignedCalls returns the O_DIRECT writes on direct that break its
// alignment: an offset, a length, a buffer address. The error names the
// alignment. (Misaligned reads are taken, through a bounce buffer: see
// file_bounce_test.go.) Where the kernel does not report it (AlignNone), they cannot
// be refused before the kernel, and are skipped.
func misalignedCalls(ctx *aio.Context, direct *aio.File) []badCall {
	a := direct.Alignment()
	buf := aligned(3 * 4096)
	words := func(what string, offset int) []string {
		return []string{"O_DIRECT", what, "aligned to " + strconv.Itoa(offset), "addresses to " + strconv.Itoa(a.Memory)}
	}
	skip := ""
	if a.Source == aio.AlignNone {
		skip = "the kernel reports no O_DIRECT alignment for this file: it fails misaligned requests in their events"
	}
	calls := []badCall{
		{"misaligned_offset_write", ctx, func() (int, error) { return direct.WriteAt(buf[:4096], int64(a.Offset+1)) }, syscall.EINVAL, words("offset", a.Offset), skip},
		{"misaligned_length_write", ctx, func() (int, error) { return direct.WriteAt(buf[:a.Offset+a.Offset/2], 0) }, syscall.EINVAL, words("buffer length", a.Offset), skip},
	}
	if a.Memory > 1 {
		calls = append(calls, badCall{"misaligned_address_write", ctx,
			func() (int, error) { return direct.WriteAt(buf[a.Memory/2:a.Memory/2+4096], 0) }, syscall.EINVAL, words("buffer address", a.Offset), skip})
	}
	return calls
}
