//go:build linux && cgo

package aio

import (
	"context"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

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
		return &Error{Op: "submit", Index: i, Err: ErrClosed}
	case os.ErrClosed:
		return &Error{Op: "submit", Index: i, Err: os.ErrClosed, Detail: "the file was closed before io_submit"}
	}
	e, ok := cause.(syscall.Errno)
	if !ok {
		return &Error{Op: "submit", Index: i, Err: cause}
	}
	err := &Error{Op: "io_submit", Index: i, Err: e}
	if hint {
		err.Detail = submitHint(e, b)
	}
	return err
}

// calls keeps call records, so that Submit allocates none.
var calls = sync.Pool{New: func() any { return new(call) }}

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
// A Block already in flight, or given twice, is refused with ErrInFlight.
// A Block whose file is closed is refused with os.ErrClosed, and one whose
// descriptor is out of range with EBADF. A read or write with no bytes, a
// negative offset, or an offset and length past the largest int64, is
// refused with EINVAL, and so is one that breaks the O_DIRECT alignment the
// kernel reports; a read or write of a directory with EISDIR, of a socket,
// pipe, FIFO, tty or any other file that cannot seek with ESPIPE (as
// pread(2) would).
// In stream mode a Block with its own eventfd (SetResFD) is refused with
// EINVAL: the stream needs every completion to signal its own eventfd. In
// manual mode a Block set with SetWait is refused with ErrWrongMode.
//
// Past those checks, a Block refused when its turn comes (its file closed
// meanwhile, or submitted elsewhere meanwhile), or refused by the kernel,
// stops the call there: those before it stay submitted, those after it are
// not, and the error names it by Index, which equals the count returned.
//
// When the Context is full, Submit follows its FullPolicy: with FullWait
// (the stream default) it submits what fits and waits for room for the
// rest; with FullError (the manual default) it submits what fits and
// returns an error wrapping ErrFull. The kernel's refusals carry its errno
// (EBADF for a bad fd, EOPNOTSUPP for RWF flags the kernel or file lacks,
// EAGAIN when the kernel is short of resources, ...).
//
// Submit calls from many goroutines at once share io_submit calls: each
// queues its Blocks, and whichever call is first to the kernel submits
// everything queued by then in one io_submit, while the others wait for it
// (Stats shows the sharing).
//
// For buffered files (no O_DIRECT) the kernel does the I/O inside
// io_submit, so Submit blocks for as long as the I/O takes; other Submit
// calls, and Close, wait for it meanwhile. Where a signal ends such a wait,
// the kernel completes the request with EINTR (or EFAULT, for a copy to a
// buffer that was waiting for its page) in its event, which is delivered
// as it is: the caller submits it again. With O_DIRECT Submit returns once
// the I/O is queued. Submit on a closed Context returns ErrClosed.
func (c *Context) Submit(blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	return c.s.submit(context.Background(), blocks, false)
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
	return c.s.submit(ctx, blocks, false)
}

// submitGathering is SubmitContext for callers that each submit one I/O
// and are woken together, as File's are when a batch of completions comes:
// each yields its processor before flushing the queue, so that the others
// queue their Blocks first and one io_submit takes them all. Each io_submit
// costs a system call and, on a virtual disk, a doorbell to the host:
// gathering cuts CPU per I/O where those dominate.
//
// It waits for room whatever the FullPolicy: a File call has no use for
// ErrFull. Blocks set to wait are detached: the call returns how many it
// queued, without waiting for a flush that another goroutine is doing, and
// a Block that the kernel refuses, or that Close finds still queued, ends
// its Wait at once, with the reason in unsent. That saves each call but the
// flushing one a park and a wakeup on subMu. The caller must keep the
// Blocks' descriptors open until their Wait returns. A refusal stops the
// rest of its round, but a call with more Blocks than there is room for
// queues its next round without knowing the outcome of the last; File
// calls that large (over a GiB) report the bytes done up to the first
// failed Block, as io.WriterAt asks, though later ones may have gone in.
func (c *Context) submitGathering(ctx context.Context, blocks []*Block) (int, error) {
	defer runtime.KeepAlive(c)
	if ctx == nil {
		ctx = context.Background()
	}
	return c.s.submit(ctx, blocks, true)
}

