//go:build linux && cgo

// Package aiocore is the cgo bridge to the C core in csrc/: the only Go code
// that calls C. Package csrc compiles the core and has no Go API; this
// package imports it for that and includes its header, aiocore.h. Its names
// map one to one onto aiocore.h; it adds no policy. Errors are returned as syscall.Errno (0 for none), as the C core
// returns them.
//
// A Ctx is not safe for concurrent use as a whole. Submission (Reqs, Submit,
// Cancel) and reaping (Events, GetEvents) touch disjoint C memory, so one
// goroutine may submit while another reaps.
package aiocore

/*
#cgo CFLAGS: -I${SRCDIR}/../../csrc
#cgo CFLAGS: -std=gnu11
#cgo CFLAGS: -D_GNU_SOURCE
#include <stddef.h>
#include <stdlib.h>
#include "aiocore.h"

// Field offsets as constants, for the layout checks below.
enum {
	aioc_req_offset_off = offsetof(struct aioc_req, offset),
	aioc_event_res_off = offsetof(struct aioc_event, res),
};
*/
import "C"

import (
	"syscall"
	"time"
	"unsafe"

	// The C core, compiled by the go command from csrc/: the functions
	// this package calls are linked from its objects.
	_ "github.com/linuxaio/aio/csrc"
)

// Commands: the kernel's IOCB_CMD_* numbers. Package aio's Command
// constants are checked against these at compile time.
const (
	CmdPread   = C.AIOC_CMD_PREAD
	CmdPwrite  = C.AIOC_CMD_PWRITE
	CmdFsync   = C.AIOC_CMD_FSYNC
	CmdFdsync  = C.AIOC_CMD_FDSYNC
	CmdPoll    = C.AIOC_CMD_POLL
	CmdPreadv  = C.AIOC_CMD_PREADV
	CmdPwritev = C.AIOC_CMD_PWRITEV
)

// Flags for Req.RWFlags: the kernel's RWF_* numbers. Package aio's RWFlags
// constants are checked against these at compile time.
const (
	RWFHipri     = C.AIOC_RWF_HIPRI
	RWFDsync     = C.AIOC_RWF_DSYNC
	RWFSync      = C.AIOC_RWF_SYNC
	RWFNowait    = C.AIOC_RWF_NOWAIT
	RWFAppend    = C.AIOC_RWF_APPEND
	RWFNoappend  = C.AIOC_RWF_NOAPPEND
	RWFAtomic    = C.AIOC_RWF_ATOMIC
	RWFDontcache = C.AIOC_RWF_DONTCACHE
	RWFNosignal  = C.AIOC_RWF_NOSIGNAL
)

// MaxSlots is the largest slot count Create accepts.
const MaxSlots = C.AIOC_MAX_SLOTS

// Req mirrors struct aioc_req. Buf holds an address as an integer: the
// memory behind it must be pinned (or not Go memory) until its event is
// reaped, because the kernel writes to it after the cgo call returns.
type Req struct {
	Slot     uint32
	Opcode   uint16
	Ioprio   uint16
	Fd       int32
	Resfd    int32
	RWFlags  uint32
	reserved uint32
	Buf      uint64
	Len      uint64
	Offset   int64
}

// Event mirrors struct aioc_event (the kernel's struct io_event). Data is the
// slot number of the request.
type Event struct {
	Data uint64
	Obj  uint64
	Res  int64
	Res2 int64
}

// The mirrors must match the C layout exactly; these fail to compile if not.
var (
	_ [unsafe.Sizeof(Req{}) - C.sizeof_struct_aioc_req]byte
	_ [C.sizeof_struct_aioc_req - unsafe.Sizeof(Req{})]byte
	_ [unsafe.Offsetof(Req{}.Offset) - C.aioc_req_offset_off]byte
	_ [C.aioc_req_offset_off - unsafe.Offsetof(Req{}.Offset)]byte
	_ [unsafe.Offsetof(Event{}.Res) - C.aioc_event_res_off]byte
	_ [C.aioc_event_res_off - unsafe.Offsetof(Event{}.Res)]byte
	_ [unsafe.Sizeof(Event{}) - C.sizeof_struct_aioc_event]byte
	_ [C.sizeof_struct_aioc_event - unsafe.Sizeof(Event{})]byte
)

// Ctx is a kernel AIO context with its slot tables in C memory.
type Ctx struct {
	c      *C.struct_aioc_ctx
	reqs   []Req
	events []Event
	// done receives aioc_submit's count. It lives in C memory because a
	// Go variable whose address is passed to C escapes to the heap: one
	// allocation per Submit.
	done *C.uint32_t
}

// Create sets up a context for nslots requests in flight (aioc_create).
func Create(nslots int) (*Ctx, syscall.Errno) {
	if nslots <= 0 || nslots > MaxSlots {
		return nil, syscall.EINVAL
	}
	var c *C.struct_aioc_ctx
	if r := C.aioc_create(&c, C.uint32_t(nslots)); r < 0 {
		return nil, syscall.Errno(-r)
	}
	done := (*C.uint32_t)(C.malloc(C.sizeof_uint32_t))
	if done == nil {
		C.aioc_destroy(c)
		return nil, syscall.ENOMEM
	}
	return &Ctx{
		c:      c,
		reqs:   unsafe.Slice((*Req)(unsafe.Pointer(C.aioc_reqs(c))), nslots),
		events: unsafe.Slice((*Event)(unsafe.Pointer(C.aioc_events(c))), nslots),
		done:   done,
	}, 0
}

