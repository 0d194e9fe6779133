//go:build linux && cgo

package aio

import (
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/linuxaio/aio/internal/aiocore"
)

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

// state is the Context's body. It holds no pointer to the Context, so that
// an unreachable Context can be collected and its cleanup can close state;
// the stream goroutine holds state alone.
//
// Locks, outermost first: subMu (the submitter at work: the C descriptor
// array and io_submit), reapMu (the reaper at work: the C event array, the
// ring and io_getevents, and sends on events), mu (everything else; never
// held across a blocking call or a channel send).
type state struct {
	subMu  sync.Mutex
	reapMu sync.Mutex

	mu       sync.Mutex
	core     *aiocore.Ctx // nil once closed
	closed   bool
	slots    []*Block // the Block in flight in each slot, or nil
	free     []uint32 // free slot numbers, a stack
	inflight int      // Blocks claimed whose events have not been reaped
	queue    []queued // claimed, waiting for io_submit, in order
	spare    []queued // the queue's other buffer, for the flush at work
	claims   uint64   // numbers claims of Blocks, to tell them apart
	holds    holds    // the flush's files held open; guarded by subMu
	idle     chan struct{}
	final    aiocore.Stats // the core's counters, kept when it is destroyed
	statsEnd bool          // final is set

	manual bool
	full   FullPolicy

	// Stream mode only (see stream_linux.go). events has room for twice
	// the slots: every event reaped is counted in inflight or
	// len(events) except one batch being sent, and Submit keeps their sum
	// below the slot count, so a send never blocks (see room).
	events     chan Event
	efd        int32           // the eventfd every iocb signals
	ep         *os.File        // epoll instance watching efd, one-shot
	epfd       int32           // ep's descriptor (ep.Fd would make it blocking)
	epRC       syscall.RawConn // ep's, to wait on the network poller
	fired      func(fd uintptr) bool
	epEvent    [1]syscall.EpollEvent
	armEvent   syscall.EpollEvent // arm's; guarded by reapMu
	efdBuf     [8]byte
	registered bool // efd is registered with ep; guarded by reapMu
	armed      bool // and armed; guarded by reapMu
	polling    bool // pollUntilArmed runs; guarded by reapMu
	stopped    bool // Close has closed ep; guarded by reapMu
	pollers    sync.WaitGroup
	batch      []Event // events being delivered; guarded by reapMu
	reaperDone chan struct{}

	// avail holds a token when room has come free, for Submit calls
	// waiting for it; closedCh is closed when Close starts.
	avail    chan struct{}
	closedCh chan struct{}

	// testNoRoom, set only by tests, runs when enqueue finds no room,
	// under mu: where a reader may take events meanwhile.
	testNoRoom func()
	// testBeforeSubmit, set only by tests, runs in a flush before it
	// holds the batch's files and calls io_submit, under subMu.
	testBeforeSubmit func()

	submits   atomic.Uint64
	wakeups   atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// NewContext sets up a kernel AIO context (io_setup) able to hold maxEvents
// I/Os in flight at once, delivering completions on Events unless the
// Manual option is given.
//
// Each context counts maxEvents against the system-wide limit
// /proc/sys/fs/aio-max-nr; past it, io_setup fails with EAGAIN and the error
// says so. Close releases the context; a Context that becomes unreachable
// without Close is closed by the garbage collector, but relying on that
// holds kernel resources for an unknown time.
func NewContext(maxEvents int, opts ...Option) (*Context, error) {
	cfg := config{}
	for _, o := range opts {
		o(&cfg)
	}
	if maxEvents <= 0 || maxEvents > aiocore.MaxSlots {
		return nil, opError("NewContext", syscall.EINVAL,
			"maxEvents "+strconv.Itoa(maxEvents)+" is outside 1 to "+strconv.Itoa(aiocore.MaxSlots))
	}
	if cfg.full == 0 {
		cfg.full = FullWait
		if cfg.manual {
			cfg.full = FullError
		}
	}
	if cfg.full != FullWait && cfg.full != FullError {
		return nil, opError("NewContext", syscall.EINVAL, "unknown FullPolicy "+strconv.Itoa(int(cfg.full)))
	}
	s := &state{
		slots:    make([]*Block, maxEvents),
		free:     make([]uint32, maxEvents),
		queue:    make([]queued, 0, maxEvents),
		spare:    make([]queued, 0, maxEvents),
		efd:      -1,
		manual:   cfg.manual,
		full:     cfg.full,
		avail:    make(chan struct{}, 1),
		closedCh: make(chan struct{}),
	}
	for i := range s.free {
		s.free[i] = uint32(maxEvents - 1 - i) // slot 0 is taken first
	}
	core, e := aiocore.Create(maxEvents)
	if e != 0 {
		return nil, opError("io_setup", e, setupHint(e, maxEvents))
	}
	s.core = core
	if !s.manual {
		if err := s.openStream(maxEvents); err != nil {
			core.Destroy()
			return nil, err
		}
		s.reaperDone = make(chan struct{})
		go s.run()
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
// been reaped yet. Events reaped and waiting in the Events channel are not
// counted.
func (c *Context) InFlight() int {
	defer runtime.KeepAlive(c)
	c.s.mu.Lock()
	defer c.s.mu.Unlock()
	return c.s.inflight
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
	if c.s.manual {
		return nil
	}
	return c.s.events
}

// Stats returns the Context's counters since NewContext. They keep their
// last values after Close.
func (c *Context) Stats() Stats {
	defer runtime.KeepAlive(c)
	s := c.s
	s.mu.Lock()
	k := s.final
	if !s.statsEnd {
		k = s.core.Stats()
	}
	s.mu.Unlock()
	return Stats{
		Submits:         s.submits.Load(),
		IOSubmitCalls:   k.SubmitCalls,
		Submitted:       k.Submitted,
		RingEvents:      k.RingEvents,
		GetEventsCalls:  k.GetEventsCalls,
		GetEventsEvents: k.GetEventsEvents,
		Wakeups:         s.wakeups.Load(),
	}
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

func (s *state) close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true // no Submit or Cancel from here on
		s.mu.Unlock()
		close(s.closedCh) // wakes Submit calls waiting for room

		s.subMu.Lock() // no Submit is in io_submit
		defer s.subMu.Unlock()
		s.flush() // gives back what was queued, as closed

		if !s.manual {
			s.drainStream()
		}

		s.reapMu.Lock() // no reaper is at work
		defer s.reapMu.Unlock()
		s.mu.Lock()
		s.final, s.statsEnd = s.core.Stats(), true
		core := s.core
		s.core = nil
		s.mu.Unlock()

		// io_destroy waits for the I/O still in flight (manual mode).
		e := core.Destroy()

		s.mu.Lock()
		for i, b := range s.slots {
			if b != nil {
				s.slots[i] = nil
				b.release()
			}
		}
		s.inflight = 0
		s.mu.Unlock()
		if !s.manual {
			close(s.events)
		}
		if e != 0 {
			s.closeErr = opError("io_destroy", e, "")
		}
	})
	return s.closeErr
}

// drainStream, part of Close in stream mode, cancels pending polls, waits
// until every in-flight Block's event has been delivered, then stops the
// stream goroutine and closes the eventfd. The caller holds subMu.
func (s *state) drainStream() {
	s.mu.Lock()
	for _, b := range s.slots {
		if b != nil && b.cmd == CmdPoll && b.submitted && !b.cancelled {
			if s.core.Cancel(b.slot) == 0 {
				b.cancelled = true
			}
		}
	}
	var idle chan struct{}
	if s.inflight > 0 {
		idle = make(chan struct{})
		s.idle = idle
	}
	s.mu.Unlock()
	if idle != nil {
		<-idle // closed by whoever reaps the last event
	}
	s.closeStream()
}
