//go:build linux && cgo

package main

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// cpSweeps are the sweeps of cpMedians: reads at 1 and 32, writes at 1.
var cpSweeps = []sweep{{"reads", readID, []int{1, 32}}, {"writes", writeID, []int{1}}}

// cpMedians are medians in which every completion-path goal is met, each
// by a small margin, so that a test moves one figure to miss one: our
// engines at 0.96x the C loop's IOPS for 1.2x its CPU per I/O, and 1.07x
// os.File's IOPS for 0.48x its CPU; p99 at 1.05x os.File's.
func cpMedians() map[string]map[string]measurement {
	med := map[string]map[string]measurement{}
	for _, id := range []string{readID(1), readID(32), writeID(1)} {
		row := map[string]measurement{
			keyC:      {IOPS: 100, CPUPerIO: 4, Threads: 1, P99: 90},
			keyOSFile: {IOPS: 90, CPUPerIO: 10, Threads: 36, P99: 100},
			keyManual: {IOPS: 98, CPUPerIO: 4.2, Threads: 5, P99: 95},
		}
		for _, e := range cpEngines {
			row[e] = measurement{IOPS: 96, CPUPerIO: 4.8, Threads: 5, P99: 105}
		}
		med[id] = row
	}
	med[cachedID] = map[string]measurement{keyAIO: {IOPS: 91}, keyC: {IOPS: 100}}
	med[idleID] = map[string]measurement{keyIdle: {Idle: &idleResult{Secs: 2, CPU: 600, Switches: 6, BaseCPU: 500, BaseSwitches: 5, Threads: 5}}}
	return med
}

// notPassed lists the goals that did not pass, each as its verdict and
// name.
func notPassed(goals []goalResult) []string {
	var out []string
	for _, g := range goals {
		if !g.Pass {
			out = append(out, verdict(g)+" "+g.Name)
		}
	}
	return out
}

