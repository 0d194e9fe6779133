//go:build !linux || !cgo

package aio

import (
	"context"
	"os"
	"time"
)

// Context is a kernel AIO context. Kernel AIO needs Linux and cgo: in this
// build every method returns an error wrapping ErrNotSupported, so that
// importers still compile.
type Context struct{}

type state struct{}

func directAlign(fd int32) dioAlign { return dioAlign{} }

func openFlags(fd int) (direct, appendOnly bool) { return false, false }

// DirectAlignment returns an error wrapping ErrNotSupported in this build.
func DirectAlignment(f *os.File) (Alignment, error) {
	return Alignment{}, unsupported("direct alignment")
}

// OpenDirect returns an error wrapping ErrNotSupported in this build.
func OpenDirect(name string, flag int, perm os.FileMode) (*os.File, Alignment, error) {
	return nil, Alignment{}, unsupported("open")
}
func kindOf(fd int32) fileKind { return kindFile }

func dupFD(fd int) (int, error) { return -1, unsupported("dup") }

func closeFD(fd int) {}

func unsentError(b *Block) error { return nil }

func unsupported(op string) error {
	return opError(op, ErrNotSupported, "this package needs Linux and cgo (CGO_ENABLED=1, gcc and libaio)")
}

// NewContext returns an error wrapping ErrNotSupported in this build.
func NewContext(maxEvents int, opts ...Option) (*Context, error) { return nil, unsupported("io_setup") }

// Cap returns 0 in this build.
func (c *Context) Cap() int { return 0 }

// InFlight returns 0 in this build.
func (c *Context) InFlight() int { return 0 }

// Submit returns an error wrapping ErrNotSupported in this build.
func (c *Context) Submit(blocks ...*Block) (int, error) { return 0, unsupported("submit") }

// SubmitContext returns an error wrapping ErrNotSupported in this build.
func (c *Context) SubmitContext(ctx context.Context, blocks ...*Block) (int, error) {
	return 0, unsupported("submit")
}

func (c *Context) submitGathering(ctx context.Context, blocks []*Block) (int, error) {
	return 0, unsupported("submit")
}

// Events returns nil in this build.
func (c *Context) Events() <-chan Event { return nil }

// Stats returns zero counters in this build.
func (c *Context) Stats() Stats { return Stats{} }

// GetEvents returns an error wrapping ErrNotSupported in this build.
func (c *Context) GetEvents(minNr, maxNr int, timeout time.Duration) ([]Event, error) {
	return nil, unsupported("io_getevents")
}

// Cancel returns an error wrapping ErrNotSupported in this build.
func (c *Context) Cancel(b *Block) error { return unsupported("io_cancel") }

// Close does nothing in this build.
func (c *Context) Close() error { return nil }
