//go:build linux && cgo

package aio

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/linuxaio/aio/internal/aiocore"
)

// reapSlice bounds each io_getevents wait inside GetEvents, so that a
// waiting GetEvents notices Close, and lets other reapers in, within that
// time. The kernel context must not be destroyed while a thread may be about
// to enter io_getevents on it: its id could be reused by a new context at
// once.
const reapSlice = 50 * time.Millisecond

// Context is a kernel AIO context (io_setup) with room for a fixed number of
// I/Os in flight. Submit Blocks to it, reap their completions with
// GetEvents, and Close it when done.
//
// A Context is safe for concurrent use by multiple goroutines. Submit calls
// take turns (they share the descriptor array in C memory); Cancel,
// InFlight and reaping go on while a Submit waits in the kernel; GetEvents
// calls take turns in slices of at most 50 ms.
type Context struct {
	s       *state
	cleanup runtime.Cleanup
}

// state is the Context's body. It holds no pointer to the Context, so that
// an unreachable Context can be collected and its cleanup can close state.
//
// Locks, outermost first: subMu (one Submit at a time: the C descriptor
// array and io_submit), reapMu (one reaper at a time: the C event array and
// io_getevents), mu (the slot table; never held across a blocking call).
// Close takes all three, so it runs with no Submit or reaper in the kernel.
type state struct {
	subMu  sync.Mutex
	reapMu sync.Mutex

	mu       sync.Mutex
	core     *aiocore.Ctx // nil once closed
	closed   bool
	slots    []*Block // the Block in flight in each slot, or nil
	free     []uint32 // free slot numbers, a stack
	inflight int

	closing   atomic.Bool // set first by Close; reapers check it between waits
	closeOnce sync.Once
	closeErr  error
}

// NewContext sets up a kernel AIO context (io_setup) able to hold maxEvents
// I/Os in flight at once.
//
// Each context counts maxEvents against the system-wide limit
// /proc/sys/fs/aio-max-nr; past it, io_setup fails with EAGAIN and the error
// says so. Close releases the context; a Context that becomes unreachable
// without Close is closed by the garbage collector, but relying on that
// holds kernel resources for an unknown time.
func NewContext(maxEvents int, opts ...Option) (*Context, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if maxEvents <= 0 || maxEvents > aiocore.MaxSlots {
		return nil, opError("NewContext", syscall.EINVAL,
			fmt.Sprintf("maxEvents %d is outside 1 to %d", maxEvents, aiocore.MaxSlots))
	}
	core, e := aiocore.Create(maxEvents)
	if e != 0 {
		return nil, opError("io_setup", e, setupHint(e, maxEvents))
	}
	s := &state{
		core:  core,
		slots: make([]*Block, maxEvents),
		free:  make([]uint32, maxEvents),
	}
	for i := range s.free {
		s.free[i] = uint32(maxEvents - 1 - i) // slot 0 is taken first
	}
	c := &Context{s: s}
	// Close may wait for the kernel; not on the runtime's cleanup goroutine.
	c.cleanup = runtime.AddCleanup(c, func(s *state) { go s.close() }, s)
	return c, nil
}

// Cap returns the number of I/Os the Context can hold in flight: the
// maxEvents given to NewContext.
func (c *Context) Cap() int { return len(c.s.slots) }

// InFlight returns the number of Blocks submitted whose events have not
// been reaped.
func (c *Context) InFlight() int {
	defer runtime.KeepAlive(c)
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.inflight
}

// Submit submits blocks to the kernel in one io_submit call and returns how
// many, from the front of the list, were submitted. Each submitted Block
// produces exactly one Event.
//
// Every Block is checked first (see Block for what it must hold); if any is
// refused, or is already in flight (ErrInFlight), nothing is submitted and
// the returned *Error names it by Index. If there are fewer free slots than
// blocks, as many as fit are submitted and the error wraps ErrFull. If the
// kernel refuses a Block, those before it stay submitted and the error
// names the refused one by Index, with the kernel's errno (EBADF for a bad
// fd or resfd, EOPNOTSUPP for RWF flags the kernel or file lacks, EAGAIN
// when the kernel is short of resources, ...).
//
// For buffered files (no O_DIRECT) the kernel does the I/O inside
// io_submit, so Submit blocks for as long as the I/O takes, and a read from
// a blocking descriptor with no data blocks until data comes; other Submit
// calls, and Close, wait for it meanwhile. With O_DIRECT it returns once the
// I/O is queued. Submit on a closed Context returns ErrClosed.
func (c *Context) Submit(blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	for i, b := range blocks {
		if b == nil {
			return 0, &Error{Op: "submit", Index: i, Err: syscall.EINVAL, Detail: "nil Block"}
		}
		if detail, err := b.check(); err != nil {
			return 0, &Error{Op: "submit", Index: i, Err: err, Detail: detail}
		}
	}

	s := c.s
	s.subMu.Lock()
	defer s.subMu.Unlock()
	n, err := s.claim(blocks)
	if n == 0 {
		return 0, err
	}
	got, e := s.core.Submit(n) // without mu: it may wait for buffered I/O
	s.submitted(blocks[:got], blocks[got:n])
	if e != 0 {
		return got, &Error{Op: "io_submit", Index: got, Err: e, Detail: submitHint(e, blocks[got])}
	}
	return got, err
}

