//go:build linux && cgo

package aio

// Who reaps, in stream mode. The stream goroutine reaps when the armed
// eventfd wakes it through the network poller; delivering an event that way
// takes a wakeup of the poller's thread, of the stream goroutine and of the
// goroutine that wanted the event, often on another CPU: at 1 in flight,
// 0.55x the reads per second of a plain pread at 2.3x its CPU per read.
//
// So the goroutine that wants a completion reaps it itself when it can
// (leader/follower): a Wait, or a Completions loop, that finds no other
// goroutine reaping takes reapMu and waits in io_getevents, as a Manual
// Context's GetEvents does; it hands every event it reaps to its owner
// (another Block's Wait, the Events channel) and returns its own with no
// hop. The others wait for their events as followers, and the stream
// goroutine stands in when no leader is left: the eventfd is armed only
// while completions are awaited that no leader will reap (needsWakeup),
// and once it wakes the stream goroutine, that goroutine leads for as long
// as such disk I/O is in flight (leadStream). A leader holds an OS thread
// while it waits, as a pread does; followers hold none.

// needsWakeup reports whether completions still to come must wake the
// stream goroutine: always while Close drains; else when a goroutine waits
// for an event that no leader will reap; or when Blocks bound for Events
// are in flight and no Completions loop will reap them. Blocks set to wait
// with nobody waiting are reaped by their Wait, or along with others. The
// caller holds reapMu and mu.
func (s *state) needsWakeup() bool {
	switch {
	case s.inflight == 0:
		return false
	case s.draining, s.waiting.Load() > 0:
		return true
	}
	return s.inflight > s.waitIn && s.iterating.Load() == 0
}

// lead reaps, for a goroutine that waits with no deadline, until done
// reports true, if no other goroutine reaps: it returns false at once
// otherwise, and the caller follows instead. While it waits in
// io_getevents it holds reapMu, in slices of reapSlice so that Close is
// not kept waiting long; Submit then leaves the completions of buffered
// I/O to it (see flush).
func (s *state) lead(done func() bool) bool {
	if !s.reapMu.TryLock() {
		return false
	}
	defer s.unlockReap()
	if s.stopped {
		return false
	}
	s.leading.Store(true)
	for !done() {
		s.mu.Lock()
		idle := s.inflight == 0
		s.mu.Unlock()
		if idle {
			break // what done awaits was never submitted, or Close gave it back
		}
		n, e := s.core.Reap(1, len(s.slots), reapSlice)
		if e != 0 {
			break
		}
		s.deliver(n)
	}
	// Store before pump reads waiting: a follower that found leading set
	// is counted in waiting by then, and pump arms the eventfd for it
	// (see follow).
	s.leading.Store(false)
	s.pump()
	return true
}

// follow counts the caller among the goroutines waiting for a leader or
// the stream goroutine to deliver their event, and makes sure one will:
// with no leader, it arms the eventfd. unfollow ends it.
//
// It never waits for reapMu, as a flush does not: the stream goroutine may
// hold it for as long as disk I/O is in flight (leadStream), and a follower
// queued behind it would keep it leading, by being counted in waiting, and
// could not return at its deadline. Whoever holds reapMu delivers the
// follower's event while it leads, or pumps once it lets go (unlockReap).
func (s *state) follow() {
	s.waiting.Add(1)
	if !s.leading.Load() {
		s.pumpNowOrLater()
	}
}

// unfollow ends a follow.
func (s *state) unfollow() { s.waiting.Add(-1) }

// completions is the body of Context.Completions: it yields the events of
// Events, reaping them itself while no other goroutine does.
//
// While its body runs, a Submit of Blocks it yielded only queues them
// (see state.submit), and the loop sends what is queued to the kernel in
// one io_submit once it has yielded every event it holds, before it waits
// for more: the loop a user writes first, one Submit per event, then makes
// one io_submit per round of completions, as a C loop that resubmits in a
// batch does. Each io_submit that carries anything costs a system call
// and, on a virtual disk, a doorbell to the host.
func (s *state) completions(yield func(Event) bool) {
	if s.manual {
		return
	}
	s.iterating.Add(1)
	defer s.afterLoop()
	defer s.iterating.Add(-1)
	defer s.flushDeferred()
	for {
		var ev Event
		var ok bool
		select {
		case ev, ok = <-s.events:
		default:
			s.flushDeferred()
			if s.lead(s.delivered) && len(s.events) > 0 {
				continue
			}
			// Another goroutine reaps, or nothing is in flight.
			s.follow()
			ev, ok = <-s.events
			s.unfollow()
		}
		if !ok {
			return
		}
		ev.Block.yielded = true
		if !s.yieldOne(yield, ev) {
			return
		}
	}
}

// afterLoop pumps once a Completions loop has ended: completions that the
// loop would have reaped itself (needsWakeup left the eventfd disarmed for
// them, while it ran) must now wake the stream goroutine.
func (s *state) afterLoop() { s.pumpNowOrLater() }

// pumpNowOrLater pumps if it can take reapMu, and else leaves the pump to
// its holder, which finds pumpWanted set once it lets go (unlockReap), as a
// flush does: it never waits for reapMu, which a leader holds for as long as
// it waits in io_getevents.
func (s *state) pumpNowOrLater() {
	s.pumpWanted.Store(true)
	if s.reapMu.TryLock() {
		s.pumpWanted.Store(false)
		if !s.stopped {
			s.pump()
		}
		s.unlockReap()
	}
}

// yieldOne runs the loop's body for ev, counted in inBody even if it
// panics.
func (s *state) yieldOne(yield func(Event) bool, ev Event) bool {
	s.inBody.Add(1)
	defer s.inBody.Add(-1)
	return yield(ev)
}

// flushDeferred sends to the kernel what Submit calls from a Completions
// loop's body queued.
func (s *state) flushDeferred() {
	s.mu.Lock()
	queued := len(s.queue) > 0
	s.mu.Unlock()
	if queued {
		s.flushLocked()
		s.flushQueued()
	}
}

// delivered reports whether Events holds an event.
func (s *state) delivered() bool { return len(s.events) > 0 }
