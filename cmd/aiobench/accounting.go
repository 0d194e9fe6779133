//go:build linux && cgo

package main

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// Per-I/O accounting of system calls and CPU migrations. Neither has a
// counter a process can read about itself (rusage has context switches,
// which the timed run takes), so the runner counts them with perf stat:
// raw_syscalls:sys_enter, the tracepoint every system call passes, and
// cpu-migrations, in every thread of the engine process (perf stat
// follows threads by default). Enabling a tracepoint on every system call
// slows each call, so this is never done in a timed run: the engine runs
// again under perf for -acctsecs, and once more for a moment
// (startupSecs), and the difference of the counts over the difference of
// the I/Os done is the cost per I/O with start-up and exit taken out, as
// for the CPU per I/O. strace -c would count the calls too, but stops the
// process at each one: it changes what it measures far more.
const perfEvents = "raw_syscalls:sys_enter,cpu-migrations"

// findPerf returns perf's path if it is installed and may count the
// system-call tracepoint here (root, or kernel.perf_event_paranoid low
// enough); else "" and why not.
func findPerf() (path, why string) {
	path, err := exec.LookPath("perf")
	if err != nil {
		return "", "perf is not installed (Debian: linux-perf)"
	}
	out, err := os.CreateTemp("", "aiobench-perf-")
	if err != nil {
		return "", err.Error()
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.Command(path, "stat", "-x", ",", "-o", out.Name(), "-e", perfEvents, "--", "/bin/true")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Sprintf("perf stat fails: %v: %s", err, firstLine(string(msg)))
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return "", err.Error()
	}
	if _, err := parsePerf(b); err != nil {
		return "", err.Error()
	}
	return path, ""
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// perfCounts are perf stat's counts of one run.
type perfCounts struct {
	syscalls, migrations float64
}

// parsePerf reads perf stat -x , output: a line per event, "value,unit,
// event,..."; comment lines start with #. A count perf could not take
// reads "<not supported>" or "<not counted>", which is an error here.
func parsePerf(b []byte) (perfCounts, error) {
	var c perfCounts
	var have int
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ",")
		if len(f) < 3 {
			continue
		}
		var dst *float64
		switch f[2] {
		case "raw_syscalls:sys_enter":
			dst = &c.syscalls
		case "cpu-migrations":
			dst = &c.migrations
		default:
			continue
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil {
			return c, fmt.Errorf("perf stat could not count %s: %s", f[2], f[0])
		}
		*dst = v
		have++
	}
	if have != 2 {
		return c, fmt.Errorf("perf stat gave %d of the 2 counts asked: %q", have, firstLine(string(b)))
	}
	return c, nil
}

// account returns system calls and CPU migrations per I/O of engine e
// running j, from two runs under perf stat: one of -acctsecs and one of
// startupSecs.
func (r *runner) account(e engine, j job) (syscalls, migrations float64, err error) {
	long, short := j, j
	long.Secs, short.Secs = r.cfg.acctSecs, startupSecs
	lc, lios, err := r.perfRun(e, long)
	if err != nil {
		return 0, 0, err
	}
	sc, sios, err := r.perfRun(e, short)
	if err != nil {
		return 0, 0, err
	}
	ios := float64(lios - sios)
	if ios <= 0 {
		return 0, 0, fmt.Errorf("%d I/Os in %gs and %d in %gs: no difference to divide by", lios, long.Secs, sios, short.Secs)
	}
	return max(0, lc.syscalls-sc.syscalls) / ios, max(0, lc.migrations-sc.migrations) / ios, nil
}

// perfRun runs j with engine e under perf stat, and returns the counts and
// the I/Os the engine did.
func (r *runner) perfRun(e engine, j job) (perfCounts, int64, error) {
	out, err := os.CreateTemp("", "aiobench-perf-")
	if err != nil {
		return perfCounts{}, 0, err
	}
	out.Close()
	defer os.Remove(out.Name())
	argv := append([]string{r.perf, "stat", "-x", ",", "-o", out.Name(), "-e", perfEvents, "--"}, e.argv(r, e.key, j)...)
	stdout, _, err := runMeasured(argv)
	if err != nil {
		return perfCounts{}, 0, err
	}
	res, err := e.output(stdout)
	if err != nil {
		return perfCounts{}, 0, err
	}
	b, err := os.ReadFile(out.Name())
	if err != nil {
		return perfCounts{}, 0, err
	}
	c, err := parsePerf(b)
	return c, res.IOs, err
}
