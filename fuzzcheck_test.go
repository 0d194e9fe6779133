//go:build linux && cgo

package aio_test

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"time"

	"github.com/linuxaio/aio"
)

// The checks of FuzzCommands: what each operation of a program must
// return, and the count of submissions and events per Block.

// collect takes the event of a Block set to wait, if it has come.
func (r *fuzzRun) collect(b *aio.Block) bool {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if ev, err := b.Wait(ctx); err == nil {
		r.event(ev)
	}
	return r.pend[b] == 0
}

// outstanding returns the submissions whose events the program has not
// seen: at least the slots that in-flight Blocks and unread events take.
func (r *fuzzRun) outstanding() int {
	n := 0
	for _, k := range r.pend {
		n += k
	}
	return n
}

// submit submits batch, with SubmitContext and a short deadline unless
// the Context's policy or its room make sure Submit cannot wait for ever.
func (r *fuzzRun) submit(batch []*aio.Block, withCtx bool) {
	ctx, cancel := r.submitContext(withCtx, len(batch))
	defer cancel()
	r.accepted(batch, submitCall(r.ctx, ctx, batch))
}

// submitContext returns the context.Context for a Submit of n Blocks, or
// nil for a plain Submit, which is safe when the Context refuses rather
// than waits, or has room for them.
func (r *fuzzRun) submitContext(withCtx bool, n int) (context.Context, context.CancelFunc) {
	ctx, cancel := r.deadline()
	if !withCtx && (r.policy == aio.FullError || r.outstanding()+n <= r.ctx.Cap()) {
		return nil, cancel
	}
	return ctx, cancel
}

type submitResult struct {
	n   int
	err error
}

func submitCall(c *aio.Context, ctx context.Context, batch []*aio.Block) (res submitResult) {
	if ctx == nil {
		res.n, res.err = c.Submit(batch...)
	} else {
		res.n, res.err = c.SubmitContext(ctx, batch...)
	}
	return res
}

// submitTwo splits a batch in two and submits the halves at once from two
// goroutines. A Block set to wait goes in one half at most, for the reason
// batch gives.
func (r *fuzzRun) submitTwo() {
	batch := r.batch()
	seen := map[*aio.Block]bool{}
	var halves [2][]*aio.Block
	for i, b := range batch {
		if b != nil && b.Waits() {
			if seen[b] {
				continue
			}
			seen[b] = true
		}
		halves[i%2] = append(halves[i%2], b)
	}
	// Each call must fit in the room left by both.
	ctx, cancel := r.submitContext(r.next()&1 != 0, len(batch))
	defer cancel()
	var res [2]submitResult
	var wg sync.WaitGroup
	wg.Add(2)
	for i := range halves {
		go func() {
			defer wg.Done()
			res[i] = submitCall(r.ctx, ctx, halves[i])
		}()
	}
	wg.Wait()
	r.accepted(halves[0], res[0])
	r.accepted(halves[1], res[1])
}

func (r *fuzzRun) close() {
	if err := r.ctx.Close(); err != nil {
		r.t.Fatalf("Close: %v", err)
	}
	r.closed = true
}

// closeRace closes the Context while another goroutine submits a batch.
// Submit cannot wait for ever here: Close wakes a Submit waiting for room.
func (r *fuzzRun) closeRace() {
	batch := r.batch()
	wasClosed := r.closed
	done := make(chan submitResult)
	go func() { done <- submitCall(r.ctx, nil, batch) }()
	r.close()
	r.checkSubmit(batch, <-done, wasClosed, true)
}

// accepted checks what Submit returned for batch and counts the Blocks it
// accepted.
func (r *fuzzRun) accepted(batch []*aio.Block, res submitResult) {
	r.checkSubmit(batch, res, r.closed, r.closed)
}

// checkSubmit is accepted for a Submit that ran while the Context was
// closed (closed), or may have been (mayBeClosed).
func (r *fuzzRun) checkSubmit(batch []*aio.Block, res submitResult, closed, mayBeClosed bool) {
	n, err := res.n, res.err
	if len(batch) == 0 {
		if n != 0 || (err == nil && closed) || (err != nil && (!mayBeClosed || !errors.Is(err, aio.ErrClosed))) {
			r.t.Fatalf("Submit of no Blocks (closed %v): %d, %v", closed, n, err)
		}
		return
	}
	if n < 0 || n > len(batch) || (err == nil) != (n == len(batch)) {
		r.t.Fatalf("Submit of %d Blocks: %d, %v", len(batch), n, err)
	}
	if closed && n > 0 {
		r.t.Fatalf("Submit after Close: %d, %v", n, err)
	}
	var e *aio.Error
	if err != nil && (!errors.As(err, &e) || e.Index < n || e.Index >= len(batch)) {
		r.t.Fatalf("Submit of %d Blocks returned %d and %#v", len(batch), n, err)
	}
	for _, b := range batch[:n] {
		r.pend[b]++
	}
	r.subs += n
}

