package aio

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
)

// iovMax is IOV_MAX on Linux: the most buffers one readv or writev takes.
const iovMax = 1024

// Block is one I/O request: a command, the file it applies to, and its
// buffers, offset and flags. Make one with NewRead, NewWrite, NewReadV,
// NewWriteV, NewFsync, NewFdsync or NewPoll, submit it with Context.Submit,
// and receive its result as an Event.
//
// A Block is reusable: once its event has been delivered it is idle again
// and may be changed (SetOffset, SetBuffer, SetCommand, ...) and submitted
// anew, without allocating. While it is in flight the Context owns it:
// submitting it again returns ErrInFlight and its setters return ErrInFlight
// and change nothing.
//
// Buffer lifetime: from Submit until its event is delivered, the kernel may
// write the Block's buffers at any time. The Block pins them
// (runtime.Pinner) and keeps them and its file referenced for that time, so
// the garbage collector neither moves nor frees them; the caller must not
// read or write them until the event arrives.
//
// Files: a Block keeps its file referenced and reads the descriptor again
// at each Submit, so a file closed in the meantime is refused. A file may
// also be closed while a Submit of the Block runs on another goroutine, as
// an *os.File may be closed during a Read: Submit holds the file open from
// reading its descriptor until io_submit has taken it, so the Block either
// goes in or is refused with os.ErrClosed, and its I/O never reaches
// another file that reused the number. Once submitted, the kernel holds its
// own reference to the file, and closing it does not disturb the I/O. A
// raw FD is not held: keep it open until the Block's event.
//
// A Block is not safe for concurrent use: change it from one goroutine at a
// time, and only while it is idle.
type Block struct {
	request
	target
	flight
	waiter
}

// request is what the Block asks of the kernel. Its user owns it, and
// changes it only while the Block is idle (the setters check); from Submit
// to the event the Context reads it, unguarded, as the kernel may.
type request struct {
	cmd     Command
	buf     []byte
	bufs    [][]byte
	iov     []iovec // bufs' addresses, filled by prepare under subMu
	off     int64
	events  PollEvents
	rwFlags RWFlags
	ioprio  uint16
	resfd   int32
}

// flight is the Context's bookkeeping of the Block in flight. owner and
// stamp are atomic; the rest is guarded by the owner's mu while the Block
// is in flight, and untouched while it is idle.
type flight struct {
	// stamp is the last large Submit call that saw the Block, to find
	// it given twice in one call (see pairwiseMax).
	stamp atomic.Uint64
	// owner is the Context the Block is in flight on, nil when idle.
	// Submit claims a Block by swapping nil for its Context.
	owner         atomic.Pointer[state]
	slot          uint32 // the Block's slot
	submitted     bool   // io_submit has returned having taken it
	cancelPending bool   // Cancel came before that: cancel once it has
	cancelled     bool   // io_cancel succeeded
	// A read TryNoWait sends with RWF_NOWAIT first (nowait), and which
	// it has sent again (retried) for the bytes after the first skip.
	nowait  bool
	retried bool
	skip    int64
	pinner  runtime.Pinner
	claim   uint64 // numbers its claims on the owner
	// yielded: a Completions loop handed out the Block's event, and it
	// has not been claimed since; a Submit of it from the loop's body
	// may wait for the body to end (see lead_linux.go).
	yielded bool
}

// waiter is the Block's own completion, for a Block set with SetWait (see
// wait.go): the event, and a token in waitCh once it is there. waitMu
// makes clearing owner and sending the token one step (see complete).
// unsent, with the event, says why a detached Block (see submitGathering)
// was not submitted after all. ev and unsent are written by the reaper
// before the token is sent and read by Wait after it is taken.
type waiter struct {
	wait   bool
	waitCh chan struct{}
	waitMu sync.Mutex
	ev     Event
	unsent *Error // with no Detail: see unsentError
	// A File call's Block may wait on an eventfd of the call's own
	// (waking), which the kernel signals in place of the stream's (see
	// waker_linux.go).
	waking  bool
	wakeFD  wakerFD
	wakeBuf [8]byte
}

