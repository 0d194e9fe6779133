//go:build linux && cgo

package aio

import (
	"os"
	"runtime"
	"syscall"
	"time"
)

// The stream's wakeup path. Every iocb signals the stream's eventfd. Go's
// network poller does not watch that eventfd directly: it watches a private
// epoll instance in which the eventfd is registered one-shot, armed only
// while completions are awaited that no Submit has reaped: after a Submit
// whose I/O is still in flight, or after a wakeup that left some in flight.
//
// Why: each signal of an eventfd the poller watched directly would wake the
// poller's thread from epoll_wait, once per completion while a Submit runs.
// Measured with the C benchmark on cache-hot reads, a thread in epoll_wait
// on the eventfd cut the C loop from 0.96 M to 0.63 M reads per second.
// One-shot, the eventfd wakes the poller once per arming. And with the
// eventfd not registered at all after a Submit that left nothing in
// flight, a signal costs the kernel no epoll callback either: buffered
// I/O, which completes inside io_submit and is reaped by the Submit itself,
// then pays only for the eventfd's counter (the C loop with a registered, disarmed eventfd ran at
// 0.89x, with an unregistered one at 0.97x).

// openStream makes the eventfd, the epoll instance watching it (disarmed),
// and the Events channel.
func (s *state) openStream(nslots int) error {
	const efdCloexec, efdNonblock = 0o2000000, 0o4000 // EFD_CLOEXEC, EFD_NONBLOCK
	efd, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, efdCloexec|efdNonblock, 0)
	if e != 0 {
		return sysError("NewContext", "eventfd2", e, "")
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err == nil {
		// The eventfd is registered by arm.
		if err = syscall.SetNonblock(epfd, true); err != nil { // so that the poller takes it
			syscall.Close(epfd)
		}
	}
	if err != nil {
		syscall.Close(int(efd))
		return sysError("NewContext", "epoll_create1", err, "")
	}
	s.efd, s.epfd = int32(efd), int32(epfd)
	s.ep = os.NewFile(uintptr(epfd), "aio-epoll") // non-blocking: on the poller
	// A file the poller took supports deadlines; without the poller the
	// stream goroutine could not wait.
	if err = s.ep.SetReadDeadline(time.Time{}); err == nil {
		s.epRC, err = s.ep.SyscallConn()
	}
	if err != nil {
		s.ep.Close()
		syscall.Close(int(efd))
		return opError("NewContext", err, "the network poller cannot watch the stream's epoll descriptor")
	}
	s.fired = func(fd uintptr) bool {
		// Take the one-shot event; none yet means wait for it. The
		// look must come first, though it costs a system call after
		// the stream goroutine has woken the reader: each Read starts
		// by clearing the poller's record of an edge (internal/poll's
		// prepareRead), so parking without looking would lose an
		// event that fired while the last batch was delivered (tried:
		// the tests hung).
		n, err := syscall.EpollWait(int(fd), s.epEvent[:], 0)
		return n > 0 || (err != nil && err != syscall.EAGAIN)
	}
	s.events = make(chan Event, 2*nslots)
	s.batch = make([]Event, 0, nslots)
	return nil
}

// closeStream closes the epoll instance, which ends the stream goroutine,
// and then the eventfd. Nothing may be in flight.
func (s *state) closeStream() {
	s.reapMu.Lock()
	s.stopped = true // no more epoll_ctl on ep
	s.ep.Close()
	s.reapMu.Unlock()
	<-s.reaperDone
	s.pollers.Wait()
	syscall.Close(int(s.efd))
}

// run is the stream goroutine: parked on the network poller until the
// armed eventfd fires, it delivers what has completed and arms the eventfd
// again if I/O is still in flight. Close ends it by closing the epoll
// instance.
func (s *state) run() {
	defer close(s.reaperDone)
	for {
		if s.epRC.Read(s.fired) != nil {
			return // closed
		}
		s.wakeups.Add(1)
		s.reapMu.Lock()
		if s.stopped {
			s.reapMu.Unlock()
			return
		}
		s.armed = false // one-shot: it disarmed as it fired
		s.leadStream()
		s.pump()
		s.unlockReap()
	}
}

