//go:build linux && cgo

package main

import (
	"cmp"
	"fmt"
	"math"
	"strings"
)

// tables writes every result table that has data.
func (rep *report) tables(b *strings.Builder) {
	for _, d := range []int{1, 32, 128} {
		rep.randTable(b, readID(d), fmt.Sprintf("W1: O_DIRECT 4 KiB random reads, %d in flight", d))
	}
	rep.randTable(b, writeID(writeSweepDepth), fmt.Sprintf("W2: O_DIRECT 4 KiB random writes, %d in flight", writeSweepDepth))
	rep.randTable(b, cachedID, "W3: page-cache-hot 4 KiB random reads, 32 in flight")
	rep.randTableRef(b, coldID, "W5: cold buffered 4 KiB random reads, 32 in flight", keyFile)
	rep.holTable(b)
	for _, sw := range rep.sweeps() {
		rep.sweepTables(b, sw)
	}
	rep.w4Tables(b)
}

// randTable is a random-I/O case's tables, with the ratios of aio's
// (the Events stream's) figures to each row's.
func (rep *report) randTable(b *strings.Builder, id, title string) {
	rep.randTableRef(b, id, title, keyAIO)
}

// randTableRef is randTable with the ratios of engine ref's figures.
func (rep *report) randTableRef(b *strings.Builder, id, title, ref string) {
	row := rep.med[id]
	if len(row) == 0 {
		return
	}
	a, haveRef := row[ref]
	ratio := func(x, y float64) string {
		if !haveRef || y == 0 {
			return ""
		}
		return fmt.Sprintf("%.2fx", x/y)
	}
	var rows [][]string
	for _, e := range randEngines {
		m, ok := row[e.key]
		if !ok {
			continue
		}
		r := []string{e.label, fmtIOPS(m.IOPS), fmtMicros(m.CPUPerIO), fmtCount(float64(m.Threads)),
			fmtMiB(m.RSS), fmtMiB(m.VSZ), fmt.Sprintf("%.2f", m.Wall), "", ""}
		if e.key != ref {
			r[7], r[8] = ratio(a.IOPS, m.IOPS), ratio(a.CPUPerIO, m.CPUPerIO)
		}
		rows = append(rows, r)
	}
	name := "aio"
	if ref != keyAIO {
		name = engineByKey(ref).short
	}
	fmt.Fprintf(b, "\n## %s\n\n", title)
	b.WriteString(mdTable([]string{"engine", "IOPS", "CPU µs/IO", "OS threads", "RSS MiB", "VSZ MiB", "wall s",
		name + " IOPS ÷ this", name + " CPU/IO ÷ this"}, rows))
	rep.costTable(b, id)
}

// costTable is the second table of a case: each engine's completion
// latency, and what each I/O costs in system calls, context switches, CPU
// migrations and cgo calls ("—": the engine does not report it, or it was
// not measured in this run).
func (rep *report) costTable(b *strings.Builder, id string) {
	var rows [][]string
	for _, e := range randEngines {
		m, ok := rep.med[id][e.key]
		if !ok {
			continue
		}
		rows = append(rows, []string{e.label, fmtLatency(m.P50), fmtLatency(m.P99), fmtLatency(m.P999),
			fmtPerIO(m.Syscalls), fmtPerIO(m.Switches), fmtPerIO(m.Migrations), fmtPerIO(m.CgoCalls)})
	}
	b.WriteString("\nLatency (µs, submission to completion) and costs per I/O:\n\n")
	b.WriteString(mdTable([]string{"engine", "p50 µs", "p99 µs", "p99.9 µs", "syscalls/IO", "ctx switches/IO",
		"migrations/IO", "cgo calls/IO"}, rows))
}

// holTable is W6's: the O_DIRECT reads' figures alone and beside the
// cold buffered readers, a row each.
func (rep *report) holTable(b *strings.Builder) {
	var rows [][]string
	for _, c := range []struct{ id, what string }{
		{holAloneID, "alone"},
		{holMixedID, fmt.Sprintf("beside %d cold buffered readers, same Context", rep.cfg.holReaders)},
		{holApartID, fmt.Sprintf("beside %d cold buffered readers, another Context", rep.cfg.holReaders)},
	} {
		m, ok := rep.med[c.id][keyHOL]
		if !ok {
			continue
		}
		rows = append(rows, []string{c.what, fmtIOPS(m.IOPS), fmtLatency(m.P50), fmtLatency(m.P99), fmtLatency(m.P999),
			fmtIOPS(m.ColdIOPS), fmtCount(float64(m.Threads)), fmt.Sprintf("%.1f%%", m.CPUPct)})
	}
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "\n## W6: head-of-line blocking, O_DIRECT 4 KiB random reads through aio.File, 32 in flight\n\n"+
		"The buffered readers use a second aio.File, on the same Context or on another, and read %s. "+
		"IOPS and latency are the O_DIRECT reads' only; CPU %% is the whole process's. "+
		"The goal compares the same-Context row with the row alone; the other-Context row is the same load with no io_submit shared, "+
		"the floor the same-Context row can come down to on this machine.\n\n", cmp.Or(rep.cold, "their source"))
	b.WriteString(mdTable([]string{"O_DIRECT reads", "IOPS", "p50 µs", "p99 µs", "p99.9 µs", "buffered reads/s",
		"OS threads", "CPU %"}, rows))
}

