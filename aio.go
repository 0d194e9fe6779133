// Package aio gives Go programs Linux kernel asynchronous I/O: io_setup,
// io_submit, io_getevents, io_cancel and io_destroy, with hundreds of disk
// I/Os in flight on a handful of OS threads.
//
// A Context is a kernel AIO context with a fixed number of slots. A Block is
// one request (read, write, readv, writev, fsync, fdsync or poll) with its
// file, buffers, offset and flags. Submit hands a batch of Blocks to the
// kernel in one system call, and their completions arrive as Events on the
// Context's channel:
//
//	ctx, err := aio.NewContext(128)
//	...
//	defer ctx.Close()
//	if _, err := ctx.Submit(aio.NewRead(f, buf, 0)); err != nil { ... }
//	for ev := range ctx.Events() {
//		n, err := ev.N(), ev.Err()
//		...
//	}
//
// Go's network poller watches the eventfd every request signals, so an idle
// Context holds no OS thread (while disk I/O is in flight, one goroutine
// waits for it in io_getevents, holding one); completions are read from the
// kernel's ring in user space. A Block set with SetWait completes through Block.Wait instead,
// which takes a context.Context. A Context made with the Manual option has
// no channel: GetEvents reaps its completions, as io_getevents does.
//
// Code written for os.File can use a File instead: Context.File wraps an
// *os.File in an io.ReaderAt and io.WriterAt whose concurrent calls become
// batched kernel AIO, with no OS thread per call waiting.
//
// # When kernel AIO is asynchronous
//
// Kernel AIO is truly asynchronous for files opened with O_DIRECT (and for
// poll). For buffered files the kernel does the I/O inside io_submit, so
// Submit blocks as long as a pread would, and so do the other requests of
// the same io_submit; RWFNoWait turns a read that would block into an
// EAGAIN event instead. A Context made with TryNoWait sends buffered reads
// with RWFNoWait and sends what comes back unfinished again, in an
// io_submit of its own that may wait; a File keeps buffered reads and
// writes out of io_submit altogether. O_DIRECT needs the buffer address, the
// length and the offset aligned to the file's logical block size (often 512
// or 4096 bytes): DirectAlignment and OpenDirect find it, from statx
// STATX_DIOALIGN (Linux 6.1+) or else the block device, and Submit refuses a
// misaligned request with an error naming it. Where neither is known, the
// request completes with an EINVAL event. AlignedBuffer and BufferPool give
// aligned memory outside the Go heap. tmpfs refuses O_DIRECT before Linux
// 6.6. A File reads page-cache-hot buffered data with preadv2, as fast as
// os.File's pread: kernel AIO, with its reaping, costs twice the CPU.
//
// # Memory
//
// The C core keeps the kernel's structures (iocbs, the submission array,
// the event array) in C memory. Go buffers handed to the kernel are pinned
// with runtime.Pinner from Submit until their event is reaped, or until
// Close has waited for the kernel to finish with them. The kernel identifies
// a request by a slot number, never by a Go pointer.
//
// # Errors
//
// Failed system calls and refused requests return an *Error that names the
// operation and wraps a syscall.Errno or one of the sentinel errors
// (ErrClosed, ErrInFlight, ErrFull, ...), so errors.Is works; its Detail
// gives the likely cause where one is known (fs.aio-max-nr, O_DIRECT
// alignment, a kernel too old for a command). The error of an individual
// I/O arrives in its Event: Event.Err returns a syscall.Errno.
//
// # Requirements
//
// Linux 4.19 or later for every command (4.18 for fsync and fdsync, 4.19
// for poll; reads and writes work on any kernel with AIO), cgo with a C
// compiler, and libaio (Debian and Ubuntu: libaio-dev). Without Linux or
// cgo the package compiles but NewContext returns ErrNotSupported.
package aio

import (
	"iter"
	"runtime"
	"strconv"
	"syscall"
)

// maxSlots is the most I/Os one Context can hold in flight; the C core's
// AIOC_MAX_SLOTS, checked against it at compile time (context_linux.go).
const maxSlots = 1 << 20

// Context is a kernel AIO context (io_setup) with room for a fixed number of
// I/Os in flight. Submit Blocks to it and receive their completions as
// Events, then Close it.
//
// A Context delivers completions in one of two modes, chosen by NewContext:
//
//   - Stream (the default): every completion arrives on the channel Events
//     returns, except those of Blocks set to be waited for (Block.SetWait),
//     which arrive through Block.Wait. The kernel signals an eventfd that
//     Go's network poller watches; a goroutine of the Context wakes on it,
//     reads the completions from the kernel's ring in user space and
//     delivers them. While idle that goroutine is parked: it holds no OS
//     thread and makes no system call.
//   - Manual (the Manual option): the caller reaps completions with
//     GetEvents, as with io_getevents, and the Context runs no goroutine.
//
// A Context is safe for concurrent use by multiple goroutines. Submit
// calls that arrive together share io_submit calls (see Submit); Cancel,
// InFlight, Stats and reaping go on while a Submit waits in the kernel.
type Context struct {
	s       *state
	cleanup runtime.Cleanup
}

