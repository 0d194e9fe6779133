//go:build linux && cgo

package aio

import (
	"context"
	"fmt"
	"math"
	"runtime"
	"strconv"
	"sync/atomic"
	"syscall"
)

// Submit: the public calls, and the checks every Block passes before
// anything reaches the kernel. A checked Block goes on to room_linux.go
// (is there room for it?) and queue_linux.go (claimed, queued, flushed).

// Submit submits blocks to the kernel and returns how many, from the front
// of the list, were submitted. Each submitted Block produces exactly one
// Event.
//
// Every Block is checked first (see Block for what it must hold); if any is
// refused, nothing is submitted and the returned *Error names it by Index.
// A Block already in flight, or given twice, is refused with ErrInFlight.
// A Block whose file is closed is refused with os.ErrClosed, and one whose
// descriptor is out of range with EBADF. A read or write with no bytes, a
// negative offset, or an offset and length past the largest int64, is
// refused with EINVAL, and so is one that breaks the O_DIRECT alignment the
// kernel reports; a read or write of a directory with EISDIR, of a socket,
// pipe, FIFO, tty or any other file that cannot seek with ESPIPE (as
// pread(2) would).
// In stream mode a Block with its own eventfd (SetResFD) is refused with
// EINVAL: the stream needs every completion to signal its own eventfd. In
// manual mode a Block set with SetWait is refused with ErrWrongMode.
//
// Past those checks, a Block refused when its turn comes (its file closed
// meanwhile, or submitted elsewhere meanwhile), or refused by the kernel,
// stops the call there: those before it stay submitted, those after it are
// not, and the error names it by Index, which equals the count returned.
//
// When the Context is full, Submit follows its FullPolicy: with FullWait
// (the stream default) it submits what fits and waits for room for the
// rest; with FullError (the manual default) it submits what fits and
// returns an error wrapping ErrFull. The kernel's refusals carry its errno
// (EBADF for a bad fd, EOPNOTSUPP for RWF flags the kernel or file lacks,
// EAGAIN when the kernel is short of resources, ...).
//
// Submit calls from many goroutines at once share io_submit calls: each
// queues its Blocks, and whichever call is first to the kernel submits
// everything queued by then in one io_submit, while the others wait for it
// (Stats shows the sharing). A call whose Blocks are all set to wait
// (SetWait) does not wait for another's io_submit: it returns once its
// Blocks are queued, and a Block the kernel then refuses ends its Wait at
// once with the refusal as its error. The descriptors must stay open until
// the Waits return. With 32 goroutines each submitting and waiting for one
// read, waiting for the shared io_submit cost twice the CPU per read.
//
// For buffered files (no O_DIRECT) the kernel does the I/O inside
// io_submit, so Submit blocks for as long as the I/O takes; other Submit
// calls, and Close, wait for it meanwhile. Where a signal ends such a wait,
// the kernel completes the request with EINTR (or EFAULT, for a copy to a
// buffer that was waiting for its page) in its event, which is delivered
// as it is: the caller submits it again. On a Context made with TryNoWait,
// buffered reads wait for the disk elsewhere, and Submit only for what the
// page cache holds. With O_DIRECT Submit returns once the I/O is queued. Submit on a closed Context returns ErrClosed.
func (c *Context) Submit(blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	return c.s.submit(context.Background(), blocks, false)
}

// SubmitContext is Submit with a context.Context that bounds its wait for
// room when the Context is full under FullWait: when ctx is done, it
// returns the number submitted so far and ctx.Err(). ctx does not cancel
// I/O already submitted.
func (c *Context) SubmitContext(ctx context.Context, blocks ...*Block) (int, error) {
	defer runtime.KeepAlive(c)
	if ctx == nil {
		ctx = context.Background()
	}
	return c.s.submit(ctx, blocks, false)
}

