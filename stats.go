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
	// Reads and writes of buffered files through File, which stay out of
	// io_submit (see File), and reads of Blocks on a Context made with
	// TryNoWait: NoWaitHits counts reads the page cache served whole
	// through RWF_NOWAIT, NoWaitFallbacks those it served only in part or
	// not at all, and BlockingCalls the reads and writes finished in
	// blocking system calls (the fallbacks, a File's reads of files whose
	// file system does not take RWF_NOWAIT, and its writes) or, for
	// TryNoWait, sent again in an io_submit of their own.
	NoWaitHits      uint64
	NoWaitFallbacks uint64
	BlockingCalls   uint64
}

// fileCounters are a Context's counters of its Files' work, kept apart from
// the submission path's.
type fileCounters struct {
	bounced         atomic.Uint64
	nowaitHits      shardedCount
	nowaitFallbacks atomic.Uint64
	blocking        atomic.Uint64
}

// add puts the counters into st.
func (c *fileCounters) add(st *Stats) {
	st.BouncedReads = c.bounced.Load()
	st.NoWaitHits = c.nowaitHits.load()
	st.NoWaitFallbacks = c.nowaitFallbacks.Load()
	st.BlockingCalls = c.blocking.Load()
}

// shardedCount is a counter that many goroutines add to at once, on the
// path of every cached read: one atomic word would bounce between the CPUs'
// caches at each read, so the count is spread over shards a cache line
// apart, picked by the reader's buffer address, which differs between
// goroutines reading at once.
type shardedCount struct {
	shards [8]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

// add counts one, in the shard of the buffer at addr.
func (c *shardedCount) add(addr uintptr) { c.shards[(addr>>12)%8].n.Add(1) }

// load returns the sum of the shards.
func (c *shardedCount) load() uint64 {
	var n uint64
	for i := range c.shards {
		n += c.shards[i].n.Load()
	}
	return n
}
