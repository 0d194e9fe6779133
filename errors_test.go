//go:build linux && cgo

package aio_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/linuxaio/aio"
)

// Every public call's errors are *aio.Errors named after the call, with the
// system call that failed in Syscall (or none when the package refused the
// call itself), and a text that starts "aio: Op: [Syscall: ]".
func TestErrorOps(t *testing.T) {
	ctx := streamContext(t, 4)
	manual := newContext(t, 4)
	ro := tempFile(t, []byte("data"))
	readOnly, err := os.Open(ro.Name())
	if err != nil {
		t.Fatal(err)
	}
	defer readOnly.Close()
	file := mustFile(t, ctx, reopen(t, ro))
	defer file.Close()
	closedFile := mustFile(t, ctx, reopen(t, ro))
	if err := closedFile.Close(); err != nil {
		t.Fatal(err)
	}
	pool, err := aio.NewBufferPool(4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	closedPool, err := aio.NewBufferPool(4096, 0)
	if err != nil {
		t.Fatal(err)
	}
	closedPool.Close()
	defer pool.Close()
	idle := aio.NewRead(ro, make([]byte, 4), 0)
	cases := []struct {
		op, syscall string
		call        func() error
	}{
		{"NewContext", "", func() error { _, err := aio.NewContext(0); return err }},
		{"Submit", "", func() error { _, err := ctx.Submit(nil); return err }},
		{"Submit", "", func() error { _, err := ctx.SubmitContext(context.Background(), nil); return err }},
		{"Submit", "io_submit", func() error { _, err := manual.Submit(aio.NewWrite(readOnly, []byte("x"), 0)); return err }},
		{"GetEvents", "", func() error { _, err := ctx.GetEvents(1, 1, 0); return err }},
		{"GetEventsInto", "", func() error { _, err := ctx.GetEventsInto(make([]aio.Event, 1), 1, 0); return err }},
		{"Wait", "", func() error { _, err := idle.Wait(context.Background()); return err }},
		{"Cancel", "", func() error { return ctx.Cancel(nil) }},
		{"Cancel", "", func() error { return ctx.Cancel(idle) }},
		{"Block.SetCommand", "", func() error { return idle.SetCommand(aio.Command(99)) }},
		{"Block.SetPriority", "", func() error { return idle.SetPriority(aio.PrioClass(7), 0) }},
		{"Block.SetResFD", "", func() error { return idle.SetResFD(1 << 40) }},
		{"File", "", func() error { _, err := ctx.File(nil); return err }},
		{"File.ReadAt", "", func() error { _, err := file.ReadAt(make([]byte, 1), -1); return err }},
		{"File.WriteAt", "pwrite64", func() error {
			f := mustFile(t, ctx, reopen(t, readOnly))
			defer f.Close()
			_, err := f.WriteAt([]byte("x"), 0)
			return err
		}},
		{"File.Sync", "", func() error { return closedFile.Sync() }},
		{"File.Datasync", "", func() error { return closedFile.Datasync() }},
		{"DirectAlignment", "", func() error { _, err := aio.DirectAlignment(nil); return err }},
		{"OpenDirect", "open", func() error {
			_, _, err := aio.OpenDirect(filepath.Join(t.TempDir(), "missing"), os.O_RDONLY, 0)
			return err
		}},
		{"AlignedBuffer", "", func() error { _, err := aio.AlignedBuffer(0, 0); return err }},
		{"FreeBuffer", "", func() error { return aio.FreeBuffer(make([]byte, 8)) }},
		{"NewBufferPool", "", func() error { _, err := aio.NewBufferPool(0, 0); return err }},
		{"BufferPool.Get", "", func() error { _, err := closedPool.Get(); return err }},
		{"BufferPool.Put", "", func() error { return pool.Put(make([]byte, 4096)) }},
		{"HaveCommand", "", func() error { return aio.HaveCommand(aio.Command(99)) }},
		{"HaveRWFlags", "", func() error { return aio.HaveRWFlags(1 << 30) }},
	}
	for _, c := range cases {
		err := c.call()
		var e *aio.Error
		if !errors.As(err, &e) {
			t.Errorf("%s: %#v is not an *aio.Error", c.op, err)
			continue
		}
		prefix := "aio: " + c.op + ": "
		if c.syscall != "" {
			prefix += c.syscall + ": "
		}
		if e.Op != c.op || e.Syscall != c.syscall || !strings.HasPrefix(err.Error(), prefix) {
			t.Errorf("%s: Op %q, Syscall %q, %q; want Op %q, Syscall %q, text starting %q",
				c.op, e.Op, e.Syscall, err, c.op, c.syscall, prefix)
		}
	}
}

// Error's text puts each field in its place, and errors.Is finds the cause.
func TestErrorText(t *testing.T) {
	e := &aio.Error{Op: "Submit", Syscall: "io_submit", Index: 3, Err: syscall.EINVAL, Detail: "why"}
	if got, want := e.Error(), "aio: Submit: io_submit: block 3: invalid argument (why)"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	e = &aio.Error{Op: "Wait", Index: -1, Err: aio.ErrNotInFlight}
	if got, want := e.Error(), "aio: Wait: block not in flight on this context"; got != want {
		t.Fatalf("%q, want %q", got, want)
	}
	if !errors.Is(e, aio.ErrNotInFlight) || errors.Is(e, aio.ErrClosed) {
		t.Fatal("errors.Is does not see Err")
	}
}
