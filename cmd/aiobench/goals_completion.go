//go:build linux && cgo

package main

import (
	"fmt"
	"math"
	"strings"
)

// The completion-path goals: how close the package's ways of waiting for
// I/O come to the C loop over the same core, and how far past plain Go
// they go, at every depth of the read and write sweeps. They are the
// measure of the completion-path work (leader/follower reaping, gathered
// submissions): each engine a user may pick must be as good as the C loop
// and better than os.File, not only the tuned batching loop.
const (
	cpIOPSvsC      = 0.95 // IOPS at least this times the C loop's...
	cpCPUvsC       = 1.25 // ...at CPU per I/O at most this times its
	cpIOPSvsOSFile = 1.0  // IOPS at least this times os.File's...
	cpCPUvsOSFile  = 1.0  // ...at CPU per I/O at most this times its
	cpManualVsC    = 0.97 // Manual's IOPS against the C loop's
	cpCachedVsC    = 0.9  // the stream's cache-hot IOPS against the C loop's
	cpP99VsOSFile  = 1.1  // p99 latency at 1 in flight against os.File's
	cpMaxThreads   = 6    // OS threads at any depth
	// cpIdleCPU and cpIdleSwitches are what an idle Context may add to
	// the CPU time (µs) and context switches of an idle Go process over
	// the idle check: nothing, give or take the noise of those figures on
	// a shared VM. A timer or poller that woke every 50 ms would add 40
	// switches over 2 s, and about 2 ms of CPU.
	cpIdleCPU      = 1000
	cpIdleSwitches = 10
)

// cpEngines are the package's engines each held to the goals against the
// C loop and os.File.
var cpEngines = []string{keyAIO, keyNatural, keyWait, keyFile}

// cpThreadEngines are the package's engines held to cpMaxThreads.
var cpThreadEngines = []string{keyAIO, keyNatural, keyWait, keyManual, keyFile}

// sweep is one of the sweeps the per-depth goals are checked on.
type sweep struct {
	name   string // "reads", "writes"
	id     func(depth int) string
	depths []int
}

func (rep *report) sweeps() []sweep {
	return []sweep{
		{"reads", readID, rep.cfg.depths},
		{"writes", writeID, rep.cfg.wdepths},
	}
}

// completionGoals checks the completion-path goals against the medians.
func completionGoals(med map[string]map[string]measurement, sweeps []sweep) []goalResult {
	var goals []goalResult
	for _, sw := range sweeps {
		for _, d := range sw.depths {
			id := sw.id(d)
			for _, ref := range []string{keyC, keyOSFile} {
				iopsMin, cpuMax := cpIOPSvsC, cpCPUvsC
				if ref == keyOSFile {
					iopsMin, cpuMax = cpIOPSvsOSFile, cpCPUvsOSFile
				}
				for _, e := range cpEngines {
					g := iopsCPUGoal(med, id, e, ref, iopsMin, cpuMax)
					g.Name = fmt.Sprintf("%s at %d: %s", sw.name, d, g.Name)
					g.Table, g.Depth = sw.name, d
					goals = append(goals, g)
				}
				if ref == keyC {
					g := ratioGoal(med, "", id, keyManual, keyC, mIOPS, cpManualVsC, atLeast)
					g.Name = fmt.Sprintf("%s at %d: Manual IOPS ≥ %gx the C loop's", sw.name, d, cpManualVsC)
					g.Table, g.Depth, g.Column = sw.name, d, "Manual ÷ C"
					g.Cell = cellOf(g, ratioOf(med, id, keyManual, keyC, mIOPS))
					goals = append(goals, g)
				}
			}
		}
	}
	for _, sw := range sweeps {
		for _, e := range []string{keyAIO, keyFile} {
			name := fmt.Sprintf("%s at 1 in flight: %s p99 latency ≤ %gx os.File's", sw.name, engineByKey(e).short, cpP99VsOSFile)
			goals = append(goals, ratioGoal(med, name, sw.id(1), e, keyOSFile, mP99, cpP99VsOSFile, atMost))
		}
	}
	goals = append(goals,
		ratioGoal(med, fmt.Sprintf("W3 cache-hot reads: stream IOPS ≥ %gx the C loop's", cpCachedVsC), cachedID, keyAIO, keyC, mIOPS, cpCachedVsC, atLeast),
		idleGoal(med))
	for _, e := range cpThreadEngines {
		goals = append(goals, threadsGoal(med, sweeps, e))
	}
	return goals
}

func atLeast(x, bound float64) bool { return x >= bound }
func atMost(x, bound float64) bool  { return x <= bound }