// event counts an event the program received: one of its Blocks, with a
// submission outstanding; with none left, the Block must be idle.
func (r *fuzzRun) event(ev aio.Event) {
	b := ev.Block
	if !r.owner[b] {
		r.t.Fatalf("event for a Block the program never made: %+v", ev)
	}
	if r.pend[b] == 0 {
		r.t.Fatalf("a second event for one submission of a %v Block: %+v", b.Command(), ev)
	}
	r.events++
	if r.pend[b]--; r.pend[b] == 0 {
		delete(r.pend, b)
		if b.InFlight() {
			r.t.Fatalf("%v Block in flight after its last event", b.Command())
		}
	}
}

func (r *fuzzRun) cancel() {
	b := r.block()
	if r.next() == 0xff {
		b = nil
	}
	err := r.ctx.Cancel(b)
	switch {
	case b == nil:
		if !errors.Is(err, syscall.EINVAL) {
			r.t.Fatalf("Cancel(nil): %v", err)
		}
	case r.closed:
		if !errors.Is(err, aio.ErrClosed) {
			r.t.Fatalf("Cancel after Close: %v", err)
		}
	case r.pend[b] == 0 && !errors.Is(err, aio.ErrNotInFlight):
		r.t.Fatalf("Cancel of a Block not in flight: %v", err)
	}
}

func (r *fuzzRun) wait() {
	b := r.block()
	if b == nil {
		return
	}
	ctx, cancel := r.deadline()
	defer cancel()
	ev, err := b.Wait(ctx)
	switch {
	case err == nil:
		r.event(ev)
	case !b.Waits() || r.pend[b] == 0:
		if !errors.Is(err, aio.ErrNotInFlight) {
			r.t.Fatalf("Wait with no event to collect: %v", err)
		}
	case !errors.Is(err, context.DeadlineExceeded):
		r.t.Fatalf("Wait: %v", err)
	}
}

func (r *fuzzRun) getEvents() {
	minNr := r.pick(3)
	maxNr := []int{-1, 0, 1, 2, 4, r.ctx.Cap(), r.ctx.Cap() + 1, 1 << 30}[r.pick(8)]
	timeout := []time.Duration{0, time.Millisecond}[r.pick(2)]
	evs, err := r.ctx.GetEvents(minNr, maxNr, timeout)
	switch {
	case !r.manual:
		if !errors.Is(err, aio.ErrWrongMode) {
			r.t.Fatalf("GetEvents in stream mode: %v", err)
		}
	case maxNr < minNr || minNr > r.ctx.Cap():
		if !errors.Is(err, syscall.EINVAL) {
			r.t.Fatalf("GetEvents(%d, %d) with %d slots: %v", minNr, maxNr, r.ctx.Cap(), err)
		}
	case r.closed:
		if !errors.Is(err, aio.ErrClosed) {
			r.t.Fatalf("GetEvents after Close: %v", err)
		}
	case err != nil:
		r.t.Fatalf("GetEvents(%d, %d, %v): %v", minNr, maxNr, timeout, err)
	}
	if len(evs) > max(maxNr, 0) || len(evs) > r.ctx.Cap() {
		r.t.Fatalf("GetEvents(%d, %d) returned %d events", minNr, maxNr, len(evs))
	}
	for _, ev := range evs {
		r.event(ev)
	}
}

// recv receives up to 8 events from Events, each without waiting or
// waiting up to a millisecond.
func (r *fuzzRun) recv() {
	ch := r.ctx.Events()
	if r.manual {
		if ch != nil {
			r.t.Fatal("a Manual Context has an Events channel")
		}
		return
	}
	k, wait := 1+r.pick(8), r.next()&1 != 0
	var timeout <-chan time.Time
	if wait {
		t := time.NewTimer(time.Millisecond)
		defer t.Stop()
		timeout = t.C
	}
	for range k {
		var ev aio.Event
		var ok bool
		if wait {
			select {
			case ev, ok = <-ch:
			case <-timeout:
				return
			}
		} else {
			select {
			case ev, ok = <-ch:
			default:
				return
			}
		}
		if !ok {
			if !r.closed {
				r.t.Fatal("Events closed before Close")
			}
			return
		}
		r.event(ev)
	}
}

// finish closes the Context and collects every event still due: in stream
// mode Close delivers them all, to Events or to Wait.
func (r *fuzzRun) finish() {
	r.close()
	if !r.manual {
		timeout := time.NewTimer(fuzzLongWait)
		defer timeout.Stop()
	drain:
		for {
			select {
			case ev, ok := <-r.ctx.Events():
				if !ok {
					break drain
				}
				r.event(ev)
			case <-timeout.C:
				r.t.Fatal("Events not closed after Close")
			}
		}
		for _, b := range r.blocks {
			if b.Waits() && r.pend[b] > 0 {
				ctx, cancel := context.WithTimeout(context.Background(), fuzzLongWait)
				ev, err := b.Wait(ctx)
				cancel()
				if err != nil {
					r.t.Fatalf("Wait after Close: %v", err)
				}
				r.event(ev)
			}
		}
		for b, k := range r.pend {
			r.t.Errorf("%v Block: %d accepted submissions without an event", b.Command(), k)
		}
	}
	for b := range r.owner {
		if b.InFlight() {
			r.t.Errorf("%v Block in flight after Close", b.Command())
		}
	}
	r.r.Close()
	r.w.Close()
}
