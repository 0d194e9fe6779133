//go:build linux && cgo

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"time"
)

// job is what one engine process runs: either random I/O on one file for a
// fixed time, or W4, linux_aio's experiment. The runner hands it to its own
// binary as JSON (-engine NAME -job JSON), and turns it into the arguments
// of the C loop and fio.
type job struct {
	Kind string `json:"kind"` // kindRand, kindW4, kindIdle or kindHOL

	// Random I/O: 4 KiB reads (or writes) at random aligned offsets of
	// File, Depth in flight, for Secs seconds.
	File   string  `json:"file,omitempty"`
	Write  bool    `json:"write,omitempty"`
	Direct bool    `json:"direct,omitempty"`
	Depth  int     `json:"depth,omitempty"`
	Secs   float64 `json:"secs,omitempty"`

	// W6 (kindHOL): random O_DIRECT reads of File as above, beside
	// Readers goroutines doing cold buffered reads of Cold.
	// With Apart, the buffered readers' File is on a Context of its own.
	Cold    string `json:"cold,omitempty"`
	Readers int    `json:"readers,omitempty"`
	Apart   bool   `json:"apart,omitempty"`

	// W4: Reads rounds, Interval apart, each reading the first Files files
	// of Dir whole, with O_DIRECT.
	Dir      string        `json:"dir,omitempty"`
	Files    int           `json:"files,omitempty"`
	Reads    int           `json:"reads,omitempty"`
	Interval time.Duration `json:"interval,omitempty"`
}

const (
	kindRand = "rand"
	kindW4   = "w4"
	kindIdle = "idle" // see child_idle.go: File, Depth and Secs of idling
	kindHOL  = "hol"  // see child_hol.go
	ioSize   = 4096   // bytes per random I/O
)

func (j job) duration() time.Duration { return time.Duration(j.Secs * float64(time.Second)) }

// childResult is what an engine process of our own prints on stdout: the
// I/Os it completed and the seconds they took, from the first submission
// to the last completion; for random I/O, their completion latencies and
// the cgo calls made meanwhile. The runner reads the same from the C
// loop's and fio's output, where they have it.
type childResult struct {
	IOs     int64      `json:"ios"`
	Seconds float64    `json:"seconds"`
	Lat     *latencies `json:"lat,omitempty"`
	// CgoCalls is runtime.NumCgoCall's growth over the same time, nil for
	// engines that are not Go. Every cgo call is a switch of stacks and
	// of the scheduler's state, which the completion path tries to make
	// fewer than one per I/O (DESIGN.md: "no cgo call per I/O").
	CgoCalls *int64      `json:"cgo_calls,omitempty"`
	Idle     *idleResult `json:"idle,omitempty"` // kindIdle's findings
	// ColdIOs are kindHOL's buffered reads, done beside the IOs counted
	// above, in the same Seconds.
	ColdIOs int64 `json:"cold_ios,omitempty"`
}

// window is the measured time of a Go engine's run: from just before its
// first submission to its last completion.
type window struct {
	t0   int64 // clock() at the start
	cgo0 int64 // runtime.NumCgoCall() at the start
}

func startWindow() window {
	return window{cgo0: runtime.NumCgoCall(), t0: clock()}
}

// result ends the window: ios I/Os done in it, with their latencies in
// lat (nil for none).
func (w window) result(ios int64, lat *histogram) childResult {
	secs := float64(clock()-w.t0) / 1e9
	cgo := runtime.NumCgoCall() - w.cgo0
	res := childResult{IOs: ios, Seconds: secs, CgoCalls: &cgo}
	if lat != nil {
		res.Lat = lat.summary()
	}
	return res
}

// childEngine runs jobs in an engine process. A nil function means the
// engine has no such workload.
type childEngine struct {
	rand func(job) (childResult, error)
	w4   func(job) (childResult, error)
	idle func(job) (childResult, error)
	hol  func(job) (childResult, error)
}

// childEngines are the engines this binary runs itself, by the name given
// to -engine.
var childEngines = map[string]childEngine{
	keyAIO:     {rand: aioRand, w4: aioW4},
	keyNatural: {rand: aioNaturalRand},
	keyWait:    {rand: aioWaitRand},
	keyManual:  {rand: aioManualRand},
	keyOSFile:  {rand: osfileRand, w4: osfileW4Goroutines},
	keySeq:     {w4: osfileW4Sequential},
	keyFile:    {rand: fileRand},
	keyIdle:    {idle: aioIdle},
	keyHOL:     {hol: fileHOL},
}

// childMain runs one job in this process (the hidden -engine mode) and
// prints its childResult as JSON.
func childMain(name, spec string) int {
	var j job
	if err := json.Unmarshal([]byte(spec), &j); err != nil {
		fmt.Fprintf(os.Stderr, "aiobench -engine %s: bad -job: %v\n", name, err)
		return 2
	}
	res, err := runChild(name, j)
	if err != nil {
		fmt.Fprintf(os.Stderr, "aiobench -engine %s: %v\n", name, err)
		return 1
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	return 0
}

func runChild(name string, j job) (childResult, error) {
	e, ok := childEngines[name]
	run := e.rand
	switch j.Kind {
	case kindW4:
		run = e.w4
	case kindIdle:
		run = e.idle
	case kindHOL:
		run = e.hol
	}
	if !ok || run == nil {
		return childResult{}, fmt.Errorf("no engine %q for %s", name, j.Kind)
	}
	return run(j)
}
