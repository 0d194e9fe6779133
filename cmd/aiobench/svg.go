//go:build linux && cgo

package main

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW      = 820
	panelH      = 290
	padLeft     = 70
	padRight    = 300 // room for the legend: engine labels of up to 40 characters
	padTop      = 40
	padBottom   = 50
	plotW       = chartW - padLeft - padRight
	plotH       = panelH - padTop - padBottom
	legendX     = chartW - padRight + 20
	legendStep  = 22
	fontFamily  = "sans-serif"
	gridColor   = "#ddd"
	axisColor   = "#333"
	markerSize  = 3.5
	strokeWidth = 2
)

// svg draws the read sweep: IOPS on top, CPU µs per I/O in the middle and
// p99 completion latency below, against the number of I/Os in flight on a
// log-2 axis, a line per engine. The latency panel is there because the
// completion path's work can trade it for throughput (a leader that
// batches, a goroutine woken late): its goals hold p99 as well as IOPS.
func (rep *report) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="%s" font-size="12">`+"\n",
		chartW, 3*panelH, chartW, 3*panelH, fontFamily)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/>`+"\n")
	rep.panel(&b, 0, "IOPS: O_DIRECT 4 KiB random reads (higher is better)", mIOPS, false)
	rep.panel(&b, panelH, "CPU µs per I/O, user + system (lower is better; log scale)", mCPU, true)
	rep.panel(&b, 2*panelH, "p99 completion latency, µs (lower is better; log scale)", mP99, true)
	b.WriteString("</svg>\n")
	return b.String()
}

// panel draws one metric against depth, with its top edge at y0, on a
// linear scale from 0 or, with logY, a log-10 one (CPU per I/O spans
// tens of µs at depth 1 and a few at depth 256).
func (rep *report) panel(b *strings.Builder, y0 int, title string, m metric, logY bool) {
	depths := rep.cfg.depths
	type series struct {
		label, colour string
		pts           [][2]float64 // depth, value
	}
	var all []series
	top, bottom := 0.0, math.Inf(1)
	for _, e := range randEngines {
		s := series{label: e.label, colour: e.colour}
		for _, d := range depths {
			if v, ok := rep.med[readID(d)][e.key]; ok && m.value(v) > 0 { // not NaN: measured
				s.pts = append(s.pts, [2]float64{float64(d), m.value(v)})
				top, bottom = max(top, m.value(v)), min(bottom, m.value(v))
			}
		}
		if len(s.pts) > 0 {
			all = append(all, s)
		}
	}
	ticks, scale := linearTicks(top)
	if logY {
		ticks, scale = logTicks(bottom, top)
	}
	lo, hi := math.Log2(float64(slices.Min(depths))), math.Log2(float64(slices.Max(depths)))
	x := func(d float64) float64 {
		if hi == lo {
			return padLeft + plotW/2
		}
		return padLeft + (math.Log2(d)-lo)/(hi-lo)*plotW
	}
	y := func(v float64) float64 { return float64(y0+padTop+plotH) - scale(v)*plotH }

	fmt.Fprintf(b, `<text x="%d" y="%d" font-size="14" font-weight="bold">%s</text>`+"\n", padLeft, y0+padTop-15, xmlEscape(title))
	for _, v := range ticks {
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="%s"/>`+"\n", padLeft, padLeft+plotW, y(v), y(v), gridColor)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`+"\n", padLeft-6, y(v), axisLabel(v, m))
	}
	for _, d := range depths {
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s"/>`+"\n", x(float64(d)), x(float64(d)), y0+padTop, y0+padTop+plotH, gridColor)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(float64(d)), y0+padTop+plotH+16, d)
	}
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="%s"/>`+"\n", padLeft, y0+padTop, plotW, plotH, axisColor)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">I/Os in flight (log scale)</text>`+"\n", padLeft+plotW/2, y0+padTop+plotH+36)

	for i, s := range all {
		var pts []string
		for _, p := range s.pts {
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(p[0]), y(p[1])))
		}
		fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="%d" points="%s"/>`+"\n", s.colour, strokeWidth, strings.Join(pts, " "))
		for _, p := range s.pts {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="%.1f" fill="%s"/>`+"\n", x(p[0]), y(p[1]), markerSize, s.colour)
		}
		ly := y0 + padTop + 10 + i*legendStep
		fmt.Fprintf(b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", legendX, legendX+22, ly, ly, s.colour)
		fmt.Fprintf(b, `<text x="%d" y="%d" dominant-baseline="middle">%s</text>`+"\n", legendX+28, ly, xmlEscape(s.label))
	}
}

// linearTicks returns grid values from 0 in steps of 1, 2 or 5 times a
// power of ten, about five of them, the last at or above top; and the
// function placing a value on the axis, from 0 at the bottom to 1 at the
// top.
func linearTicks(top float64) ([]float64, func(float64) float64) {
	step, ymax := niceScale(top)
	var ticks []float64
	for i := 0.0; i*step <= ymax+step/2; i++ {
		ticks = append(ticks, i*step)
	}
	return ticks, func(v float64) float64 { return v / ymax }
}

// niceScale picks a grid step of 1, 2 or 5 times a power of ten giving
// about five lines, and the axis top: the first step at or above top.
func niceScale(top float64) (step, ymax float64) {
	if top <= 0 {
		return 1, 1
	}
	raw := top / 5
	p := math.Pow(10, math.Floor(math.Log10(raw)))
	step = 10 * p
	for _, f := range []float64{1, 2, 5} {
		if f*p >= raw {
			step = f * p
			break
		}
	}
	return step, math.Ceil(top/step) * step
}

// logTicks returns grid values 1, 2 and 5 times the powers of ten from the
// decade below bottom to the one above top, and the function placing a
// value on that log axis.
func logTicks(bottom, top float64) ([]float64, func(float64) float64) {
	if !(bottom > 0) || top < bottom {
		bottom, top = 1, 1
	}
	lo, hi := math.Floor(math.Log10(bottom)), math.Ceil(math.Log10(top))
	if hi == lo {
		hi++
	}
	var ticks []float64
	for e := lo; e < hi; e++ {
		for _, f := range []float64{1, 2, 5} {
			ticks = append(ticks, f*math.Pow(10, e))
		}
	}
	ticks = append(ticks, math.Pow(10, hi))
	return ticks, func(v float64) float64 { return (math.Log10(v) - lo) / (hi - lo) }
}

func axisLabel(v float64, m metric) string {
	if m.name == mIOPS.name {
		if v >= 1e6 {
			return fmt.Sprintf("%gM", v/1e6)
		}
		if v >= 1e3 {
			return fmt.Sprintf("%gk", v/1e3)
		}
	}
	return fmt.Sprintf("%g", math.Round(v*1000)/1000)
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