// submitGathering is SubmitContext for callers that each submit one I/O
// and are woken together, as File's are when a batch of completions comes:
// each yields its processor before flushing the queue, so that the others
// queue their Blocks first and one io_submit takes them all. Each io_submit
// costs a system call and, on a virtual disk, a doorbell to the host:
// gathering cuts CPU per I/O where those dominate. A call with no other
// I/O in flight does not yield.
//
// It waits for room whatever the FullPolicy: a File call has no use for
// ErrFull. Blocks set to wait are detached: the call returns how many it
// queued, without waiting for a flush that another goroutine is doing, and
// a Block that the kernel refuses, or that Close finds still queued, ends
// its Wait at once, with the reason in unsent. That saves each call but the
// flushing one a park and a wakeup on subMu. The caller must keep the
// Blocks' descriptors open until their Wait returns. A refusal stops the
// rest of its round, but a call with more Blocks than there is room for
// queues its next round without knowing the outcome of the last; File
// calls that large (over a GiB) report the bytes done up to the first
// failed Block, as io.WriterAt asks, though later ones may have gone in.
func (c *Context) submitGathering(ctx context.Context, blocks []*Block) (int, error) {
	defer runtime.KeepAlive(c)
	if ctx == nil {
		ctx = context.Background()
	}
	return c.s.submit(ctx, blocks, true)
}

func (s *state) submit(ctx context.Context, blocks []*Block, gather bool) (int, error) {
	var stamp uint64
	if len(blocks) > pairwiseMax {
		stamp = submitStamp.Add(1)
	}
	detach := true  // if every Block is set to wait
	leaveIt := true // to a gathering leader: no Block would block io_submit
	// Blocks a Completions loop yielded, submitted again while a loop's
	// body runs, wait for the body to end: the loop sends them to the
	// kernel together before it waits for more (see lead_linux.go).
	deferred := !gather && s.inBody.Load() > 0
	for i, b := range blocks {
		if b == nil {
			return 0, &Error{Op: "Submit", Index: i, Err: syscall.EINVAL, Detail: "nil Block"}
		}
		detach = detach && b.wait
		leaveIt = leaveIt && !b.buffered()
		deferred = deferred && b.yielded && !b.wait
		// The Context's own checks first, then the Block's, which ask
		// its file.
		detail, err := s.fits(b)
		if err == nil && b.owner.Load() != nil {
			err = ErrInFlight
		}
		if err == nil && given(blocks, i, stamp) {
			detail, err = "the Block is in this batch twice", ErrInFlight
		}
		if err == nil {
			detail, err = b.check()
		}
		if err != nil {
			return 0, &Error{Op: "Submit", Index: i, Err: err, Detail: detail}
		}
		if s.tryNoWait {
			b.learnNoWait()
		}
	}
	if len(blocks) == 0 {
		return 0, s.open()
	}
	s.submits.Add(1)
	detach = detach || deferred
	var c *call // nil when detached
	if !detach {
		c = calls.Get().(*call)
		defer calls.Put(c)
	}
	done := 0
	poll := minRoomPoll
	for {
		if c != nil {
			c.failed = -1
		}
		k, full, others, err := s.claim(blocks[done:], done, c)
		if k > 0 {
			// Alone, the yield gathers nothing and costs a wakeup
			// of another thread (Gosched wakes an idle processor):
			// at 1 in flight, File's reads made 2.4 context
			// switches each with it and 1.1 without, at 42 against
			// 33 µs of CPU per read.
			if gather && others {
				runtime.Gosched()
			}
			switch {
			case deferred:
				// The loop flushes, unless its body ended before
				// it could see these: it looks after it lets go
				// of inBody, and this looks after queueing.
				if s.inBody.Load() == 0 {
					s.flushLocked()
					s.flushQueued()
				}
			case detach:
				// A leading stream goroutine flushes what its
				// wakeups queue (see leadStream); it looks at the
				// queue after it clears gathering. Not buffered I/O,
				// which io_submit does then and there: the leader
				// would stop reaping meanwhile.
				if !leaveIt || !s.gathering.Load() {
					s.flushQueued()
				}
			default:
				s.flushLocked() // ours, unless the previous holder took them
				s.flushQueued()
				if failed, err := s.outcome(c, blocks); err != nil {
					return failed, err
				}
			}
			done += k
			poll = minRoomPoll
		}
		if err != nil || done == len(blocks) {
			return done, err
		}
		if full == roomFree {
			continue
		}
		if s.full == FullError && !gather {
			return done, &Error{Op: "Submit", Index: done, Err: ErrFull,
				Detail: strconv.Itoa(done) + " of " + strconv.Itoa(len(blocks)) +
					" blocks submitted; the context's " + strconv.Itoa(len(s.slots)) + " slots are taken"}
		}
		if deferred {
			// What the loop holds back may be what holds the room.
			s.flushLocked()
			s.flushQueued()
		}
		if err := s.waitRoom(ctx, full == roomUnread, &poll); err != nil {
			s.signalRoom() // pass the turn on: room may have come
			return done, &Error{Op: "Submit", Index: done, Err: err}
		}
	}
}

