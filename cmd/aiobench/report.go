//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// report is a run's medians, goals and setting, ready to print or write.
type report struct {
	cfg      config
	machine  machine
	date     time.Time
	notes    []string
	failed   []string
	med      map[string]map[string]measurement // by case id, then engine key
	goals    []goalResult
	cpGoals  []goalResult // the completion-path goals (goals_completion.go)
	bufGoals []goalResult // the buffered-file goals (goals_buffered.go)
	cold     string       // W6's cold source, as the report names it
}

func (r *runner) report() *report {
	rep := &report{
		cfg: r.cfg, machine: describeMachine(r.cfg.file, r.fio), date: time.Now().UTC(),
		notes: r.notes, failed: r.failed, med: map[string]map[string]measurement{},
	}
	if r.cold != nil {
		rep.cold = r.cold.what
	}
	for id, byEngine := range r.results {
		rep.med[id] = map[string]measurement{}
		for key, ms := range byEngine {
			rep.med[id][key] = medianOf(ms)
		}
	}
	rep.goals = checkGoals(rep.med, r.cfg.w4Files)
	rep.cpGoals = completionGoals(rep.med, rep.sweeps())
	rep.bufGoals = bufferedGoals(rep.med)
	return rep
}

// text is what the runner prints at the end: the comparison tables and the
// goals.
func (rep *report) text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nMedians of %d round(s); random I/O runs of %gs on %s (%d MiB).\n",
		rep.cfg.rounds, rep.cfg.secs, rep.cfg.file, rep.cfg.size>>20)
	rep.tables(&b)
	rep.goalList(&b)
	b.WriteString("\n")
	rep.completionGoalList(&b, false)
	rep.bufferedGoalList(&b, false)
	for _, f := range rep.failed {
		fmt.Fprintf(&b, "\nFAILED RUN: %s\n", f)
	}
	return b.String()
}

// write writes the Markdown report to md and the chart to svg, skipping
// either if its path is empty.
func (rep *report) write(md, svg string) error {
	if svg != "" {
		if err := writeFile(svg, rep.svg()); err != nil {
			return err
		}
	}
	if md == "" {
		return nil
	}
	chart := ""
	if svg != "" {
		if rel, err := filepath.Rel(filepath.Dir(md), svg); err == nil {
			chart = filepath.ToSlash(rel)
		}
	}
	return writeFile(md, rep.markdown(chart))
}

func writeFile(name, content string) error {
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return err
	}
	return os.WriteFile(name, []byte(content), 0o644)
}

// markdown is BENCHMARKS.md: the setting, the method, the chart, the goals
// and every table.
func (rep *report) markdown(chart string) string {
	var b strings.Builder
	m := rep.machine
	b.WriteString("# Benchmarks\n\n")
	b.WriteString("Written by `cmd/aiobench` (do not edit by hand; run it again). Every figure comes from one run, ")
	b.WriteString("with the engines side by side and alternating, because the machines this project runs on are shared and noisy: ")
	b.WriteString("compare figures within this file, not with figures taken elsewhere.\n\n")
	b.WriteString(mdTable([]string{"", ""}, [][]string{
		{"command", "`" + rep.cfg.command + "`"},
		{"date", rep.date.Format("2006-01-02 15:04 MST")},
		{"CPU", m.CPU},
		{"memory", m.Memory},
		{"kernel", m.Kernel},
		{"file system", m.FS},
		{"file", fmt.Sprintf("`%s`, %d MiB", rep.cfg.file, rep.cfg.size>>20)},
		{"Go", m.Go},
		{"fio", m.Fio},
		{"rounds", fmt.Sprintf("%d; random-I/O runs of %g s; W4 with %d reads 1 ms apart", rep.cfg.rounds, rep.cfg.secs, rep.cfg.w4Reads)},
	}))
	b.WriteString(method)
	b.WriteString(rep.commands())
	for _, n := range rep.notes {
		fmt.Fprintf(&b, "\nNote: %s\n", n)
	}
	if chart != "" {
		fmt.Fprintf(&b, "\n![IOPS, CPU µs per I/O and p99 completion latency against the number of O_DIRECT 4 KiB random reads in flight, per engine](%s)\n", chart)
	}
	b.WriteString("\n## Goals\n\n```\n")
	for _, g := range rep.goals {
		b.WriteString(g.String() + "\n")
	}
	b.WriteString("```\n\n## Completion-path goals\n")
	rep.completionGoalList(&b, true)
	b.WriteString("\n## Buffered-file goals\n")
	rep.bufferedGoalList(&b, true)
	rep.tables(&b)
	for _, f := range rep.failed {
		fmt.Fprintf(&b, "\nA run failed: %s\n", f)
	}
	return b.String()
}

