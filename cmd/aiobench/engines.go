//go:build linux && cgo

package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// engine is one way of doing the I/O, run in a process of its own.
type engine struct {
	key    string // its name in -engines, and for our own engines in childEngines
	label  string // its name in the tables
	short  string // its name in the goals' columns
	colour string // its line in the chart
	// argv returns the command that runs j; output turns that command's
	// standard output into the I/Os done and the seconds they took.
	argv   func(r *runner, key string, j job) []string
	output func(stdout []byte) (childResult, error)
}

// Keys of the engines, in -engines and in the results.
const (
	keyAIO     = "aio"
	keyNatural = "aio-natural"
	keyWait    = "aio-wait"
	keyManual  = "aio-manual"
	keyFile    = "file"
	keyOSFile  = "osfile"
	keyC       = "c"
	keyFio     = "fio"
	keyUring   = "fio-uring"
	keySeq     = "osfile-seq"
	keyIdle    = "aio-idle"
	keyHOL     = "file-hol"
)

// randEngines are compared on random I/O (W1, W2, W3 and the depth
// sweeps), in this order.
var randEngines = []engine{
	{key: keyAIO, label: "aio, Events stream", short: "stream", colour: "#1f77b4", argv: selfArgv, output: selfOutput},
	{key: keyNatural, label: "aio, natural loop (Submit per event)", short: "natural", colour: "#8c564b", argv: selfArgv, output: selfOutput},
	{key: keyWait, label: "aio, Block.Wait, goroutine per I/O", short: "Wait", colour: "#e377c2", argv: selfArgv, output: selfOutput},
	{key: keyManual, label: "aio, Manual (GetEventsInto)", short: "Manual", colour: "#17becf", argv: selfArgv, output: selfOutput},
	{key: keyFile, label: "aio.File, goroutine per I/O", short: "File", colour: "#9467bd", argv: selfArgv, output: selfOutput},
	{key: keyOSFile, label: "os.File, goroutine per I/O", short: "os.File", colour: "#d62728", argv: selfArgv, output: selfOutput},
	{key: keyC, label: "C loop (csrc aiocore-bench)", short: "C", colour: "#2ca02c", argv: cArgv, output: cOutput},
	{key: keyFio, label: "fio, libaio", short: "fio", colour: "#ff7f0e", argv: fioArgv, output: fioOutput},
	{key: keyUring, label: "fio, io_uring (reference)", short: "fio-uring", colour: "#7f7f7f", argv: fioArgv, output: fioOutput},
}

// engineByKey returns the random-I/O engine with key k.
func engineByKey(k string) engine {
	for _, e := range randEngines {
		if e.key == k {
			return e
		}
	}
	return engine{key: k, label: k, short: k}
}

// idleEngine runs the idle check (child_idle.go).
var idleEngine = engine{key: keyIdle, label: "aio, idle Context", argv: selfArgv, output: selfOutput}

// coldEngines are W5's: the Go file APIs a user of buffered files picks
// between, and the C loop reading buffered (-B) as the floor of what
// io_submit costs on a cold page cache.
var coldEngines = []engine{engineByKey(keyFile), engineByKey(keyOSFile), engineByKey(keyC)}

// holEngine runs W6 (child_hol.go).
var holEngine = engine{key: keyHOL, label: "aio.File, O_DIRECT beside buffered", short: "File", argv: selfArgv, output: selfOutput}

// w4Engines are W4's rows, in linux_aio's layout.
var w4Engines = []engine{
	{key: keyAIO, label: "aio", argv: selfArgv, output: selfOutput},
	{key: keySeq, label: "os.File sequential", argv: selfArgv, output: selfOutput},
	{key: keyOSFile, label: "os.File goroutines", argv: selfArgv, output: selfOutput},
}

// selfArgv runs j in this binary's hidden engine mode.
func selfArgv(r *runner, key string, j job) []string {
	spec, _ := json.Marshal(j)
	return []string{r.self, "-engine", key, "-job", string(spec)}
}

func selfOutput(stdout []byte) (childResult, error) {
	var res childResult
	err := json.Unmarshal(stdout, &res)
	return res, err
}

// cArgv runs j with csrc's aiocore-bench.
func cArgv(r *runner, _ string, j job) []string {
	argv := []string{r.cbench, "-f", j.File, "-d", strconv.Itoa(j.Depth),
		"-b", strconv.Itoa(ioSize), "-t", strconv.FormatFloat(j.Secs, 'f', -1, 64)}
	if !j.Direct {
		argv = append(argv, "-B")
	}
	if j.Write {
		argv = append(argv, "-w")
	}
	return argv
}

