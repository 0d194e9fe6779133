//go:build linux && cgo

package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// runner runs every case with every engine, round after round, and keeps
// what each run measured.
type runner struct {
	cfg     config
	root    string      // the repository
	self    string      // this binary, for our own engines
	cbench  string      // csrc's aiocore-bench
	fio     string      // fio, or "" if it is not installed
	perf    string      // perf, or "" if it cannot count system calls here
	w4Dir   string      // W4's files
	tmpDir  string      // removed by cleanup, for -tiny's files
	cold    *coldSource // W6's buffered readers' source, nil without W6
	notes   []string
	cases   []testCase
	results map[string]map[string][]measurement // by case id, then engine key
	failed  []string                            // runs that failed, with why

	total, done int
	started     time.Time
	tty         bool
	cleanMu     sync.Mutex
}

// testCase is one workload at one setting, run by each of its engines.
type testCase struct {
	id      string // key in results
	what    string // for the progress line
	job     job
	engines []engine
	group   string // its workload, as -cases names it
	warm    bool   // read the file into the page cache before each run (W3)
	cold    bool   // drop the file from the page cache before each run (W5)
}

// Workloads, as -cases names them.
const (
	groupReads  = "reads"  // the O_DIRECT read sweep, W1's depths among it
	groupWrites = "writes" // the O_DIRECT write sweep, W2's depth among it
	groupW3     = "w3"
	groupW4     = "w4"
	groupW5     = "w5"
	groupW6     = "w6"
	groupIdle   = "idle"
)

// groups are the workloads, in the order the runner runs them.
var groups = []string{groupReads, groupWrites, groupW3, groupIdle, groupW4, groupW5, groupW6}

// measurement is one engine's run of one case. Figures an engine does not
// report, or that were not measured in this run, are NaN (see unmeasured).
type measurement struct {
	IOPS     float64
	CPUPerIO float64 // µs of user + system time per I/O
	CPUPct   float64 // user + system time over wall time
	Wall     float64 // seconds, process start to exit
	Threads  int
	RSS, VSZ int64

	// Completion latency percentiles, µs: each I/O from its submission
	// to the moment the engine sees it complete.
	P50, P99, P999 float64
	// Per I/O: system calls and CPU migrations, counted by perf stat in
	// an accounting run of their own (round 1 only: tracing every system
	// call would slow the timed run); context switches, from the timed
	// run's rusage; and cgo calls, the Go engine's own count.
	Syscalls, Migrations, Switches, CgoCalls float64
	// Idle is the idle check's finding, for idleID.
	Idle *idleResult
	// ColdIOPS is W6's buffered reads per second, beside the O_DIRECT
	// ones IOPS counts.
	ColdIOPS float64
}

// unmeasured is the value of a figure that was not measured.
var unmeasured = math.NaN()

// Case ids.
func readID(depth int) string  { return fmt.Sprintf("randread-%d", depth) }
func writeID(depth int) string { return fmt.Sprintf("randwrite-%d", depth) }
func w4ID(files int) string    { return fmt.Sprintf("w4-%d", files) }

const (
	cachedID   = "cached-32"
	idleID     = "idle"
	coldID     = "cold-32"   // W5
	holAloneID = "hol-alone" // W6 without the buffered readers
	holMixedID = "hol-mixed" // W6 with them
	holApartID = "hol-apart" // W6 with them on a Context of their own
)

// coldDepth is W5's goroutines, and W6's O_DIRECT ones.
const coldDepth = 32

// defaultHOLReaders is -holreaders: W6's cold buffered readers in its
// mixed case. Measured on a 2-core VM with 1, 2, 4 and 8: with one, a
// buffered read is in few of the shared io_submit calls, and the O_DIRECT
// p99 beside it on the same Context is within noise of the p99 beside it
// on another Context; with 4, one is in flight nearly all the time (about
// 10 k cold reads a second), and the same-Context p99 stands above the
// other-Context one; with 8, the readers' CPU (theirs and the loop
// driver's) cuts the O_DIRECT IOPS to a third, a measure of the machine.
const defaultHOLReaders = 4