// ratioOf returns the value of m of engine ours over other's in case id,
// or NaN if either is missing.
func ratioOf(med map[string]map[string]measurement, id, ours, other string, m metric) float64 {
	a, okA := med[id][ours]
	b, okB := med[id][other]
	if !okA || !okB || !(m.value(b) > 0) {
		return math.NaN()
	}
	return m.value(a) / m.value(b)
}

// iopsCPUGoal checks that engine ours, in case id, has at least iopsMin
// times ref's IOPS at no more than cpuMax times its CPU per I/O: faster
// and no dearer, both at once.
func iopsCPUGoal(med map[string]map[string]measurement, id, ours, ref string, iopsMin, cpuMax float64) goalResult {
	o, r := engineByKey(ours), engineByKey(ref)
	g := goalResult{
		Name:   fmt.Sprintf("%s IOPS ≥ %gx %s's at CPU per I/O ≤ %gx", o.short, iopsMin, r.short, cpuMax),
		Column: o.short + " ÷ " + r.short,
	}
	iops, cpu := ratioOf(med, id, ours, ref, mIOPS), ratioOf(med, id, ours, ref, mCPU)
	if math.IsNaN(iops) || math.IsNaN(cpu) {
		g.Detail, g.Cell = "not measured in this run", "—"
		return g
	}
	a, b := med[id][ours], med[id][ref]
	g.Checked, g.Pass = true, iops >= iopsMin && cpu <= cpuMax
	g.Detail = fmt.Sprintf("%sx, %sx (IOPS %s against %s; CPU per I/O %s against %s µs)",
		fmtRatio(iops, iopsMin), fmtRatio(cpu, cpuMax), fmtIOPS(a.IOPS), fmtIOPS(b.IOPS), fmtMicros(a.CPUPerIO), fmtMicros(b.CPUPerIO))
	g.Cell = cellOf(g, iops, cpu)
	return g
}

// cellOf is a per-depth goal's table cell: its verdict and ratios.
func cellOf(g goalResult, ratios ...float64) string {
	if !g.Checked {
		return "—"
	}
	var b strings.Builder
	b.WriteString(verdict(g))
	for _, x := range ratios {
		fmt.Fprintf(&b, " %.2fx", x)
	}
	return b.String()
}

// verdict is PASS, FAIL or SKIP (not measured).
func verdict(g goalResult) string {
	switch {
	case !g.Checked:
		return "SKIP"
	case g.Pass:
		return "PASS"
	}
	return "FAIL"
}

// idleGoal: an idle Context costs no CPU and holds no OS thread.
func idleGoal(med map[string]map[string]measurement) goalResult {
	g := goalResult{Name: "idle Context: no CPU and no OS thread held while idle"}
	m, ok := med[idleID][keyIdle]
	if !ok || m.Idle == nil {
		g.Detail = "not measured in this run"
		return g
	}
	i := m.Idle
	g.Checked = true
	g.Pass = i.CPU-i.BaseCPU <= cpIdleCPU && i.Switches-i.BaseSwitches <= cpIdleSwitches && i.Held == 0
	g.Detail = fmt.Sprintf("in %.1f s, %.0f µs of CPU and %d context switches (without a Context: %.0f µs and %d; "+
		"the Context may add %d µs and %d); %d OS threads, %d held",
		i.Secs, i.CPU, i.Switches, i.BaseCPU, i.BaseSwitches, cpIdleCPU, cpIdleSwitches, i.Threads, i.Held)
	if i.Held > 0 {
		g.Detail += " (waiting in " + strings.Join(i.HeldWhat, ", ") + ")"
	}
	return g
}

// threadsGoal: engine e's peak OS threads stay at most cpMaxThreads at
// every depth of every sweep.
func threadsGoal(med map[string]map[string]measurement, sweeps []sweep, e string) goalResult {
	g := goalResult{Name: fmt.Sprintf("%s: OS threads ≤ %d at every depth", engineByKey(e).short, cpMaxThreads)}
	most, where := -1, ""
	for _, sw := range sweeps {
		for _, d := range sw.depths {
			if m, ok := med[sw.id(d)][e]; ok && m.Threads > most {
				most, where = m.Threads, fmt.Sprintf("%s at %d", sw.name, d)
			}
		}
	}
	if most < 0 {
		g.Detail = "not measured in this run"
		return g
	}
	g.Checked, g.Pass = true, most <= cpMaxThreads
	g.Detail = fmt.Sprintf("at most %d (%s)", most, where)
	return g
}
