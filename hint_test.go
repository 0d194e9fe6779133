//go:build linux && cgo

package aio

import (
	"fmt"
	"strings"
	"syscall"
	"testing"
)

func TestParseRelease(t *testing.T) {
	for in, want := range map[string][2]int{
		"6.18.44-fc-v669": {6, 18},
		"4.19.0":          {4, 19},
		"5.4":             {5, 4},
		"3.10.0-1160.el7": {3, 10},
		"6.1rc2":          {6, 1},
	} {
		if got, ok := parseRelease(in); !ok || got != want {
			t.Errorf("parseRelease(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", "6", "x.y", "linux"} {
		if _, ok := parseRelease(in); ok {
			t.Errorf("parseRelease(%q) succeeded", in)
		}
	}
}

func TestKernelAtLeast(t *testing.T) {
	have, ok := parseRelease(kernelRelease())
	if !ok {
		t.Fatalf("cannot parse this kernel's release %q", kernelRelease())
	}
	if !kernelAtLeast("2.6") || kernelAtLeast("99.0") {
		t.Fatal("kernelAtLeast is wrong for 2.6 or 99.0")
	}
	if next := fmt.Sprintf("%d.%d", have[0], have[1]+1); kernelAtLeast(next) {
		t.Fatalf("kernel %v counted as at least %s", have, next)
	}
	if this := fmt.Sprintf("%d.%d", have[0], have[1]); !kernelAtLeast(this) {
		t.Fatalf("kernel %v not counted as at least %s", have, this)
	}
}

func TestHints(t *testing.T) {
	if h := setupHint(syscall.EAGAIN, 100); !strings.Contains(h, "aio-max-nr") || !strings.Contains(h, "100") {
		t.Fatalf("setupHint(EAGAIN) = %q", h)
	}
	if minKernel(CmdFsync) != "4.18" || minKernel(CmdFdsync) != "4.18" || minKernel(CmdPoll) != "4.19" || minKernel(CmdRead) != "" {
		t.Fatal("minKernel")
	}
	b := NewRead(FD(0), make([]byte, 1), 0)
	if h := cancelHint(syscall.EINVAL, b); !strings.Contains(h, "only poll") {
		t.Fatalf("cancelHint = %q", h)
	}
	b.SetRWFlags(RWFAtomic)
	if h := submitHint(syscall.EOPNOTSUPP, b); !strings.Contains(h, "0x40") {
		t.Fatalf("submitHint(EOPNOTSUPP) = %q", h)
	}
	b.SetPriority(PrioClassRT, 0)
	if h := submitHint(syscall.EPERM, b); !strings.Contains(h, "CAP_SYS_ADMIN") {
		t.Fatalf("submitHint(EPERM) = %q", h)
	}
}
