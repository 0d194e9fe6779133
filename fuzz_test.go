//go:build linux && cgo

package aio_test

import (
	"os"
	"runtime"
	"testing"
)

// FuzzCommands runs programs decoded from the fuzz input against one
// Context: Blocks of every command with random buffers, offsets, flags and
// files (a buffered file, an O_DIRECT file, /dev/zero, a pipe, a
// directory, bad and closed descriptors), Submit and SubmitContext, Cancel,
// Wait, GetEvents, reads of Events, writes to and closes of the pipe, and
// Close at any point (fuzzprog_test.go has the decoder).
//
// Whatever the program does: nothing panics; every Block a Submit accepted
// yields exactly one Event, through Events, Wait or GetEvents, or from
// Close in stream mode (in manual mode Close discards unreaped events,
// but leaves no Block in flight); and after each program no kernel AIO
// context, descriptor or goroutine is left.
//
// Its seeds run in the normal test suite; `go test -run - -fuzz
// FuzzCommands` searches for more. Each program takes a few milliseconds
// plus the ~30 ms of the kernel's io_destroy.
func FuzzCommands(f *testing.F) {
	for _, p := range fuzzSeeds {
		f.Add(p)
	}
	env := newFuzzEnv(f)
	f.Fuzz(func(t *testing.T, prog []byte) {
		maps, fds, goroutines := aioMappings(), countFDs(), runtime.NumGoroutine()
		runFuzzProgram(t, env, prog)
		if n := aioMappings(); n != maps {
			t.Fatalf("%d kernel AIO contexts mapped after the program, %d before", n, maps)
		}
		if n := countFDs(); n > fds {
			t.Fatalf("%d descriptors open after the program, %d before", n, fds)
		}
		if !settles(func() bool { return runtime.NumGoroutine() <= goroutines }) {
			t.Fatalf("%d goroutines after the program, %d before", runtime.NumGoroutine(), goroutines)
		}
	})
}

// fuzzFileSize is the size the fuzzed files are reset to before each
// program.
const fuzzFileSize = 64 << 10

// fuzzEnv holds the files every program of one fuzzing process uses; each
// program makes its own pipe.
type fuzzEnv struct {
	buffered *os.File // a temporary file, read and written through the page cache
	direct   *os.File // the same size, opened with O_DIRECT
	zero     *os.File // /dev/zero, read and written
	dir      *os.File // a directory: reads and writes fail
	closed   *os.File // closed: Submit refuses it
}

func newFuzzEnv(f *testing.F) *fuzzEnv {
	e := &fuzzEnv{buffered: tempFile(f, pattern(fuzzFileSize, 1))}
	e.direct, _ = directFile(f, fuzzFileSize)
	var err error
	if e.zero, err = os.OpenFile("/dev/zero", os.O_RDWR, 0); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.zero.Close() })
	if e.dir, err = os.Open(f.TempDir()); err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { e.dir.Close() })
	if e.closed, err = os.Open(os.DevNull); err != nil {
		f.Fatal(err)
	}
	e.closed.Close()
	return e
}

// reset gives the files their size back, so that a program does not
// depend on the ones before it.
func (e *fuzzEnv) reset(t *testing.T) {
	for _, f := range []*os.File{e.buffered, e.direct} {
		if err := f.Truncate(fuzzFileSize); err != nil {
			t.Fatal(err)
		}
	}
}

