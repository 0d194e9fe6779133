//go:build linux && cgo

// Command aiobench runs the package's side-by-side benchmarks: the
// workloads of DESIGN.md's performance protocol, each through the package
// (its Events stream, the natural loop with a Submit per event, Block.Wait,
// a Manual Context and aio.File), plain Go (os.File, a goroutine per I/O in
// flight), csrc's C loop over the same core and fio's libaio and io_uring
// engines, every engine in a process of its own, alternating over several
// rounds. For each it measures IOPS, CPU per I/O, completion latency (p50,
// p99, p99.9), system calls, context switches, CPU migrations and cgo calls
// per I/O, OS threads and memory. It reports the medians with ratios,
// checks the project's goals, and writes BENCHMARKS.md and an SVG chart.
//
//	go run ./cmd/aiobench            # full run (half an hour): writes BENCHMARKS.md and docs/bench.svg
//	go run ./cmd/aiobench -short     # a minute and a half: prints the comparison
//	go run ./cmd/aiobench -tiny      # seconds, a small file: only checks that it all runs
//
// Run it from the repository: it builds csrc's benchmark with make. fio is
// taken from PATH (scripts/deps.sh --bench installs it); without it, its
// rows are left out.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// config is what a run does, from the flags.
type config struct {
	file    string          // the random-I/O file; "" for a temporary one
	size    int64           // its size
	rounds  int             // times every engine runs every case
	secs    float64         // seconds per random-I/O run
	depths  []int           // the read sweep's depths; W1 takes 1, 32 and 128 from it
	wdepths []int           // the write sweep's depths; W2 takes 32 from it
	w4Reads int             // W4's rounds
	w4Files []int           // W4's file counts
	engines map[string]bool // -engines; nil for all
	cases   map[string]bool // -cases: workloads (groups) to run; nil for all
	md, svg string          // where to write the report; "" for nowhere
	command string          // the command line, for the report

	account  bool    // count system calls and migrations with perf stat
	acctSecs float64 // seconds of each accounting run
	idleSecs float64 // seconds the idle check idles

	holSource  string // W6's cold source: holAuto, holLoop or holDisk
	holReaders int    // W6's buffered readers in the mixed case
}

