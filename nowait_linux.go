//go:build linux && cgo

package aio

import (
	"syscall"
)

// TryNoWait's reads (see the option): a buffered read goes to the kernel
// with RWF_NOWAIT, so that io_submit copies what the page cache holds and
// waits for nothing; what comes back unfinished is sent again without the
// flag by a goroutine of its own, in an io_submit no other request shares,
// where it may wait for the disk. The slot stays taken from the first
// io_submit to the last event, so the kernel finds the request in the
// slot's iocb as the first io_submit left it, and its event arrives as
// any other, through the ring, on every way of reaping.

// triesNoWait reports whether TryNoWait sends b with RWF_NOWAIT first: a
// read of a buffered file that honours the flag, which has not asked for
// RWF_NOWAIT itself (then its EAGAIN is its caller's to see), and signals
// no eventfd of its own (SetResFD): each of the two sends would add 1 to
// it, for one event.
func (b *Block) triesNoWait() bool {
	return b.nowaitOK && (b.cmd == CmdRead || b.cmd == CmdReadV) && b.rwFlags&RWFNoWait == 0 && b.resfd < 0 && !b.waking
}

// learnNoWait asks, once for each file a Block is set to, whether that
// buffered file's file system honours RWF_NOWAIT (an fstat and an fstatfs),
// for Submit on a Context made with TryNoWait: Blocks on other Contexts
// never pay for it, nor do Blocks made for each I/O.
func (b *Block) learnNoWait() {
	if b.nowaitUnasked {
		b.nowaitOK, b.nowaitUnasked = nowaitSupported(int(b.fd)), false
	}
}

// length returns the bytes a read or write Block asks for.
func (b *Block) length() int64 {
	if b.cmd == CmdRead || b.cmd == CmdWrite {
		return int64(len(b.buf))
	}
	var n int64
	for _, p := range b.bufs {
		n += int64(len(p))
	}
	return n
}

// noWaitOutcome looks at the result res of a read b sent with RWF_NOWAIT
// first. It returns again set when it has sent the read again (retry), or
// else the result to deliver: for a read sent again, the bytes of both
// parts. The caller holds reapMu and mu.
func (s *state) noWaitOutcome(b *Block, res int64) (int64, bool) {
	if b.retried {
		if res < 0 && b.skip > 0 {
			// As pread does: the bytes read before the error.
			return b.skip, false
		}
		if res >= 0 {
			res += b.skip
		}
		return res, false
	}
	unfinished := res == -int64(syscall.EAGAIN) || res > 0 && res < b.length()
	if !unfinished {
		if res >= 0 {
			s.files.nowaitHits.add(uintptr(b.slot) << 12)
		}
		return res, false
	}
	s.files.nowaitFallbacks.Add(1)
	b.retried = true
	// A read's rest goes again from where the cache ran out; a readv
	// goes again whole, as its iovecs cannot be cut in the iocb.
	if res > 0 && b.cmd == CmdRead {
		b.skip = res
	}
	s.retries.Add(1)
	go s.retry(b)
	return 0, true
}

// retry sends b again without RWF_NOWAIT, once the Context's limit on
// blocking calls lets it (MaxBlocking), holding its file open so that the
// descriptor in its iocb is still its file's. A read that cannot be sent
// (its file closed since, the kernel refusing it, or Close come first)
// ends with an event of its own: the bytes the first part read, if any,
// else the errno (ECANCELED for Close).
func (s *state) retry(b *Block) {
	defer s.retries.Done()
	select {
	case s.blocking <- struct{}{}:
	case <-s.closedCh:
		s.endRetry(b, ErrClosed)
		return
	}
	defer func() { <-s.blocking }()
	s.files.blocking.Add(1)
	s.mu.Lock()
	core := s.core // live: Close waits for retries before destroying it
	s.mu.Unlock()
	var e syscall.Errno
	sent := false
	send := func(uintptr) { sent, e = true, core.Resubmit(b.slot, uint32(b.rwFlags), uint64(b.skip)) }
	if _, raw := b.rc.(rawFD); raw {
		send(0) // the caller keeps a raw FD open until the event
	} else if control(b.rc, send) != nil && !sent {
		// Closed since the first part went in. (A Control that ran
		// send and then failed held the file all the same, as in
		// holdFrom: what the kernel said stands.)
		e = syscall.EBADF
	}
	if e != 0 {
		s.endRetry(b, e)
	}
}

// endRetry delivers the event of a read that retry could not send again,
// for cause (ErrClosed, for ECANCELED, or the errno), as a refusal by
// io_submit is delivered (giveBack). The errno is the result even when the
// first part read some bytes: a short count with no error would read as
// the end of the file.
func (s *state) endRetry(b *Block, cause error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.manual {
		// For the next GetEvents (takeLate). Until then the Block
		// keeps its slot, as an event in the ring keeps it until it is
		// reaped; Close discards it with the rest.
		s.late = append(s.late, Event{Block: b, Res: -int64(unsentErrno(cause))})
		return
	}
	s.giveBack(b, notSubmitted(cause, -1, b, false))
}

// takeLate appends to out, up to max events, those endRetry kept for
// GetEvents, and returns how many. The caller holds reapMu.
func (s *state) takeLate(out []Event, max int) ([]Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := min(len(s.late), max)
	for _, ev := range s.late[:k] {
		s.freeSlot(ev.Block)
		ev.Block.release()
		out = append(out, ev)
	}
	n := copy(s.late, s.late[k:])
	clear(s.late[n:])
	s.late = s.late[:n]
	if k > 0 {
		s.signalRoom()
	}
	return out, k
}
