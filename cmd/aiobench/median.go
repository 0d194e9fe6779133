//go:build linux && cgo

package main

import (
	"math"
	"slices"
)

// median returns the median of xs (the mean of the middle two for an even
// count), leaving out NaNs (figures not measured in that round); NaN if
// nothing is left.
func median(xs []float64) float64 {
	s := slices.DeleteFunc(slices.Clone(xs), math.IsNaN)
	if len(s) == 0 {
		return unmeasured
	}
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianOf returns, field by field, the median of ms: each column of the
// report is the median of its own values over the rounds. The idle check
// is the exception: its finding is the worst round's, since a goal that an
// idle Context costs nothing is missed by any round in which it did not.
func medianOf(ms []measurement) measurement {
	col := func(f func(measurement) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return median(xs)
	}
	var idle *idleResult
	for _, m := range ms {
		if m.Idle != nil && (idle == nil || worseIdle(*m.Idle, *idle)) {
			idle = m.Idle
		}
	}
	return measurement{
		IOPS:       col(func(m measurement) float64 { return m.IOPS }),
		CPUPerIO:   col(func(m measurement) float64 { return m.CPUPerIO }),
		CPUPct:     col(func(m measurement) float64 { return m.CPUPct }),
		Wall:       col(func(m measurement) float64 { return m.Wall }),
		Threads:    int(col(func(m measurement) float64 { return float64(m.Threads) }) + 0.5),
		RSS:        int64(col(func(m measurement) float64 { return float64(m.RSS) })),
		VSZ:        int64(col(func(m measurement) float64 { return float64(m.VSZ) })),
		P50:        col(func(m measurement) float64 { return m.P50 }),
		P99:        col(func(m measurement) float64 { return m.P99 }),
		P999:       col(func(m measurement) float64 { return m.P999 }),
		Syscalls:   col(func(m measurement) float64 { return m.Syscalls }),
		Migrations: col(func(m measurement) float64 { return m.Migrations }),
		Switches:   col(func(m measurement) float64 { return m.Switches }),
		CgoCalls:   col(func(m measurement) float64 { return m.CgoCalls }),
		ColdIOPS:   col(func(m measurement) float64 { return m.ColdIOPS }),
		Idle:       idle,
	}
}

// worseIdle reports whether idle check a found more held threads than b,
// or as many and more CPU.
func worseIdle(a, b idleResult) bool {
	if a.Held != b.Held {
		return a.Held > b.Held
	}
	return a.CPU > b.CPU
}
