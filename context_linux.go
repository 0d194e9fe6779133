//go:build linux && cgo

package aio

import (
	"os"
	"sync"
	"sync/atomic"
	"syscall"

	"github.com/linuxaio/aio/internal/aiocore"
)

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
	waitIn   int      // how many of them are set to wait (SetWait)
	pollIn   int      // how many are polls, which leadStream does not wait for
	queue    []queued // claimed, waiting for io_submit, in order
	spare    []queued // the queue's other buffer, for the flush at work
	claims   uint64   // numbers claims of Blocks, to tell them apart
	holds    holds    // the flush's files held open; guarded by subMu
	idle     chan struct{}
	final    aiocore.Stats // the core's counters, kept when it is destroyed
	statsEnd bool          // final is set
	wakers   wakers        // eventfds File calls wait on (waker_linux.go)
	calls    atomic.Int32  // File calls waiting for a Block (waker_linux.go)

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
	draining   bool // Close waits for the last event; guarded by reapMu
	// Who reaps (see lead_linux.go): a goroutine that reaps for its own
	// Wait or Completions loop (leading), the goroutines waiting for one
	// to deliver their events (waiting), and the Completions loops
	// running (iterating).
	leading   atomic.Bool
	waiting   atomic.Int32
	iterating atomic.Int32
	inBody    atomic.Int32 // Completions loops running their bodies
	gathering atomic.Bool  // the leading stream goroutine flushes detached Submits (leadStream)
	// pumpWanted: a flush found reapMu taken and left its pump to the
	// holder (see unlockReap).
	pumpWanted atomic.Bool
	pollers    sync.WaitGroup
	batch      []Event // events being delivered; guarded by reapMu
	reaperDone chan struct{}

	// avail holds a token when room has come free, for Submit calls
	// waiting for it; closedCh is closed when Close starts.
	avail    chan struct{}
	closedCh chan struct{}
	// blocking holds a token for each read or write of a buffered file
	// that a File does in a blocking system call (file_buffered.go).
	blocking chan struct{}

	// TryNoWait (see nowait_linux.go): the reads sent again that have
	// not returned from io_submit, which Close waits for before it
	// destroys the kernel context; and in manual mode the events of
	// those that failed to go in, for the next GetEvents (guarded by mu).
	tryNoWait bool
	retries   sync.WaitGroup
	late      []Event

	// testNoRoom, set only by tests, runs when claim finds no room,
	// under mu: where a reader may take events meanwhile.
	testNoRoom func()
	// testBeforeSubmit, set only by tests, runs in a flush before it
	// holds the batch's files and calls io_submit, under subMu.
	testBeforeSubmit func()

	files     fileCounters // the work of Files and TryNoWait (see Stats)
	submits   atomic.Uint64
	wakeups   atomic.Uint64
	closeOnce sync.Once
	closeErr  error
}

// newState sets up the kernel context and, in stream mode, the eventfd,
// the epoll instance and the stream goroutine, for NewContext, which has
// checked maxEvents and cfg.
func newState(maxEvents int, cfg config) (*state, error) {
	s := &state{
		slots:     make([]*Block, maxEvents),
		free:      make([]uint32, maxEvents),
		queue:     make([]queued, 0, maxEvents),
		spare:     make([]queued, 0, maxEvents),
		efd:       -1,
		manual:    cfg.manual,
		full:      cfg.full,
		avail:     make(chan struct{}, 1),
		closedCh:  make(chan struct{}),
		blocking:  make(chan struct{}, cfg.blockingLimit(maxEvents)),
		tryNoWait: cfg.tryNoWait,
	}
	for i := range s.free {
		s.free[i] = uint32(maxEvents - 1 - i) // slot 0 is taken first
	}
	core, e := aiocore.Create(maxEvents)
	if e != 0 {
		return nil, sysError("NewContext", "io_setup", e, setupHint(e, maxEvents))
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
	return s, nil
}

// capacity is the body of the Context method of that name (see aio.go).
func (s *state) capacity() int { return len(s.slots) }

// inFlight is the body of the Context method of that name (see aio.go).
func (s *state) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// eventsChan is the body of the Context method of that name (see aio.go).
func (s *state) eventsChan() <-chan Event {
	if s.manual {
		return nil
	}
	return s.events
}

// stats is the body of the Context method of that name (see aio.go).
func (s *state) stats() Stats {
	s.mu.Lock()
	k := s.final
	if !s.statsEnd {
		k = s.core.Stats()
	}
	s.mu.Unlock()
	st := Stats{
		Submits:         s.submits.Load(),
		IOSubmitCalls:   k.SubmitCalls,
		Submitted:       k.Submitted,
		RingEvents:      k.RingEvents,
		GetEventsCalls:  k.GetEventsCalls,
		GetEventsEvents: k.GetEventsEvents,
		Wakeups:         s.wakeups.Load(),
	}
	s.files.add(&st)
	return st
}

// cancel is the body of the Context method of that name (see aio.go).
func (s *state) cancel(b *Block) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return opError("Cancel", ErrClosed, "")
	}
	if b.owner.Load() != s {
		return opError("Cancel", ErrNotInFlight, "")
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
		return sysError("Cancel", "io_cancel", e, cancelHint(e, b))
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
		s.closeWakers() // every File call's event is in

		s.reapMu.Lock() // no reaper is at work
		defer s.reapMu.Unlock()
		s.retries.Wait() // no read is being sent again (retry)
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
		s.late = nil // their Blocks were in slots
		s.inflight, s.waitIn, s.pollIn = 0, 0, 0
		s.mu.Unlock()
		if !s.manual {
			close(s.events)
		}
		if e != 0 {
			s.closeErr = sysError("Close", "io_destroy", e, "")
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
	// From now on the stream goroutine reaps everything, whether or not
	// anyone waits for it.
	s.reapMu.Lock()
	s.draining = true
	s.pump()
	s.unlockReap()
	if idle != nil {
		<-idle // closed by whoever reaps the last event
	}
	s.closeStream()
}

// The C core's slot limit is the one NewContext checks.
const _ = uint(maxSlots-aiocore.MaxSlots) + uint(aiocore.MaxSlots-maxSlots)
