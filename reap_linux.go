//go:build linux && cgo

package aio

import (
	"errors"
	"fmt"
	"runtime"
	"syscall"
	"time"
)

// reapSlice bounds each io_getevents wait inside GetEvents, so that a
// waiting GetEvents notices Close, and lets other reapers in, within that
// time. The kernel context must not be destroyed while a thread may be about
// to enter io_getevents on it: its id could be reused by a new context at
// once.
const reapSlice = 50 * time.Millisecond

// GetEvents waits for at least minNr and returns at most maxNr completions,
// on a Manual Context. It reads the kernel's completion ring in user space
// first and calls io_getevents only to wait for more. A negative timeout
// waits without limit, zero only collects what has already completed; when
// the timeout expires GetEvents returns what it has, possibly fewer than
// minNr, and no error. maxNr is capped at Cap(); minNr must not exceed it.
//
// Each returned Event's Block is idle again. Concurrent calls take turns,
// each for at most 50 ms at a time; with a zero timeout GetEvents does not
// wait for its turn and returns nothing if another call is reaping. A
// waiting GetEvents enters the kernel every 50 ms, and returns within that
// time of Close, with the events it had collected or ErrClosed.
//
// On a stream-mode Context, which reaps by itself, GetEvents returns
// ErrWrongMode: read Events instead.
func (c *Context) GetEvents(minNr, maxNr int, timeout time.Duration) ([]Event, error) {
	return c.getEvents("GetEvents", nil, minNr, maxNr, timeout)
}

// GetEventsInto is GetEvents filling the caller's slice: it waits for at
// least minNr completions and stores at most len(events) of them in events,
// returning how many. It allocates nothing, so that a loop over it reaps
// with no garbage (see BenchmarkGetEventsIntoReadDirect). len(events) plays maxNr's
// part, capped at Cap(); the rest is as GetEvents says, Close and the
// timeout included: on an error, the first n Events are still valid.
func (c *Context) GetEventsInto(events []Event, minNr int, timeout time.Duration) (int, error) {
	out, err := c.getEvents("GetEventsInto", events[:0:len(events)], minNr, len(events), timeout)
	return len(out), err
}

// getEvents is GetEvents and GetEventsInto, for the call op: it appends the
// events to out, which never grows past maxNr.
func (c *Context) getEvents(op string, out []Event, minNr, maxNr int, timeout time.Duration) ([]Event, error) {
	defer runtime.KeepAlive(c)
	s := c.s
	if !s.manual {
		return nil, opError(op, ErrWrongMode,
			"the Context delivers completions on Events; make it with the Manual option to reap with "+op)
	}
	if minNr < 0 || maxNr < minNr || minNr > len(s.slots) {
		return nil, opError(op, syscall.EINVAL,
			fmt.Sprintf("min %d, max %d with %d slots", minNr, maxNr, len(s.slots)))
	}
	maxNr = min(maxNr, len(s.slots))
	var deadline time.Time
	if timeout >= 0 {
		deadline = time.Now().Add(timeout)
	}
	for {
		var err error
		out, err = s.reap(out, max(minNr-len(out), 0), maxNr-len(out), deadline, timeout == 0)
		if err == errReapClosed {
			// Closed while this call waited: what it collected is
			// its result; with nothing, the Context's closing is.
			if len(out) > 0 {
				return out, nil
			}
			return out, opError(op, ErrClosed, "")
		}
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Op = op
			}
			return out, err
		}
		if len(out) >= minNr || len(out) == maxNr ||
			(timeout >= 0 && !time.Now().Before(deadline)) {
			return out, nil
		}
	}
}

// errReapClosed is reap's report that the Context is closed. Every loop
// over reap must end on it: a closed Context never gives more events.
var errReapClosed = errors.New("reap: context closed")

// reap takes a turn at the kernel's event ring: what the ring holds, then
// if that is too few, one io_getevents call that waits at most reapSlice,
// and not past deadline (unless it is zero), appending to out. With poll
// set it does not queue for its turn. On a closed Context it returns out
// and errReapClosed.
func (s *state) reap(out []Event, minNr, maxNr int, deadline time.Time, poll bool) ([]Event, error) {
	if poll {
		if !s.reapMu.TryLock() {
			return out, nil
		}
	} else {
		s.reapMu.Lock()
	}
	defer s.reapMu.Unlock()
	s.mu.Lock()
	closed := s.core == nil || s.closed
	s.mu.Unlock()
	if closed {
		return out, errReapClosed
	}
	if s.tryNoWait {
		var k int
		if out, k = s.takeLate(out, maxNr); k > 0 {
			minNr, maxNr = max(minNr-k, 0), maxNr-k
			if maxNr == 0 {
				return out, nil
			}
		}
	}
	// The wait is reckoned now that it is this call's turn.
	wait := reapSlice
	if !deadline.IsZero() {
		wait = min(wait, max(time.Until(deadline), 0))
	}
	n, e := s.core.Reap(minNr, maxNr, wait)
	if e != 0 {
		return out, sysError("GetEvents", "io_getevents", e, "")
	}
	return s.collect(out, n)
}

// collect takes the n events in the core's event array: it frees their
// slots, makes their Blocks idle, hands each event of a Block set with
// SetWait to the Block, and appends the others to out. The caller holds
// reapMu.
func (s *state) collect(out []Event, n int) ([]Event, error) {
	if n == 0 {
		return out, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for _, ev := range s.core.Events()[:n] {
		slot := ev.Data
		if slot >= uint64(len(s.slots)) || s.slots[slot] == nil {
			// Only a kernel or core bug can get here; the other
			// events are still delivered.
			err = sysError("GetEvents", "io_getevents", errors.New("event for an idle slot"), fmt.Sprint("slot ", slot))
			continue
		}
		b := s.slots[slot]
		res := ev.Res
		if b.nowait {
			var again bool
			if res, again = s.noWaitOutcome(b, res); again {
				continue // sent again: the slot stays taken
			}
		}
		s.freeSlot(b)
		if b.cancelled && b.cmd == CmdPoll && res == 0 {
			// The kernel completes a cancelled poll with an empty
			// mask; a poll that really fired always has a bit set.
			res = -int64(syscall.ECANCELED)
		}
		e := Event{Block: b, Res: res, Res2: ev.Res2}
		if b.wait {
			b.complete(e)
			continue
		}
		b.release()
		out = append(out, e)
	}
	s.signalRoom()
	s.checkIdle()
	return out, err
}

// reapOnce delivers what the ring holds, in stream mode, and returns how
// many events it reaped. The caller holds reapMu.
func (s *state) reapOnce() int {
	// Reap fails only on a context that is not live, or a second
	// reaper: neither can happen under reapMu before Close. The next
	// wakeup would try again.
	n, e := s.core.Reap(0, len(s.slots), 0)
	if e != 0 {
		return 0
	}
	s.deliver(n)
	return n
}

// deliver hands out the n events in the core's event array, in stream
// mode: to the Wait of each Block set to wait, and the others to Events.
// An event for an idle slot (a core bug) is dropped; the rest are
// delivered. The caller holds reapMu.
func (s *state) deliver(n int) {
	s.batch, _ = s.collect(s.batch[:0], n)
	for _, ev := range s.batch {
		s.events <- ev // never blocks: see room
	}
	clear(s.batch)
}
