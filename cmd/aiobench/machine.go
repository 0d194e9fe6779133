//go:build linux && cgo

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// machine describes where the benchmarks ran, for the report.
type machine struct {
	CPU, Memory, Kernel, FS, Go, Fio string
}

func describeMachine(file, fio string) machine {
	m := machine{
		CPU:    fmt.Sprintf("%s, %d logical CPUs", firstField("/proc/cpuinfo", "model name"), runtime.NumCPU()),
		Memory: memory(),
		FS:     fileSystem(file),
		Go:     runtime.Version(),
		Fio:    "not installed",
	}
	var u syscall.Utsname
	if syscall.Uname(&u) == nil {
		m.Kernel = fmt.Sprintf("Linux %s (%s)", cstr(u.Release[:]), cstr(u.Version[:]))
	}
	if fio != "" {
		if out, err := exec.Command(fio, "--version").Output(); err == nil {
			m.Fio = strings.TrimSpace(string(out))
		}
	}
	return m
}

// memory is MemTotal from /proc/meminfo, in GiB.
func memory() string {
	kb, err := strconv.ParseInt(strings.TrimSuffix(firstField("/proc/meminfo", "MemTotal"), " kB"), 10, 64)
	if err != nil {
		return "unknown"
	}
	return fmt.Sprintf("%.1f GiB", float64(kb)/(1<<20))
}

func cstr(b []int8) string {
	s := make([]byte, 0, len(b))
	for _, c := range b {
		if c == 0 {
			break
		}
		s = append(s, byte(c))
	}
	return string(s)
}

// firstField returns the value of the first "key: value" line of a /proc
// file with that key, or "unknown".
func firstField(name, key string) string {
	f, err := os.Open(name)
	if err != nil {
		return "unknown"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// fileSystem names the file system that holds file, its device and mount
// point, from the mount that is the longest prefix of its path in
// /proc/self/mountinfo.
func fileSystem(file string) string {
	path, err := filepath.Abs(file)
	if err == nil {
		path, err = filepath.EvalSymlinks(path)
	}
	if err != nil {
		return "unknown"
	}
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return "unknown"
	}
	best, desc := "", "unknown"
	for _, line := range strings.Split(string(b), "\n") {
		// id parent major:minor root mountpoint options [optional...] - fstype source superoptions
		pre, post, ok := strings.Cut(line, " - ")
		fields, tail := strings.Fields(pre), strings.Fields(post)
		if !ok || len(fields) < 5 || len(tail) < 2 {
			continue
		}
		mnt := fields[4]
		if within(path, mnt) && len(mnt) >= len(best) {
			best = mnt
			desc = fmt.Sprintf("%s on %s, mounted at %s", tail[0], tail[1], mnt)
		}
	}
	return desc
}

// within reports whether path is dir or below it.
func within(path, dir string) bool {
	return dir == "/" || path == dir || strings.HasPrefix(path, dir+"/")
}
