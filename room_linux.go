//go:build linux && cgo

package aio

import (
	"context"
	"sync"
	"time"
)

// Room: how many more Blocks a Context can take, and how a Submit waits
// for room (backpressure). Blocks in flight hold slots; in stream mode so
// do events not yet read from Events.

// Bounds of the wait between looks at the Events channel, for a Submit
// waiting for room that unread events hold (a receive signals nothing).
const (
	minRoomPoll = 20 * time.Microsecond
	maxRoomPoll = 2 * time.Millisecond
)

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
