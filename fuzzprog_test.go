//go:build linux && cgo

package aio_test

import (
	"context"
	"errors"
	"math"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/linuxaio/aio"
)

// A fuzz program is a header and a list of operations, read byte by byte:
// a program that runs out of bytes reads zeros, and each operation takes
// as many bytes as it needs. Header: the mode and FullPolicy (one byte),
// the capacity (one byte). Operations: one byte, modulo fuzzOps, then
// their arguments.
const (
	opNew       = iota // make a Block: file, command, buffers, offset, settings
	opSubmit           // Submit a batch
	opSubmitCtx        // SubmitContext a batch with a short or expired deadline
	opSubmit2          // two Submit calls at once, from two goroutines
	opCancel           // Cancel a Block, or nil
	opWait             // Block.Wait with a short or expired deadline
	opGetEvents        // GetEvents with random arguments
	opRecv             // receive from Events, without waiting or briefly
	opPipeWrite        // write to the pipe, without blocking
	opPipeClose        // close one end of the pipe
	opModify           // change a Block with one of its setters
	opTruncate         // truncate one of the files
	opClose            // close the Context
	opCloseRace        // close the Context while another goroutine submits
	opMany             // submit more than 64 new Blocks in one call
	fuzzOps
)

// Bounds that keep each program short.
const (
	fuzzMaxSteps  = 64
	fuzzMaxBlocks = 16 // made by opNew
	fuzzMaxMany   = 160
	fuzzMaxBatch  = 7
	fuzzLongWait  = 10 * time.Second // what "never" means at the end
)

// The choices of a buffer length, an offset and a deadline.
var (
	fuzzLens    = []int{0, 1, 100, 511, 512, 4096, 4097, 8192, 65536}
	fuzzOffsets = []int64{0, 1, 511, 512, 4096, 8192, fuzzFileSize - 4096, fuzzFileSize,
		1 << 20, 1 << 40, -1, -4096, math.MaxInt64, math.MaxInt64 - 4095}
	fuzzDeadlines = []time.Duration{0, 100 * time.Microsecond, time.Millisecond}
)

// fuzzRun is one program's state. pend counts, per Block, the
// submissions Submit accepted whose events the program has not yet seen.
type fuzzRun struct {
	t      *testing.T
	in     []byte
	env    *fuzzEnv
	ctx    *aio.Context
	manual bool
	policy aio.FullPolicy
	closed bool
	r, w   *os.File // the program's pipe
	rfd    int
	blocks []*aio.Block        // made by opNew
	nmany  int                 // Blocks made by opMany
	owner  map[*aio.Block]bool // all the program's Blocks
	pend   map[*aio.Block]int
	steps  int // operations run
	subs   int // submissions accepted
	events int // events seen
}

// runFuzzProgram decodes and runs prog, then closes its Context and checks
// that every accepted Block had its event.
func runFuzzProgram(t *testing.T, env *fuzzEnv, prog []byte) {
	env.reset(t)
	r := &fuzzRun{t: t, in: prog, env: env, owner: map[*aio.Block]bool{}, pend: map[*aio.Block]int{}}
	if !r.open() {
		return
	}
	for ; r.steps < fuzzMaxSteps && len(r.in) > 0; r.steps++ {
		r.step()
	}
	r.finish()
	t.Logf("%d operations, %d submissions accepted, %d events", r.steps, r.subs, r.events)
}

func (r *fuzzRun) next() byte {
	if len(r.in) == 0 {
		return 0
	}
	b := r.in[0]
	r.in = r.in[1:]
	return b
}

func (r *fuzzRun) pick(n int) int { return int(r.next()) % n }

