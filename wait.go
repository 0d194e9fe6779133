package aio

import "context"

// SetWait chooses where the Block's completion goes on a stream-mode
// Context: with wait true, to Block.Wait, and not to the Context's Events
// channel; with wait false (the default), to Events. A Manual Context
// refuses a Block set to wait (ErrWrongMode): its completions all come from
// GetEvents.
func (b *Block) SetWait(wait bool) error {
	if err := b.idle(); err != nil {
		return err
	}
	if wait && b.waitCh == nil {
		b.waitCh = make(chan struct{}, 1) // kept for every later use
	}
	b.wait = wait
	return nil
}

// Waits reports whether the Block's completion goes to Wait (SetWait).
func (b *Block) Waits() bool { return b.wait }

// clearWait drops a token left by an earlier completion that was never
// waited for, as the Block is submitted again, whether or not it is still
// set to wait. Under waitMu, that completion's token is already sent.
func (b *Block) clearWait() {
	if b.waitCh == nil {
		return
	}
	b.waitMu.Lock()
	select {
	case <-b.waitCh:
	default:
	}
	b.waitMu.Unlock()
}

// Wait waits for the completion of a Block set with SetWait and submitted,
// and returns its Event; the Block is idle again. If ctx is done first,
// Wait returns ctx.Err(): the I/O stays in flight, owned by the kernel, with
// its buffers pinned, and Wait may be called again to collect its event. A
// completion that is never waited for is dropped when the Block is
// submitted again.
//
// A Block that Submit queued but the kernel then refused (see Submit), or
// that Close found still queued, gets an Event whose Err is the refusal's
// errno (ECANCELED for Close).
//
// With ctx nil, or one that is never done, a Wait that finds no other
// goroutine reaping reaps for itself: it waits in io_getevents, holding an
// OS thread as a pread does, and hands other Blocks their events as they
// come (see Completions). Otherwise it parks, holding none, until the
// goroutine that reaps delivers its event.
//
// Wait returns ErrNotInFlight for a Block that is not set to wait, or that
// has no event to collect: never submitted, or already collected.
//
// Like the rest of a Block, Wait is for one goroutine at a time.
func (b *Block) Wait(ctx context.Context) (Event, error) {
	if !b.wait {
		return Event{}, opError("Wait", ErrNotInFlight, "the Block is not set to wait (SetWait)")
	}
	select {
	case <-b.waitCh:
		return b.take(), nil
	default:
	}
	if b.owner.Load() == nil {
		// Idle: its token, if any, is sent by the time waitMu is free.
		b.waitMu.Lock()
		defer b.waitMu.Unlock()
		select {
		case <-b.waitCh:
			return b.take(), nil
		default:
			return Event{}, opError("Wait", ErrNotInFlight, "no event to collect")
		}
	}
	var done <-chan struct{}
	if ctx != nil {
		done = ctx.Done()
	}
	if s := b.owner.Load(); s != nil {
		// With no deadline to watch, reap for itself if nobody is
		// reaping (lead_linux.go); else wait for whoever is.
		if done == nil && s.lead(b.ready) {
			select {
			case <-b.waitCh:
				return b.take(), nil
			default: // the leader stopped early: Close has begun
			}
		}
		s.follow()
		defer s.unfollow()
	}
	select {
	case <-b.waitCh:
		return b.take(), nil
	case <-done:
		return Event{}, ctx.Err()
	}
}

// ready reports whether the Block's event waits for Wait to take it.
func (b *Block) ready() bool { return len(b.waitCh) > 0 }

// take returns the event Wait collects, keeping no reference to it.
func (b *Block) take() Event {
	ev := b.ev
	b.ev = Event{}
	return ev
}

// complete hands the event of a Block set with SetWait to Block.Wait and
// makes the Block idle. The Block becomes idle and gets its token in one
// step under waitMu, so that a Wait that takes the token finds the Block
// idle, and a Submit that claims it in between clears the token only after
// it has been sent.
func (b *Block) complete(ev Event) {
	b.submitted, b.cancelPending, b.cancelled = false, false, false
	b.pinner.Unpin()
	b.ev = ev
	b.waitMu.Lock()
	b.owner.Store(nil)
	select {
	case b.waitCh <- struct{}{}:
	default: // a token not taken before Submit was cleared then
	}
	b.waitMu.Unlock()
}