// Destroy destroys the kernel context, waiting for I/O the kernel cannot
// cancel, and frees the C memory (aioc_destroy). The Ctx must not be used
// afterwards.
func (x *Ctx) Destroy() syscall.Errno {
	r := C.aioc_destroy(x.c)
	C.free(unsafe.Pointer(x.done))
	x.c, x.reqs, x.events, x.done = nil, nil, nil, nil
	return errno(r)
}

// Slots returns the slot count.
func (x *Ctx) Slots() int { return len(x.reqs) }

// Reqs returns the descriptor array, in C memory, that Submit reads.
func (x *Ctx) Reqs() []Req { return x.reqs }

// Events returns the event array, in C memory, that GetEvents fills.
func (x *Ctx) Events() []Event { return x.events }

// Submit submits Reqs()[:n] in one call (aioc_submit). It returns how many
// the kernel took from the front, and the error that stopped the rest.
func (x *Ctx) Submit(n int) (int, syscall.Errno) {
	r := C.aioc_submit(x.c, C.uint32_t(n), x.done)
	return int(*x.done), errno(r)
}

// Resubmit submits the request in slot again by itself, with rwFlags in
// place of its flags and, for a read, its first skip bytes left out
// (aioc_resubmit). It may run while another goroutine submits or reaps.
func (x *Ctx) Resubmit(slot uint32, rwFlags uint32, skip uint64) syscall.Errno {
	return errno(C.aioc_resubmit(x.c, C.uint32_t(slot), C.uint32_t(rwFlags), C.uint64_t(skip)))
}

// GetEvents reaps between min and max events into Events() with
// io_getevents only (aioc_getevents). A negative timeout waits without
// limit.
func (x *Ctx) GetEvents(min, max int, timeout time.Duration) (int, syscall.Errno) {
	return count(C.aioc_getevents(x.c, C.uint32_t(min), C.uint32_t(max), C.int64_t(timeout)))
}

// Reap reaps between min and max events into Events(), from the ring in
// user space first, then with io_getevents (aioc_reap). A negative timeout
// waits without limit. EBUSY means another goroutine is reaping.
func (x *Ctx) Reap(min, max int, timeout time.Duration) (int, syscall.Errno) {
	return count(C.aioc_reap(x.c, C.uint32_t(min), C.uint32_t(max), C.int64_t(timeout)))
}

// UseRing turns reaping from the ring in user space on or off
// (aioc_use_ring).
func (x *Ctx) UseRing(on bool) syscall.Errno {
	v := C.int(0)
	if on {
		v = 1
	}
	return errno(C.aioc_use_ring(x.c, v))
}

// RingNr returns the ring's size in events, or 0 if it is not usable
// (aioc_ring_nr).
func (x *Ctx) RingNr() int { return int(C.aioc_ring_nr(x.c)) }

// Stats mirrors struct aioc_stats: the context's counters.
type Stats struct {
	SubmitCalls     uint64 // io_submit system calls
	Submitted       uint64 // requests io_submit accepted
	RingEvents      uint64 // events read from the ring in user space
	GetEventsCalls  uint64 // io_getevents system calls
	GetEventsEvents uint64 // events io_getevents returned
}

// Stats returns the context's counters (aioc_stats).
func (x *Ctx) Stats() Stats {
	var s C.struct_aioc_stats
	C.aioc_stats(x.c, &s)
	return Stats{
		SubmitCalls:     uint64(s.submit_calls),
		Submitted:       uint64(s.submitted),
		RingEvents:      uint64(s.ring_events),
		GetEventsCalls:  uint64(s.getevents_calls),
		GetEventsEvents: uint64(s.getevents_events),
	}
}

// Cancel asks the kernel to cancel the request in slot (aioc_cancel).
func (x *Ctx) Cancel(slot uint32) syscall.Errno {
	return errno(C.aioc_cancel(x.c, C.uint32_t(slot)))
}

// DioAlign mirrors struct aioc_dio_align: the O_DIRECT alignment of a file
// for buffer addresses, for write offsets and lengths, and for reads.
type DioAlign struct {
	Mem, Offset, ReadOffset uint32
}

// GetDioAlign returns the O_DIRECT alignment of fd from statx
// (aioc_dio_align).
func GetDioAlign(fd int) (DioAlign, syscall.Errno) {
	var a C.struct_aioc_dio_align
	r := C.aioc_dio_align(C.int(fd), &a)
	return DioAlign{uint32(a.mem), uint32(a.offset), uint32(a.read_offset)}, errno(r)
}

func count(r C.int) (int, syscall.Errno) {
	if r < 0 {
		return 0, syscall.Errno(-r)
	}
	return int(r), 0
}

func errno(r C.int) syscall.Errno {
	if r < 0 {
		return syscall.Errno(-r)
	}
	return 0
}