// method says how the figures were taken.
const method = `
How: each engine runs in a process of its own, started by the runner, which
samples the process's /proc/PID/status every 5 ms (peak OS threads; peak
virtual size, VmPeak) and takes its CPU time (user + system), context
switches and peak RSS from wait4's rusage when it exits. CPU per I/O is that
CPU time, less the CPU time of the same command run for 1 ms right after
(what starting and ending the engine costs: a few milliseconds for Go and C,
about 0.15 s for fio, which calibrates its clock), over the I/Os done;
context switches per I/O likewise. fio's own usr_cpu and sys_cpu are left
aside: they are percentages of its job thread's runtime alone, while this
measures every engine the same way.
IOPS are the engine's own count over the time from its first submission to
its last completion (fio's JSON report, aiocore-bench's last line). Every
case runs once per round with each engine, the engines' order turning by one
each round; the tables give the median of the rounds, each column on its own.
Random I/O is 4 KiB at random 4 KiB-aligned offsets of the file; the writes
overwrite the file's blocks (it is preallocated); W3's file is read into the
page cache before each run.

Latency is each I/O's time from its submission to the moment the engine's
loop sees it complete, counted in a log-linear histogram (buckets under 1.6%
wide: nothing allocated per I/O), in our Go engines and the C loop alike;
for fio, its clat percentiles. System calls (the raw_syscalls:sys_enter
tracepoint) and CPU migrations per I/O are counted by perf stat in runs of
their own, in the first round only, since tracing every system call slows
it: the difference between a run of -acctsecs and one of 1 ms, over the
difference in I/Os. cgo calls per I/O are runtime.NumCgoCall's growth over
the Go engine's measured time. "—" marks a figure an engine does not give.

Engines: **aio**, this package through its Events stream (Blocks made once;
each turn takes the events that are there and resubmits their Blocks in one
Submit); **aio, natural loop**, the loop a new user writes first: range over
Events and resubmit each event's Block with a Submit call of its own;
**aio, Block.Wait**, a goroutine per I/O in flight, each owning one Block set
to wait, looping on Submit and Wait; **aio, Manual**, the batching loop on a
Manual Context, reaping with GetEventsInto into its own slice (which waits in
io_getevents, as the C loop does); **aio.File** and **os.File**, one goroutine per I/O in flight,
each calling ReadAt or WriteAt in a loop; the **C loop**, csrc's
aiocore-bench over the same C core (reaping from the completion ring, one
aioc_submit per batch); **fio** with its libaio engine, and with io_uring as
a reference for the kernel's newer interface. The write sweep runs fio at 32
in flight only. Ratios are aio's (the Events stream's) figure divided by the
row's. The idle check leaves a stream Context idle after a burst of I/O and
takes the process's CPU time, context switches and blocked threads, beside
the same process's CPU time and context switches while it idled before it
made the Context.

Buffered files (issue 14): W3 above reads a file the page cache holds. W5
reads the same file cold: before each engine's run its pages are dropped
with posix_fadvise(POSIX_FADV_DONTNEED), then aio.File and os.File read it
with 32 goroutines, and the C loop with 32 buffered reads in flight (-B).
The blocks are random, with repeats, so the cache warms a little as a run
goes on, for every engine alike. W6 is head-of-line blocking: 32 goroutines
do O_DIRECT 4 KiB random reads of the file through one aio.File (only these
are timed), alone, and beside a few goroutines doing cold buffered 4 KiB
reads through a second aio.File on the same Context. A buffered read that
misses the page cache is done inside io_submit, so when a File gathers it
into the same io_submit as O_DIRECT reads, they wait for it. The buffered
readers read a source of their own, each block once per pass in a fixed
scattered order, its pages dropped before each run and at each pass, so that
every read misses the cache; as root that source is a loop device over a
file in /dev/shm, read as a raw block device: cold reads go through the
block layer as on a disk, but share no queue with the O_DIRECT reads, which
then wait on io_submit and not on the disk. The Context has 64 Blocks in
every case, and the second File is made in every case. A third case runs
the same buffered readers through a File on a Context of their own: the
same load on the CPUs and the device with no io_submit shared, the floor
that the same-Context case can come down to on the machine.
`

