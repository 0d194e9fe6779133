package aio

import "strconv"

// Option configures a Context made by NewContext.
type Option func(*config)

type config struct {
	manual      bool
	full        FullPolicy
	blocking    int // MaxBlocking's n
	blockingSet bool
}

// Manual selects manual reaping: completions are collected by calling
// GetEvents, as with io_getevents, and the Context runs no goroutine and
// has no Events channel. Without it a Context delivers completions on
// Events (stream mode).
func Manual() Option { return func(c *config) { c.manual = true } }

// FullPolicy says what Submit does when the Context has no room for a
// Block: every slot is in flight or, in stream mode, held by an event not
// yet read from Events.
type FullPolicy int

const (
	// FullWait makes Submit submit what fits and wait for room for the
	// rest (SubmitContext bounds the wait). The default in stream mode.
	// A goroutine that is the only reader of Events must not make Submit
	// wait for room that only its own reading would free: keep what it
	// submits within what it has read, or use FullError.
	FullWait FullPolicy = iota + 1
	// FullError makes Submit submit what fits and return an error
	// wrapping ErrFull for the rest. The default in manual mode, where
	// room comes only from the caller's own GetEvents.
	FullError
)

func (p FullPolicy) String() string {
	switch p {
	case FullWait:
		return "FullWait"
	case FullError:
		return "FullError"
	}
	return "FullPolicy(" + strconv.Itoa(int(p)) + ")"
}

// WhenFull sets the Context's FullPolicy.
func WhenFull(p FullPolicy) Option { return func(c *config) { c.full = p } }

// defaultMaxBlocking is MaxBlocking's default, for Contexts of at least
// that capacity: enough blocking reads at once to keep a disk's queue as
// deep as os.File's goroutines would, few enough threads to stay cheap.
const defaultMaxBlocking = 64

// MaxBlocking sets how many reads and writes of buffered files the
// Context's Files may have in blocking system calls at once, each holding
// an OS thread: reads the page cache could not serve, and writes (see
// File). Further calls wait for their turn, holding no thread. The default
// is the Context's capacity, up to 64. NewContext refuses n < 1.
func MaxBlocking(n int) Option {
	return func(c *config) { c.blocking, c.blockingSet = n, true }
}

// blockingLimit returns MaxBlocking's limit for a Context of capacity
// maxEvents.
func (c *config) blockingLimit(maxEvents int) int {
	if c.blockingSet {
		return c.blocking
	}
	return min(maxEvents, defaultMaxBlocking)
}