// iovec is struct iovec (a pointer and a size_t), filled at submission
// with pinned addresses.
type iovec struct {
	base uintptr
	len  uintptr
}

func newBlock(cmd Command, f syscall.Conn) *Block {
	b := &Block{request: request{cmd: cmd, resfd: -1}}
	b.setFile(f)
	return b
}

// NewRead returns a Block that reads len(buf) bytes from f at offset off.
// f is an *os.File, an FD, or anything else with a SyscallConn method. The
// Block keeps f referenced, and reads its descriptor again at each Submit:
// a file closed in the meantime is refused with os.ErrClosed. Submit
// refuses reads and writes of a directory (EISDIR), and of a socket, a
// pipe, a FIFO or any other file that pread(2) refuses (ESPIPE): kernel AIO
// would read those at their current position, ignoring off. To read a
// pipe, wait for it with NewPoll, then read it through its *os.File.
func NewRead(f syscall.Conn, buf []byte, off int64) *Block {
	b := newBlock(CmdRead, f)
	b.buf, b.off = buf, off
	return b
}

// NewWrite returns a Block that writes buf to f at offset off.
func NewWrite(f syscall.Conn, buf []byte, off int64) *Block {
	b := newBlock(CmdWrite, f)
	b.buf, b.off = buf, off
	return b
}

// NewReadV returns a Block that reads from f at offset off into bufs, in
// order (preadv(2)). At most 1024 buffers (IOV_MAX).
func NewReadV(f syscall.Conn, bufs [][]byte, off int64) *Block {
	b := newBlock(CmdReadV, f)
	b.setBuffers(bufs)
	b.off = off
	return b
}

// NewWriteV returns a Block that writes bufs, in order, to f at offset off
// (pwritev(2)). At most 1024 buffers (IOV_MAX).
func NewWriteV(f syscall.Conn, bufs [][]byte, off int64) *Block {
	b := newBlock(CmdWriteV, f)
	b.setBuffers(bufs)
	b.off = off
	return b
}

// NewFsync returns a Block that flushes f's data and metadata to its device,
// like fsync(2). It needs Linux 4.18.
func NewFsync(f syscall.Conn) *Block { return newBlock(CmdFsync, f) }

// NewFdsync returns a Block that flushes f's data, and only the metadata
// needed to read it back, like fdatasync(2). It needs Linux 4.18.
func NewFdsync(f syscall.Conn) *Block { return newBlock(CmdFdsync, f) }

// NewPoll returns a Block that completes when f is ready for any of events;
// the event's PollEvents gives the ready mask. events 0 means PollDefault
// (in, out and priority data). f may be an *os.File (a pipe end, a device),
// a net.Conn, or an FD; its blocking mode is left as it is. A pending poll
// can be cancelled with Context.Cancel. It needs Linux 4.19.
func NewPoll(f syscall.Conn, events PollEvents) *Block {
	b := newBlock(CmdPoll, f)
	b.setPollEvents(events)
	return b
}

func (b *Block) setBuffers(bufs [][]byte) {
	b.bufs = bufs
	if cap(b.iov) < len(bufs) {
		b.iov = make([]iovec, len(bufs))
	}
	b.iov = b.iov[:len(bufs)]
}

func (b *Block) setPollEvents(events PollEvents) {
	if events == 0 {
		events = PollDefault
	}
	b.events = events
}

// idle returns ErrInFlight while the Block is in flight.
func (b *Block) idle() error {
	if b.owner.Load() != nil {
		return ErrInFlight
	}
	return nil
}

// Command returns the Block's command.
func (b *Block) Command() Command { return b.cmd }

