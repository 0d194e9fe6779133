//go:build linux && cgo

package aio

import (
	"errors"
	"fmt"
	"math/bits"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// kernelFeatures holds the answers of HaveCommand and HaveRWFlags for the
// running kernel.
var kernelFeatures = newFeatureSet(kernelRelease, kernelAtLeast, probeCommand, probeRWFlag)

func haveCommand(cmd Command) error   { return kernelFeatures.command(cmd) }
func haveRWFlags(flags RWFlags) error { return kernelFeatures.rwFlags(flags) }

// featureSet caches what probes learn about a kernel. Its sources are
// fields so that tests can feed it a kernel other than the running one.
type featureSet struct {
	release   func() string                      // the kernel's release, for messages
	atLeast   func(string) bool                  // whether it is that release or later
	probeCmd  func(*probeContext, Command) error // see probeCommand
	probeFlag func(*probeContext, RWFlags) error // see probeRWFlag

	cmds  [CmdWriteV + 1]featureCache // by Command
	flags [len(rwFlagInfo)]featureCache
}

func newFeatureSet(release func() string, atLeast func(string) bool,
	probeCmd func(*probeContext, Command) error, probeFlag func(*probeContext, RWFlags) error) *featureSet {
	return &featureSet{release: release, atLeast: atLeast, probeCmd: probeCmd, probeFlag: probeFlag}
}

// featureCache holds one feature's answer once a probe has decided it.
// Concurrent first calls wait on mu for the one probe; an undecided answer
// (the probe could not run) is not kept, so the next call probes again.
type featureCache struct {
	mu   sync.Mutex
	done bool
	err  error
}

func (c *featureCache) get(probe func() (err error, decided bool)) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done {
		return c.err
	}
	err, decided := probe()
	if decided {
		c.done, c.err = true, err
	}
	return err
}

// notSupported is the Err of a feature the kernel lacks: it names the
// feature, and errors.Is finds ErrNotSupported in it.
type notSupported string

func (n notSupported) Error() string { return string(n) + " not supported by this kernel" }
func (notSupported) Unwrap() error   { return ErrNotSupported }

// errNoAIO is what a probe returns when io_setup fails with ENOSYS.
var errNoAIO = errors.New("kernel AIO missing")

func (fs *featureSet) command(cmd Command) error {
	const op = "HaveCommand"
	switch cmd {
	case CmdRead, CmdWrite, CmdFsync, CmdFdsync, CmdPoll, CmdReadV, CmdWriteV:
	default:
		return opError(op, syscall.EINVAL, "unknown command "+cmd.String())
	}
	return fs.cmds[cmd].get(func() (error, bool) {
		var pc probeContext
		probed := fs.probeCmd(&pc, cmd)
		pc.close()
		switch probed {
		case nil:
			return nil, true
		case errNoAIO:
			return noAIO(op), true
		case syscall.EINVAL:
			detail := fmt.Sprintf("io_submit refused %s with EINVAL; this kernel is %s", cmd, fs.release())
			if need := minKernel(cmd); need != "" {
				detail = fmt.Sprintf("%s needs Linux %s; this kernel is %s", cmd, need, fs.release())
				if fs.atLeast(need) {
					detail = fmt.Sprintf("this kernel (%s) refused %s with EINVAL, though Linux has it from %s",
						fs.release(), cmd, need)
				}
			}
			return opError(op, notSupported(cmd.String()), detail), true
		}
		return undecided(op, cmd.String(), probed), false
	})
}

