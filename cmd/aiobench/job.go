//go:build linux && cgo

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// job is what one engine process runs: either random I/O on one file for a
// fixed time, or W4, linux_aio's experiment. The runner hands it to its own
// binary as JSON (-engine NAME -job JSON), and turns it into the arguments
// of the C loop and fio.
type job struct {
	Kind string `json:"kind"` // kindRand or kindW4

	// Random I/O: 4 KiB reads (or writes) at random aligned offsets of
	// File, Depth in flight, for Secs seconds.
	File   string  `json:"file,omitempty"`
	Write  bool    `json:"write,omitempty"`
	Direct bool    `json:"direct,omitempty"`
	Depth  int     `json:"depth,omitempty"`
	Secs   float64 `json:"secs,omitempty"`

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
	ioSize   = 4096 // bytes per random I/O
)

func (j job) duration() time.Duration { return time.Duration(j.Secs * float64(time.Second)) }

// childResult is what an engine process of our own prints on stdout: the
// I/Os it completed and the seconds they took, from the first submission
// to the last completion.
type childResult struct {
	IOs     int64   `json:"ios"`
	Seconds float64 `json:"seconds"`
}

// childEngine runs jobs in an engine process. A nil function means the
// engine has no such workload.
type childEngine struct {
	rand func(job) (childResult, error)
	w4   func(job) (childResult, error)
}

// childEngines are the engines this binary runs itself, by the name given
// to -engine.
var childEngines = map[string]childEngine{
	keyAIO:    {rand: aioRand, w4: aioW4},
	keyManual: {rand: aioManualRand},
	keyOSFile: {rand: osfileRand, w4: osfileW4Goroutines},
	keySeq:    {w4: osfileW4Sequential},
	keyFile:   {rand: fileRand},
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
	if j.Kind == kindW4 {
		run = e.w4
	}
	if !ok || run == nil {
		return childResult{}, fmt.Errorf("no engine %q for %s", name, j.Kind)
	}
	return run(j)
}
