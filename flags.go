package aio

import "fmt"

// Command is the operation a Block asks the kernel to do. Its values are the
// kernel's IOCB_CMD_* numbers.
type Command uint16

// The commands kernel AIO supports.
const (
	CmdRead   Command = 0 // IOCB_CMD_PREAD: read into one buffer at an offset
	CmdWrite  Command = 1 // IOCB_CMD_PWRITE: write one buffer at an offset
	CmdFsync  Command = 2 // IOCB_CMD_FSYNC: fsync(2) the file (Linux 4.18+)
	CmdFdsync Command = 3 // IOCB_CMD_FDSYNC: fdatasync(2) the file (Linux 4.18+)
	CmdPoll   Command = 5 // IOCB_CMD_POLL: wait for poll events (Linux 4.19+)
	CmdReadV  Command = 7 // IOCB_CMD_PREADV: read into several buffers
	CmdWriteV Command = 8 // IOCB_CMD_PWRITEV: write several buffers
)

// String returns the command's name, such as "read" or "poll".
func (c Command) String() string {
	switch c {
	case CmdRead:
		return "read"
	case CmdWrite:
		return "write"
	case CmdFsync:
		return "fsync"
	case CmdFdsync:
		return "fdsync"
	case CmdPoll:
		return "poll"
	case CmdReadV:
		return "readv"
	case CmdWriteV:
		return "writev"
	}
	return fmt.Sprintf("Command(%d)", uint16(c))
}

// RWFlags are per-I/O flags for reads and writes (the RWF_* flags of
// preadv2(2) and pwritev2(2)), set with Block.SetRWFlags. A kernel older than
// a flag rejects the I/O with EOPNOTSUPP.
type RWFlags uint32

// The RWF flags. The comment gives the first Linux release that has each.
const (
	RWFHiPri     RWFlags = 0x01  // RWF_HIPRI: high priority; AIO accepts it but does not poll (4.6)
	RWFDSync     RWFlags = 0x02  // RWF_DSYNC: per-write O_DSYNC (4.7)
	RWFSync      RWFlags = 0x04  // RWF_SYNC: per-write O_SYNC (4.7)
	RWFNoWait    RWFlags = 0x08  // RWF_NOWAIT: fail with EAGAIN instead of blocking (4.14)
	RWFAppend    RWFlags = 0x10  // RWF_APPEND: per-write O_APPEND (4.16)
	RWFNoAppend  RWFlags = 0x20  // RWF_NOAPPEND: ignore O_APPEND for this write (6.9)
	RWFAtomic    RWFlags = 0x40  // RWF_ATOMIC: untorn write, within the file's atomic write limits (6.11)
	RWFDontCache RWFlags = 0x80  // RWF_DONTCACHE: drop the pages from the cache after the I/O (6.14)
	RWFNoSignal  RWFlags = 0x100 // RWF_NOSIGNAL: no SIGPIPE on a broken pipe or socket, which Submit refuses to write; files take it (6.15)
)

// PrioClass is an I/O scheduling class (see ioprio_set(2)).
type PrioClass uint8

// The I/O priority classes.
const (
	PrioClassNone PrioClass = 0 // no priority of its own: the process's applies
	PrioClassRT   PrioClass = 1 // real time; needs CAP_SYS_ADMIN or CAP_SYS_NICE
	PrioClassBE   PrioClass = 2 // best effort, the default class
	PrioClassIdle PrioClass = 3 // only when the disk is otherwise idle
)

// PrioLevels is the number of levels within a class: 0 (highest) to 7.
const PrioLevels = 8

// PollEvents is a poll(2) event mask, for poll Blocks and their results.
type PollEvents uint16

// The poll events (see poll(2)).
const (
	PollIn     PollEvents = 0x0001
	PollPri    PollEvents = 0x0002
	PollOut    PollEvents = 0x0004
	PollErr    PollEvents = 0x0008
	PollHup    PollEvents = 0x0010
	PollNval   PollEvents = 0x0020
	PollRdNorm PollEvents = 0x0040
	PollRdBand PollEvents = 0x0080
	PollWrNorm PollEvents = 0x0100
	PollWrBand PollEvents = 0x0200
	PollMsg    PollEvents = 0x0400
	PollRdHup  PollEvents = 0x2000

	// PollDefault is the mask NewPoll uses when given 0, as linux_aio does.
	PollDefault = PollIn | PollOut | PollPri
)
