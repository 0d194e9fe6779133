//go:build linux && cgo

package main

import (
	"math"
	"math/bits"
	"time"
)

// Per-I/O completion latency: the time from an I/O's submission to the
// moment the engine's loop sees its completion. Engines record every I/O,
// so a histogram is kept rather than a list of samples: recording must cost
// a few nanoseconds and allocate nothing, or it would show in the CPU per
// I/O it sits beside, and at 90 k IOPS a list would grow by megabytes a
// second.
//
// The histogram is log-linear, as HdrHistogram's: values below 2·latSub
// nanoseconds have a bucket each; above, every power of two is cut into
// latSub buckets of equal width. A bucket is then at most 1/latSub of its
// values wide, and the midpoint that percentile reports is within half of
// that (0.8% for latSub 64) of every value in it. csrc/bench/bench.c keeps
// the same histogram for the C loop, so that the two report alike.
const (
	latSubBits = 6
	latSub     = 1 << latSubBits // buckets per power of two
	latMaxBits = 36              // values up to 2^36 ns (68 s); longer ones count as that
	latBuckets = (latMaxBits - latSubBits + 1) * latSub
	latMax     = 1<<latMaxBits - 1
)

// histogram counts latencies in nanoseconds. Its zero value is empty and
// ready; it is a plain array so that an engine can keep one per goroutine
// (no sharing, no atomics) and merge them at the end.
type histogram struct {
	counts [latBuckets]uint64
	n      uint64
}

// latIndex is the bucket of v nanoseconds.
func latIndex(v uint64) int {
	v = min(v, latMax)
	if v < 2*latSub {
		return int(v)
	}
	e := bits.Len64(v) - (latSubBits + 1) // v>>e is in [latSub, 2·latSub)
	return e*latSub + int(v>>e)
}

// latBounds returns the lowest value of bucket i and its width.
func latBounds(i int) (lo, width uint64) {
	if i < 2*latSub {
		return uint64(i), 1
	}
	e := i/latSub - 1
	top := uint64(i - e*latSub)
	return top << e, 1 << e
}

// record counts one latency of ns nanoseconds; a negative one (a clock
// that is not monotonic would give it; ours is) counts as 0.
func (h *histogram) record(ns int64) {
	h.counts[latIndex(uint64(max(ns, 0)))]++
	h.n++
}

// merge adds o's counts to h.
func (h *histogram) merge(o *histogram) {
	for i, c := range o.counts {
		h.counts[i] += c
	}
	h.n += o.n
}

// percentile returns the value below which a fraction q (0 < q ≤ 1) of the
// recorded latencies fall, in nanoseconds: the midpoint of the bucket that
// holds the ceil(q·n)-th smallest. It returns 0 for an empty histogram.
func (h *histogram) percentile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(h.n)))
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank {
			lo, w := latBounds(i)
			return float64(lo) + float64(w-1)/2
		}
	}
	return 0 // not reached: the counts add up to n
}

// summary returns the percentiles the report shows, in microseconds, or
// nil for an empty histogram.
func (h *histogram) summary() *latencies {
	if h.n == 0 {
		return nil
	}
	return &latencies{P50: h.percentile(0.50) / 1e3, P99: h.percentile(0.99) / 1e3, P999: h.percentile(0.999) / 1e3}
}

// latencies are an engine's completion latency percentiles, in µs.
type latencies struct {
	P50  float64 `json:"p50_us"`
	P99  float64 `json:"p99_us"`
	P999 float64 `json:"p999_us"`
}

// epoch is the origin of clock.
var epoch = time.Now()

// clock returns monotonic nanoseconds since epoch. time.Since on a Time
// with a monotonic reading reads only the monotonic clock (one vDSO call),
// where time.Now reads the wall clock too.
func clock() int64 { return int64(time.Since(epoch)) }
