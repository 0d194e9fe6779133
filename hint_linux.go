//go:build linux && cgo

package aio

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// This file turns an errno into the likely cause, for Error.Detail. It runs
// only on error paths.

// setupHint explains an io_setup failure for a context of n events.
func setupHint(e syscall.Errno, n int) string {
	switch e {
	case syscall.EAGAIN:
		return fmt.Sprintf("%d more events would pass the system limit: fs.aio-nr is %s and fs.aio-max-nr is %s; "+
			"close unused contexts or raise /proc/sys/fs/aio-max-nr", n, procValue("aio-nr"), procValue("aio-max-nr"))
	case syscall.ENOSYS:
		return "this kernel is built without AIO (CONFIG_AIO)"
	case syscall.EINVAL:
		return fmt.Sprintf("%d events is more than the kernel allows in one context", n)
	}
	return ""
}

func procValue(name string) string {
	b, err := os.ReadFile("/proc/sys/fs/" + name)
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// submitHint explains why io_submit refused b.
func submitHint(e syscall.Errno, b *Block) string {
	switch e {
	case syscall.EBADF:
		if b.resfd >= 0 && !fdOpen(int(b.resfd)) {
			return fmt.Sprintf("resfd %d is not open", b.resfd)
		}
		if !fdOpen(int(b.fd)) {
			return fmt.Sprintf("fd %d is not open", b.fd)
		}
		return fmt.Sprintf("fd %d is not open for %s", b.fd, b.cmd)
	case syscall.EINVAL:
		if need := minKernel(b.cmd); need != "" && !kernelAtLeast(need) {
			return fmt.Sprintf("%s needs Linux %s; this kernel is %s", b.cmd, need, kernelRelease())
		}
		if b.resfd >= 0 && !isEventfd(int(b.resfd)) {
			return fmt.Sprintf("resfd %d is not an eventfd", b.resfd)
		}
		if isCharDevice(int(b.fd)) {
			return fmt.Sprintf("fd %d (%s) is a character device whose driver likely has no AIO %s; /dev/full, for one, has none for writes",
				b.fd, fdPath(int(b.fd)), b.cmd)
		}
		return fmt.Sprintf("the file does not support %s with these arguments", b.cmd)
	case syscall.EOPNOTSUPP:
		if b.rwFlags != 0 {
			return fmt.Sprintf("RWF flags %#x are not supported by this kernel (%s) or this file", uint32(b.rwFlags), kernelRelease())
		}
	case syscall.EPERM:
		if class, _ := b.Priority(); class == PrioClassRT {
			return "the real-time I/O priority class needs CAP_SYS_ADMIN or CAP_SYS_NICE"
		}
	case syscall.EAGAIN:
		return "the kernel is short of AIO resources: reap completions and submit again"
	}
	return ""
}

// cancelHint explains why io_cancel refused b.
func cancelHint(e syscall.Errno, b *Block) string {
	switch e {
	case syscall.EINVAL:
		if b.cmd != CmdPoll {
			return "the kernel cancels only poll requests; " + b.cmd.String() + " runs to completion and its event arrives as usual"
		}
		return "the poll fired before it could be cancelled; its event arrives as usual"
	}
	return ""
}

// minKernel returns the first Linux release with cmd, if later than 4.0.
func minKernel(cmd Command) string {
	switch cmd {
	case CmdFsync, CmdFdsync:
		return "4.18"
	case CmdPoll:
		return "4.19"
	}
	return ""
}

func fdOpen(fd int) bool {
	_, e := fcntl(fd, syscall.F_GETFD)
	return e == 0
}

func isEventfd(fd int) bool { return fdPath(fd) == "anon_inode:[eventfd]" }

func isCharDevice(fd int) bool {
	var st syscall.Stat_t
	return syscall.Fstat(fd, &st) == nil && st.Mode&syscall.S_IFMT == syscall.S_IFCHR
}

// fdPath returns what fd is open on, as /proc/self/fd shows it.
func fdPath(fd int) string {
	link, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "unknown"
	}
	return link
}

var kernelRelease = sync.OnceValue(func() string {
	var u syscall.Utsname
	if syscall.Uname(&u) != nil {
		return "unknown"
	}
	var b strings.Builder
	for _, c := range u.Release {
		if c == 0 {
			break
		}
		b.WriteByte(byte(c))
	}
	return b.String()
})

// kernelAtLeast reports whether the running kernel is release want
// ("major.minor") or later. An unreadable release counts as recent.
func kernelAtLeast(want string) bool {
	have, ok1 := parseRelease(kernelRelease())
	need, ok2 := parseRelease(want)
	if !ok1 || !ok2 {
		return true
	}
	return have[0] > need[0] || have[0] == need[0] && have[1] >= need[1]
}

func parseRelease(s string) ([2]int, bool) {
	var v [2]int
	parts := strings.SplitN(s, ".", 3)
	if len(parts) < 2 {
		return v, false
	}
	for i := range v {
		d := parts[i]
		if j := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			d = d[:j]
		}
		n, err := strconv.Atoi(d)
		if err != nil {
			return v, false
		}
		v[i] = n
	}
	return v, true
}
