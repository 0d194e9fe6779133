//go:build linux && cgo

package main

import (
	"encoding/xml"
	"io"
	"math"
	"slices"
	"strings"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3}, 3}, {[]float64{5, 1, 3}, 3}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{math.NaN(), 4, 2}, 3}} {
		if got := median(c.xs); got != c.want {
			t.Errorf("median(%v) = %v, want %v", c.xs, got, c.want)
		}
	}
	// NaN is a figure not measured: none measured, none found.
	for _, xs := range [][]float64{nil, {math.NaN()}} {
		if got := median(xs); !math.IsNaN(got) {
			t.Errorf("median(%v) = %v, want NaN", xs, got)
		}
	}
	// Each column is its own median, not one run's row.
	m := medianOf([]measurement{{IOPS: 1, Threads: 9}, {IOPS: 3, Threads: 5}, {IOPS: 2, Threads: 7}})
	if m.IOPS != 2 || m.Threads != 7 {
		t.Fatalf("medianOf = %+v, want IOPS 2 and 7 threads", m)
	}
	// Accounting runs only in the first round: its figures are that
	// round's. The idle check is the worst round's.
	nan := math.NaN()
	m = medianOf([]measurement{
		{Syscalls: 1.5, Idle: &idleResult{CPU: 10}},
		{Syscalls: nan, Idle: &idleResult{CPU: 900}},
		{Syscalls: nan, Idle: &idleResult{CPU: 5000, Held: 0}},
	})
	if m.Syscalls != 1.5 || m.Idle == nil || m.Idle.CPU != 5000 {
		t.Fatalf("medianOf = %+v, want 1.5 system calls and the idle round with 5000 µs", m)
	}
	m = medianOf([]measurement{{Idle: &idleResult{CPU: 5000}}, {Idle: &idleResult{Held: 1}}})
	if m.Idle.Held != 1 {
		t.Fatalf("medianOf kept idle %+v, want the round with a thread held", *m.Idle)
	}
}

// sampleMedians are medians in which aio meets every goal at depth 32,
// W3 and W4; tests change one figure to miss a goal.
func sampleMedians() map[string]map[string]measurement {
	return map[string]map[string]measurement{
		readID(32): {
			keyAIO:    {IOPS: 100, CPUPerIO: 4, Threads: 5},
			keyC:      {IOPS: 100, CPUPerIO: 3, Threads: 1},
			keyFio:    {IOPS: 90, CPUPerIO: 5, Threads: 3},
			keyOSFile: {IOPS: 60, CPUPerIO: 12, Threads: 36},
			keyFile:   {IOPS: 95, CPUPerIO: 4.5, Threads: 5},
		},
		cachedID: {
			keyAIO: {IOPS: 1000}, keyC: {IOPS: 1050}, keyFio: {IOPS: 400}, keyOSFile: {IOPS: 2000},
		},
		w4ID(1):  {keyAIO: {Threads: 5, CPUPct: 9}, keySeq: {Threads: 5, CPUPct: 10}, keyOSFile: {Threads: 5, CPUPct: 11}},
		w4ID(24): {keyAIO: {Threads: 5, CPUPct: 12}, keySeq: {Threads: 5, CPUPct: 30}, keyOSFile: {Threads: 26, CPUPct: 29}},
	}
}

func verdicts(goals []goalResult) string {
	var b strings.Builder
	for _, g := range goals {
		b.WriteString(strings.Fields(g.String())[0][:1]) // P, F or S
	}
	return b.String()
}

func TestGoals(t *testing.T) {
	files := []int{1, 24}
	if got := verdicts(checkGoals(sampleMedians(), files)); got != "PPPPPPPPPPPP" {
		t.Fatalf("all goals met: verdicts %s", got)
	}
	for _, c := range []struct {
		change func(map[string]map[string]measurement)
		want   string
	}{
		{func(m map[string]map[string]measurement) {
			m[readID(32)][keyAIO] = measurement{IOPS: 96, CPUPerIO: 4, Threads: 5}
		}, "FPPPPPPPPPPP"},
		{func(m map[string]map[string]measurement) {
			m[readID(32)][keyAIO] = measurement{IOPS: 100, CPUPerIO: 5.1, Threads: 10}
		}, "PPFPFFPPPPPP"},
		{func(m map[string]map[string]measurement) { delete(m[readID(32)], keyFio); delete(m[cachedID], keyFio) }, "PSSPPPSPPPPP"},
		{func(m map[string]map[string]measurement) { m[cachedID][keyAIO] = measurement{IOPS: 799} }, "PPPPPPFPPPPP"},
		{func(m map[string]map[string]measurement) { m[w4ID(24)][keyAIO] = measurement{Threads: 6, CPUPct: 30} }, "PPPPPPPPPPFF"},
		{func(m map[string]map[string]measurement) {
			m[readID(32)][keyFile] = measurement{IOPS: 80, CPUPerIO: 4, Threads: 10}
		}, "PPPPPPPFPFPP"},
		{func(m map[string]map[string]measurement) { delete(m, w4ID(1)); delete(m, w4ID(24)) }, "PPPPPPPPPPSS"},
	} {
		m := sampleMedians()
		c.change(m)
		goals := checkGoals(m, files)
		if got := verdicts(goals); got != c.want {
			t.Errorf("verdicts %s, want %s:\n%v", got, c.want, goals)
		}
	}
}