func (fs *featureSet) rwFlags(flags RWFlags) error {
	const op = "HaveRWFlags"
	if unknown := flags &^ knownRWFlags; unknown != 0 {
		return opError(op, syscall.EINVAL, fmt.Sprintf("unknown RWF flags %#x", uint32(unknown)))
	}
	var pc *probeContext // one for all the flags, made for the first probe
	defer func() {
		if pc != nil {
			pc.close()
		}
	}()
	for flags != 0 {
		i := bits.TrailingZeros32(uint32(flags))
		flags &^= 1 << i
		f := rwFlagInfo[i]
		err := fs.flags[i].get(func() (error, bool) {
			if pc == nil {
				pc = new(probeContext)
			}
			probed := fs.probeFlag(pc, f.flag)
			switch probed {
			case nil:
				return nil, true
			case errNoAIO:
				return noAIO(op), true
			case syscall.EOPNOTSUPP:
				// The kernel lacks the flag, or the probe's file
				// does not support it: the release tells which.
				if fs.atLeast(f.release) {
					return nil, true
				}
				return opError(op, notSupported(f.name),
					fmt.Sprintf("%s needs Linux %s; this kernel is %s", f.name, f.release, fs.release())), true
			case syscall.EINVAL:
				detail := fmt.Sprintf("io_submit refused %s with EINVAL; this kernel is %s", f.name, fs.release())
				if !fs.atLeast(rwFlagsAIO) {
					detail = fmt.Sprintf("%s needs Linux %s, and kernel AIO takes RWF flags from Linux %s; this kernel is %s",
						f.name, f.release, rwFlagsAIO, fs.release())
				}
				return opError(op, notSupported(f.name), detail), true
			}
			return undecided(op, f.name, probed), false
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// rwFlagsAIO is the first Linux release whose kernel AIO takes RWF flags
// (in the iocb's aio_rw_flags, reserved and required to be 0 before).
const rwFlagsAIO = "4.13"

func noAIO(op string) error {
	return opError(op, ErrNotSupported, setupHint(syscall.ENOSYS, 1))
}

func undecided(op, name string, cause error) error {
	return opError(op, cause, "could not probe for "+name+"; not cached, the next call probes again")
}

// probeSubmitCalls counts the io_submit calls probes have made.
var probeSubmitCalls atomic.Uint64

// probeCommand submits cmd once, on pc, and returns as
// probeContext.submit does, or why it could not make the request.
func probeCommand(pc *probeContext, cmd Command) error {
	f, err := probeFile()
	if err != nil {
		return err
	}
	defer f.Close()
	var b *Block
	switch cmd {
	case CmdRead:
		b = NewRead(f, make([]byte, 1), 0)
	case CmdWrite:
		b = NewWrite(f, []byte{1}, 0)
	case CmdReadV:
		b = NewReadV(f, [][]byte{make([]byte, 1)}, 0)
	case CmdWriteV:
		b = NewWriteV(f, [][]byte{{1}}, 0)
	case CmdFsync:
		b = NewFsync(f)
	case CmdFdsync:
		b = NewFdsync(f)
	case CmdPoll:
		// A pipe with a byte in it: the poll completes at once.
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		defer r.Close()
		defer w.Close()
		if _, err := w.Write([]byte{1}); err != nil {
			return err
		}
		b = NewPoll(r, PollIn)
	default:
		return syscall.EINVAL
	}
	return pc.submit(b)
}

// probeRWFlag submits a one-byte read or write of a temporary file
// carrying flag, by itself, and returns as probeCommand does. (Pipes would
// take RWFNoWait and RWFNoSignal where a file system does not, but Submit
// refuses pipes; a file's EOPNOTSUPP goes to the release check.)
func probeRWFlag(pc *probeContext, flag RWFlags) error {
	write := true
	switch flag {
	case RWFHiPri, RWFNoWait, RWFDontCache:
		write = false // a read does the file no harm
	}
	f, err := probeFile()
	if err != nil {
		return err
	}
	defer f.Close()
	return probeIO(pc, f, write, flag)
}

// probeIO submits a one-byte read or write of f at offset 0 with flags.
func probeIO(pc *probeContext, f *os.File, write bool, flags RWFlags) error {
	b := NewRead(f, make([]byte, 1), 0)
	if write {
		b = NewWrite(f, []byte{1}, 0)
	}
	b.SetRWFlags(flags)
	return pc.submit(b)
}

// probeContext is the Manual Context that the probes of one HaveCommand
// or HaveRWFlags call share, made at the first probe: io_destroy waits for
// an RCU grace period, tens of milliseconds, so one per call rather than one
// per probe.
type probeContext struct {
	ctx *Context
	err error // why there is none
}

// submit submits b, reaps its event and returns nil if io_submit took b,
// the errno if io_submit refused it, errNoAIO if the kernel has no AIO, or
// another error if b could not be submitted. The event's result does not
// matter: io_submit taking b is the answer.
func (pc *probeContext) submit(b *Block) error {
	if pc.ctx == nil && pc.err == nil {
		pc.ctx, pc.err = NewContext(1, Manual())
		if errors.Is(pc.err, syscall.ENOSYS) {
			pc.err = errNoAIO
		}
	}
	if pc.err != nil {
		return pc.err
	}
	_, err := pc.ctx.Submit(b)
	if err == nil {
		// The I/O is done within io_submit, and the poll finds its
		// pipe readable at once. Were the event late, its slot would
		// stay taken, and a later probe of the call be undecided
		// (ErrFull); close waits for it.
		pc.ctx.GetEvents(1, 1, time.Second)
		return nil
	}
	var ae *Error
	if errors.As(err, &ae) && ae.Syscall == "io_submit" {
		if e, ok := ae.Err.(syscall.Errno); ok {
			return e
		}
	}
	return err
}

// close closes the Context, if one was made, and counts its io_submit
// calls. An io_destroy failure, which would leak nothing the probes need,
// is not reported: the answers stand.
func (pc *probeContext) close() {
	if pc.ctx != nil {
		pc.ctx.Close()
		probeSubmitCalls.Add(pc.ctx.Stats().IOSubmitCalls)
		pc.ctx = nil
	}
}

// probeFile returns an empty, unlinked temporary file: made with O_TMPFILE
// in os.TempDir, or else created there and removed at once.
func probeFile() (*os.File, error) {
	const oTmpfile = 0o20000000 | syscall.O_DIRECTORY // the kernel's O_TMPFILE
	dir := os.TempDir()
	fd, err := syscall.Open(dir, oTmpfile|syscall.O_RDWR|syscall.O_CLOEXEC, 0o600)
	if err == nil {
		return os.NewFile(uintptr(fd), dir+"/(aio probe)"), nil
	}
	f, err := os.CreateTemp(dir, "aio-probe-")
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}
