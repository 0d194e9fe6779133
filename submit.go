//go:build linux && cgo

package aio

import (
	"context"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// What became of a queued Block, set by the flush that handled it.
const (
	subQueued  uint8 = iota // waiting in the queue
	subDone                 // io_submit took it
	subRefused              // io_submit refused it; subErrno says why
	subSkipped              // not submitted: an earlier Block of its call was refused
	subClosed               // not submitted: Close came first
)

// Bounds of the wait between looks at the Events channel, for a Submit
// waiting for room that unread events hold (a receive signals nothing).
const (
	minRoomPoll = 20 * time.Microsecond
	maxRoomPoll = 2 * time.Millisecond
)

// Submit submits blocks to the kernel and returns how many, from the front
// of the list, were submitted. Each submitted Block produces exactly one
// Event.
//
// Every Block is checked first (see Block for what it must hold); if any is
// refused, nothing is submitted and the returned *Error names it by Index.
// A Block already in flight is refused with ErrInFlight. In stream mode a
// Block with its own eventfd (SetResFD) is refused with EINVAL: the stream
// needs every completion to signal its own eventfd. In manual mode a Block
// set with SetWait is refused with ErrWrongMode.
//
// When the Context is full, Submit follows its FullPolicy: with FullWait
// (the stream default) it submits what fits and waits for room for the
// rest; with FullError (the manual default) it submits what fits and
// returns an error wrapping ErrFull. If the kernel refuses a Block, those
// before it stay submitted, those after it are not, and the error names the
// refused one by Index, with the kernel's errno (EBADF for a bad fd,
// EOPNOTSUPP for RWF flags the kernel or file lacks, EAGAIN when the kernel
// is short of resources, ...).
//
// Submit calls from many goroutines at once share io_submit calls: each
// queues its Blocks, and whichever call is first to the kernel submits
// everything queued by then in one io_submit, while the others wait for it
// (Stats shows the sharing).
//
// For buffered files (no O_DIRECT) the kernel does the I/O inside
// io_submit, so Submit blocks for as long as the I/O takes, and a read from
// a blocking descriptor with no data blocks until data comes; other Submit
// calls, and Close, wait for it meanwhile. With O_DIRECT it returns once the
// I/O is queued. Submit on a closed Context returns ErrClosed.
func (c *Context) Submit(blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	return c.s.submit(context.Background(), blocks)
}

// SubmitContext is Submit with a context.Context that bounds its wait for
// room when the Context is full under FullWait: when ctx is done, it
// returns the number submitted so far and ctx.Err(). ctx does not cancel
// I/O already submitted.
func (c *Context) SubmitContext(ctx context.Context, blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	if ctx == nil {
		ctx = context.Background()
	}
	return c.s.submit(ctx, blocks)
}

func (s *state) submit(ctx context.Context, blocks []*Block) (int, error) {
	for i, b := range blocks {
		if b == nil {
			return 0, &Error{Op: "submit", Index: i, Err: syscall.EINVAL, Detail: "nil Block"}
		}
		if detail, err := b.check(); err != nil {
			return 0, &Error{Op: "submit", Index: i, Err: err, Detail: detail}
		}
	}
	if len(blocks) > 0 {
		s.submits.Add(1)
	}
	done := 0
	poll := minRoomPoll
	for {
		k, full, err := s.enqueue(blocks[done:], done)
		if k > 0 {
			s.subMu.Lock()
			s.flush() // ours, unless the previous holder took them
			s.subMu.Unlock()
			for i, b := range blocks[done : done+k] {
				if b.subResult != subDone {
					return done + i, b.subError(done + i)
				}
			}
			done += k
			poll = minRoomPoll
		}
		if err != nil || done == len(blocks) {
			return done, err
		}
		if !full {
			continue
		}
		if s.full == FullError {
			return done, &Error{Op: "submit", Index: done, Err: ErrFull,
				Detail: strconv.Itoa(done) + " of " + strconv.Itoa(len(blocks)) +
					" blocks submitted; the context's " + strconv.Itoa(len(s.slots)) + " slots are taken"}
		}
		if err := s.waitRoom(ctx, &poll); err != nil {
			return done, err
		}
	}
}

// subError is the error for a Block a flush did not submit, at index in
// its Submit call.
func (b *Block) subError(index int) error {
	switch b.subResult {
	case subRefused:
		return &Error{Op: "io_submit", Index: index, Err: b.subErrno, Detail: submitHint(b.subErrno, b)}
	case subClosed:
		return &Error{Op: "submit", Index: index, Err: ErrClosed}
	}
	// A skipped Block always follows the refused one that caused it.
	return &Error{Op: "submit", Index: index, Err: syscall.EINVAL, Detail: "not submitted"}
}

// room returns how many more Blocks may be claimed. In stream mode unread
// events count as taken, so that every event reaped finds room in the
// Events channel.
func (s *state) room() int {
	if s.manual {
		return len(s.free)
	}
	return max(len(s.free)-len(s.events), 0)
}

// signalRoom leaves a token for a Submit waiting for room.
func (s *state) signalRoom() {
	select {
	case s.avail <- struct{}{}:
	default:
	}
}

// waitRoom waits until room may have come free, ctx is done, or the
// Context is closed.
func (s *state) waitRoom(ctx context.Context, poll *time.Duration) error {
	done := ctx.Done() // nil for Submit's context.Background
	var look <-chan time.Time
	if !s.manual && len(s.events) > 0 {
		t := time.NewTimer(*poll)
		defer t.Stop()
		look = t.C
		*poll = min(*poll*2, maxRoomPoll)
	}
	select {
	case <-s.avail:
	case <-look:
	case <-s.closedCh:
		return opError("submit", ErrClosed, "")
	case <-done:
		return ctx.Err()
	}
	return nil
}

// enqueue claims as many of blocks as there is room for, from the front,
// and queues them for io_submit. It returns how many, and whether the
// Context was too full for all; or 0 and why none can go, naming the Block
// at base plus its position. Blocks are claimed (marked in flight) before
// io_submit because their completions may be reaped by another goroutine
// before io_submit returns.
func (s *state) enqueue(blocks []*Block, base int) (n int, full bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, false, opError("submit", ErrClosed, "")
	}
	if len(blocks) == 0 {
		return 0, false, nil
	}
	n = min(len(blocks), s.room())
	if n == 0 {
		return 0, true, nil
	}
	for i, b := range blocks[:n] {
		var detail string
		if !b.owner.CompareAndSwap(nil, s) {
			err = ErrInFlight
		} else if detail, err = s.fits(b); err == nil {
			detail, err = b.lookupFD()
		}
		if err != nil {
			if err != ErrInFlight {
				b.owner.Store(nil)
			}
			for _, p := range blocks[:i] {
				p.owner.Store(nil)
			}
			return 0, false, &Error{Op: "submit", Index: base + i, Err: err, Detail: detail}
		}
	}
	s.batches++
	for _, b := range blocks[:n] {
		slot := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.slots[slot] = b
		b.slot = slot
		b.batch = s.batches
		b.subResult = subQueued
		if b.wait {
			b.clearWait()
		}
		s.queue = append(s.queue, b)
	}
	s.inflight += n
	if s.room() > 0 {
		s.signalRoom() // pass the turn on to another waiting Submit
	}
	return n, n < len(blocks), nil
}