func TestCompletionGoals(t *testing.T) {
	goals := completionGoals(cpMedians(), cpSweeps)
	// Per depth: 4 engines against 2 references and Manual against the
	// C loop; p99 at 1 for the stream and File in each sweep; W3; idle;
	// threads for 5 engines.
	if want := 3*(4*2+1) + 2*2 + 1 + 1 + 5; len(goals) != want {
		t.Fatalf("%d goals, want %d", len(goals), want)
	}
	if np := notPassed(goals); len(np) != 0 {
		t.Fatalf("all goals met, but not passed: %q", np)
	}

	for _, c := range []struct {
		what   string
		change func(map[string]map[string]measurement)
		want   []string
	}{
		{"natural loop slower than 0.95x the C loop, still faster than os.File",
			func(m map[string]map[string]measurement) {
				m[readID(32)][keyNatural] = measurement{IOPS: 94, CPUPerIO: 4.8, Threads: 5}
			},
			[]string{"FAIL reads at 32: natural IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x"}},
		{"Block.Wait dearer than 1.25x the C loop's CPU, cheaper than os.File",
			func(m map[string]map[string]measurement) {
				m[readID(1)][keyWait] = measurement{IOPS: 96, CPUPerIO: 5.1, Threads: 5}
			},
			[]string{"FAIL reads at 1: Wait IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x"}},
		{"the stream both slower and dearer than os.File",
			func(m map[string]map[string]measurement) {
				m[writeID(1)][keyAIO] = measurement{IOPS: 89, CPUPerIO: 11, Threads: 5, P99: 100}
			},
			[]string{
				"FAIL writes at 1: stream IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x",
				"FAIL writes at 1: stream IOPS ≥ 1x os.File's at CPU per I/O ≤ 1x",
			}},
		{"Manual under 0.97x the C loop",
			func(m map[string]map[string]measurement) {
				m[readID(32)][keyManual] = measurement{IOPS: 96.9, CPUPerIO: 4}
			},
			[]string{"FAIL reads at 32: Manual IOPS ≥ 0.97x the C loop's"}},
		{"no C loop in the writes: its goals are skipped",
			func(m map[string]map[string]measurement) { delete(m[writeID(1)], keyC) },
			[]string{
				"SKIP writes at 1: stream IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x",
				"SKIP writes at 1: natural IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x",
				"SKIP writes at 1: Wait IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x",
				"SKIP writes at 1: File IOPS ≥ 0.95x C's at CPU per I/O ≤ 1.25x",
				"SKIP writes at 1: Manual IOPS ≥ 0.97x the C loop's",
			}},
		{"File's p99 over 1.1x os.File's; the stream's not reported",
			func(m map[string]map[string]measurement) {
				f := m[readID(1)][keyFile]
				f.P99 = 111
				m[readID(1)][keyFile] = f
				a := m[writeID(1)][keyAIO]
				a.P99 = math.NaN()
				m[writeID(1)][keyAIO] = a
			},
			[]string{
				"FAIL reads at 1 in flight: File p99 latency ≤ 1.1x os.File's",
				"SKIP writes at 1 in flight: stream p99 latency ≤ 1.1x os.File's",
			}},
		{"cache-hot reads under 0.9x the C loop",
			func(m map[string]map[string]measurement) { m[cachedID][keyAIO] = measurement{IOPS: 89} },
			[]string{"FAIL W3 cache-hot reads: stream IOPS ≥ 0.9x the C loop's"}},
		{"an idle Context holding a thread",
			func(m map[string]map[string]measurement) {
				m[idleID][keyIdle] = measurement{Idle: &idleResult{Held: 1, HeldWhat: []string{"read_events"}}}
			},
			[]string{"FAIL idle Context: no CPU and no OS thread held while idle"}},
		{"an idle Context waking 50 times more than the process without it",
			func(m map[string]map[string]measurement) {
				m[idleID][keyIdle] = measurement{Idle: &idleResult{CPU: 900, BaseCPU: 500, Switches: 55, BaseSwitches: 5}}
			},
			[]string{"FAIL idle Context: no CPU and no OS thread held while idle"}},
		{"an idle Context costing 1.5 ms of CPU more",
			func(m map[string]map[string]measurement) {
				m[idleID][keyIdle] = measurement{Idle: &idleResult{CPU: 2000, BaseCPU: 500}}
			},
			[]string{"FAIL idle Context: no CPU and no OS thread held while idle"}},
		{"no idle check",
			func(m map[string]map[string]measurement) { delete(m, idleID) },
			[]string{"SKIP idle Context: no CPU and no OS thread held while idle"}},
		{"File with 7 threads at one depth",
			func(m map[string]map[string]measurement) {
				f := m[writeID(1)][keyFile]
				f.Threads = 7
				m[writeID(1)][keyFile] = f
			},
			[]string{"FAIL File: OS threads ≤ 6 at every depth"}},
	} {
		m := cpMedians()
		c.change(m)
		got := notPassed(completionGoals(m, cpSweeps))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: not passed\n\t%s\nwant\n\t%s", c.what, strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
		}
	}
}

// The per-depth goals make a table per sweep: a row per depth, a column
// per engine and reference, each cell the verdict and the ratios; the rest
// are listed, then counted.
func TestCompletionGoalTables(t *testing.T) {
	med := cpMedians()
	med[readID(32)][keyNatural] = measurement{IOPS: 50, CPUPerIO: 12, Threads: 5}
	rep := &report{cfg: config{depths: []int{1, 32}, wdepths: []int{1}}, med: med}
	rep.cpGoals = completionGoals(med, rep.sweeps())
	var b strings.Builder
	rep.completionGoalList(&b, true)
	out := b.String()
	for _, want := range []string{
		"| depth | stream ÷ C | natural ÷ C | Wait ÷ C | File ÷ C | Manual ÷ C | stream ÷ os.File | natural ÷ os.File | Wait ÷ os.File | File ÷ os.File |",
		"| 1 | PASS 0.96x 1.20x | PASS 0.96x 1.20x | PASS 0.96x 1.20x | PASS 0.96x 1.20x | PASS 0.98x | PASS 1.07x 0.48x |",
		"| 32 | PASS 0.96x 1.20x | FAIL 0.50x 3.00x |",
		"| FAIL 0.56x 1.20x |", // natural against os.File at 32
		"writes, in flight:",
		"```\nPASS  reads at 1 in flight: stream p99 latency ≤ 1.1x os.File's: 1.05x",
		"PASS  idle Context: no CPU and no OS thread held while idle: in 2.0 s, 600 µs of CPU and 6 context switches (without a Context: 500 µs and 5",
		"Completion-path goals: 36 of 38 checked pass (0 not measured in this run).\n```\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("completion goals lack %q:\n%s", want, out)
		}
	}
}