func main() {
	engineName := flag.String("engine", "", "") // hidden: run one job in this process
	jobSpec := flag.String("job", "", "")
	short := flag.Bool("short", false, "a short run (a minute and a half): 1 round of 1 s runs, reads at depths 1, 32 and 128, writes at 32, W4 with 300 reads, no fio io_uring; prints, writes no file unless -md/-svg")
	tiny := flag.Bool("tiny", false, "a run of seconds on a small temporary file, to check that everything works (timings mean nothing)")
	file := flag.String("file", "/var/tmp/aio-bench-1g", "the file for random I/O, made if missing or of another size; on a local disk that takes O_DIRECT. W2 overwrites its blocks")
	size := flag.String("size", "1G", "size of -file (K, M, G suffixes)")
	rounds := flag.Int("rounds", 3, "rounds: each engine runs each case once per round")
	secs := flag.Float64("secs", 3, "seconds per random-I/O run")
	depths := flag.String("depths", "1,2,4,8,16,32,64,128,256", "depths of the O_DIRECT random-read sweep")
	wdepths := flag.String("wdepths", "1,2,4,8,16,32,64,128,256", "depths of the O_DIRECT random-write sweep (fio runs at 32 only)")
	account := flag.Bool("account", true, "count system calls and CPU migrations per I/O with perf stat, in runs of their own (first round only)")
	acctSecs := flag.Float64("acctsecs", 0.5, "seconds of each accounting run under perf stat")
	idleSecs := flag.Float64("idlesecs", 2, "seconds the idle check leaves a Context idle")
	w4Reads := flag.Int("w4reads", 1000, "W4: rounds of reads, 1 ms apart")
	cases := flag.String("cases", "", "comma-separated workloads to run (default all): "+strings.Join(groups, ", ")+
		"; reads and writes are the O_DIRECT sweeps (W1, W2). With it, no file is written unless -md/-svg")
	holSource := flag.String("holsource", holAuto, "W6's cold buffered source: loop (a loop device over a file in /dev/shm; root), "+
		"disk (a file beside -file), or auto (loop where it can be set up, else disk)")
	holReaders := flag.Int("holreaders", defaultHOLReaders, "W6: goroutines doing cold buffered reads beside the 32 O_DIRECT ones, in its mixed case")
	engines := flag.String("engines", "", "comma-separated engines to run (default all): "+strings.Join(allEnginesBut(), ", "))
	md := flag.String("md", "", "write the report here (default BENCHMARKS.md in a full run)")
	svg := flag.String("svg", "", "write the chart here (default docs/bench.svg in a full run)")
	flag.Usage = printUsage
	flag.Parse()

	if *engineName != "" {
		os.Exit(childMain(*engineName, *jobSpec))
	}
	set := map[string]bool{}
	flag.Visit(func(f *flag.Flag) { set[f.Name] = true })
	// preset changes a flag's value for -short or -tiny, unless it was
	// given explicitly.
	preset := func(name, value string) {
		if !set[name] {
			flag.Set(name, value)
		}
	}
	root, err := findRoot()
	if err != nil {
		fail(err)
	}
	switch {
	case *tiny:
		preset("file", "")
		preset("size", "8M")
		preset("depths", "1,32")
		preset("wdepths", "32")
		preset("rounds", "1")
		preset("secs", "0.05")
		preset("w4reads", "5")
		// Its accounting runs would double its time; main_test's
		// TestAccount runs them.
		preset("account", "false")
		preset("idlesecs", "0.2")
	case *short:
		preset("depths", "1,32,128")
		preset("wdepths", "32")
		preset("rounds", "1")
		preset("secs", "1")
		preset("w4reads", "300")
		preset("acctsecs", "0.25")
		// fio's io_uring row is a reference, not a goal: the demo
		// leaves it out to stay near a minute (-engines brings it).
		preset("engines", strings.Join(allEnginesBut(keyUring), ","))
	case set["cases"]:
		// A run of some workloads would replace BENCHMARKS.md with a
		// report of those alone: it writes only what -md and -svg ask.
	default:
		preset("md", filepath.Join(root, "BENCHMARKS.md"))
		preset("svg", filepath.Join(root, "docs", "bench.svg"))
	}
	cfg := config{
		file: *file, rounds: *rounds, secs: *secs, w4Reads: *w4Reads,
		w4Files: []int{1, 6, 12, 24}, md: *md, svg: *svg, command: commandLine(),
		account: *account, acctSecs: *acctSecs, idleSecs: *idleSecs,
		holSource: *holSource, holReaders: *holReaders,
	}
	if cfg.size, err = parseSize(*size); err != nil {
		fail(err)
	}
	if cfg.depths, err = parseInts(*depths); err != nil {
		fail(fmt.Errorf("-depths: %v", err))
	}
	if cfg.wdepths, err = parseInts(*wdepths); err != nil {
		fail(fmt.Errorf("-wdepths: %v", err))
	}
	if *engines != "" {
		cfg.engines = map[string]bool{}
		for _, e := range strings.Split(*engines, ",") {
			cfg.engines[strings.TrimSpace(e)] = true
		}
	}
	if *cases != "" {
		cfg.cases = map[string]bool{}
		for _, c := range strings.Split(*cases, ",") {
			c = strings.ToLower(strings.TrimSpace(c))
			if !slices.Contains(groups, c) {
				fail(fmt.Errorf("-cases: no workload %q (%s)", c, strings.Join(groups, ", ")))
			}
			cfg.cases[c] = true
		}
	}
	if !slices.Contains([]string{holAuto, holLoop, holDisk}, cfg.holSource) {
		fail(fmt.Errorf("-holsource: %q is none of %s, %s, %s", cfg.holSource, holAuto, holLoop, holDisk))
	}
	if cfg.holReaders < 1 || cfg.holReaders > coldDepth {
		fail(fmt.Errorf("-holreaders: from 1 to %d", coldDepth))
	}
	if cfg.rounds < 1 || cfg.secs <= 0 || cfg.w4Reads < 1 || cfg.acctSecs <= startupSecs || cfg.idleSecs <= 0 {
		fail(fmt.Errorf("-rounds, -secs, -w4reads and -idlesecs must be positive, -acctsecs above %gs", startupSecs))
	}

	r, err := newRunner(cfg, root)
	if err != nil {
		fail(err)
	}
	// An interrupted run still detaches W6's loop device.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		s := <-sigs
		r.cleanup()
		fail(fmt.Errorf("stopped by %v", s))
	}()
	start := time.Now()
	r.run()
	rep := r.report()
	fmt.Print(rep.text())
	fmt.Printf("\n(%d runs in %v)\n", r.done, time.Since(start).Round(time.Second))
	err = rep.write(cfg.md, cfg.svg)
	r.cleanup()
	if err != nil {
		fail(err)
	}
	// A missed goal is a finding; a run that failed is an error.
	if len(r.failed) > 0 {
		fail(fmt.Errorf("%d run(s) failed", len(r.failed)))
	}
}

// allEnginesBut returns the keys of every engine, in the order of the
// tables, less those given.
func allEnginesBut(leave ...string) []string {
	var keys []string
	for _, e := range randEngines {
		keys = append(keys, e.key)
	}
	keys = append(keys, keySeq, keyIdle, keyHOL)
	return slices.DeleteFunc(keys, func(k string) bool { return slices.Contains(leave, k) })
}

// printUsage prints the flags, less the hidden ones of the engine mode.
func printUsage() {
	out := flag.CommandLine.Output()
	fmt.Fprintf(out, "usage: aiobench [-short | -tiny] [flags]\n")
	flag.VisitAll(func(f *flag.Flag) {
		if f.Name == "engine" || f.Name == "job" {
			return
		}
		fmt.Fprintf(out, "  -%s\n    \t%s", f.Name, f.Usage)
		if f.DefValue != "" && f.DefValue != "false" {
			fmt.Fprintf(out, " (default %q)", f.DefValue)
		}
		fmt.Fprintln(out)
	})
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "aiobench:", err)
	os.Exit(1)
}

// commandLine is the command that started this run, as the report shows
// it: AIOBENCH_COMMAND if a script set it, else this program's arguments.
func commandLine() string {
	if c := os.Getenv("AIOBENCH_COMMAND"); c != "" {
		return c
	}
	return strings.Join(append([]string{"go run ./cmd/aiobench"}, os.Args[1:]...), " ")
}

// parseSize reads a byte count with an optional K, M or G suffix.
func parseSize(s string) (int64, error) {
	shift := 0
	switch {
	case strings.HasSuffix(s, "K"):
		shift = 10
	case strings.HasSuffix(s, "M"):
		shift = 20
	case strings.HasSuffix(s, "G"):
		shift = 30
	}
	n, err := strconv.ParseInt(strings.TrimRight(s, "KMG"), 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("bad size %q", s)
	}
	return n << shift, nil
}

// parseInts reads a comma-separated list of positive numbers.
func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad number %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}