// cOutput reads aiocore-bench's last line: "aiocore-bench: depth=32 ...
// ios=N seconds=S ... lat_p50_us=A lat_p99_us=B lat_p999_us=C".
func cOutput(stdout []byte) (childResult, error) {
	var res childResult
	lines := strings.Split(strings.TrimSpace(string(stdout)), "\n")
	var haveIOs, haveSecs bool
	var lat latencies
	var haveLat int
	for _, field := range strings.Fields(lines[len(lines)-1]) {
		key, val, _ := strings.Cut(field, "=")
		var err error
		switch key {
		case "ios":
			res.IOs, err = strconv.ParseInt(val, 10, 64)
			haveIOs = err == nil
		case "seconds":
			res.Seconds, err = strconv.ParseFloat(val, 64)
			haveSecs = err == nil
		case "lat_p50_us":
			haveLat += positive(val, &lat.P50)
		case "lat_p99_us":
			haveLat += positive(val, &lat.P99)
		case "lat_p999_us":
			haveLat += positive(val, &lat.P999)
		}
	}
	if !haveIOs || !haveSecs {
		return res, fmt.Errorf("aiocore-bench: no ios= and seconds= in %q", lines[len(lines)-1])
	}
	if haveLat == 3 {
		res.Lat = &lat
	}
	return res, nil
}

// positive sets *x to the number in s and returns 1 if it is one above 0,
// else leaves it and returns 0.
func positive(s string, x *float64) int {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || !(v > 0) {
		return 0
	}
	*x = v
	return 1
}

// fioArgv runs j with fio's libaio engine, or for keyUring its io_uring
// engine (with its defaults: no SQ polling thread, no registered files or
// buffers; a reference for what the kernel's newer interface costs, not a
// goal). --thread keeps fio's job in one process, so that its threads show
// in /proc and its CPU in our wait4; --invalidate=0 keeps the page cache
// hot for W3; --norandommap and --randrepeat=0 make its offsets like ours:
// random, with repeats.
func fioArgv(r *runner, key string, j job) []string {
	ioengine := "libaio"
	if key == keyUring {
		ioengine = "io_uring"
	}
	rw := "randread"
	if j.Write {
		rw = "randwrite"
	}
	direct := "0"
	if j.Direct {
		direct = "1"
	}
	ms := max(1, int(j.Secs*1000))
	return []string{r.fio, "--name=aiobench", "--filename=" + j.File,
		"--ioengine=" + ioengine, "--direct=" + direct, "--rw=" + rw,
		"--bs=" + strconv.Itoa(ioSize), "--iodepth=" + strconv.Itoa(j.Depth),
		"--time_based", "--runtime=" + strconv.Itoa(ms) + "ms",
		"--thread", "--invalidate=0", "--norandommap", "--randrepeat=0",
		"--output-format=json"}
}

// fioOutput reads fio's JSON report: the job's total I/Os, its runtime in
// milliseconds, and its completion latency percentiles (clat_ns: from
// io_submit to the completion fio reaps, the span our engines measure).
// fio's usr_cpu and sys_cpu are left aside: they are percentages of the
// job thread's runtime only, while the runner measures every engine the
// same way, by the whole process's rusage.
func fioOutput(stdout []byte) (childResult, error) {
	var res childResult
	// fio may print notes before the JSON.
	start := strings.IndexByte(string(stdout), '{')
	if start < 0 {
		return res, fmt.Errorf("fio: no JSON in %q", stdout)
	}
	type dir struct {
		TotalIOs int64 `json:"total_ios"`
		Runtime  int64 `json:"runtime"` // ms
		Clat     struct {
			Percentile map[string]float64 `json:"percentile"` // "99.000000": ns
		} `json:"clat_ns"`
	}
	var out struct {
		Jobs []struct {
			Error int `json:"error"`
			Read  dir `json:"read"`
			Write dir `json:"write"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(stdout[start:], &out); err != nil {
		return res, fmt.Errorf("fio: %v", err)
	}
	if len(out.Jobs) != 1 {
		return res, fmt.Errorf("fio: %d jobs in its report, want 1", len(out.Jobs))
	}
	jb := out.Jobs[0]
	if jb.Error != 0 {
		return res, fmt.Errorf("fio: job error %d", jb.Error)
	}
	for _, d := range []dir{jb.Read, jb.Write} {
		res.IOs += d.TotalIOs
		res.Seconds = max(res.Seconds, float64(d.Runtime)/1000)
		p := d.Clat.Percentile
		if d.TotalIOs > 0 && p["50.000000"] > 0 && p["99.000000"] > 0 && p["99.900000"] > 0 {
			res.Lat = &latencies{P50: p["50.000000"] / 1e3, P99: p["99.000000"] / 1e3, P999: p["99.900000"] / 1e3}
		}
	}
	if res.IOs == 0 || res.Seconds == 0 {
		return res, fmt.Errorf("fio: no I/O in its report")
	}
	return res, nil
}
