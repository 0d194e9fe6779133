//go:build linux && cgo

package aio

import (
	"os"
	"sync"
	"syscall"
)

// Outcomes: what a flush records of each queued Block (taken by
// io_submit, or refused and given back), and how its Submit call, or for a
// detached Block its Wait, learns it.

// call is the outcome of one Submit call's round of Blocks, written by the
// flush that handles them, under mu. It lives apart from the Blocks because
// a submitted Block may complete, be delivered and be submitted again by
// another goroutine before its Submit call looks at the outcome.
type call struct {
	failed int   // index of the first Block not submitted, or -1
	cause  error // why: see notSubmitted
}

// fail records that the Block at index i was not submitted, for cause.
func (c *call) fail(i int, cause error) {
	if c.failed < 0 || i < c.failed {
		c.failed, c.cause = i, cause
	}
}

// notSubmitted is the error of b, at index i of its Submit call, which a
// flush did not submit, for cause: ErrClosed (the Context was closed),
// os.ErrClosed (its file was closed before io_submit) or the errno with
// which io_submit refused it or a Block before it in its round. With hint
// set it explains the errno, which may take system calls on the file: not
// under mu.
func notSubmitted(cause error, i int, b *Block, hint bool) *Error {
	switch cause {
	case ErrClosed:
		return &Error{Op: "Submit", Index: i, Err: ErrClosed}
	case os.ErrClosed:
		return &Error{Op: "Submit", Index: i, Err: os.ErrClosed, Detail: "the file was closed before io_submit"}
	}
	e, ok := cause.(syscall.Errno)
	if !ok {
		return &Error{Op: "Submit", Index: i, Err: cause}
	}
	err := &Error{Op: "Submit", Syscall: "io_submit", Index: i, Err: e}
	if hint {
		err.Detail = submitHint(e, b)
	}
	return err
}

// calls keeps call records, so that Submit allocates none.
var calls = sync.Pool{New: func() any { return new(call) }}

// outcome returns the index and the error of the first Block of c's round
// that the flush did not submit, or nil if it submitted them all.
func (s *state) outcome(c *call, blocks []*Block) (int, error) {
	s.mu.Lock()
	failed, cause := c.failed, c.cause
	s.mu.Unlock()
	if failed < 0 {
		return 0, nil
	}
	return failed, notSubmitted(cause, failed, blocks[failed], true)
}

// submitted records the outcome of io_submit on q: it took q[:got], and if
// e is set refused q[got], or if gone is set q[got]'s file could not be
// held open, for that reason. It carries out the Cancel calls that came while
// io_submit ran, and gives back the slots of Blocks not submitted. It
// returns the Blocks still to submit: those after the refused one, less
// the rest of its Submit call's. Blocks whose events were reaped meanwhile
// are no longer owned by s.
func (s *state) submitted(q []queued, got int, e syscall.Errno, gone error) []queued {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, qb := range q[:got] {
		// Under mu, a Block owned by s was claimed under mu, so its
		// claim number is stable.
		b := qb.b
		if b.owner.Load() != s || b.claim != qb.claim {
			continue // reaped already, and maybe claimed again
		}
		b.submitted = true
		if b.cancelPending && s.core.Cancel(b.slot) == 0 {
			b.cancelled = true
		}
		b.cancelPending = false
	}
	if got >= len(q) || e == 0 && gone == nil {
		return nil
	}
	cause := gone
	if e != 0 {
		cause = e
	}
	r := q[got]
	s.refuse(r, cause)
	rest := q[got+1:]
	k := 0
	for _, qb := range rest {
		if qb.round == r.round {
			s.refuse(qb, cause) // after the refused one: not submitted
		} else {
			rest[k] = qb
			k++
		}
	}
	return rest[:k]
}

// refuse records that q was not submitted, for cause (see notSubmitted),
// and gives its Block back. The caller holds mu.
func (s *state) refuse(q queued, cause error) {
	if q.c != nil {
		q.c.fail(q.i, cause)
		s.giveBack(q.b, nil)
		return
	}
	// Detached: its Submit call has returned; tell its Wait. The hint is
	// left to unsentError, outside mu.
	s.giveBack(q.b, notSubmitted(cause, -1, q.b, false))
}

// unsentErrno is the errno of an event that reports why a Block was not
// submitted after all.
func unsentErrno(cause error) syscall.Errno {
	switch e := cause.(type) {
	case syscall.Errno:
		return e
	}
	if cause == os.ErrClosed {
		return syscall.EBADF
	}
	return syscall.ECANCELED // ErrClosed: the Context was closed first
}

// unsentError returns why a detached Block, its Wait over, was not
// submitted after all (see submitGathering), or nil if it was. Its
// descriptor must still be open, for the hint.
func unsentError(b *Block) error {
	u := b.unsent
	if u == nil {
		return nil
	}
	if errno, ok := u.Err.(syscall.Errno); ok && u.Syscall == "io_submit" {
		u.Detail = submitHint(errno, b)
	}
	return u
}

// giveBack frees the slot of a claimed Block that will produce no event and
// makes it idle. With unsent set, the Block is a detached one set to wait:
// its Wait returns at once, and unsent says why nothing was done. The
// caller holds mu.
func (s *state) giveBack(b *Block, unsent *Error) {
	s.freeSlot(b)
	switch {
	case unsent != nil && b.wait:
		b.unsent = unsent
		w := b.waker() // before complete: the Block is its caller's after
		b.complete(Event{Block: b, Res: -int64(unsentErrno(unsent.Err))})
		w.signal() // its caller waits for the kernel's signal
	case unsent != nil:
		// Detached and bound for Events (a Submit a Completions loop
		// deferred): the refusal is its event. Sent under mu, but it
		// cannot block: the slot given back makes the room (see room).
		b.release()
		s.events <- Event{Block: b, Res: -int64(unsentErrno(unsent.Err))}
	default:
		b.release()
	}
	s.signalRoom()
	s.checkIdle()
}

// freeSlot gives back b's slot, which its event, or its refusal, has
// left, and takes b out of the counts of Blocks in flight. The caller
// holds mu.
func (s *state) freeSlot(b *Block) {
	s.slots[b.slot] = nil
	s.free = append(s.free, b.slot)
	s.inflight--
	if b.cmd == CmdPoll {
		s.pollIn--
	}
	if b.wait {
		s.waitIn--
	}
}

// checkIdle wakes a stream Close waiting for the last event once nothing
// is in flight. The caller holds mu.
func (s *state) checkIdle() {
	if s.idle != nil && s.inflight == 0 {
		close(s.idle)
		s.idle = nil
	}
}
