package aio

import (
	"context"
	"errors"
	"io"
	"os"
	"sync"
	"syscall"
)

// fileOp names the File method that runs cmd, for its errors.
func fileOp(cmd Command) string {
	switch cmd {
	case CmdRead:
		return "File.ReadAt"
	case CmdWrite:
		return "File.WriteAt"
	case CmdFsync:
		return "File.Sync"
	}
	return "File.Datasync"
}

// enter starts a call, or says why the File cannot take one.
func (f *File) enter(ctx context.Context, op string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f.mu.RLock()
	if f.closed.Load() {
		f.mu.RUnlock()
		return opError(op, os.ErrClosed, "the File is closed")
	}
	if err := f.rc.Control(ignoreFD); err != nil {
		f.mu.RUnlock()
		return opError(op, os.ErrClosed, "the file was closed behind the File's back")
	}
	return nil
}

func (f *File) sync(ctx context.Context, cmd Command) error {
	op := fileOp(cmd)
	if ctx == nil {
		ctx = context.Background()
	}
	if err := f.enter(ctx, op); err != nil {
		return err
	}
	defer f.mu.RUnlock()
	s := newSubmission(f.c, ctx)
	defer s.free()
	b := f.blocks.Get().(*Block)
	b.cmd = cmd
	s.blocks = append(s.one[:0], b)
	_, err := f.run(op, s)
	return err
}