// leadStream makes the stream goroutine, once a completion has woken it,
// the leader (see lead_linux.go) for as long as disk I/O that nobody else
// reaps is in flight: I/O bound for Events, or I/O whose Waits follow. It
// waits in io_getevents, as the C loop does, rather than going back to the
// network poller after each batch, which took an epoll_wait on the
// poller's thread, an epoll_wait, an eventfd read and an epoll_ctl to arm
// again for each wakeup (10.1 system calls per read at 1 in flight; 4.3
// this way, against the C loop's 2). Pending polls do not count: a Context
// that only waits for sockets holds no thread. It holds one OS thread while
// it leads, for the whole Context.
//
// After each batch it delivers, it yields its processor, so that the
// goroutines it woke run at once and submit again; Submits of Blocks set to
// wait (Block.Wait, File) meanwhile only queue (gathering), and it sends
// them to the kernel in one io_submit before it waits again, as the C loop
// resubmits a batch. With 32 goroutines each reading through Submit and
// Wait, that took the reads per second from 39 k to 79 k and the CPU per
// read from 22 to 7.5 µs (perf stat, aio-wait at 32, one run each). The
// caller holds reapMu.
func (s *state) leadStream() {
	s.leading.Store(true)
	delivered := s.reapOnce() > 0
	for {
		if delivered {
			// The goroutines it woke take their events and submit
			// again: detached Submits only queue while gathering is
			// set, and go to the kernel in one io_submit here.
			s.gathering.Store(true)
			runtime.Gosched()
			s.gathering.Store(false)
			s.flushQueued()
		}
		// A Completions loop reaps for itself: leave it the ring.
		s.mu.Lock()
		lead := s.inflight > s.pollIn && (s.inflight > s.waitIn || s.waiting.Load() > 0) && s.iterating.Load() == 0
		s.mu.Unlock()
		if !lead {
			break
		}
		n, e := s.core.Reap(1, len(s.slots), reapSlice)
		if e != 0 {
			break
		}
		s.deliver(n)
		delivered = n > 0
	}
	s.leading.Store(false)
}

// pump delivers what the ring holds and makes sure that completions still
// to come will wake the stream goroutine if they need it (needsWakeup),
// which it reports. The caller holds reapMu.
func (s *state) pump() (waiting bool) {
	for s.reapOnce() == len(s.slots) {
		// A full batch: there may be more.
	}
	s.mu.Lock()
	waiting = s.needsWakeup()
	s.mu.Unlock()
	if waiting && !s.armed {
		s.arm()
		// A completion signalled before the drain in arm is in the
		// ring, not in the eventfd: take it now.
		for s.reapOnce() == len(s.slots) {
		}
	}
	return waiting
}

// pumpSubmitted is pump after a Submit. When the Submit found all its I/O
// complete (buffered I/O completes inside io_submit), the eventfd is taken
// out of the epoll instance, so that the next such Submit costs the kernel
// no epoll callback per completion. A wakeup that finds nothing in flight
// leaves it registered, disarmed: the next Submit re-arms it with one
// EPOLL_CTL_MOD rather than an ADD and a DEL. The caller holds reapMu.
func (s *state) pumpSubmitted() {
	s.pump()
	if !s.armed {
		s.unregister()
	}
}

// arm resets the eventfd and registers it, armed, so that the next
// completion wakes the stream goroutine. Reset first: arming an eventfd
// whose count is not zero fires at once. The caller holds reapMu.
//
// Registering can fail only for want of kernel memory or of epoll watches
// (fs.epoll.max_user_watches). Then nothing would wake the stream: a
// goroutine reaps on a timer instead, until arming succeeds or nothing is
// in flight.
func (s *state) arm() {
	syscall.Read(int(s.efd), s.efdBuf[:]) // EAGAIN: already zero
	// In a field: a local's address may escape under -asan, and arm
	// would allocate once per call.
	s.armEvent = syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLONESHOT}
	op := syscall.EPOLL_CTL_ADD
	if s.registered {
		op = syscall.EPOLL_CTL_MOD // disarmed by its firing
	}
	if syscall.EpollCtl(int(s.epfd), op, int(s.efd), &s.armEvent) == nil {
		s.registered, s.armed = true, true
		return
	}
	if !s.polling {
		s.polling = true
		s.pollers.Add(1)
		go s.pollUntilArmed()
	}
}

// pollUntilArmed stands in for the eventfd after arm failed: it delivers
// what the ring holds every millisecond while I/O is in flight and the
// eventfd is not armed.
func (s *state) pollUntilArmed() {
	defer s.pollers.Done()
	for {
		time.Sleep(time.Millisecond)
		s.reapMu.Lock()
		if s.stopped {
			s.polling = false
			s.reapMu.Unlock()
			return
		}
		if waiting := s.pump(); s.armed || !waiting { // pump tries to arm again
			s.polling = false
			s.unlockReap()
			return
		}
		s.unlockReap()
	}
}

// unregister takes the disarmed eventfd out of the epoll instance. The
// caller holds reapMu.
func (s *state) unregister() {
	if s.registered && syscall.EpollCtl(int(s.epfd), syscall.EPOLL_CTL_DEL, int(s.efd), nil) == nil {
		s.registered = false
	}
}

// unlockReap lets go of reapMu, then pumps again, with reapMu, if a flush
// asked for a pump while it was held. A flush never waits for reapMu (see
// flush); it sets pumpWanted and tries it, so either the flush gets reapMu
// and pumps, or its holder finds pumpWanted set once it has let go. The
// pump comes after the flush's Blocks were claimed, and arms the eventfd
// for them if they need it.
func (s *state) unlockReap() {
	for {
		s.reapMu.Unlock()
		if !s.pumpWanted.Load() || !s.reapMu.TryLock() {
			return // not wanted, or the new holder sees it
		}
		if s.stopped {
			s.reapMu.Unlock()
			return
		}
		s.pumpWanted.Store(false)
		s.pump()
	}
}
