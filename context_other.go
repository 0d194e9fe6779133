//go:build !linux || !cgo

package aio

import (
	"context"
	"time"
)

// The Context without Linux or cgo: NewContext fails with ErrNotSupported,
// so no Context exists in this build, and these bodies answer for one made
// by hand (&Context{}) without touching the kernel.

type state struct {
	files fileCounters // never counts: no File exists here
}

func newState(maxEvents int, cfg config) (*state, error) { return nil, unsupported("NewContext") }

func (s *state) capacity() int            { return 0 }
func (s *state) inFlight() int            { return 0 }
func (s *state) eventsChan() <-chan Event { return nil }
func (s *state) stats() Stats             { return Stats{} }
func (s *state) cancel(b *Block) error    { return unsupported("Cancel") }
func (s *state) close() error             { return nil }

// Submit returns an error wrapping ErrNotSupported in this build.
func (c *Context) Submit(blocks ...*Block) (int, error) { return 0, unsupported("Submit") }

// SubmitContext returns an error wrapping ErrNotSupported in this build.
func (c *Context) SubmitContext(ctx context.Context, blocks ...*Block) (int, error) {
	return 0, unsupported("Submit")
}

func (c *Context) submitGathering(ctx context.Context, blocks []*Block) (int, error) {
	return 0, unsupported("Submit")
}

// GetEvents returns an error wrapping ErrNotSupported in this build.
func (c *Context) GetEvents(minNr, maxNr int, timeout time.Duration) ([]Event, error) {
	return nil, unsupported("GetEvents")
}

// GetEventsInto returns an error wrapping ErrNotSupported in this build.
func (c *Context) GetEventsInto(events []Event, minNr int, timeout time.Duration) (int, error) {
	return 0, unsupported("GetEventsInto")
}

func (s *state) completions(func(Event) bool) {}
func (s *state) lead(func() bool) bool        { return false }
func (s *state) follow()                      {}
func (s *state) unfollow()                    {}

func unsentError(b *Block) error { return nil }

func unsupported(op string) error {
	return opError(op, ErrNotSupported, "this package needs Linux and cgo (CGO_ENABLED=1, gcc and libaio)")
}