// SetCommand changes the Block's command, keeping its file, buffers, offset
// and flags: a read Block becomes a write of the same buffer, a readv a
// writev, an fsync an fdsync (linux_aio's change_cmd). The Block must carry
// what the new command needs (a buffer for CmdRead and CmdWrite, buffers for
// CmdReadV and CmdWriteV), or Submit refuses it.
func (b *Block) SetCommand(cmd Command) error {
	if err := b.idle(); err != nil {
		return err
	}
	switch cmd {
	case CmdRead, CmdWrite, CmdFsync, CmdFdsync, CmdPoll, CmdReadV, CmdWriteV:
	default:
		return opError("Block.SetCommand", syscall.EINVAL, "unknown command "+strconv.Itoa(int(cmd)))
	}
	b.cmd = cmd
	if cmd == CmdPoll && b.events == 0 {
		b.events = PollDefault
	}
	return nil
}

// Offset returns the file offset of a read or write.
func (b *Block) Offset() int64 { return b.off }

// SetOffset changes the file offset of a read or write.
func (b *Block) SetOffset(off int64) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.off = off
	return nil
}

// Buffer returns the buffer of a CmdRead or CmdWrite Block.
func (b *Block) Buffer() []byte { return b.buf }

// SetBuffer changes the buffer of a CmdRead or CmdWrite Block.
func (b *Block) SetBuffer(buf []byte) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.buf = buf
	return nil
}

// Buffers returns the buffers of a CmdReadV or CmdWriteV Block.
func (b *Block) Buffers() [][]byte { return b.bufs }

// SetBuffers changes the buffers of a CmdReadV or CmdWriteV Block.
func (b *Block) SetBuffers(bufs [][]byte) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.setBuffers(bufs)
	return nil
}

// PollEvents returns the events a CmdPoll Block waits for.
func (b *Block) PollEvents() PollEvents { return b.events }

// SetPollEvents changes the events a CmdPoll Block waits for; 0 means
// PollDefault.
func (b *Block) SetPollEvents(events PollEvents) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.setPollEvents(events)
	return nil
}

// RWFlags returns the Block's RWF flags.
func (b *Block) RWFlags() RWFlags { return b.rwFlags }

// SetRWFlags sets the RWF flags of a read or write, replacing the previous
// ones. The kernel checks them at Submit: an unknown flag gets EOPNOTSUPP.
func (b *Block) SetRWFlags(flags RWFlags) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.rwFlags = flags
	return nil
}

// Priority returns the Block's I/O priority class and level.
func (b *Block) Priority() (PrioClass, int) {
	return PrioClass(b.ioprio >> 13), int(b.ioprio & 0x7)
}

// SetPriority sets the I/O priority of a read or write (IOCB_FLAG_IOPRIO):
// a class and a level from 0 (highest) to 7. PrioClassNone with level 0
// removes it, so that the process's priority applies. PrioClassRT needs
// CAP_SYS_ADMIN or CAP_SYS_NICE; without it Submit fails with EPERM.
func (b *Block) SetPriority(class PrioClass, level int) error {
	if err := b.idle(); err != nil {
		return err
	}
	if class > PrioClassIdle || level < 0 || level >= PrioLevels {
		return opError("Block.SetPriority", syscall.EINVAL, fmt.Sprintf("I/O priority class %d level %d", class, level))
	}
	b.ioprio = uint16(class)<<13 | uint16(level)
	return nil
}

// ResFD returns the eventfd the kernel signals when the Block completes, or
// -1 for none.
func (b *Block) ResFD() int { return int(b.resfd) }

// SetResFD makes the kernel add 1 to the eventfd fd when the Block completes
// (IOCB_FLAG_RESFD); a negative fd removes it. The eventfd must stay open
// until then. An fd that is not an open eventfd makes Submit fail (EBADF or
// EINVAL).
func (b *Block) SetResFD(fd int) error {
	if err := b.idle(); err != nil {
		return err
	}
	if fd < 0 {
		fd = -1
	}
	if fd > math.MaxInt32 {
		return opError("Block.SetResFD", syscall.EBADF, "resfd "+strconv.Itoa(fd)+" is out of range")
	}
	b.resfd = int32(fd)
	return nil
}

// InFlight reports whether the Block has been submitted and its event not
// yet delivered.
func (b *Block) InFlight() bool { return b.owner.Load() != nil }