func sampleReport() *report {
	med := sampleMedians()
	med[readID(1)] = map[string]measurement{
		keyAIO:    {IOPS: 5000, CPUPerIO: 20, P50: 150, P99: 410, P999: 980, Syscalls: 2.5, Switches: 3.1, Migrations: 0.01, CgoCalls: 2},
		keyOSFile: {IOPS: 4800, CPUPerIO: 25, P50: math.NaN(), P99: 380, P999: math.NaN(), Syscalls: 1.02, Switches: 1.2, CgoCalls: 0},
	}
	// The C loop has no cgo; no accounting run measured this one.
	c := med[readID(1)][keyOSFile]
	c.CgoCalls, c.Syscalls, c.Migrations = math.NaN(), math.NaN(), math.NaN()
	med[readID(1)][keyC] = c
	for key, m := range med[readID(32)] {
		m.P99 = 1000 + m.IOPS
		med[readID(32)][key] = m
	}
	med[w4ID(6)] = map[string]measurement{keyAIO: {Wall: 1.3}}
	for id, row := range bufMedians() {
		if med[id] == nil {
			med[id] = map[string]measurement{}
		}
		for key, m := range row {
			med[id][key] = m
		}
	}
	cfg := config{file: "/f", size: 1 << 30, rounds: 3, secs: 3, depths: []int{1, 32}, wdepths: []int{32}, w4Reads: 1000,
		w4Files: []int{1, 6, 12, 24}, command: "go run ./cmd/aiobench", holReaders: 4}
	rep := &report{cfg: cfg, machine: machine{CPU: "test CPU"}, med: med, goals: checkGoals(med, []int{1, 24}),
		cold: "/dev/loop7, a loop device"}
	rep.cpGoals = completionGoals(med, rep.sweeps())
	rep.bufGoals = bufferedGoals(med)
	return rep
}

// The chart is well-formed SVG with a line per engine in each panel.
func TestSVG(t *testing.T) {
	svg := sampleReport().svg()
	d := xml.NewDecoder(strings.NewReader(svg))
	lines := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if el, ok := tok.(xml.StartElement); ok && el.Name.Local == "polyline" {
			lines++
		}
	}
	// Depth 32 has five engines, depth 1 three: five lines per panel,
	// in three panels (IOPS, CPU, p99).
	if lines != 15 {
		t.Fatalf("%d polylines, want 15", lines)
	}
	if !strings.Contains(svg, "p99 completion latency") {
		t.Fatal("no latency panel")
	}
}