// newRunner prepares a run: builds the C loop, finds fio, makes the files
// and lists the cases.
func newRunner(cfg config, root string) (*runner, error) {
	r := &runner{cfg: cfg, root: root, results: map[string]map[string][]measurement{}}
	var err error
	if r.self, err = os.Executable(); err != nil {
		return nil, err
	}
	fi, _ := os.Stderr.Stat()
	r.tty = fi != nil && fi.Mode()&os.ModeCharDevice != 0

	if r.enabled(keyC) {
		build := exec.Command("make", "-s", "-C", filepath.Join(root, "csrc"), "build/aiocore-bench")
		build.Stdout, build.Stderr = os.Stderr, os.Stderr
		if err := build.Run(); err != nil {
			return nil, fmt.Errorf("building csrc's aiocore-bench (make, gcc, libaio-dev: bash scripts/deps.sh --bench): %v", err)
		}
		r.cbench = filepath.Join(root, "csrc", "build", "aiocore-bench")
	}
	if r.enabled(keyFio) || r.enabled(keyUring) {
		if r.fio, err = exec.LookPath("fio"); err != nil {
			r.fio = ""
			r.note("fio is not installed: its rows are left out (bash scripts/deps.sh --bench installs it)")
		}
	}
	if cfg.account {
		var why string
		if r.perf, why = findPerf(); r.perf == "" {
			r.note("system calls and CPU migrations per I/O are not measured: " + why)
		}
	}

	if cfg.file == "" {
		if r.tmpDir, err = os.MkdirTemp("/var/tmp", "aiobench-"); err != nil {
			return nil, err
		}
		r.cfg.file = filepath.Join(r.tmpDir, "data")
	}
	r.w4Dir = r.cfg.file + ".w4"
	r.progressf("making %s (%d MiB) and W4's files in %s, where missing", r.cfg.file, cfg.size>>20, r.w4Dir)
	if _, err := makeFile(r.cfg.file, cfg.size); err != nil {
		r.cleanup()
		return nil, err
	}
	if r.wants(groupW4) {
		if err := makeW4Files(r.w4Dir, cfg.w4Files[len(cfg.w4Files)-1]); err != nil {
			r.cleanup()
			return nil, err
		}
	}
	if r.wants(groupW6) && r.enabled(keyHOL) {
		src, why, err := makeColdSource(cfg.holSource, r.cfg.file)
		if err != nil {
			r.cleanup()
			return nil, fmt.Errorf("W6's cold source (-holsource %s): %v", cfg.holSource, err)
		}
		r.cold = src
		if why != "" {
			r.note("W6's buffered readers read a file on the O_DIRECT reads' disk, not a loop device (" + why +
				"): their p99 shows disk contention as well as head-of-line blocking")
		}
	}
	r.cases = r.makeCases()
	for _, c := range r.cases {
		r.total += len(c.engines) * cfg.rounds
	}
	return r, nil
}

// wants reports whether -cases lets workload group run.
func (r *runner) wants(group string) bool { return r.cfg.cases == nil || r.cfg.cases[group] }

// enabled reports whether -engines lets engine key run.
func (r *runner) enabled(key string) bool { return r.cfg.engines == nil || r.cfg.engines[key] }

// engines returns the engines of list that are enabled and installed.
func (r *runner) engines(list []engine) []engine {
	var out []engine
	for _, e := range list {
		if r.enabled(e.key) && (!isFio(e.key) || r.fio != "") {
			out = append(out, e)
		}
	}
	return out
}

func isFio(key string) bool { return key == keyFio || key == keyUring }

// writeSweepDepth is the one depth of the write sweep at which fio runs
// too: W2's. Elsewhere the sweep runs the engines its goals compare (ours,
// os.File and the C loop), which keeps a full run's time down.
const writeSweepDepth = 32