// sweepTables show how IOPS, CPU per I/O, latency, threads and the costs
// per I/O change with depth, in sweep sw.
func (rep *report) sweepTables(b *strings.Builder, sw sweep) {
	if len(sw.depths) < 2 {
		return
	}
	var engines []engine
	for _, e := range randEngines {
		for _, d := range sw.depths {
			if _, ok := rep.med[sw.id(d)][e.key]; ok {
				engines = append(engines, e)
				break
			}
		}
	}
	if len(engines) == 0 {
		return
	}
	head := []string{"in flight"}
	for _, e := range engines {
		head = append(head, e.label)
	}
	for _, m := range []metric{mIOPS, mCPU, mP99, mThreads, mSyscalls, mSwitches, mCgo} {
		var rows [][]string
		for _, d := range sw.depths {
			r := []string{fmt.Sprint(d)}
			for _, e := range engines {
				v, ok := rep.med[sw.id(d)][e.key]
				cell := ""
				if ok {
					cell = m.show(m.value(v))
				}
				r = append(r, cell)
			}
			rows = append(rows, r)
		}
		fmt.Fprintf(b, "\n## Depth sweep, O_DIRECT 4 KiB random %s: %s\n\n", sw.name, m.name)
		b.WriteString(mdTable(head, rows))
	}
}

// w4Tables are linux_aio's four tables: time, threads, memory and CPU, a
// row per engine and a column per number of files.
func (rep *report) w4Tables(b *strings.Builder) {
	if len(rep.med[w4ID(rep.cfg.w4Files[0])]) == 0 {
		return
	}
	head := []string{"files"}
	for _, n := range rep.cfg.w4Files {
		head = append(head, fmt.Sprint(n))
	}
	fmt.Fprintf(b, "\n## W4: linux_aio's experiment\n\n"+
		"%d rounds 1 ms apart, each reading 1, 6, 12 or 24 files of 1 KB to 100 KB whole, with O_DIRECT; "+
		"aio submits a round's reads in one Submit, os.File sequential reads one file after another, "+
		"os.File goroutines starts a goroutine per file each round. Time is the process's wall time, "+
		"CPU %% its user + system time over that.\n", rep.cfg.w4Reads)
	for _, t := range []struct {
		title string
		cell  func(measurement) string
	}{
		{"Time (s)", func(m measurement) string { return fmt.Sprintf("%.3f", m.Wall) }},
		{"OS threads", func(m measurement) string { return fmt.Sprint(m.Threads) }},
		{"Memory: peak RSS (peak VSZ)", func(m measurement) string {
			return fmt.Sprintf("%s MiB (%s MiB)", fmtMiB(m.RSS), fmtMiB(m.VSZ))
		}},
		{"CPU %", func(m measurement) string { return fmt.Sprintf("%.1f%%", m.CPUPct) }},
	} {
		var rows [][]string
		for _, e := range w4Engines {
			r := []string{e.label}
			for _, n := range rep.cfg.w4Files {
				cell := ""
				if m, ok := rep.med[w4ID(n)][e.key]; ok {
					cell = t.cell(m)
				}
				r = append(r, cell)
			}
			rows = append(rows, r)
		}
		fmt.Fprintf(b, "\n### W4: %s\n\n", t.title)
		b.WriteString(mdTable(head, rows))
	}
}

// mdTable formats a Markdown table.
func mdTable(head []string, rows [][]string) string {
	var b strings.Builder
	line := func(cells []string) {
		b.WriteString("|")
		for _, c := range cells {
			b.WriteString(" " + c + " |")
		}
		b.WriteString("\n")
	}
	line(head)
	sep := make([]string, len(head))
	for i := range sep {
		sep[i] = "---"
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}

func fmtIOPS(x float64) string {
	switch {
	case x >= 1e6:
		return fmt.Sprintf("%.2f M", x/1e6)
	case x >= 1e3:
		return fmt.Sprintf("%.1f k", x/1e3)
	}
	return fmt.Sprintf("%.0f", x)
}

func fmtMicros(x float64) string { return fmt.Sprintf("%.2f", x) }
func fmtCount(x float64) string  { return fmt.Sprintf("%.0f", x) }
func fmtMiB(n int64) string      { return fmt.Sprintf("%.1f", float64(n)/(1<<20)) }

// fmtLatency shows µs to three significant figures or so, "—" for NaN.
func fmtLatency(x float64) string {
	switch {
	case math.IsNaN(x):
		return "—"
	case x >= 1000:
		return fmt.Sprintf("%.0f", x)
	}
	return fmt.Sprintf("%.1f", x)
}

// fmtPerIO shows a count per I/O, "—" for NaN.
func fmtPerIO(x float64) string {
	if math.IsNaN(x) {
		return "—"
	}
	return fmt.Sprintf("%.2f", x)
}