func (s *state) submit(ctx context.Context, blocks []*Block, gather bool) (int, error) {
	var stamp uint64
	if len(blocks) > pairwiseMax {
		stamp = submitStamp.Add(1)
	}
	detach := gather
	for i, b := range blocks {
		if b == nil {
			return 0, &Error{Op: "submit", Index: i, Err: syscall.EINVAL, Detail: "nil Block"}
		}
		detach = detach && b.wait
		detail, err := b.check()
		if err == nil {
			detail, err = s.fits(b)
		}
		if err == nil && b.owner.Load() != nil {
			err = ErrInFlight
		}
		if err == nil && given(blocks, i, stamp) {
			detail, err = "the Block is in this batch twice", ErrInFlight
		}
		if err != nil {
			return 0, &Error{Op: "submit", Index: i, Err: err, Detail: detail}
		}
	}
	if len(blocks) == 0 {
		return 0, s.open()
	}
	s.submits.Add(1)
	var c *call // nil when detached
	if !detach {
		c = calls.Get().(*call)
		defer calls.Put(c)
	}
	done := 0
	poll := minRoomPoll
	for {
		if c != nil {
			c.failed = -1
		}
		k, full, err := s.enqueue(blocks[done:], done, c)
		if k > 0 {
			if gather {
				runtime.Gosched()
			}
			if detach {
				s.flushQueued()
			} else {
				s.flushLocked() // ours, unless the previous holder took them
				s.flushQueued()
				if failed, err := s.outcome(c, blocks); err != nil {
					return failed, err
				}
			}
			done += k
			poll = minRoomPoll
		}
		if err != nil || done == len(blocks) {
			return done, err
		}
		if full == roomFree {
			continue
		}
		if s.full == FullError && !gather {
			return done, &Error{Op: "submit", Index: done, Err: ErrFull,
				Detail: strconv.Itoa(done) + " of " + strconv.Itoa(len(blocks)) +
					" blocks submitted; the context's " + strconv.Itoa(len(s.slots)) + " slots are taken"}
		}
		if err := s.waitRoom(ctx, full == roomUnread, &poll); err != nil {
			s.signalRoom() // pass the turn on: room may have come
			return done, &Error{Op: "submit", Index: done, Err: err}
		}
	}
}

// Up to pairwiseMax Blocks, a Submit call compares them pairwise to find
// one given twice; past that, each Block keeps the number of the last call
// that looked at it (submitStamp). The stamps are exact unless another
// goroutine submits the same Block at the same time, a misuse in which a
// Block given twice may go in twice (each submission still has its one
// event).
const pairwiseMax = 64

var submitStamp atomic.Uint64

// given reports whether blocks[i] is also among blocks[:i].
func given(blocks []*Block, i int, stamp uint64) bool {
	if stamp != 0 {
		return blocks[i].stamp.Swap(stamp) == stamp
	}
	for _, p := range blocks[:i] {
		if p == blocks[i] {
			return true
		}
	}
	return false
}

// open returns ErrClosed once the Context is closed.
func (s *state) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return opError("submit", ErrClosed, "")
	}
	return nil
}

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

// Why enqueue stopped short of the Blocks it was given.
const (
	roomFree   = iota // it did not: room was left
	roomFull          // Blocks in flight hold every slot
	roomUnread        // events not yet read from Events hold some
)

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
// Context is closed. If unread events held the room, it also looks again
// after a while: they free it when they are received, which signals
// nothing; the reaper signals room it frees.
func (s *state) waitRoom(ctx context.Context, unread bool, poll *time.Duration) error {
	var look <-chan time.Time
	if unread {
		t := timers.Get().(*time.Timer)
		t.Reset(*poll)
		defer func() { t.Stop(); timers.Put(t) }()
		look = t.C
		*poll = min(*poll*2, maxRoomPoll)
	}
	select {
	case <-s.avail:
	case <-look:
	case <-s.closedCh:
		return ErrClosed
	case <-ctx.Done(): // nil for Submit's context.Background
		return ctx.Err()
	}
	return nil
}