// fits returns why b cannot go on this Context's mode, or nil.
func (s *state) fits(b *Block) (string, error) {
	if s.manual && b.wait {
		return "SetWait needs a stream-mode Context; this one is Manual", ErrWrongMode
	}
	if !s.manual && b.resfd >= 0 {
		return "SetResFD needs a Manual Context: in stream mode every completion signals the stream's own eventfd", syscall.EINVAL
	}
	return "", nil
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
		for _, b := range q {
			b.subResult = subClosed
			s.giveBack(b)
		}
	}
	s.mu.Unlock()

	for rest := q; !closed && len(rest) > 0; {
		reqs := s.core.Reqs()
		for i, b := range rest {
			b.prepare(&reqs[i], s.efd)
		}
		got, e := s.core.Submit(len(rest)) // without mu: it may wait for buffered I/O
		rest = s.submitted(rest, got, e)
	}
	clear(q)
	s.spare = q[:0] // only the holder of subMu touches spare

	// Buffered I/O has completed inside io_submit: deliver it now rather
	// than through a wakeup of the stream goroutine, which is armed only
	// for what is still in flight. reapMu is never held across a wait in
	// stream mode.
	if !s.manual && !closed {
		s.reapMu.Lock()
		s.pump()
		s.reapMu.Unlock()
	}
}

// submitted records the outcome of io_submit on q: it took q[:got], and if
// e is set refused q[got]. It carries out the Cancel calls that came while
// io_submit ran, and gives back the slots of Blocks not submitted. It
// returns the Blocks still to submit: those after the refused one, less
// the rest of its Submit call's. Blocks whose events were reaped meanwhile
// are no longer owned by s.
func (s *state) submitted(q []*Block, got int, e syscall.Errno) []*Block {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, b := range q[:got] {
		b.subResult = subDone
		if b.owner.Load() != s {
			continue
		}
		b.submitted = true
		if b.cancelPending && s.core.Cancel(b.slot) == 0 {
			b.cancelled = true
		}
		b.cancelPending = false
	}
	if e == 0 || got >= len(q) {
		return nil
	}
	r := q[got]
	r.subResult, r.subErrno = subRefused, e
	s.giveBack(r)
	rest := q[got+1:]
	k := 0
	for _, b := range rest {
		if b.batch == r.batch {
			b.subResult = subSkipped
			s.giveBack(b)
		} else {
			rest[k] = b
			k++
		}
	}
	return rest[:k]
}

// giveBack frees the slot of a claimed Block that will produce no event and
// makes it idle. The caller holds mu.
func (s *state) giveBack(b *Block) {
	s.slots[b.slot] = nil
	s.free = append(s.free, b.slot)
	s.inflight--
	b.release()
	s.signalRoom()
	s.checkIdle()
}

// checkIdle wakes a stream Close waiting for the last event once nothing
// is in flight. The caller holds mu.
func (s *state) checkIdle() {
	if s.idle != nil && s.inflight == 0 {
		close(s.idle)
		s.idle = nil
	}
}
