//go:build linux && cgo

package main

import (
	"slices"
	"strings"
	"testing"
)

// bufMedians are medians in which every buffered-file goal is met by a
// small margin: File at 0.95x os.File's cache-hot IOPS for 0.9x its CPU
// per read, 1.0x its cold IOPS, and an O_DIRECT p99 of 1.15x alone beside
// the buffered readers.
func bufMedians() map[string]map[string]measurement {
	return map[string]map[string]measurement{
		cachedID:   {keyFile: {IOPS: 475e3, CPUPerIO: 2.7}, keyOSFile: {IOPS: 500e3, CPUPerIO: 3}},
		coldID:     {keyFile: {IOPS: 20e3, CPUPerIO: 30}, keyOSFile: {IOPS: 20e3, CPUPerIO: 40}, keyC: {IOPS: 2e3, CPUPerIO: 25}},
		holAloneID: {keyHOL: {IOPS: 90e3, P50: 300, P99: 1000, P999: 4000, Threads: 6, CPUPct: 90}},
		holMixedID: {keyHOL: {IOPS: 80e3, P50: 320, P99: 1150, P999: 5000, ColdIOPS: 9e3, Threads: 7, CPUPct: 85}},
		holApartID: {keyHOL: {IOPS: 85e3, P50: 310, P99: 1100, P999: 4500, ColdIOPS: 9.5e3, Threads: 8, CPUPct: 95}},
	}
}

func TestBufferedGoals(t *testing.T) {
	goals := bufferedGoals(bufMedians())
	if len(goals) != 4 {
		t.Fatalf("%d goals, want 4", len(goals))
	}
	if np := notPassed(goals); len(np) != 0 {
		t.Fatalf("all goals met, but not passed: %q", np)
	}
	for _, c := range []struct {
		what   string
		change func(map[string]map[string]measurement)
		want   []string
	}{
		{"File under 0.9x os.File's cache-hot IOPS",
			func(m map[string]map[string]measurement) {
				m[cachedID][keyFile] = measurement{IOPS: 449e3, CPUPerIO: 2.7}
			},
			[]string{"FAIL W3 cache-hot reads: File IOPS ≥ 0.9x os.File's"}},
		{"File dearer per cache-hot read than os.File",
			func(m map[string]map[string]measurement) {
				m[cachedID][keyFile] = measurement{IOPS: 500e3, CPUPerIO: 3.1}
			},
			[]string{"FAIL W3: File CPU per read ≤ 1x os.File's"}},
		{"File cold reads done one at a time inside io_submit",
			func(m map[string]map[string]measurement) { m[coldID][keyFile] = measurement{IOPS: 7e3, CPUPerIO: 90} },
			[]string{"FAIL W5 cold buffered reads: File IOPS ≥ 0.9x os.File's"}},
		{"O_DIRECT p99 held up by buffered reads in the same io_submit",
			func(m map[string]map[string]measurement) { m[holMixedID][keyHOL] = measurement{IOPS: 50e3, P99: 4000} },
			[]string{"FAIL W6: O_DIRECT p99 with cold buffered readers on the same Context ≤ 1.2x alone"}},
		{"no W6 run alone, no os.File: skipped",
			func(m map[string]map[string]measurement) {
				delete(m, holAloneID)
				delete(m[cachedID], keyOSFile)
				delete(m[coldID], keyOSFile)
			},
			[]string{
				"SKIP W3 cache-hot reads: File IOPS ≥ 0.9x os.File's",
				"SKIP W3: File CPU per read ≤ 1x os.File's",
				"SKIP W5 cold buffered reads: File IOPS ≥ 0.9x os.File's",
				"SKIP W6: O_DIRECT p99 with cold buffered readers on the same Context ≤ 1.2x alone",
			}},
	} {
		m := bufMedians()
		c.change(m)
		got := notPassed(bufferedGoals(m))
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: not passed\n\t%s\nwant\n\t%s", c.what, strings.Join(got, "\n\t"), strings.Join(c.want, "\n\t"))
		}
	}
}

// The buffered-file goals print as a section of their own, with a count.
func TestBufferedGoalList(t *testing.T) {
	med := bufMedians()
	med[coldID][keyFile] = measurement{IOPS: 7e3}
	rep := &report{bufGoals: bufferedGoals(med)}
	var b strings.Builder
	rep.bufferedGoalList(&b, false)
	out := b.String()
	for _, want := range []string{
		"Buffered-file goals (issue 14; checked, never failing the run):",
		"PASS  W3 cache-hot reads: File IOPS ≥ 0.9x os.File's: 0.95x (IOPS: 475.0 k against 500.0 k)",
		"PASS  W3: File CPU per read ≤ 1x os.File's: 0.90x (CPU per read: 2.70 against 3.00)",
		"FAIL  W5 cold buffered reads: File IOPS ≥ 0.9x os.File's: 0.35x (IOPS: 7.0 k against 20.0 k)",
		"1.15x (p99 latency: 1150 against 1000); O_DIRECT IOPS 80.0 k against 90.0 k, beside 9.0 k buffered reads/s",
		"Buffered-file goals: 3 of 4 checked pass (0 not measured in this run).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("buffered goals lack %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "```") {
		t.Error("plain text in a code block")
	}
}
