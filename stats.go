package aio

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
}