// fuzzSeeds are programs that reach each part of the package; the decoder
// in fuzzprog_test.go gives their bytes meaning. In the comments: the
// file (0 buffered, 1 O_DIRECT, 2 /dev/zero, 3 and 4 the pipe's ends, 5 a
// directory, 6 closed, 7 FD(-1)), then the command and its arguments.
var fuzzSeeds = [][]byte{
	// Stream, 4 slots: a buffered read and an O_DIRECT write, received.
	{0x00, 3,
		opNew, 0, 0, 5, 4, 0,
		opNew, 1, 1, 5, 5, 0,
		opSubmit, 2, 0, 0, 0, 1, 0,
		opRecv, 2, 1},
	// Manual, 8 slots: readv, a misaligned O_DIRECT read, a writev with
	// an empty buffer; reaped with GetEvents, closed.
	{0x01, 7,
		opNew, 1, 2, 2, 5, 5, 4, 0,
		opNew, 1, 0, 0x25, 0, 0,
		opNew, 0, 3, 3, 4, 0x10, 5, 1, 0,
		opSubmit, 1, 0, 0, 0, opSubmit, 1, 0, 1, 0, opSubmit, 1, 0, 2, 0,
		opGetEvents, 1, 5, 1,
		opGetEvents, 0, 7, 0,
		opClose},
	// Stream, 2 slots: polls on the empty pipe, one set to wait; a read
	// submitted with a deadline to the full Context; cancel, pipe write.
	{0x00, 1,
		opNew, 3, 6, 1, 0, 8,
		opNew, 3, 6, 1, 0, 0,
		opNew, 2, 0, 5, 0, 0,
		opSubmit, 2, 0, 0, 0, 1, 0,
		opSubmitCtx, 1, 0, 2, 2,
		opCancel, 1, 0,
		opWait, 0, 2,
		opPipeWrite, 0,
		opWait, 0, 2,
		opRecv, 4, 1,
		opSubmitCtx, 1, 0, 2, 1},
	// Stream, 16 slots: 64 KiB O_DIRECT I/O and an fsync from two
	// goroutines, closed in flight, then used after Close.
	{0x00, 15,
		opNew, 1, 1, 8, 0, 0,
		opNew, 1, 0, 8, 0, 8,
		opNew, 1, 4, 0,
		opSubmit2, 3, 0, 0, 0, 1, 0, 2, 0, 0,
		opClose,
		opSubmit, 1, 0, 0, 0,
		opRecv, 8, 0,
		opWait, 1, 0},
	// Manual, 4 slots: bad descriptors, a directory, 1025 and 0 iovecs,
	// an unknown RWF flag, a bad priority, a resfd that is no eventfd,
	// offsets -1 and MaxInt64, an unknown command.
	{0x01, 3,
		opNew, 7, 0, 5, 0, 0,
		opNew, 6, 0, 5, 0, 0,
		opNew, 5, 0, 5, 0, 0,
		opNew, 0, 2, 0xff, 0, 0,
		opNew, 0, 2, 0, 0, 0,
		opNew, 0, 0, 5, 0, 0x03, 0x08,
		opNew, 0, 0, 5, 0, 0x04, 0x4f,
		opNew, 0, 0, 5, 10, 0x10,
		opNew, 0, 0, 5, 12, 0x20, 9,
		opSubmit, 1, 0, 0, 0, opSubmit, 1, 0, 1, 0, opSubmit, 1, 0, 2, 0,
		opSubmit, 1, 0, 3, 0, opSubmit, 1, 0, 4, 0, opSubmit, 1, 0, 5, 0,
		opSubmit, 1, 0, 6, 0, opSubmit, 1, 0, 7, 0, opSubmit, 1, 0, 8, 0,
		opGetEvents, 0, 7, 0,
		opModify, 0, 3, 4},
	// Manual with FullWait, 1 slot: a second read waits for room under a
	// deadline.
	{0x09, 0,
		opNew, 0, 0, 5, 0, 0,
		opNew, 0, 0, 5, 4, 0,
		opSubmit, 2, 0, 0, 0, 1, 1,
		opGetEvents, 1, 2, 1,
		opSubmit, 1, 0, 1, 0},
	// Stream, 4 slots: pipe write and read, the writer closed, a poll on
	// the closed end, a truncated file read past its end.
	{0x00, 3,
		opNew, 4, 1, 5, 0, 0,
		opNew, 3, 0, 5, 0, 0,
		opSubmit, 2, 0, 0, 0, 1, 0,
		opPipeClose, 1,
		opNew, 4, 6, 4, 0, 0,
		opSubmit, 2, 0, 1, 0, 2, 0,
		opTruncate, 0, 0,
		opNew, 0, 0, 8, 0, 0,
		opSubmit, 1, 0, 3, 0,
		opRecv, 8, 1},
	// Stream, 8 slots: Close while another goroutine submits O_DIRECT
	// reads and a read set to wait.
	{0x00, 7,
		opNew, 1, 0, 5, 0, 0,
		opNew, 1, 0, 5, 4, 0,
		opNew, 0, 0, 5, 0, 8,
		opCloseRace, 3, 0, 0, 0, 1, 0, 2,
		opRecv, 8, 1},
	// Manual, 8 slots: Close while a poll is pending and another
	// goroutine submits a 64 KiB O_DIRECT write.
	{0x01, 7,
		opNew, 1, 1, 8, 0, 0,
		opNew, 3, 6, 1, 0, 0,
		opSubmit, 1, 0, 1, 0,
		opCloseRace, 1, 0, 0},
	// Stream, 16 slots: 65 reads in one call, of which 16 go in before
	// the deadline; then 80 with a Block given twice, refused.
	{0x00, 15,
		opMany, 0, 0, 0xff, 0, 2,
		opRecv, 8, 1, opRecv, 8, 1,
		opMany, 1, 15, 3, 1, 2,
		opRecv, 8, 1},
	// Manual, 16 slots, FullError: 70 reads, of which 16 go in.
	{0x01, 15,
		opMany, 0, 5, 0xff, 0, 0,
		opGetEvents, 2, 5, 1},
	// NewContext refuses 0 slots, and an unknown FullPolicy.
	{0x00, 0xff},
	{0x0e, 0},
}
