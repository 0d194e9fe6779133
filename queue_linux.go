//go:build linux && cgo

package aio

// The shared io_submit queue. Submit claims its Blocks under mu and queues
// them (claim, room_linux.go); whoever holds subMu flushes everything
// queued in one io_submit, holding the batch's files open around it
// (hold_linux.go), and records each Block's outcome (outcome_linux.go).

// flushQueued flushes the queue while it holds Blocks and no other
// goroutine holds subMu. Whoever holds subMu calls it after letting go, so
// Blocks that a detached Submit queued meanwhile, and left to that holder
// when its TryLock failed, are flushed by the one or the other: the queue
// is looked at after the holder's Unlock, which comes after the failed
// TryLock, which comes after the Blocks were queued. (In starvation mode
// TryLock fails with subMu free, but then a waiter is about to hold it.)
func (s *state) flushQueued() {
	for {
		s.mu.Lock()
		empty := len(s.queue) == 0
		s.mu.Unlock()
		if empty || !s.subMu.TryLock() {
			return
		}
		s.flushHeld()
	}
}

// flushLocked flushes the queue under subMu. The unlock is deferred: a
// flush runs the caller's code (RawConn.Control), and whatever happens
// there must not leave the Context wedged.
func (s *state) flushLocked() {
	s.subMu.Lock()
	s.flushHeld()
}

// flushHeld flushes the queue and lets go of subMu, which the caller
// holds.
func (s *state) flushHeld() {
	defer s.subMu.Unlock()
	s.flush()
}

// queued is a Block in the submission queue: the claim that put it there,
// its Submit call's outcome (nil when detached), its index in that call's
// blocks, and the round of the call that queued it: a refused Block stops
// the rest of its round. Once submitted, the Block may complete and be
// claimed again before the flush records the outcome, which must then
// leave the new claim alone.
type queued struct {
	b     *Block
	claim uint64
	c     *call
	i     int
	round uint64
}

// flush submits every queued Block. The caller holds subMu.
func (s *state) flush() {
	s.mu.Lock()
	q := s.queue
	if len(q) == 0 {
		s.mu.Unlock()
		return
	}
	s.queue, s.spare = s.spare, nil
	closed := s.closed
	if closed {
		for _, e := range q {
			s.refuse(e, ErrClosed)
		}
	}
	s.mu.Unlock()

	// Until io_submit takes them, queued Blocks cannot complete, so
	// cannot be claimed again: reading them needs no lock.
	for rest := q; !closed && len(rest) > 0; {
		reqs := s.core.Reqs()
		for i, e := range rest {
			e.b.prepare(&reqs[i], s.efd)
		}
		// Without mu: io_submit may wait for buffered I/O.
		if s.testBeforeSubmit != nil {
			s.testBeforeSubmit()
		}
		got, e, gone := s.submitHolding(rest)
		rest = s.submitted(rest, got, e, gone)
	}
	clear(q)
	s.spare = q[:0] // only the holder of subMu touches spare

	// Buffered I/O has completed inside io_submit: deliver it now rather
	// than through a wakeup of the stream goroutine, which is armed only
	// for what is still in flight. If another goroutine holds reapMu,
	// the flush leaves the pump to it (unlockReap): a goroutine that
	// leads (lead_linux.go) holds reapMu while it waits in io_getevents,
	// perhaps for a Block still in the queue, so waiting for reapMu here
	// could wait for ever.
	if !s.manual && !closed {
		s.pumpWanted.Store(true)
		if s.reapMu.TryLock() {
			s.pumpWanted.Store(false)
			s.pumpSubmitted()
			s.unlockReap()
		}
	}
}
