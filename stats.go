package aio

import "sync/atomic"

// Stats are a Context's counters since NewContext, from Context.Stats.
// They show how work was batched: Submits against IOSubmitCalls is the
// sharing of io_submit among concurrent Submit calls; RingEvents against
// GetEventsEvents is how many completions were read in user space without
// a system call.
type Stats struct {
	Submits         uint64 // Submit and SubmitContext calls with at least one Block
	IOSubmitCalls   uint64 // io_submit system calls
	Submitted       uint64 // Blocks io_submit accepted
	RingEvents      uint64 // completions read from the kernel's ring in user space
	GetEventsCalls  uint64 // io_getevents system calls
	GetEventsEvents uint64 // completions io_getevents returned
	Wakeups         uint64 // times the stream's eventfd woke its goroutine
	// BouncedReads counts File reads of an O_DIRECT file that broke its
	// alignment and went through a bounce buffer, at the cost of a copy;
	// aligned reads go to the kernel as they are and count nowhere here.
	BouncedReads uint64
}

// fileCounters are a Context's counters of its Files' work, kept apart from
// the submission path's.
type fileCounters struct {
	bounced atomic.Uint64
}

// add puts the counters into st.
func (c *fileCounters) add(st *Stats) {
	st.BouncedReads = c.bounced.Load()
}