// open makes the Context the header asks for and the pipe. A capacity or
// policy NewContext must refuse ends the program there.
func (r *fuzzRun) open() bool {
	mode, size := r.next(), r.next()
	var opts []aio.Option
	if r.manual = mode&1 != 0; r.manual {
		opts = append(opts, aio.Manual())
		r.policy = aio.FullError
	} else {
		r.policy = aio.FullWait
	}
	if mode&0x10 != 0 {
		// Buffered reads that end past the end of the file come back
		// short and are sent again (see TryNoWait): the program's
		// events must not change.
		opts = append(opts, aio.TryNoWait())
	}
	valid := true
	switch mode >> 1 & 7 {
	case 4, 5:
		r.policy = aio.FullWait
		opts = append(opts, aio.WhenFull(r.policy))
	case 6:
		r.policy = aio.FullError
		opts = append(opts, aio.WhenFull(r.policy))
	case 7:
		opts, valid = append(opts, aio.WhenFull(aio.FullPolicy(7))), false
	}
	n := 1 + int(size%16)
	switch size {
	case 0xff:
		n, valid = 0, false
	case 0xfe:
		n, valid = -1, false
	case 0xfd:
		n, valid = 1<<20+1, false
	}
	ctx, err := aio.NewContext(n, opts...)
	// fs.aio-max-nr is shared by every process on the machine: another
	// one may hold it all for a while.
	for deadline := time.Now().Add(fuzzLongWait); errors.Is(err, syscall.EAGAIN) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
		ctx, err = aio.NewContext(n, opts...)
	}
	if !valid {
		if ctx != nil || !errors.Is(err, syscall.EINVAL) {
			r.t.Fatalf("NewContext(%d) with mode %#x: %v, want EINVAL", n, mode, err)
		}
		return false
	}
	if err != nil {
		r.t.Fatal(err)
	}
	r.ctx = ctx
	r.t.Cleanup(func() { ctx.Close() }) // when the program fails midway
	r.r, r.w = pipe(r.t)
	rc, _ := r.r.SyscallConn()
	rc.Control(func(fd uintptr) { r.rfd = int(fd) })
	return true
}

func (r *fuzzRun) step() {
	switch r.pick(fuzzOps) {
	case opNew:
		r.newBlock()
	case opSubmit:
		r.submit(r.batch(), false)
	case opSubmitCtx:
		r.submit(r.batch(), true)
	case opSubmit2:
		r.submitTwo()
	case opCancel:
		r.cancel()
	case opWait:
		r.wait()
	case opGetEvents:
		r.getEvents()
	case opRecv:
		r.recv()
	case opPipeWrite:
		r.pipeWrite()
	case opPipeClose:
		if r.next()&1 == 0 {
			r.r.Close()
		} else {
			r.w.Close()
		}
	case opModify:
		r.modify()
	case opTruncate:
		f := []*os.File{r.env.buffered, r.env.direct}[r.pick(2)]
		f.Truncate([]int64{0, 4096, fuzzFileSize, 1 << 20}[r.pick(4)])
	case opClose:
		r.close()
	case opCloseRace:
		r.closeRace()
	case opMany:
		r.many()
	}
}

// file picks the file of a new Block.
func (r *fuzzRun) file() syscall.Conn {
	switch r.pick(9) {
	case 0:
		return r.env.buffered
	case 1:
		return r.env.direct
	case 2:
		return r.env.zero
	case 3:
		return r.r
	case 4:
		return r.w
	case 5:
		return r.env.dir
	case 6:
		return r.env.closed
	case 7:
		return aio.FD(-1)
	}
	return nil
}

// buffer picks a buffer: one of fuzzLens long, nil, or one byte off
// alignment.
func (r *fuzzRun) buffer() []byte {
	sel := r.next()
	n := fuzzLens[int(sel&15)%len(fuzzLens)]
	if n == 0 && sel&0x10 != 0 {
		return nil
	}
	p := aligned(n + 1)
	if sel&0x20 != 0 {
		return p[1:]
	}
	return p[:n]
}

// buffers picks the buffers of a vectored Block: 0 to 4 of them, or one
// more than IOV_MAX.
func (r *fuzzRun) buffers() [][]byte {
	sel := r.next()
	if sel == 0xff {
		p := make([]byte, 1025)
		bufs := make([][]byte, 1025)
		for i := range bufs {
			bufs[i] = p[i : i+1]
		}
		return bufs
	}
	bufs := make([][]byte, sel%5)
	for i := range bufs {
		bufs[i] = r.buffer()
	}
	return bufs
}

func (r *fuzzRun) offset() int64 { return fuzzOffsets[r.pick(len(fuzzOffsets))] }

func (r *fuzzRun) deadline() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), fuzzDeadlines[r.pick(len(fuzzDeadlines))])
}