func (r *runner) makeCases() []testCase {
	rand := func(write, direct bool, depth int) job {
		return job{Kind: kindRand, File: r.cfg.file, Write: write, Direct: direct, Depth: depth, Secs: r.cfg.secs}
	}
	var cases []testCase
	for _, d := range r.cfg.depths {
		cases = append(cases, testCase{id: readID(d), what: fmt.Sprintf("O_DIRECT random reads, depth %d", d),
			job: rand(false, true, d), engines: r.engines(randEngines), group: groupReads})
	}
	for _, d := range r.cfg.wdepths {
		engines := r.engines(randEngines)
		if d != writeSweepDepth {
			engines = slices.DeleteFunc(engines, func(e engine) bool { return isFio(e.key) })
		}
		cases = append(cases, testCase{id: writeID(d), what: fmt.Sprintf("O_DIRECT random writes, depth %d", d),
			job: rand(true, true, d), engines: engines, group: groupWrites})
	}
	cases = append(cases,
		testCase{id: cachedID, what: "W3 cache-hot random reads, depth 32", job: rand(false, false, 32), engines: r.engines(randEngines),
			group: groupW3, warm: true})
	if r.enabled(keyIdle) {
		cases = append(cases, testCase{id: idleID, what: fmt.Sprintf("an idle Context for %gs", r.cfg.idleSecs),
			job:     job{Kind: kindIdle, File: r.cfg.file, Direct: true, Depth: 32, Secs: r.cfg.idleSecs},
			engines: []engine{idleEngine}, group: groupIdle})
	}
	for _, n := range r.cfg.w4Files {
		cases = append(cases, testCase{id: w4ID(n), what: fmt.Sprintf("W4 %d reads of %d files", r.cfg.w4Reads, n),
			job:     job{Kind: kindW4, Dir: r.w4Dir, Files: n, Reads: r.cfg.w4Reads, Interval: time.Millisecond},
			engines: r.engines(w4Engines), group: groupW4})
	}
	cases = append(cases, testCase{id: coldID, what: "W5 cold buffered random reads, depth 32",
		job: rand(false, false, coldDepth), engines: r.engines(coldEngines), group: groupW5, cold: true})
	if r.cold != nil && r.enabled(keyHOL) {
		hol := job{Kind: kindHOL, File: r.cfg.file, Direct: true, Depth: coldDepth, Secs: r.cfg.secs, Cold: r.cold.path}
		mixed := hol
		mixed.Readers = r.cfg.holReaders
		apart := mixed
		apart.Apart = true
		cases = append(cases,
			testCase{id: holAloneID, what: "W6 O_DIRECT reads through aio.File, alone", job: hol,
				engines: []engine{holEngine}, group: groupW6},
			testCase{id: holMixedID, what: fmt.Sprintf("W6 O_DIRECT reads through aio.File, beside %d cold buffered readers", mixed.Readers),
				job: mixed, engines: []engine{holEngine}, group: groupW6},
			testCase{id: holApartID, what: fmt.Sprintf("W6 O_DIRECT reads through aio.File, beside %d cold buffered readers on another Context", mixed.Readers),
				job: apart, engines: []engine{holEngine}, group: groupW6})
	}
	return slices.DeleteFunc(cases, func(c testCase) bool { return !r.wants(c.group) || len(c.engines) == 0 })
}

// run runs every case with each of its engines, once per round. The
// engines' order turns by one each round, so that none always runs first
// after another's disk writes or cache warming.
func (r *runner) run() {
	r.started = time.Now()
	for round := range r.cfg.rounds {
		for _, c := range r.cases {
			for i := range c.engines {
				e := c.engines[(i+round)%len(c.engines)]
				r.progressf("[%d/%d] round %d of %d, %s: %s%s", r.done+1, r.total, round+1, r.cfg.rounds, c.what, e.label, r.eta())
				m, err := r.runOne(c, e, round == 0)
				r.done++
				if err != nil {
					r.failed = append(r.failed, fmt.Sprintf("%s, %s: %v", c.what, e.label, err))
					r.progressDone()
					fmt.Fprintf(os.Stderr, "FAILED %s, %s: %v\n", c.what, e.label, err)
					continue
				}
				if r.results[c.id] == nil {
					r.results[c.id] = map[string][]measurement{}
				}
				r.results[c.id][e.key] = append(r.results[c.id][e.key], m)
			}
		}
	}
	r.progressDone()
}