// timers keeps stopped timers for waitRoom, so that waiting allocates
// nothing. Since Go 1.23 a stopped timer's channel holds no stale value.
var timers = sync.Pool{New: func() any {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return t
}}

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

// enqueue claims as many of blocks as there is room for, from the front,
// and queues them for io_submit, for the Submit call c, or detached if c
// is nil. It returns how many, and why it stopped
// short of all (roomFree if it did not). A Block it cannot claim (submitted
// elsewhere meanwhile, its file closed) stops it there: it
// queues those before it and returns the error, naming the Block at base
// plus its position. Blocks are claimed (marked in flight) before io_submit
// because their completions may be reaped by another goroutine before
// io_submit returns.
func (s *state) enqueue(blocks []*Block, base int, c *call) (n int, full int, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, roomFree, &Error{Op: "submit", Index: base, Err: ErrClosed}
	}
	n = min(len(blocks), s.room())
	if s.testNoRoom != nil && n == 0 {
		s.testNoRoom()
	}
	if n == 0 {
		return 0, s.short(), nil
	}
	for i, b := range blocks[:n] {
		var detail string
		if !b.owner.CompareAndSwap(nil, s) {
			err = ErrInFlight
		} else if detail, err = b.lookupFD(); err != nil {
			b.owner.Store(nil)
		}
		if err != nil {
			n, err = i, &Error{Op: "submit", Index: base + i, Err: err, Detail: detail}
			break
		}
	}
	round := s.claims + 1 // the first Block's claim names the round
	for i, b := range blocks[:n] {
		slot := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.slots[slot] = b
		s.claims++
		b.slot, b.claim = slot, s.claims
		b.clearWait()
		b.unsent = nil
		s.queue = append(s.queue, queued{b, b.claim, c, base + i, round})
	}
	s.inflight += n
	if s.room() > 0 {
		s.signalRoom() // pass the turn on to another waiting Submit
	}
	if err != nil || n == len(blocks) {
		return n, roomFree, err
	}
	return n, s.short(), nil
}

// short says what holds the room that enqueue found lacking. It judges by
// the free slots, which change only under mu, never by the events unread,
// which the reader takes without it: with no room, a free slot means
// unread events hold it (their reading signals nothing, so a waiting
// Submit looks again now and then), and no free slot means I/O in flight
// or queued holds it (its reaping signals room). Looking at the channel
// again after room() could find it emptied meanwhile and wait for a signal
// that never comes. The caller holds mu.
func (s *state) short() int {
	if len(s.free) > 0 {
		return roomUnread
	}
	return roomFull
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
	// for what is still in flight. reapMu is never held across a wait in
	// stream mode.
	if !s.manual && !closed {
		s.reapMu.Lock()
		s.pumpSubmitted()
		s.reapMu.Unlock()
	}
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

// unsentError returns why a detached Block, its Wait over, was not
// submitted after all (see submitGathering), or nil if it was. Its
// descriptor must still be open, for the hint.
func unsentError(b *Block) error {
	u := b.unsent
	if u == nil {
		return nil
	}
	if errno, ok := u.Err.(syscall.Errno); ok && u.Op == "io_submit" {
		u.Detail = submitHint(errno, b)
	}
	return u
}

// giveBack frees the slot of a claimed Block that will produce no event and
// makes it idle. With unsent set, the Block is a detached one set to wait:
// its Wait returns at once, and unsent says why nothing was done. The
// caller holds mu.
func (s *state) giveBack(b *Block, unsent *Error) {
	s.slots[b.slot] = nil
	s.free = append(s.free, b.slot)
	s.inflight--
	if unsent != nil {
		b.unsent = unsent
		b.complete(Event{Block: b, Res: -int64(syscall.ECANCELED)})
	} else {
		b.release()
	}
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