func (r *fuzzRun) newBlock() {
	if len(r.blocks) == fuzzMaxBlocks {
		return
	}
	f := r.file()
	var b *aio.Block
	switch r.pick(7) {
	case 0:
		b = aio.NewRead(f, r.buffer(), r.offset())
	case 1:
		b = aio.NewWrite(f, r.buffer(), r.offset())
	case 2:
		b = aio.NewReadV(f, r.buffers(), r.offset())
	case 3:
		b = aio.NewWriteV(f, r.buffers(), r.offset())
	case 4:
		b = aio.NewFsync(f)
	case 5:
		b = aio.NewFdsync(f)
	case 6:
		b = aio.NewPoll(f, aio.PollEvents(r.next())|aio.PollEvents(r.next())<<8)
	}
	r.blocks = append(r.blocks, b)
	r.owner[b] = true
	// Settings, each by a bit: a new Block is idle, so no setter may say
	// it is in flight.
	set := r.next()
	var errs []error
	if set&1 != 0 {
		flags := aio.RWFlags(r.next() & 0x7f)
		if set&2 != 0 {
			flags |= 1 << 30 // no such flag
		}
		errs = append(errs, b.SetRWFlags(flags))
	}
	if set&4 != 0 {
		p := r.next()
		errs = append(errs, b.SetPriority(aio.PrioClass(p>>6), int(p&15)))
	}
	if set&8 != 0 {
		errs = append(errs, b.SetWait(true))
	}
	if set&16 != 0 {
		errs = append(errs, b.SetResFD(r.rfd)) // not an eventfd
	}
	if set&32 != 0 {
		errs = append(errs, b.SetCommand(aio.Command(r.pick(10))))
	}
	for _, err := range errs {
		if errors.Is(err, aio.ErrInFlight) {
			r.t.Fatalf("setter on a new Block: %v", err)
		}
	}
}

// many submits 65 to 80 new reads in one call, perhaps one of them twice:
// past 64 Blocks, Submit finds a Block given twice by its stamp rather than
// by comparing pairs.
func (r *fuzzRun) many() {
	if r.nmany >= fuzzMaxMany {
		return
	}
	f := []syscall.Conn{r.env.zero, r.env.buffered}[r.pick(2)]
	batch := make([]*aio.Block, 65+r.pick(16))
	for i := range batch {
		batch[i] = aio.NewRead(f, make([]byte, 512), int64(i)*512)
		r.owner[batch[i]] = true
	}
	r.nmany += len(batch)
	if i := int(r.next()); i < len(batch)-1 {
		batch[len(batch)-1] = batch[i]
	}
	r.submit(batch, r.next()&1 != 0)
}

// block picks one of the program's Blocks, or nil if it has none.
func (r *fuzzRun) block() *aio.Block {
	i := r.next()
	if len(r.blocks) == 0 {
		return nil
	}
	return r.blocks[int(i)%len(r.blocks)]
}

// batch picks 0 to fuzzMaxBatch Blocks, possibly the same twice, possibly
// nil. A Block set to wait whose last event Wait has not collected is left
// out: submitting it again would drop that event, as Wait documents.
func (r *fuzzRun) batch() []*aio.Block {
	k := r.pick(fuzzMaxBatch + 1)
	out := make([]*aio.Block, 0, k)
	for range k {
		if r.next() == 0xff {
			out = append(out, nil)
			continue
		}
		b := r.block()
		if b == nil || (b.Waits() && r.pend[b] > 0 && !r.collect(b)) {
			continue
		}
		out = append(out, b)
	}
	return out
}

func (r *fuzzRun) pipeWrite() {
	n := []int{1, 512, 4096, 65536}[r.pick(4)]
	rc, err := r.w.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) { syscall.Write(int(fd), make([]byte, n)) }) // EAGAIN when full
}

// modify calls one setter. With no submission outstanding, the Block is
// idle and no setter may say it is in flight. SetWait is left alone while
// a submission is outstanding, as batch explains.
func (r *fuzzRun) modify() {
	b := r.block()
	if b == nil {
		return
	}
	var err error
	switch r.pick(8) {
	case 0:
		err = b.SetOffset(r.offset())
	case 1:
		err = b.SetBuffer(r.buffer())
	case 2:
		err = b.SetBuffers(r.buffers())
	case 3:
		err = b.SetCommand(aio.Command(r.pick(10)))
	case 4:
		err = b.SetFile(r.file())
	case 5:
		err = b.SetRWFlags(aio.RWFlags(r.next()))
	case 6:
		err = b.SetPollEvents(aio.PollEvents(r.next()))
	case 7:
		if r.pend[b] == 0 {
			err = b.SetWait(r.next()&1 != 0)
		}
	}
	if r.pend[b] == 0 && errors.Is(err, aio.ErrInFlight) {
		r.t.Fatalf("setter on an idle %v Block: %v", b.Command(), err)
	}
}