// transfer reads into or writes p at off, submitting again after a short
// transfer until it is whole, refused, or at the end of the file. A read of
// an O_DIRECT file that breaks its alignment goes through a bounce buffer
// (see bounceRead); a write must be aligned, and is refused otherwise.
func (f *File) transfer(ctx context.Context, cmd Command, p []byte, off int64) (int, error) {
	op := fileOp(cmd)
	if off < 0 {
		return 0, opError(op, syscall.EINVAL, "negative offset")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := f.enter(ctx, op); err != nil {
		return 0, err
	}
	defer f.mu.RUnlock()
	if f.buffered {
		return f.transferBuffered(ctx, cmd, p, off)
	}
	bounce := cmd == CmdRead && f.direct && len(p) > 0
	if bounce && f.dio.read != 0 && f.bounceRule().misfits(p, off) {
		return f.bounceRead(ctx, p, off, f.bounceRule())
	}
	n, err := f.whole(ctx, cmd, p, off)
	// Where the file system reports no alignment, the kernel judges: a
	// read it refused as misaligned is read again through a buffer
	// aligned to a page, which satisfies every file system.
	if bounce && f.dio.read == 0 && n == 0 && errors.Is(err, syscall.EINVAL) && f.bounceRule().misfits(p, off) {
		return f.bounceRead(ctx, p, off, f.bounceRule())
	}
	return n, err
}

// whole transfers p at off in as many passes as short transfers make
// necessary.
func (f *File) whole(ctx context.Context, cmd Command, p []byte, off int64) (int, error) {
	op := fileOp(cmd)
	n := 0
	for n < len(p) {
		m, err := f.pass(ctx, cmd, p[n:], off+int64(n))
		n += m
		if err != nil || n == len(p) {
			return n, err
		}
		// A short transfer: at the end of the file for a read, out of
		// space (the next try says so) for a write. On an O_DIRECT
		// file an unaligned end can only be the end of the file.
		if a := f.dio.offset(cmd); m == 0 || a != 0 && (off+int64(n))%a != 0 {
			if cmd == CmdRead {
				return n, io.EOF
			}
			return n, opError(op, io.ErrShortWrite, "")
		}
	}
	return n, nil
}

// pass submits p at off as one Block per chunk, all in one Submit, and
// returns how many bytes were transferred from the start of p without a
// gap, and the error that ended them, if any.
func (f *File) pass(ctx context.Context, cmd Command, p []byte, off int64) (int, error) {
	s := newSubmission(f.c, ctx)
	defer s.free()
	f.chunks(s, cmd, p, off)
	return f.run(fileOp(cmd), s)
}

// chunks sets s's Blocks to transfer p at off, one Block per chunk.
func (f *File) chunks(s *submission, cmd Command, p []byte, off int64) {
	blocks := s.one[:0]
	if len(p) > maxChunk {
		blocks = make([]*Block, 0, len(p)/maxChunk+1)
	}
	for rest := p; len(rest) > 0; {
		b := f.blocks.Get().(*Block)
		n := min(len(rest), maxChunk) // no i+maxChunk: it overflows a 32-bit int
		b.cmd, b.buf, b.off = cmd, rest[:n], off+int64(len(p)-len(rest))
		rest = rest[n:]
		blocks = append(blocks, b)
	}
	s.blocks = blocks
}

// run submits s's Blocks, which come from f.blocks, waits for those the
// kernel took and gives them back. It returns the bytes they transferred from the
// first without a gap, and the error that ended them: the first failed
// Block's, else Submit's if every Block it took was whole. If ctx is done
// first, it returns ctx.Err() and leaves the Blocks still in flight, and
// s's bounce buffer, to a goroutine that gives them back once the kernel
// is done; s.bounce is nil then.
func (f *File) run(op string, s *submission) (int, error) {
	ctx, blocks := s.ctx, s.blocks
	// One Block, and nothing to watch: wait for it as a pread would, if
	// few calls are in progress (see waker_linux.go).
	waker := s.c.s.callStarts(len(blocks) == 1 && ctx.Done() == nil)
	defer s.c.s.callEnds(waker)
	if waker >= 0 {
		blocks[0].setWaker(waker)
	}
	k, serr := s.c.submitGathering(ctx, blocks)
	for _, b := range blocks[k:] {
		f.put(b)
	}
	n, gap := 0, false
	var err error
	for i, b := range blocks[:k] {
		if b.waking {
			b.awaitWaker()
		}
		ev, werr := b.Wait(ctx)
		if werr != nil {
			f.abandon(blocks[i:k], s.bounce)
			s.bounce = nil
			if err != nil {
				return n, err // the earlier failure says more
			}
			return n, werr
		}
		want, unsent := len(b.buf), unsentError(b)
		f.put(b)
		switch {
		case gap: // past a short or failed Block: the rest does not count
		case unsent != nil: // refused by io_submit, or Close came first
			err, gap = fileError(op, unsent), true
		case ev.Res < 0:
			err, gap = f.ioError(op, syscall.Errno(-ev.Res)), true
		default:
			n += int(ev.Res)
			gap = int(ev.Res) < want
		}
	}
	if err == nil && !gap && serr != nil {
		if cerr := ctx.Err(); cerr != nil && errors.Is(serr, cerr) {
			return n, cerr // ended waiting for room: ctx.Err() as such
		}
		err = fileError(op, serr)
	}
	return n, err
}

// submission is one pass of a File call: its Context and ctx, and its
// Blocks (in one, for the common single Block), and the bounce buffer
// they read into, if any. Pooled, so that a call allocates nothing.
type submission struct {
	c      *Context
	ctx    context.Context
	one    [1]*Block
	blocks []*Block
	bounce *bounceBuf
}

var submissions = sync.Pool{New: func() any { return new(submission) }}

// newSubmission returns an empty submission to c, for a call with ctx.
func newSubmission(c *Context, ctx context.Context) *submission {
	s := submissions.Get().(*submission)
	s.c, s.ctx = c, ctx
	return s
}

// free gives s back to the pool, holding nothing.
func (s *submission) free() {
	*s = submission{}
	submissions.Put(s)
}

// abandon leaves blocks, still in flight, to a goroutine that gives them
// back once the kernel is done with them, and then bb, the bounce buffer
// they read into, if any: it is reused only when no Block can write it.
// Close waits for that goroutine.
func (f *File) abandon(blocks []*Block, bb *bounceBuf) {
	left := append([]*Block(nil), blocks...) // blocks belong to a pooled submission
	f.pending.Add(1)
	go func() {
		defer f.pending.Done()
		for _, b := range left {
			b.Wait(context.Background())
			f.put(b)
		}
		if bb != nil {
			bb.free()
		}
	}()
}

// put gives an idle Block back to the pool, without the buffer it held.
func (f *File) put(b *Block) {
	b.buf, b.unsent, b.waking = nil, nil, false
	f.blocks.Put(b)
}

// ioError is the error of an I/O the kernel failed with errno e.
func (f *File) ioError(op string, e syscall.Errno) error {
	detail := ""
	if e == syscall.EINVAL && f.direct {
		detail = "the file is open with O_DIRECT: buffer address, length or offset misaligned?"
	}
	return opError(op, e, detail)
}

// fileError turns an error of Submit into one about a File's call: the
// same cause, named after the call, with no index, and said in the File's
// terms where Submit's would name a Block's settings.
func fileError(op string, err error) error {
	var e *Error
	if errors.As(err, &e) {
		detail := e.Detail
		if errors.Is(e.Err, ErrWrongMode) {
			detail = "a File needs a stream-mode Context; this one is Manual"
		}
		return &Error{Op: op, Syscall: e.Syscall, Index: -1, Err: e.Err, Detail: detail}
	}
	return err
}