// claim marks as many of blocks as there are free slots in flight, from the
// front, and prepares their descriptors. It returns how many, with ErrFull
// if that is fewer than all; or 0 and why none can go. Blocks are marked in
// flight before io_submit because their completions may be reaped by
// another goroutine before io_submit returns. The caller holds subMu.
func (s *state) claim(blocks []*Block) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, opError("submit", ErrClosed, "")
	}
	if len(blocks) == 0 {
		return 0, nil
	}
	n := min(len(blocks), len(s.free))
	if n == 0 {
		return 0, &Error{Op: "submit", Index: 0, Err: ErrFull,
			Detail: fmt.Sprintf("all %d slots in flight", len(s.slots))}
	}
	for i, b := range blocks[:n] {
		var err error
		var detail string
		if !b.owner.CompareAndSwap(nil, s) {
			err = ErrInFlight
		} else if detail, err = b.lookupFD(); err != nil {
			b.owner.Store(nil)
		}
		if err != nil {
			for _, p := range blocks[:i] {
				p.owner.Store(nil)
			}
			return 0, &Error{Op: "submit", Index: i, Err: err, Detail: detail}
		}
	}
	reqs := s.core.Reqs()
	for i, b := range blocks[:n] {
		slot := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.slots[slot] = b
		b.slot = slot
		b.prepare(&reqs[i], slot)
	}
	s.inflight += n
	if n < len(blocks) {
		return n, &Error{Op: "submit", Index: n, Err: ErrFull,
			Detail: fmt.Sprintf("%d of %d blocks submitted; the context holds %d", n, len(blocks), len(s.slots))}
	}
	return n, nil
}

// submitted records the outcome of io_submit: the kernel took in and not
// out. It carries out the Cancel calls that came while io_submit ran, and
// gives back the slots of the Blocks the kernel did not take. The caller
// holds subMu, so no Block of in can have been claimed again; those whose
// events were reaped meanwhile are no longer owned by s.
func (s *state) submitted(in, out []*Block) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range in {
		if b.owner.Load() != s {
			continue
		}
		b.submitted = true
		if b.cancelPending && s.core.Cancel(b.slot) == 0 {
			b.cancelled = true
		}
		b.cancelPending = false
	}
	for _, b := range out {
		s.slots[b.slot] = nil
		s.free = append(s.free, b.slot)
		b.release()
	}
	s.inflight -= len(out)
}

// GetEvents waits for at least minNr and returns at most maxNr completions
// (io_getevents). A negative timeout waits without limit, zero only
// collects what has already completed; when the timeout expires GetEvents
// returns what it has, possibly fewer than minNr, and no error. maxNr is
// capped at Cap(); minNr must not exceed it.
//
// Each returned Event's Block is idle again. Concurrent calls take turns,
// each for at most 50 ms at a time; with a zero timeout GetEvents does not
// wait for its turn and returns nothing if another call is reaping. A
// waiting GetEvents enters the kernel every 50 ms, and returns within that
// time of Close, with the events it had collected or ErrClosed.
func (c *Context) GetEvents(minNr, maxNr int, timeout time.Duration) ([]Event, error) {
	defer runtime.KeepAlive(c)
	s := c.s
	if minNr < 0 || maxNr < minNr || minNr > len(s.slots) {
		return nil, opError("GetEvents", syscall.EINVAL,
			fmt.Sprintf("min %d, max %d with %d slots", minNr, maxNr, len(s.slots)))
	}
	maxNr = min(maxNr, len(s.slots))
	var out []Event
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		var err error
		out, err = s.reap(out, max(minNr-len(out), 0), maxNr-len(out), deadline, timeout == 0)
		if err != nil || len(out) >= minNr || len(out) == maxNr ||
			(timeout >= 0 && !time.Now().Before(deadline)) {
			return out, err
		}
	}
}

