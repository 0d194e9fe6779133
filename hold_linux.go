//go:build linux && cgo

package aio

import (
	"errors"
	"os"
	"syscall"
)

// Holding files open around io_submit. Submit reads each Block's descriptor
// when it claims the Block (lookupFD), and io_submit may come later, in a
// flush made by another goroutine. A caller closing the file in between
// would let the kernel get a closed number, or one that a file opened
// meanwhile has reused: a write could land in the wrong file. So a flush
// holds every file of its batch open through its RawConn's Control, as
// os.File holds its own descriptor during a read, from before io_submit
// until it returns; a file found closed by then is refused, with the Blocks
// after it in its Submit round. Descriptors given as FD are the caller's
// to keep open, and are not held.

// holds is the flush's scratch for holding files, guarded by subMu.
type holds struct {
	files []heldFile       // distinct files of the batch, by first Block
	seen  map[any]struct{} // holdKeys, for batches of many files
	fns   []func(uintptr)  // fns[k] holds files[k+1:] and submits
	n     int              // requests to submit, from the front
	got   int              // how many io_submit took
	errno syscall.Errno    // why it stopped short of n
	gone  error            // why a file could not be held (os.ErrClosed, or its Control panicked): n was cut to its first Block
	ran   bool             // Submit was called: once only
}

// heldFile is a file of the batch and the index of its first Block.
type heldFile struct {
	key   any
	rc    syscall.RawConn
	first int
}

// manyFiles is the number of files past which submitHolding finds the
// distinct ones with a map rather than by looking through those found.
const manyFiles = 8

// submitHolding submits q's requests, prepared in the core's descriptor
// array, with their files held open. It returns how many io_submit took,
// the errno that stopped it short, and why a file could not be held
// (os.ErrClosed, or its Control panicked), if one could not: then the
// requests before that file's first Block went in and that Block is
// q[got]. The caller holds subMu.
func (s *state) submitHolding(q []queued) (int, syscall.Errno, error) {
	h := &s.holds
	for i, e := range q {
		key := e.b.holdKey
		if _, ok := e.b.rc.(rawFD); ok || (i > 0 && q[i-1].b.holdKey == key) {
			continue
		}
		if h.known(key) {
			continue
		}
		h.files = append(h.files, heldFile{key, e.b.rc, i})
	}
	h.n, h.got, h.errno, h.gone, h.ran = len(q), 0, 0, nil, false
	s.holdFrom(0)
	clear(h.files)
	h.files = h.files[:0]
	clear(h.seen)
	return h.got, h.errno, h.gone
}

// known reports whether the file with holdKey key is among the files
// found, noting it if not.
func (h *holds) known(key any) bool {
	if len(h.files) < manyFiles {
		for _, f := range h.files {
			if f.key == key {
				return true
			}
		}
		return false
	}
	if h.seen == nil {
		h.seen = make(map[any]struct{})
	}
	if len(h.seen) == 0 {
		for _, f := range h.files {
			h.seen[f.key] = struct{}{}
		}
	}
	if _, ok := h.seen[key]; ok {
		return true
	}
	h.seen[key] = struct{}{}
	return false
}

// holdFrom holds files[k:] open, each inside the Control of the one
// before, then submits the first n requests. A file found closed cuts n to
// its first Block; files whose first Block is past n need no holding.
func (s *state) holdFrom(k int) {
	h := &s.holds
	for k < len(h.files) && h.files[k].first >= h.n {
		k++
	}
	if k == len(h.files) {
		if h.n > 0 {
			h.ran = true
			h.got, h.errno = s.core.Submit(h.n)
		}
		return
	}
	for len(h.fns) <= k {
		next := len(h.fns) + 1
		h.fns = append(h.fns, func(uintptr) { s.holdFrom(next) })
	}
	if err := control(h.files[k].rc, h.fns[k]); err != nil && !h.ran {
		// Closed since its Blocks were claimed, or its Control
		// panicked before holding it. (A Control that ran the
		// function and then failed held the file all the same.)
		h.n, h.gone = h.files[k].first, os.ErrClosed
		if errors.Is(err, errControlPanic) {
			h.gone = err
		}
		s.holdFrom(k + 1)
	}
}