// commands shows each engine's command for W1 at depth 32, as the runner
// starts it (our own engines run in this binary's hidden -engine mode).
func (rep *report) commands() string {
	names := &runner{self: "aiobench", cbench: "csrc/build/aiocore-bench", fio: "fio"}
	j := job{Kind: kindRand, File: rep.cfg.file, Direct: true, Depth: 32, Secs: rep.cfg.secs}
	var b strings.Builder
	b.WriteString("\nThe engines' commands, for W1 at depth 32 (W2 adds -w, --rw=randwrite; W3 -B, --direct=0; " +
		"the accounting runs put perf stat -x , -e " + perfEvents + " -- in front):\n\n```\n")
	for _, e := range randEngines {
		argv := e.argv(names, e.key, j)
		for i, a := range argv {
			argv[i] = shellQuote(a)
		}
		b.WriteString(strings.Join(argv, " ") + "\n")
	}
	b.WriteString("```\n")
	return b.String()
}

// shellQuote quotes s for a POSIX shell where it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_./=,:+-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func (rep *report) goalList(b *strings.Builder) {
	b.WriteString("\nGoals (checked, never failing the run):\n")
	for _, g := range rep.goals {
		b.WriteString(g.String() + "\n")
	}
}

// completionGoalList shows the completion-path goals: those checked at
// each depth as a table per sweep (a row per depth, a column per engine
// and reference, each cell the verdict and the ratios), the rest as a
// list, then how many pass; for Markdown (md) the list in a code block.
func (rep *report) completionGoalList(b *strings.Builder, md bool) {
	fmt.Fprintf(b, "\nCompletion-path goals (checked, never failing the run). Against the C loop, "+
		"IOPS ≥ %gx at CPU per I/O ≤ %gx (Manual: IOPS ≥ %gx); against os.File, IOPS ≥ %gx at CPU per I/O ≤ %gx. "+
		"Each cell: the verdict, the IOPS ratio, the CPU per I/O ratio.\n",
		cpIOPSvsC, cpCPUvsC, cpManualVsC, cpIOPSvsOSFile, cpCPUvsOSFile)
	var list []goalResult
	tables := map[string][]goalResult{}
	var order []string
	for _, g := range rep.cpGoals {
		if g.Table == "" {
			list = append(list, g)
			continue
		}
		if tables[g.Table] == nil {
			order = append(order, g.Table)
		}
		tables[g.Table] = append(tables[g.Table], g)
	}
	for _, name := range order {
		gs := tables[name]
		var cols []string
		seen := map[string]bool{}
		for _, g := range gs {
			if !seen[g.Column] {
				seen[g.Column] = true
				cols = append(cols, g.Column)
			}
		}
		cells := map[int]map[string]string{}
		var depths []int
		measured := false
		for _, g := range gs {
			if cells[g.Depth] == nil {
				cells[g.Depth] = map[string]string{}
				depths = append(depths, g.Depth)
			}
			cells[g.Depth][g.Column] = g.Cell
			measured = measured || g.Checked
		}
		if !measured {
			continue
		}
		var rows [][]string
		for _, d := range depths {
			row := []string{fmt.Sprint(d)}
			for _, c := range cols {
				row = append(row, cells[d][c])
			}
			rows = append(rows, row)
		}
		fmt.Fprintf(b, "\n%s, in flight:\n\n", name)
		b.WriteString(mdTable(append([]string{"depth"}, cols...), rows))
	}
	b.WriteString("\n")
	if md {
		b.WriteString("```\n")
	}
	for _, g := range list {
		b.WriteString(g.String() + "\n")
	}
	pass, checked := 0, 0
	for _, g := range rep.cpGoals {
		if g.Checked {
			checked++
			if g.Pass {
				pass++
			}
		}
	}
	fmt.Fprintf(b, "Completion-path goals: %d of %d checked pass (%d not measured in this run).\n",
		pass, checked, len(rep.cpGoals)-checked)
	if md {
		b.WriteString("```\n")
	}
}