func NewContext(maxEvents int, opts ...Option) (*Context, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if maxEvents <= 0 || maxEvents > maxSlots {
		return nil, opError("NewContext", syscall.EINVAL,
			"maxEvents "+strconv.Itoa(maxEvents)+" is outside 1 to "+strconv.Itoa(maxSlots))
	}
	if cfg.full == 0 {
		cfg.full = FullWait
		if cfg.manual {
			cfg.full = FullError
		}
	}
	if cfg.blockingSet && (cfg.blocking < 1 || cfg.blocking > maxSlots) {
		return nil, opError("NewContext", syscall.EINVAL,
			"MaxBlocking "+strconv.Itoa(cfg.blocking)+" is outside 1 to "+strconv.Itoa(maxSlots))
	}
	if cfg.full != FullWait && cfg.full != FullError {
		return nil, opError("NewContext", syscall.EINVAL, "unknown FullPolicy "+strconv.Itoa(int(cfg.full)))
	}
	s, err := newState(maxEvents, cfg)
	if err != nil {
		return nil, err
	}
	c := &Context{s: s}
	// Close may wait for the kernel; not on the runtime's cleanup goroutine.
	c.cleanup = runtime.AddCleanup(c, func(s *state) { go s.close() }, s)
	return c, nil
}

// Cap returns the number of I/Os the Context can hold in flight: the
// maxEvents given to NewContext.
func (c *Context) Cap() int {
	defer runtime.KeepAlive(c)
	return c.s.capacity()
}

// InFlight returns the number of Blocks submitted whose events have not
// been reaped yet. Events reaped and waiting in the Events channel are not
// counted.
func (c *Context) InFlight() int {
	defer runtime.KeepAlive(c)
	return c.s.inFlight()
}

// Events returns the channel on which a stream-mode Context delivers the
// Event of every submitted Block, except Blocks set with SetWait, whose
// events go to Block.Wait. Each Block produces exactly one Event. Close
// closes the channel once the last event is in it; events already in it
// stay there for a reader to receive.
//
// Events not yet received count against the Context's capacity: when
// in-flight Blocks plus unread events fill every slot, Submit waits (or
// fails with ErrFull; see FullPolicy). A slow reader slows the submitters;
// no event is ever dropped.
//
// A Manual Context has no stream: Events returns nil, and a receive from it
// blocks for ever; reap with GetEvents instead.
func (c *Context) Events() <-chan Event {
	defer runtime.KeepAlive(c)
	return c.s.eventsChan()
}

// Completions returns an iterator over the same events as Events, for a
// range loop:
//
//	for ev := range ctx.Completions() {
//		// use ev, then submit ev.Block again, or not
//	}
//
// It is the faster way to consume them: while no other goroutine is
// reaping, the loop's goroutine waits for completions in io_getevents and
// reaps them itself, with no wakeup of another goroutine in between (at 1
// in flight, about as fast as a pread; see BENCHMARKS.md). While it waits
// there it holds an OS thread, as a pread does; with nothing in flight it
// parks and holds none.
//
// The loop ends when the Context is closed and every event has been
// yielded, or when its body breaks. Several loops, and receives from
// Events, may run at once: each event goes to exactly one of them. On a
// Manual Context the loop yields nothing and ends at once.
func (c *Context) Completions() iter.Seq[Event] {
	return func(yield func(Event) bool) {
		defer runtime.KeepAlive(c)
		c.s.completions(yield)
	}
}

// Stats returns the Context's counters since NewContext. They keep their
// last values after Close.
func (c *Context) Stats() Stats {
	defer runtime.KeepAlive(c)
	return c.s.stats()
}

// Cancel asks the kernel to cancel b, which must be in flight on c. On
// success the Block's event is still delivered, with the error ECANCELED.
// If b is a poll whose Submit has not returned yet (another goroutine is in
// it), the cancellation is recorded and carried out as soon as io_submit
// returns; Cancel then returns nil, and the event carries the ready mask if
// the poll fired first.
//
// The kernel cancels poll requests only: for reads, writes and syncs it
// returns EINVAL, and the I/O runs to completion. A poll that has already
// fired also gives EINVAL (ErrNotInFlight once its event has been reaped);
// its event, with the ready mask, is delivered as usual.
func (c *Context) Cancel(b *Block) error {
	defer runtime.KeepAlive(c)
	if b == nil {
		return opError("Cancel", syscall.EINVAL, "nil Block")
	}
	return c.s.cancel(b)
}

// Close stops new submissions and returns when the kernel no longer uses
// any buffer, having closed the kernel context (io_destroy) and, in stream
// mode, the eventfd and the Events channel. Later calls to Submit,
// GetEvents and Cancel return ErrClosed.
//
// Blocks that Submit calls had queued but not yet handed to the kernel are
// not submitted: those calls return ErrClosed for them. Pending polls are
// cancelled. Reads, writes and syncs in flight are waited for, and so is a
// Submit inside io_submit.
//
// Stream mode: every in-flight Block's event is delivered, not discarded:
// it goes into the Events channel (which always has room for it, so Close
// never waits for a reader) or, for a Block set with SetWait, to
// Block.Wait. The channel is closed after the last one; a reader still
// receives the events in it. Manual mode: events not reaped by GetEvents
// are discarded, and their Blocks become idle.
//
// Close may be called more than once and from several goroutines; every
// call returns once the Context is closed. io_destroy waits for an RCU grace
// period, so Close takes tens of milliseconds: keep a Context for the life
// of the work rather than making one per operation.
func (c *Context) Close() error {
	c.cleanup.Stop()
	return c.s.close()
}
