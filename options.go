package aio

import "strconv"

// Option configures a Context made by NewContext.
type Option func(*config)

type config struct {
	manual      bool
	full        FullPolicy
	blocking    int // MaxBlocking's n
	blockingSet bool
	tryNoWait   bool
}

// Manual selects manual reaping: completions are collected by calling
// GetEvents, as with io_getevents, and the Context runs no goroutine and
// has no Events channel. Without it a Context delivers completions on
// Events (stream mode).
func Manual() Option { return func(c *config) { c.manual = true } }

// FullPolicy says what Submit does when the Context has no room for a
// Block: every slot is in flight or, in stream mode, held by an event not
// yet read from Events.
type FullPolicy int

const (
	// FullWait makes Submit submit what fits and wait for room for the
	// rest (SubmitContext bounds the wait). The default in stream mode.
	// A goroutine that is the only reader of Events must not make Submit
	// wait for room that only its own reading would free: keep what it
	// submits within what it has read, or use FullError.
	FullWait FullPolicy = iota + 1
	// FullError makes Submit submit what fits and return an error
	// wrapping ErrFull for the rest. The default in manual mode, where
	// room comes only from the caller's own GetEvents.
	FullError
)

func (p FullPolicy) String() string {
	switch p {
	case FullWait:
		return "FullWait"
	case FullError:
		return "FullError"
	}
	return "FullPolicy(" + strconv.Itoa(int(p)) + ")"
}

// WhenFull sets the Context's FullPolicy.
func WhenFull(p FullPolicy) Option { return func(c *config) { c.full = p } }

// defaultMaxBlocking is MaxBlocking's default, for Contexts of at least
// that capacity: enough blocking reads at once to keep a disk's queue as
// deep as os.File's goroutines would, few enough threads to stay cheap.
const defaultMaxBlocking = 64

// MaxBlocking sets how many reads and writes of buffered files the
// Context's Files may have in blocking system calls at once, each holding
// an OS thread: reads the page cache could not serve, and writes (see
// File), and the reads of Blocks that TryNoWait sends again. Further calls
// wait for their turn, holding no thread. The default is the Context's
// capacity, up to 64. NewContext refuses n < 1.
func MaxBlocking(n int) Option {
	return func(c *config) { c.blocking, c.blockingSet = n, true }
}

// TryNoWait keeps the buffered reads of the Context's Blocks from holding
// up its io_submit, as a File's are (see File). The kernel does a buffered
// read inside io_submit, where a read of pages that are not in the page
// cache waits for the disk and holds up every request of the same
// io_submit, other goroutines' O_DIRECT reads included. With TryNoWait,
// each CmdRead and CmdReadV Block on a buffered file whose file system
// honours RWF_NOWAIT (xfs and block devices since Linux 4.13, ext4 since
// 5.5, btrfs since 5.9) goes to the kernel with RWFNoWait added: what the
// page cache holds is read at once, inside io_submit, and the rest does not
// wait there. A read that comes back unfinished (EAGAIN, or fewer bytes
// than asked) is sent again without the flag, for the bytes it lacks, in
// an io_submit of its own made by a goroutine that waits for the disk,
// holding an OS thread, as a pread would: at most MaxBlocking such
// goroutines at once (shared with the Files' blocking calls). The Block
// gets one Event, as without the option, whose N counts the bytes of both
// parts; Stats.NoWaitHits and NoWaitFallbacks count them.
//
// A read that meets the end of the file comes back short, so it is sent
// again too, to find that out: reads that end past the end of the file
// each cost a second io_submit. Blocks that set RWFNoWait themselves keep
// their EAGAIN events, and Blocks with an eventfd of their own (SetResFD)
// go once, without the flag: sent twice, they would signal it twice.
// Writes, O_DIRECT reads and files on other file systems go through
// io_submit as they would without the option.
func TryNoWait() Option { return func(c *config) { c.tryNoWait = true } }

// blockingLimit returns MaxBlocking's limit for a Context of capacity
// maxEvents.
func (c *config) blockingLimit(maxEvents int) int {
	if c.blockingSet {
		return c.blocking
	}
	return min(maxEvents, defaultMaxBlocking)
}