// The report holds the setting, every table with data, the W4 tables in
// linux_aio's layout, and the goals.
func TestMarkdown(t *testing.T) {
	md := sampleReport().markdown("docs/bench.svg")
	for _, want := range []string{
		"`go run ./cmd/aiobench`", "test CPU", "![", "(docs/bench.svg)",
		"## W1: O_DIRECT 4 KiB random reads, 32 in flight",
		"| os.File, goroutine per I/O | 60 | 12.00 | 36 |",
		"| 1.67x | 0.33x |", // aio against os.File: IOPS 100/60, CPU 4/12
		"## W3: page-cache-hot", "## Depth sweep", "### W4: CPU %",
		"| files | 1 | 6 | 12 | 24 |", "| aio | 9.0% |",
		"PASS  W1 at 32: aio IOPS ≥ 0.97x the C loop: 1.00x",
		"| engine | p50 µs | p99 µs | p99.9 µs | syscalls/IO | ctx switches/IO | migrations/IO | cgo calls/IO |",
		"| aio, Events stream | 150.0 | 410.0 | 980.0 | 2.50 | 3.10 | 0.01 | 2.00 |",
		"| os.File, goroutine per I/O | — | 380.0 | — | 1.02 | 1.20 | 0.00 | 0.00 |",
		"| C loop (csrc aiocore-bench) | — | 380.0 | — | — | 1.20 | — | — |",
		"## Depth sweep, O_DIRECT 4 KiB random reads: p99 latency",
		"## Depth sweep, O_DIRECT 4 KiB random reads: cgo calls per I/O",
		"## Completion-path goals", "| depth | stream ÷ C |",
		"PASS  reads at 1 in flight: stream p99 latency ≤ 1.1x os.File's: 1.08x (p99 latency: 410.0 against 380.0)",
		"raw_syscalls:sys_enter",
		// W5's ratios are File's; W6 has a row per case; issue 14's
		// goals have a section of their own.
		"## W5: cold buffered 4 KiB random reads, 32 in flight",
		"| File IOPS ÷ this | File CPU/IO ÷ this |",
		"| os.File, goroutine per I/O | 20.0 k | 40.00 |",
		"| 1.00x | 0.75x |", // File against os.File: 20 k / 20 k, 30 / 40 µs
		"## W6: head-of-line blocking", "read /dev/loop7, a loop device.",
		"| alone | 90.0 k | 300.0 | 1000 | 4000 | 0 | 6 | 90.0% |",
		"| beside 4 cold buffered readers, same Context | 80.0 k | 320.0 | 1150 | 5000 | 9.0 k |",
		"| beside 4 cold buffered readers, another Context | 85.0 k |",
		"## Buffered-file goals",
		"PASS  W6: O_DIRECT p99 with cold buffered readers on the same Context ≤ 1.2x alone: 1.15x (p99 latency: 1150 against 1000)",
		"Buffered-file goals: 4 of 4 checked pass (0 not measured in this run).\n```",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	if strings.Contains(md, "W2:") {
		t.Error("report has a W2 table without W2 data")
	}
}

func TestNiceScale(t *testing.T) {
	for _, c := range []struct{ top, step, ymax float64 }{
		{0, 1, 1}, {7, 2, 8}, {68300, 20000, 80000}, {1.07e6, 500000, 1.5e6}, {3.9, 1, 4},
	} {
		step, ymax := niceScale(c.top)
		if step != c.step || ymax != c.ymax {
			t.Errorf("niceScale(%v) = %v, %v; want %v, %v", c.top, step, ymax, c.step, c.ymax)
		}
	}
}

func TestLogTicks(t *testing.T) {
	ticks, at := logTicks(2.4, 58)
	want := []float64{1, 2, 5, 10, 20, 50, 100}
	if len(ticks) != len(want) {
		t.Fatalf("ticks %v, want %v", ticks, want)
	}
	for i := range want {
		if math.Abs(ticks[i]-want[i]) > 1e-9 {
			t.Fatalf("ticks %v, want %v", ticks, want)
		}
	}
	if at(1) != 0 || at(100) != 1 || math.Abs(at(10)-0.5) > 1e-9 {
		t.Fatalf("placing 1, 10, 100: %v %v %v; want 0, 0.5, 1", at(1), at(10), at(100))
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"--iodepth=32": "--iodepth=32", "": "''", `{"a":1}`: `'{"a":1}'`, "it's": `'it'\''s'`,
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestFmtRatio(t *testing.T) {
	for _, c := range []struct {
		x, bound float64
		want     string
	}{{0.9612, 0.97, "0.96"}, {0.40036, 0.4, "0.4004"}, {0.4, 0.4, "0.40"}, {1.5, 1.5, "1.50"}} {
		if got := fmtRatio(c.x, c.bound); got != c.want {
			t.Errorf("fmtRatio(%v, %v) = %s, want %s", c.x, c.bound, got, c.want)
		}
	}
}

func TestParseFlags(t *testing.T) {
	if n, err := parseSize("8M"); err != nil || n != 8<<20 {
		t.Errorf("parseSize(8M) = %d, %v", n, err)
	}
	for _, bad := range []string{"", "G", "-1G", "1T"} {
		if _, err := parseSize(bad); err == nil {
			t.Errorf("parseSize(%q): no error", bad)
		}
	}
	if d, err := parseInts("1, 32,128"); err != nil || len(d) != 3 || d[2] != 128 {
		t.Errorf("parseInts = %v, %v", d, err)
	}
	if _, err := parseInts("1,0"); err == nil {
		t.Error("parseInts(1,0): no error")
	}
	// -short's engines: all but fio's io_uring, W4's, the idle check's
	// and W6's included.
	keys := allEnginesBut(keyUring)
	if len(keys) != len(randEngines)+2 || slices.Contains(keys, keyUring) || !slices.Contains(keys, keySeq) ||
		!slices.Contains(keys, keyIdle) || !slices.Contains(keys, keyHOL) {
		t.Errorf("allEnginesBut(%s) = %v", keyUring, keys)
	}
}
