//go:build linux && cgo

package aio

import (
	"sync"
	"syscall"
	"time"
)

// Wakers: a File call with one Block in flight, and no deadline to watch,
// waits for its completion as a pread does, in a read(2) of an eventfd of
// its own that the kernel signals in place of the stream's (the iocb's
// resfd). The kernel then wakes the caller's thread, and no other: no
// goroutine reaps for it, and none has to wake it.
//
// Why: at a few I/Os in flight, delivering each event to its goroutine
// costs a wakeup of another thread (the runtime's wakep: a futex and, on a
// virtual machine, an interrupt to the other CPU) on the path from one
// completion to the next submission: in an execution trace at 2 in flight,
// 9 of every 70 µs. With wakers, at 2 in flight (perf stat, aiobench
// -engine file, O_DIRECT 4 KiB random reads), system calls per read went
// from 2.42 to 2.04, context switches from 1.08 to 0.97 and CPU migrations
// from 0.55 to 0.05; in alternating runs, reads per second from 24-25 k to
// 29-34 k and CPU per read from 28-33 to 20-25 µs, against os.File's 31-37
// k at 20-24 µs.
//
// Only while at most maxWakers calls are in progress: past that, a leader
// reaping in io_getevents serves every call better, and a mix is worse than
// either (the leader is woken by the wakers' completions too). With two
// wakers for any number of calls, 4 in flight went from 42.7 k to 29.5 k
// reads per second and 8 from 81 k to 57 k; with four, 4 in flight made
// 23.9 k against 34.2 k. The bound also caps the threads these calls hold
// while they wait, which followers of a leader do not (lead_linux.go).
const maxWakers = 2

// wakerFD is an eventfd a File call waits on, or -1.
type wakerFD int32

// wakers is the Context's pool of eventfds for File calls to wait on.
type wakers struct {
	mu     sync.Mutex
	free   []wakerFD
	made   int
	closed bool
}

// callStarts counts a File call in progress, and returns an eventfd for
// it to wait on, or -1: when its Block may not wait that way (single
// false: more than one Block, or a ctx that may end the wait early), when
// too many calls are in progress for a waker to pay, or when none can be
// made. callEnds ends the call.
func (s *state) callStarts(single bool) wakerFD {
	if n := s.calls.Add(1); !single || n > maxWakers || s.manual {
		return -1
	}
	return s.takeWaker()
}

// callEnds ends a call that callStarts counted, giving back its eventfd,
// if it had one, once its Block is idle.
func (s *state) callEnds(waker wakerFD) {
	s.calls.Add(-1)
	if waker >= 0 {
		s.putWaker(waker)
	}
}

// takeWaker returns a free eventfd, or makes one, or returns -1.
func (s *state) takeWaker() wakerFD {
	w := &s.wakers
	w.mu.Lock()
	defer w.mu.Unlock()
	if n := len(w.free); n > 0 {
		fd := w.free[n-1]
		w.free = w.free[:n-1]
		return fd
	}
	if w.closed || w.made == maxWakers {
		return -1
	}
	const efdCloexec = 0o2000000 // EFD_CLOEXEC; blocking, for read to wait
	fd, _, e := syscall.RawSyscall(syscall.SYS_EVENTFD2, 0, efdCloexec, 0)
	if e != 0 {
		return -1 // out of descriptors: the call follows a leader
	}
	w.made++
	return wakerFD(fd)
}

// putWaker gives back an eventfd taken with takeWaker, its count read to
// zero. After Close it is closed instead.
func (s *state) putWaker(fd wakerFD) {
	w := &s.wakers
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		syscall.Close(int(fd))
		return
	}
	w.free = append(w.free, fd)
}

// closeWakers closes the eventfds not in use, once Close has waited for
// every event; those in use are closed as they are given back.
func (s *state) closeWakers() {
	w := &s.wakers
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closed = true
	for _, fd := range w.free {
		syscall.Close(int(fd))
	}
	w.free = nil
}

// setWaker makes the kernel signal fd, not the stream's eventfd, when b
// completes. b must be idle and set to wait; its waiter must call
// awaitWaker before Wait.
func (b *Block) setWaker(fd wakerFD) { b.wakeFD, b.waking = fd, true }

// awaitWaker waits until b's eventfd is signalled: by the kernel, once it
// has put b's event in the ring, or by giveBack, for a Block the kernel
// never took. Either happens exactly once per submission, so the count
// read is always 1, and the eventfd is at zero again for its next user.
// Wait then finds the event delivered, or reaps it from the ring in user
// space.
//
// A read that fails (it cannot, on an eventfd the Context keeps open)
// must not leave the caller to follow a leader: nothing would wake the
// stream goroutine for b, whose completion signals only b's eventfd. The
// caller reaps for itself instead, or has whoever holds reapMu pump, until
// b's event is delivered.
func (b *Block) awaitWaker() {
	for {
		_, err := syscall.Read(int(b.wakeFD), b.wakeBuf[:])
		switch err {
		case nil:
			return
		case syscall.EINTR:
			continue
		}
		s := b.owner.Load()
		for s != nil && !b.ready() {
			if !s.lead(b.ready) {
				s.pumpNowOrLater()
				time.Sleep(time.Millisecond)
			}
			s = b.owner.Load()
		}
		return
	}
}

// waker returns the eventfd b's caller waits on, or -1.
func (b *Block) waker() wakerFD {
	if !b.waking {
		return -1
	}
	return b.wakeFD
}

// signal stands in for the kernel's signal, for a Block whose submission
// ended with no event (see giveBack).
func (fd wakerFD) signal() {
	if fd < 0 {
		return
	}
	one := [8]byte{1} // little-endian 1
	for {
		// It cannot block: the count is 0 until this write.
		if _, err := syscall.Write(int(fd), one[:]); err != syscall.EINTR {
			return
		}
	}
}
