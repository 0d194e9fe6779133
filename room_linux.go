//go:build linux && cgo

package aio

import (
	"context"
	"sync"
	"time"
)

// Room: how many more Blocks a Context can take, how a Submit claims slots
// for its Blocks, and how it waits for room (backpressure). Blocks in
// flight hold slots; in stream mode so do events not yet read from Events.

// Bounds of the wait between looks at the Events channel, for a Submit
// waiting for room that unread events hold (a receive signals nothing).
const (
	minRoomPoll = 20 * time.Microsecond
	maxRoomPoll = 2 * time.Millisecond
)

// Why claim stopped short of the Blocks it was given.
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
	if !s.manual {
		// Completed Blocks set to wait hold their slots until reaped,
		// and nobody may be reaping (needsWakeup).
		s.follow()
		defer s.unfollow()
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

// short says what holds the room that claim found lacking. It judges by
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

// claim takes a slot for as many of blocks as there is room for, from the
// front, and queues them for io_submit (queue_linux.go), for the Submit
// call c, or detached if c is nil. It returns how many, why it stopped
// short of all (roomFree if it did not), and whether other I/O is in flight
// besides those it claimed (see submitGathering). A Block it cannot claim (submitted
// elsewhere meanwhile, its file closed) stops it there: it queues those
// before it and returns the error, naming the Block at base plus its
// position. Blocks are claimed (marked in flight) before io_submit
// because their completions may be reaped by another goroutine before
// io_submit returns.
func (s *state) claim(blocks []*Block, base int, c *call) (n int, full int, others bool, err error) {
	if base == 0 {
		// A file closed, or a RawConn that panics, before Submit is
		// refused with the whole batch, rather than when its turn
		// comes (lookupFD), which would let the Blocks before it go
		// in. The caller's Control runs outside mu.
		for i, b := range blocks {
			if detail, err := b.fileUsable(); err != nil {
				return 0, roomFree, false, &Error{Op: "Submit", Index: i, Err: err, Detail: detail}
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, roomFree, false, &Error{Op: "Submit", Index: base, Err: ErrClosed}
	}
	n = min(len(blocks), s.room())
	if s.testNoRoom != nil && n == 0 {
		s.testNoRoom()
	}
	if n == 0 {
		return 0, s.short(), false, nil
	}
	for i, b := range blocks[:n] {
		var detail string
		if !b.owner.CompareAndSwap(nil, s) {
			err = ErrInFlight
		} else if detail, err = b.lookupFD(); err != nil {
			b.owner.Store(nil)
		}
		if err != nil {
			n, err = i, &Error{Op: "Submit", Index: base + i, Err: err, Detail: detail}
			break
		}
	}
	round := s.claims + 1 // the first Block's claim names the round
	for i, b := range blocks[:n] {
		slot := s.free[len(s.free)-1]
		s.free = s.free[:len(s.free)-1]
		s.slots[slot] = b
		s.claims++
		b.slot, b.claim, b.yielded = slot, s.claims, false
		b.nowait = s.tryNoWait && b.triesNoWait()
		b.retried, b.skip = false, 0
		if b.wait {
			s.waitIn++
		}
		if b.cmd == CmdPoll {
			s.pollIn++
		}
		b.clearWait()
		b.unsent = nil
		s.queue = append(s.queue, queued{b, b.claim, c, base + i, round})
	}
	others = s.inflight > 0
	s.inflight += n
	if s.room() > 0 {
		s.signalRoom() // pass the turn on to another waiting Submit
	}
	if err != nil || n == len(blocks) {
		return n, roomFree, others, err
	}
	return n, s.short(), others, nil
}