// reap takes a turn at the kernel's event ring: one io_getevents call that
// waits at most reapSlice, and not past deadline (unless it is zero),
// appending to out. With poll set it does not queue for its turn.
func (s *state) reap(out []Event, minNr, maxNr int, deadline time.Time, poll bool) ([]Event, error) {
	if poll {
		if !s.reapMu.TryLock() {
			return out, nil
		}
	} else {
		s.reapMu.Lock()
	}
	defer s.reapMu.Unlock()
	if s.closing.Load() {
		if len(out) > 0 {
			return out, nil
		}
		return nil, opError("io_getevents", ErrClosed, "")
	}
	// The wait is reckoned now that it is this call's turn.
	wait := reapSlice
	if !deadline.IsZero() {
		wait = min(wait, max(time.Until(deadline), 0))
	}
	n, e := s.core.GetEvents(minNr, maxNr, wait)
	if e != 0 {
		return out, opError("io_getevents", e, "")
	}
	return s.collect(out, n)
}

// collect appends the n events in the core's event array to out, releasing
// their Blocks and slots. The caller holds reapMu.
func (s *state) collect(out []Event, n int) ([]Event, error) {
	if n == 0 {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, ev := range s.core.Events()[:n] {
		slot := ev.Data
		if slot >= uint64(len(s.slots)) || s.slots[slot] == nil {
			// Only a kernel or core bug can get here.
			return out, opError("io_getevents", errors.New("event for an idle slot"), fmt.Sprint("slot ", slot))
		}
		b := s.slots[slot]
		s.slots[slot] = nil
		s.free = append(s.free, uint32(slot))
		s.inflight--
		res := ev.Res
		if b.cancelled && b.cmd == CmdPoll && res == 0 {
			// The kernel completes a cancelled poll with an empty
			// mask; a poll that really fired always has a bit set.
			res = -int64(syscall.ECANCELED)
		}
		b.release()
		out = append(out, Event{Block: b, Res: res, Res2: ev.Res2})
	}
	return out, nil
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
		return opError("io_cancel", syscall.EINVAL, "nil Block")
	}
	s := c.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return opError("io_cancel", ErrClosed, "")
	}
	if b.owner.Load() != s {
		return opError("io_cancel", ErrNotInFlight, "")
	}
	if !b.submitted && b.cmd == CmdPoll {
		// Its Submit has not returned: io_cancel could run before
		// io_submit. That Submit cancels it once io_submit returns.
		b.cancelPending = true
		return nil
	}
	// io_cancel finds the request by its iocb's address and reads only
	// the iocb's key, which is always 0: it shares nothing with a Submit
	// running meanwhile, so it does not wait for subMu.
	if e := s.core.Cancel(b.slot); e != 0 {
		return opError("io_cancel", e, cancelHint(e, b))
	}
	b.cancelled = true
	return nil
}

// Close destroys the kernel context (io_destroy) and returns when the
// kernel no longer uses any buffer. Pending polls are cancelled; reads,
// writes and syncs in flight are waited for, and so is a Submit in
// progress. Their events, and any not yet reaped, are discarded, and their
// Blocks become idle. Later calls to Submit, GetEvents and Cancel return
// ErrClosed.
//
// Close may be called more than once and from several goroutines; every
// call returns once the Context is closed. io_destroy waits for an RCU grace
// period, so Close takes tens of milliseconds: keep a Context for the life
// of the work rather than making one per operation.
func (c *Context) Close() error {
	c.cleanup.Stop()
	return c.s.close()
}

func (s *state) close() error {
	s.closeOnce.Do(func() {
		s.closing.Store(true)
		s.mu.Lock()
		s.closed = true // no Submit or Cancel from here on
		s.mu.Unlock()

		s.subMu.Lock() // no Submit is in io_submit
		defer s.subMu.Unlock()
		s.reapMu.Lock() // no reaper is in io_getevents
		defer s.reapMu.Unlock()
		e := s.core.Destroy()

		s.mu.Lock()
		defer s.mu.Unlock()
		s.core = nil
		for i, b := range s.slots {
			if b != nil {
				s.slots[i] = nil
				b.release()
			}
		}
		s.inflight = 0
		if e != 0 {
			s.closeErr = opError("io_destroy", e, "")
		}
	})
	return s.closeErr
}
