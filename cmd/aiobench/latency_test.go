//go:build linux && cgo

package main

import (
	"math"
	"testing"
)

// Every value falls in a bucket whose bounds hold it; buckets follow each
// other with no gap or overlap; and none is wider than 1/latSub of the
// values in it, which bounds the error of a percentile.
func TestLatencyBuckets(t *testing.T) {
	next := uint64(0) // the lowest value the next bucket must start at
	for i := range latBuckets {
		lo, w := latBounds(i)
		if lo != next {
			t.Fatalf("bucket %d starts at %d, want %d", i, lo, next)
		}
		if i >= 2*latSub && float64(w) > float64(lo)/latSub {
			t.Fatalf("bucket %d [%d, +%d) is wider than 1/%d of its values", i, lo, w, latSub)
		}
		for _, v := range []uint64{lo, lo + w/2, lo + w - 1} {
			if got := latIndex(v); got != i {
				t.Fatalf("value %d in bucket %d, want %d [%d, +%d)", v, got, i, lo, w)
			}
		}
		next = lo + w
	}
	if next != latMax+1 {
		t.Fatalf("the buckets end at %d, want %d", next, uint64(latMax+1))
	}
	// Beyond the range, values count in the last bucket.
	if latIndex(math.MaxUint64) != latBuckets-1 || latIndex(latMax+1) != latBuckets-1 {
		t.Fatal("values past latMax are not in the last bucket")
	}
}

// Percentiles of known sets: exact where buckets are one value wide,
// within a bucket's half-width above that.
func TestLatencyPercentiles(t *testing.T) {
	var empty histogram
	if empty.percentile(0.99) != 0 || empty.summary() != nil {
		t.Fatal("an empty histogram has percentiles")
	}

	var small histogram
	for v := int64(1); v <= 100; v++ {
		small.record(v)
	}
	for _, c := range []struct{ q, want float64 }{{0.5, 50}, {0.99, 99}, {0.999, 100}, {1, 100}, {0.001, 1}} {
		if got := small.percentile(c.q); got != c.want {
			t.Errorf("1..100: percentile(%v) = %v, want %v", c.q, got, c.want)
		}
	}

	// 1 µs to 10 ms in steps of 1 µs, and one value of a minute.
	var h histogram
	for v := int64(1); v <= 10000; v++ {
		h.record(v * 1000)
	}
	h.record(60e9)
	n := 10001.0
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := math.Ceil(q*n) * 1000
		got := h.percentile(q)
		if math.Abs(got-want)/want > 0.5/latSub {
			t.Errorf("percentile(%v) = %v, want %v within %.2f%%", q, got, want, 50.0/latSub)
		}
	}
	if got := h.percentile(1); math.Abs(got-60e9)/60e9 > 0.5/latSub {
		t.Errorf("percentile(1) = %v, want 60e9", got)
	}
	s := h.summary()
	if s == nil || math.Abs(s.P50-5000) > 5000.0/latSub || math.Abs(s.P99-9901) > 9901.0/latSub {
		t.Errorf("summary %+v, want p50 5000 µs and p99 9901 µs", s)
	}

	// A negative latency (no monotonic clock would give one) counts as 0.
	var neg histogram
	neg.record(-5)
	if neg.n != 1 || neg.counts[0] != 1 {
		t.Fatal("a negative latency is not counted as 0")
	}
}

// Merging per-goroutine histograms is adding them: the merged one's
// percentiles are those of all the values recorded in one.
func TestLatencyMerge(t *testing.T) {
	var a, b, all histogram
	for v := int64(0); v < 5000; v++ {
		a.record(v * 7)
		b.record(v*13 + 100000)
		all.record(v * 7)
		all.record(v*13 + 100000)
	}
	a.merge(&b)
	if a != all {
		t.Fatal("merge differs from recording all the values in one histogram")
	}
}

// Recording allocates nothing, and reading the clock neither.
func TestLatencyRecordAllocs(t *testing.T) {
	h := new(histogram)
	t0 := clock()
	if n := testing.AllocsPerRun(1000, func() { h.record(clock() - t0) }); n != 0 {
		t.Fatalf("%v allocations per record", n)
	}
	if clock() < t0 {
		t.Fatal("clock went back")
	}
}
