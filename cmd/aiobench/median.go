//go:build linux && cgo

package main

import "slices"

// median returns the median of xs (the mean of the middle two for an even
// count), or 0 for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// medianOf returns, field by field, the median of ms: each column of the
// report is the median of its own values over the rounds.
func medianOf(ms []measurement) measurement {
	col := func(f func(measurement) float64) float64 {
		xs := make([]float64, len(ms))
		for i, m := range ms {
			xs[i] = f(m)
		}
		return median(xs)
	}
	return measurement{
		IOPS:     col(func(m measurement) float64 { return m.IOPS }),
		CPUPerIO: col(func(m measurement) float64 { return m.CPUPerIO }),
		CPUPct:   col(func(m measurement) float64 { return m.CPUPct }),
		Wall:     col(func(m measurement) float64 { return m.Wall }),
		Threads:  int(col(func(m measurement) float64 { return float64(m.Threads) }) + 0.5),
		RSS:      int64(col(func(m measurement) float64 { return float64(m.RSS) })),
		VSZ:      int64(col(func(m measurement) float64 { return float64(m.VSZ) })),
	}
}
