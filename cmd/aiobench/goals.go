//go:build linux && cgo

package main

import (
	"fmt"
	"math"
	"strings"
)

// goalResult is one of the project's performance goals, checked against a
// run's medians. Missing data (an engine not run) leaves it unchecked.
type goalResult struct {
	Name    string
	Checked bool
	Pass    bool
	Detail  string

	// Goals checked at each depth of a sweep are shown as a table too:
	// Table names the sweep, Depth the row, Column the column, and Cell
	// is what the table shows (the verdict and the ratios).
	Table, Column string
	Depth         int
	Cell          string
}

func (g goalResult) String() string {
	return fmt.Sprintf("%s  %s: %s", verdict(g), g.Name, g.Detail)
}

// metric is one column of a measurement, with how to show it.
type metric struct {
	name  string
	value func(measurement) float64
	show  func(float64) string
}

var (
	mIOPS     = metric{"IOPS", func(m measurement) float64 { return m.IOPS }, fmtIOPS}
	mCPU      = metric{"CPU per I/O", func(m measurement) float64 { return m.CPUPerIO }, fmtMicros}
	mThreads  = metric{"OS threads", func(m measurement) float64 { return float64(m.Threads) }, fmtCount}
	mP99      = metric{"p99 latency", func(m measurement) float64 { return m.P99 }, fmtLatency}
	mSyscalls = metric{"system calls per I/O", func(m measurement) float64 { return m.Syscalls }, fmtPerIO}
	mSwitches = metric{"context switches per I/O", func(m measurement) float64 { return m.Switches }, fmtPerIO}
	mCgo      = metric{"cgo calls per I/O", func(m measurement) float64 { return m.CgoCalls }, fmtPerIO}
)

// checkGoals checks the project's performance goals against the medians.
func checkGoals(med map[string]map[string]measurement, w4Files []int) []goalResult {
	w1, w3 := readID(32), cachedID
	goals := []goalResult{
		ratioGoal(med, "W1 at 32: aio IOPS ≥ 0.97x the C loop", w1, keyAIO, keyC, mIOPS, 0.97, atLeast),
		ratioGoal(med, "W1 at 32: aio IOPS ≥ 1.0x fio", w1, keyAIO, keyFio, mIOPS, 1.0, atLeast),
		ratioGoal(med, "W1 at 32: aio CPU per I/O ≤ 1.0x fio's", w1, keyAIO, keyFio, mCPU, 1.0, atMost),
		ratioGoal(med, "W1 at 32: aio IOPS ≥ 1.5x os.File", w1, keyAIO, keyOSFile, mIOPS, 1.5, atLeast),
		ratioGoal(med, "W1 at 32: aio CPU per I/O ≤ 0.4x os.File's", w1, keyAIO, keyOSFile, mCPU, 0.4, atMost),
		ratioGoal(med, "W1 at 32: aio OS threads ≤ 0.25x os.File's", w1, keyAIO, keyOSFile, mThreads, 0.25, atMost),
		ratioGoal(med, "W3: aio IOPS ≥ 2x fio", w3, keyAIO, keyFio, mIOPS, 2, atLeast),
		// Issue 4's goals for aio.File, the same goroutines calling it.
		ratioGoal(med, "W1 at 32: aio.File IOPS ≥ 1.5x os.File", w1, keyFile, keyOSFile, mIOPS, 1.5, atLeast),
		ratioGoal(med, "W1 at 32: aio.File CPU per I/O ≤ 0.4x os.File's", w1, keyFile, keyOSFile, mCPU, 0.4, atMost),
		ratioGoal(med, "W1 at 32: aio.File OS threads ≤ 0.25x os.File's", w1, keyFile, keyOSFile, mThreads, 0.25, atMost),
		w4ThreadsGoal(med, w4Files),
		w4CPUGoal(med, w4Files),
	}
	return goals
}

// ratioGoal checks the value of m of engine ours over other's, in case id,
// against bound.
func ratioGoal(med map[string]map[string]measurement, name, id, ours, other string, m metric, bound float64, ok func(x, bound float64) bool) goalResult {
	g := goalResult{Name: name}
	a, haveA := med[id][ours]
	b, haveB := med[id][other]
	if !haveA || !haveB || !(m.value(b) > 0) || math.IsNaN(m.value(a)) {
		g.Detail = "not measured in this run"
		return g
	}
	x := m.value(a) / m.value(b)
	g.Checked, g.Pass = true, ok(x, bound)
	g.Detail = fmt.Sprintf("%sx (%s: %s against %s)", fmtRatio(x, bound), m.name, m.show(m.value(a)), m.show(m.value(b)))
	return g
}

// fmtRatio shows x to two decimals, or four where two would make it look
// equal to the bound it is checked against.
func fmtRatio(x, bound float64) string {
	s := fmt.Sprintf("%.2f", x)
	if x != bound && s == fmt.Sprintf("%.2f", bound) {
		s = fmt.Sprintf("%.4f", x)
	}
	return s
}

// w4ThreadsGoal: aio's peak OS threads do not grow with the files read.
func w4ThreadsGoal(med map[string]map[string]measurement, files []int) goalResult {
	first, last := files[0], files[len(files)-1]
	g := goalResult{Name: fmt.Sprintf("W4: aio's OS threads the same at %d and at %d files", first, last)}
	lo, okLo := med[w4ID(first)][keyAIO]
	hi, okHi := med[w4ID(last)][keyAIO]
	if !okLo || !okHi {
		g.Detail = "not measured in this run"
		return g
	}
	g.Checked, g.Pass = true, lo.Threads == hi.Threads
	g.Detail = fmt.Sprintf("%d and %d", lo.Threads, hi.Threads)
	return g
}

// w4CPUGoal: aio's CPU % is below every other row's, at every file count.
func w4CPUGoal(med map[string]map[string]measurement, files []int) goalResult {
	g := goalResult{Name: "W4: aio's CPU % the lowest of the rows"}
	var lost, shown []string
	for _, n := range files {
		row := med[w4ID(n)]
		a, ok := row[keyAIO]
		if !ok || len(row) < 2 {
			continue
		}
		g.Checked = true
		lowest := true
		for _, e := range w4Engines {
			if b, ok := row[e.key]; ok && e.key != keyAIO && b.CPUPct <= a.CPUPct {
				lowest = false
				lost = append(lost, fmt.Sprintf("%s %.1f%% at %d files", e.label, b.CPUPct, n))
			}
		}
		mark := ""
		if !lowest {
			mark = " (not lowest)"
		}
		shown = append(shown, fmt.Sprintf("%.1f%% at %d%s", a.CPUPct, n, mark))
	}
	if !g.Checked {
		g.Detail = "not measured in this run"
		return g
	}
	g.Pass = len(lost) == 0
	g.Detail = "aio " + strings.Join(shown, ", ")
	if len(lost) > 0 {
		g.Detail += "; as low or lower: " + strings.Join(lost, ", ")
	}
	return g
}
