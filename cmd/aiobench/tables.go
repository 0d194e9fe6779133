//go:build linux && cgo

package main

import (
	"fmt"
	"strings"
)

// tables writes every result table that has data.
func (rep *report) tables(b *strings.Builder) {
	for _, d := range []int{1, 32, 128} {
		rep.randTable(b, readID(d), fmt.Sprintf("W1: O_DIRECT 4 KiB random reads, %d in flight", d))
	}
	rep.randTable(b, writeID, "W2: O_DIRECT 4 KiB random writes, 32 in flight")
	rep.randTable(b, cachedID, "W3: page-cache-hot 4 KiB random reads, 32 in flight")
	rep.sweepTables(b)
	rep.w4Tables(b)
}

func (rep *report) randTable(b *strings.Builder, id, title string) {
	row := rep.med[id]
	if len(row) == 0 {
		return
	}
	a, haveAIO := row[keyAIO]
	ratio := func(x, y float64) string {
		if !haveAIO || y == 0 {
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
		if e.key != keyAIO {
			r[7], r[8] = ratio(a.IOPS, m.IOPS), ratio(a.CPUPerIO, m.CPUPerIO)
		}
		rows = append(rows, r)
	}
	fmt.Fprintf(b, "\n## %s\n\n", title)
	b.WriteString(mdTable([]string{"engine", "IOPS", "CPU µs/IO", "OS threads", "RSS MiB", "VSZ MiB", "wall s",
		"aio IOPS ÷ this", "aio CPU/IO ÷ this"}, rows))
}

// sweepTables show how IOPS, CPU per I/O and threads change with depth.
func (rep *report) sweepTables(b *strings.Builder) {
	if len(rep.cfg.depths) < 2 {
		return
	}
	var engines []engine
	for _, e := range randEngines {
		for _, d := range rep.cfg.depths {
			if _, ok := rep.med[readID(d)][e.key]; ok {
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
	for _, m := range []metric{mIOPS, mCPU, mThreads} {
		var rows [][]string
		for _, d := range rep.cfg.depths {
			r := []string{fmt.Sprint(d)}
			for _, e := range engines {
				v, ok := rep.med[readID(d)][e.key]
				cell := ""
				if ok {
					cell = m.show(m.value(v))
				}
				r = append(r, cell)
			}
			rows = append(rows, r)
		}
		fmt.Fprintf(b, "\n## Depth sweep, O_DIRECT 4 KiB random reads: %s\n\n", m.name)
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
