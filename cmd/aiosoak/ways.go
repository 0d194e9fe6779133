//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	"github.com/linuxaio/aio"
)

// recordIO is one way of doing I/O through the package: reads and writes
// at offsets of one file, safe for concurrent use, each call one I/O that
// completes before the call returns. Close releases what the way set up
// (its Context, its goroutine), not the file.
type recordIO interface {
	io.ReaderAt
	io.WriterAt
	io.Closer
}

// A way makes a recordIO over f for depth concurrent callers.
type way struct {
	name string
	open func(f *os.File, depth int) (recordIO, error)
}

// ways are the ways the soak runs, each on an O_DIRECT file and on a
// buffered one.
var ways = []way{
	{"stream", openStream},
	{"wait", openWait},
	{"nowait", openNoWait},
	{"manual", openManual},
	{"file", openFile},
}

// openFile does I/O through aio.File's ReadAt and WriteAt, from the
// writers' goroutines at once. A File owns and closes its file, so it gets
// a descriptor of its own, opened as f is.
func openFile(f *os.File, depth int) (recordIO, error) {
	flags, err := accessFlags(f)
	if err != nil {
		return nil, err
	}
	g, err := os.OpenFile(f.Name(), flags, 0)
	if err != nil {
		return nil, err
	}
	ctx, err := aio.NewContext(depth)
	if err != nil {
		g.Close()
		return nil, err
	}
	file, err := ctx.File(g)
	if err != nil {
		g.Close()
		ctx.Close()
		return nil, err
	}
	return fileIO{file, ctx}, nil
}

// accessFlags returns f's access mode and O_DIRECT flag.
func accessFlags(f *os.File) (int, error) {
	rc, err := f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var fl uintptr
	var errno syscall.Errno
	if err := rc.Control(func(fd uintptr) {
		fl, _, errno = syscall.Syscall(syscall.SYS_FCNTL, fd, syscall.F_GETFL, 0)
	}); err != nil {
		return 0, err
	}
	if errno != 0 {
		return 0, errno
	}
	return int(fl) & (syscall.O_ACCMODE | syscall.O_DIRECT), nil
}

type fileIO struct {
	*aio.File
	ctx *aio.Context
}

func (f fileIO) Close() error { return errors.Join(f.File.Close(), f.ctx.Close()) }

// blockIO is a recordIO made of depth reusable Blocks, each with its own
// completion channel; the ways differ in how a completion reaches it.
type blockIO struct {
	ctx    *aio.Context
	free   chan *op                     // idle ops
	ops    map[*aio.Block]*op           // read only once made: routes events
	wait   func(*op) (aio.Event, error) // waits for the op's event
	router chan struct{}                // closed when the routing goroutine ends; nil without one
}

type op struct {
	b    *aio.Block
	done chan aio.Event // the event, from the routing goroutine
}

func newBlockIO(f *os.File, depth int, opts ...aio.Option) (*blockIO, error) {
	ctx, err := aio.NewContext(depth, opts...)
	if err != nil {
		return nil, err
	}
	r := &blockIO{ctx: ctx, free: make(chan *op, depth), ops: make(map[*aio.Block]*op, depth)}
	for range depth {
		o := &op{b: aio.NewRead(f, nil, 0), done: make(chan aio.Event, 1)}
		r.ops[o.b] = o
		r.free <- o
	}
	r.wait = func(o *op) (aio.Event, error) { return <-o.done, nil }
	return r, nil
}

// openStream delivers completions on the Context's Events channel, from
// which one goroutine hands each to its caller.
func openStream(f *os.File, depth int) (recordIO, error) {
	r, err := newBlockIO(f, depth)
	if err != nil {
		return nil, err
	}
	r.router = make(chan struct{})
	go func() {
		defer close(r.router)
		for ev := range r.ctx.Events() {
			r.ops[ev.Block].done <- ev
		}
	}()
	return r, nil
}

// openNoWait is openWait on a Context made with TryNoWait: buffered reads
// go with RWF_NOWAIT first, and what the page cache lacks is sent again.
func openNoWait(f *os.File, depth int) (recordIO, error) {
	return openWaitWith(f, depth, aio.TryNoWait())
}

// openWait sets every Block to wait: each caller takes its own completion
// with Block.Wait.
func openWait(f *os.File, depth int) (recordIO, error) { return openWaitWith(f, depth) }

// openWaitWith is openWait on a Context made with opts.
func openWaitWith(f *os.File, depth int, opts ...aio.Option) (recordIO, error) {
	r, err := newBlockIO(f, depth, opts...)
	if err != nil {
		return nil, err
	}
	for b := range r.ops {
		if err := b.SetWait(true); err != nil {
			r.ctx.Close()
			return nil, err
		}
	}
	r.wait = func(o *op) (aio.Event, error) { return o.b.Wait(context.Background()) }
	return r, nil
}

// openManual reaps with GetEvents on a Manual Context, from one goroutine
// that hands each completion to its caller.
func openManual(f *os.File, depth int) (recordIO, error) {
	r, err := newBlockIO(f, depth, aio.Manual())
	if err != nil {
		return nil, err
	}
	r.router = make(chan struct{})
	go func() {
		defer close(r.router)
		for {
			evs, err := r.ctx.GetEvents(1, depth, -1)
			for _, ev := range evs {
				r.ops[ev.Block].done <- ev
			}
			if errors.Is(err, aio.ErrClosed) {
				return
			}
			if err != nil {
				// Callers would wait for ever: nothing to do but stop.
				fmt.Fprintf(os.Stderr, "aiosoak: GetEvents: %v\n", err)
				os.Exit(2)
			}
		}
	}()
	return r, nil
}

func (r *blockIO) ReadAt(p []byte, off int64) (int, error) { return r.do(aio.CmdRead, p, off) }

func (r *blockIO) WriteAt(p []byte, off int64) (int, error) { return r.do(aio.CmdWrite, p, off) }

// do runs one read or write on an idle op and waits for its event.
func (r *blockIO) do(cmd aio.Command, p []byte, off int64) (int, error) {
	o := <-r.free
	defer func() { r.free <- o }()
	if err := errors.Join(o.b.SetCommand(cmd), o.b.SetBuffer(p), o.b.SetOffset(off)); err != nil {
		return 0, err
	}
	if _, err := r.ctx.Submit(o.b); err != nil {
		return 0, err
	}
	ev, err := r.wait(o)
	switch {
	case err != nil:
		return 0, err
	case ev.Block != o.b:
		return 0, fmt.Errorf("%v at %d: the event of another Block", cmd, off)
	case ev.Err() != nil:
		return 0, fmt.Errorf("%v at %d: %w", cmd, off, ev.Err())
	case ev.N() != len(p):
		return ev.N(), fmt.Errorf("%v at %d: %d of %d bytes", cmd, off, ev.N(), len(p))
	}
	return len(p), nil
}

// Close closes the Context, once no call is in progress, and waits for the
// routing goroutine to end.
func (r *blockIO) Close() error {
	err := r.ctx.Close()
	if r.router != nil {
		<-r.router
	}
	return err
}