// buffered reports whether b is a read or write of a buffered file, which
// the kernel does inside io_submit.
func (b *Block) buffered() bool {
	switch b.cmd {
	case CmdRead, CmdWrite, CmdReadV, CmdWriteV:
		return b.kind == kindFile && !b.direct
	}
	return false
}

// Up to pairwiseMax Blocks, a Submit call compares them pairwise to find
// one given twice; past that, each Block keeps the number of the last call
// that looked at it (submitStamp). The stamps are exact unless another
// goroutine submits the same Block at the same time, a misuse in which a
// Block given twice may go in twice (each submission still has its one
// event).
const pairwiseMax = 64

var submitStamp atomic.Uint64

// given reports whether blocks[i] is also among blocks[:i].
func given(blocks []*Block, i int, stamp uint64) bool {
	if stamp != 0 {
		return blocks[i].stamp.Swap(stamp) == stamp
	}
	for _, p := range blocks[:i] {
		if p == blocks[i] {
			return true
		}
	}
	return false
}

// open returns ErrClosed once the Context is closed.
func (s *state) open() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return opError("Submit", ErrClosed, "")
	}
	return nil
}

// fits returns why b cannot go on this Context's mode, or nil.
func (s *state) fits(b *Block) (string, error) {
	if s.manual && b.wait {
		return "SetWait needs a stream-mode Context; this one is Manual", ErrWrongMode
	}
	if !s.manual && b.resfd >= 0 {
		return "SetResFD needs a Manual Context: in stream mode every completion signals the stream's own eventfd", syscall.EINVAL
	}
	return "", nil
}

// check returns why Submit must refuse the Block, or nil. It runs before
// anything reaches the kernel, so a refused batch submits nothing. It only
// reads the Block: the Block may be in flight on another goroutine's
// Submit, which claim then reports.
func (b *Block) check() (detail string, err error) {
	if b.fileErr != nil {
		return "the file's descriptor could not be read", b.fileErr
	}
	// Whether the file is still open is claim's to ask (fileUsable).
	if b.fdBad {
		return "not a valid descriptor", syscall.EBADF
	}
	var n int64
	switch b.cmd {
	case CmdRead, CmdWrite:
		n = int64(len(b.buf))
		if n == 0 {
			return b.cmd.String() + " of 0 bytes", syscall.EINVAL
		}
	case CmdReadV, CmdWriteV:
		if len(b.bufs) == 0 || len(b.bufs) > iovMax {
			return fmt.Sprintf("%s of %d buffers (1 to %d allowed)", b.cmd, len(b.bufs), iovMax), syscall.EINVAL
		}
		for _, p := range b.bufs {
			if n += int64(len(p)); n < 0 {
				return "total length overflows", syscall.EINVAL
			}
		}
		if n == 0 {
			return b.cmd.String() + " of 0 bytes", syscall.EINVAL
		}
	case CmdFsync, CmdFdsync, CmdPoll:
		if b.rwFlags != 0 {
			return fmt.Sprintf("RWF flags %#x apply to reads and writes, not %s", uint32(b.rwFlags), b.cmd), syscall.EINVAL
		}
		return "", nil
	default:
		return "unknown command " + b.cmd.String(), syscall.EINVAL
	}
	if detail, err := b.kind.refusal(b.cmd); err != nil {
		return detail, err
	}
	if b.off < 0 {
		return fmt.Sprintf("negative offset %d", b.off), syscall.EINVAL
	}
	if b.off > math.MaxInt64-n {
		return fmt.Sprintf("offset %d plus length %d overflows", b.off, n), syscall.EINVAL
	}
	if b.dio.mem != 0 {
		if detail := b.misaligned(); detail != "" {
			return detail, syscall.EINVAL
		}
	}
	return "", nil
}

// refusal returns why a read or write of a file of kind k is refused.
func (k fileKind) refusal(cmd Command) (detail string, err error) {
	switch k {
	case kindDir:
		return cmd.String() + " of a directory", syscall.EISDIR
	case kindSocket:
		return cmd.String() + " of a socket: kernel AIO reads and writes at file offsets; " +
			"wait for a socket with NewPoll and read or write it through its net.Conn", syscall.ESPIPE
	case kindStream:
		return cmd.String() + " of a pipe, FIFO or other file that cannot seek, which pread(2) refuses: " +
			"kernel AIO would ignore the offset; wait for it with NewPoll and read or write it through its *os.File", syscall.ESPIPE
	}
	return "", nil
}
