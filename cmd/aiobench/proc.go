//go:build linux && cgo

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// usage is what the runner measures of one engine process from outside.
type usage struct {
	Wall    time.Duration // from start to exit
	CPU     time.Duration // user + system, from wait4's rusage
	Threads int           // most OS threads seen in /proc/PID/status
	RSS     int64         // peak resident bytes: rusage's maxrss, or VmHWM if higher
	VSZ     int64         // peak virtual bytes: the highest VmPeak seen
	// Switches are its context switches, voluntary and not, all threads
	// (rusage's nvcsw + nivcsw): each is a thread going to sleep or being
	// preempted, and most of a wakeup's cost.
	Switches int64
}

// sampleEvery is how often the runner reads an engine's /proc/PID/status.
// Go and fio start their threads early and keep them, so a peak is not
// missed; VmPeak and VmHWM are the kernel's own high-water marks.
const sampleEvery = 5 * time.Millisecond

// runMeasured runs argv, samples its /proc/PID/status while it runs, and
// returns its standard output and usage. An exit status other than 0 is an
// error carrying the process's standard error.
func runMeasured(argv []string) ([]byte, usage, error) {
	var u usage
	cmd := exec.Command(argv[0], argv[1:]...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	// Start returns once the child has called exec, so no sample sees the
	// runner's own memory, which a vfork child shares until then.
	if err := cmd.Start(); err != nil {
		return nil, u, err
	}
	stop, sampled := make(chan struct{}), make(chan procStatus)
	go sample(cmd.Process.Pid, stop, sampled)
	err := cmd.Wait()
	u.Wall = time.Since(start)
	close(stop)
	peak := <-sampled
	u.Threads, u.VSZ, u.RSS = peak.threads, peak.vmPeak, peak.vmHWM
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		u.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
		u.RSS = max(u.RSS, ru.Maxrss*1024)
		u.Switches = ru.Nvcsw + ru.Nivcsw
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = strings.TrimSpace(stdout.String())
		}
		return stdout.Bytes(), u, fmt.Errorf("%s: %v: %s", argv[0], err, msg)
	}
	return stdout.Bytes(), u, nil
}

// procStatus holds the fields of /proc/PID/status the runner keeps.
type procStatus struct {
	threads       int
	vmPeak, vmHWM int64 // bytes
}

// sample reads /proc/pid/status every sampleEvery until stop is closed,
// then sends the highest values it saw.
func sample(pid int, stop <-chan struct{}, out chan<- procStatus) {
	var peak procStatus
	name := "/proc/" + strconv.Itoa(pid) + "/status"
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	for {
		if s, ok := readStatus(name); ok {
			peak.threads = max(peak.threads, s.threads)
			peak.vmPeak = max(peak.vmPeak, s.vmPeak)
			peak.vmHWM = max(peak.vmHWM, s.vmHWM)
		}
		select {
		case <-stop:
			out <- peak
			return
		case <-t.C:
		}
	}
}

// readStatus parses a /proc/PID/status file; ok is false once the process
// is gone or has exited (a zombie has no memory lines).
func readStatus(name string) (procStatus, bool) {
	var s procStatus
	b, err := os.ReadFile(name)
	if err != nil {
		return s, false
	}
	for _, line := range strings.Split(string(b), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		val = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(val), "kB"))
		n, err := strconv.ParseInt(val, 10, 64)
		if err != nil {
			continue
		}
		switch key {
		case "Threads":
			s.threads = int(n)
		case "VmPeak":
			s.vmPeak = n << 10
		case "VmHWM":
			s.vmHWM = n << 10
		}
	}
	return s, s.vmPeak > 0
}