// runOne runs case c with engine e and measures it; with account, it also
// runs the accounting runs of random I/O (see measurement).
func (r *runner) runOne(c testCase, e engine, account bool) (measurement, error) {
	if c.warm {
		if err := warm(r.cfg.file); err != nil {
			return measurement{}, err
		}
	}
	if c.cold {
		if err := dropCache(r.cfg.file); err != nil {
			return measurement{}, err
		}
	}
	stdout, u, err := runMeasured(e.argv(r, e.key, c.job))
	if err != nil {
		return measurement{}, err
	}
	res, err := e.output(stdout)
	if err != nil {
		return measurement{}, err
	}
	if res.IOs <= 0 || res.Seconds <= 0 {
		return measurement{}, fmt.Errorf("no I/O done: %+v", res)
	}
	m := measurement{
		IOPS:    float64(res.IOs) / res.Seconds,
		CPUPct:  100 * u.CPU.Seconds() / u.Wall.Seconds(),
		Wall:    u.Wall.Seconds(),
		Threads: u.Threads,
		RSS:     u.RSS,
		VSZ:     u.VSZ,
		P50:     unmeasured, P99: unmeasured, P999: unmeasured,
		Syscalls: unmeasured, Migrations: unmeasured, Switches: unmeasured, CgoCalls: unmeasured,
		Idle:     res.Idle,
		ColdIOPS: float64(res.ColdIOs) / res.Seconds,
	}
	if res.Lat != nil {
		m.P50, m.P99, m.P999 = res.Lat.P50, res.Lat.P99, res.Lat.P999
	}
	if res.CgoCalls != nil {
		m.CgoCalls = float64(*res.CgoCalls) / float64(res.IOs)
	}
	cpu := u.CPU
	if c.job.Kind == kindRand {
		// The same command for a moment costs what starting and ending
		// the engine costs, which is no part of its cost per I/O: fio
		// alone spends about 0.1 s calibrating its clock and setting up.
		short := c.job
		short.Secs = startupSecs
		_, base, err := runMeasured(e.argv(r, e.key, short))
		if err != nil {
			return measurement{}, fmt.Errorf("start-up run: %v", err)
		}
		cpu = max(0, cpu-base.CPU)
		m.Switches = float64(max(0, u.Switches-base.Switches)) / float64(res.IOs)
		if account && r.perf != "" {
			if m.Syscalls, m.Migrations, err = r.account(e, c.job); err != nil {
				return measurement{}, fmt.Errorf("accounting run: %v", err)
			}
		}
	}
	m.CPUPerIO = float64(cpu.Nanoseconds()) / 1e3 / float64(res.IOs)
	return m, nil
}

// startupSecs is the length of the run that measures an engine's start-up
// cost: fio's shortest runtime.
const startupSecs = 0.001

// warm reads name through the page cache, so that it is all there; it is
// quick once it is.
func warm(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(io.Discard, f)
	return err
}

func (r *runner) note(s string) {
	r.notes = append(r.notes, s)
	fmt.Fprintln(os.Stderr, "aiobench:", s)
}

// progressf shows what runs now: on a terminal one line, rewritten in
// place; elsewhere a line each.
func (r *runner) progressf(format string, args ...any) {
	line := fmt.Sprintf(format, args...)
	if r.tty {
		fmt.Fprintf(os.Stderr, "\r\033[K%s", line)
	} else {
		fmt.Fprintln(os.Stderr, line)
	}
}

func (r *runner) progressDone() {
	if r.tty {
		fmt.Fprint(os.Stderr, "\r\033[K")
	}
}

// eta estimates the time left from the runs done so far.
func (r *runner) eta() string {
	if r.done == 0 {
		return ""
	}
	left := time.Since(r.started) / time.Duration(r.done) * time.Duration(r.total-r.done)
	return fmt.Sprintf(" (about %v left)", left.Round(time.Second))
}

// cleanup detaches W6's loop device and removes -tiny's temporary files.
// It may run twice (on a signal, then as the run ends).
func (r *runner) cleanup() {
	r.cleanMu.Lock()
	defer r.cleanMu.Unlock()
	if err := r.cold.close(); err != nil {
		fmt.Fprintln(os.Stderr, "aiobench:", err)
	}
	r.cold = nil
	if r.tmpDir != "" {
		os.RemoveAll(r.tmpDir)
		r.tmpDir = ""
	}
}

// findRoot returns the repository's directory: the nearest directory at or
// above the working directory whose go.mod is this module's.
func findRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		b, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(b, []byte("module github.com/linuxaio/aio\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run aiobench from the aio repository (it builds csrc/ with make)")
		}
		dir = parent
	}
}
