//go:build linux && cgo

package main

import (
	"fmt"
	"strings"
)

// Issue 14's goals: aio.File on buffered files. A File is made for
// O_DIRECT, but code handed an *os.File does not know how it was opened,
// so on a buffered file a File must cost no more than the os.File it
// wraps: as fast and no dearer when the page cache holds the data (W3),
// as fast when it does not (W5), and a buffered file read through a
// Context must not hold up the O_DIRECT reads that share it (W6).
const (
	bufHotIOPS  = 0.9 // W3: File's IOPS at least this times os.File's...
	bufHotCPU   = 1.0 // ...at CPU per read at most this times its
	bufColdIOPS = 0.9 // W5: File's IOPS at least this times os.File's
	bufHOLP99   = 1.2 // W6: O_DIRECT p99 beside buffered readers over alone
)

// bufferedGoals checks issue 14's goals against the medians.
func bufferedGoals(med map[string]map[string]measurement) []goalResult {
	mCPURead := mCPU
	mCPURead.name = "CPU per read"
	return []goalResult{
		ratioGoal(med, fmt.Sprintf("W3 cache-hot reads: File IOPS ≥ %gx os.File's", bufHotIOPS), cachedID, keyFile, keyOSFile, mIOPS, bufHotIOPS, atLeast),
		ratioGoal(med, fmt.Sprintf("W3: File CPU per read ≤ %gx os.File's", bufHotCPU), cachedID, keyFile, keyOSFile, mCPURead, bufHotCPU, atMost),
		ratioGoal(med, fmt.Sprintf("W5 cold buffered reads: File IOPS ≥ %gx os.File's", bufColdIOPS), coldID, keyFile, keyOSFile, mIOPS, bufColdIOPS, atLeast),
		holGoal(med),
	}
}

// holGoal: W6's O_DIRECT p99 with the buffered readers on the same
// Context at most bufHOLP99 times its p99 alone. The two are cases of
// their own, with one engine each.
func holGoal(med map[string]map[string]measurement) goalResult {
	both := map[string]measurement{}
	if m, ok := med[holAloneID][keyHOL]; ok {
		both["alone"] = m
	}
	if m, ok := med[holMixedID][keyHOL]; ok {
		both["mixed"] = m
	}
	name := fmt.Sprintf("W6: O_DIRECT p99 with cold buffered readers on the same Context ≤ %gx alone", bufHOLP99)
	g := ratioGoal(map[string]map[string]measurement{"w6": both}, name, "w6", "mixed", "alone", mP99, bufHOLP99, atMost)
	if g.Checked {
		g.Detail += fmt.Sprintf("; O_DIRECT IOPS %s against %s, beside %s buffered reads/s",
			fmtIOPS(both["mixed"].IOPS), fmtIOPS(both["alone"].IOPS), fmtIOPS(both["mixed"].ColdIOPS))
	}
	return g
}

// bufferedGoalList shows issue 14's goals, then how many pass; for
// Markdown (md) in a code block.
func (rep *report) bufferedGoalList(b *strings.Builder, md bool) {
	b.WriteString("\nBuffered-file goals (issue 14; checked, never failing the run):\n\n")
	if md {
		b.WriteString("```\n")
	}
	pass, checked := 0, 0
	for _, g := range rep.bufGoals {
		b.WriteString(g.String() + "\n")
		if g.Checked {
			checked++
			if g.Pass {
				pass++
			}
		}
	}
	fmt.Fprintf(b, "Buffered-file goals: %d of %d checked pass (%d not measured in this run).\n",
		pass, checked, len(rep.bufGoals)-checked)
	if md {
		b.WriteString("```\n")
	}
}
