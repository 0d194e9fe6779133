//go:build linux && cgo

package aio

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

var allCommands = []Command{CmdRead, CmdWrite, CmdFsync, CmdFdsync, CmdPoll, CmdReadV, CmdWriteV}

// realFeatures returns a featureSet with nothing cached that probes the
// running kernel, and counts its probes.
func realFeatures(cmdProbes, flagProbes *atomic.Int64) *featureSet {
	return newFeatureSet(kernelRelease, kernelAtLeast,
		func(pc *probeContext, c Command) error { cmdProbes.Add(1); return probeCommand(pc, c) },
		func(pc *probeContext, f RWFlags) error { flagProbes.Add(1); return probeRWFlag(pc, f) })
}

// probeFlag probes flag on a probeContext of its own.
func probeFlag(flag RWFlags) error {
	var pc probeContext
	defer pc.close()
	return probeRWFlag(&pc, flag)
}

// fakeKernel is a kernel of another release whose probes answer as told.
type fakeKernel struct {
	release string
	cmd     func(Command) error
	flag    func(RWFlags) error
	probes  atomic.Int64
}

func (k *fakeKernel) features() *featureSet {
	return newFeatureSet(func() string { return k.release }, k.atLeast,
		func(_ *probeContext, c Command) error { k.probes.Add(1); return k.cmd(c) },
		func(_ *probeContext, f RWFlags) error { k.probes.Add(1); return k.flag(f) })
}

// atLeast compares releases as kernelAtLeast does the running kernel's.
func (k *fakeKernel) atLeast(want string) bool {
	have, ok1 := parseRelease(k.release)
	need, ok2 := parseRelease(want)
	if !ok1 || !ok2 {
		panic("bad release in test: " + k.release + " or " + want)
	}
	return have[0] > need[0] || have[0] == need[0] && have[1] >= need[1]
}

// wantError checks that err is an *Error of op, with Index -1, wrapping
// target, whose message holds every one of parts.
func wantError(t *testing.T, err error, op string, target error, parts ...string) {
	t.Helper()
	var ae *Error
	if !errors.As(err, &ae) {
		t.Fatalf("got %v (%T), want an *Error", err, err)
	}
	if ae.Op != op || ae.Index != -1 {
		t.Errorf("Op %q, Index %d; want %q, -1 (%v)", ae.Op, ae.Index, op, err)
	}
	if !errors.Is(err, target) {
		t.Errorf("%v does not wrap %v", err, target)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Errorf("%q does not say %q", err, p)
		}
	}
}

// TestFeatureTable: rwFlagInfo is indexed by bit, and knownRWFlags is
// all of it.
func TestFeatureTable(t *testing.T) {
	var all RWFlags
	for i, f := range rwFlagInfo {
		if f.flag != 1<<i || !strings.HasPrefix(f.name, "RWF_") {
			t.Errorf("rwFlagInfo[%d] = %+v", i, f)
		}
		if _, ok := parseRelease(f.release); !ok {
			t.Errorf("%s: release %q", f.name, f.release)
		}
		all |= f.flag
	}
	if all != knownRWFlags {
		t.Fatalf("table has %#x, knownRWFlags is %#x", uint32(all), uint32(knownRWFlags))
	}
}

// TestHaveCommand probes each command afresh, with a real submission: on
// this kernel (4.19 or later) all are supported.
func TestHaveCommand(t *testing.T) {
	for _, cmd := range allCommands {
		t.Run(cmd.String(), func(t *testing.T) {
			var probes, none atomic.Int64
			fs := realFeatures(&probes, &none)
			before := probeSubmitCalls.Load()
			if err := fs.command(cmd); err != nil {
				t.Fatalf("%s: %v", cmd, err)
			}
			if n := probeSubmitCalls.Load() - before; probes.Load() != 1 || n != 1 {
				t.Fatalf("%d probes with %d io_submit calls; want 1 and 1", probes.Load(), n)
			}
			if err := HaveCommand(cmd); err != nil {
				t.Fatalf("HaveCommand(%s): %v", cmd, err)
			}
		})
	}
}

// TestHaveRWFlags probes each flag afresh: on this kernel (6.18) all are
// known. Flags that the kernel takes on any file for a plain read or write
// must be accepted by the probe itself, not granted by the release.
func TestHaveRWFlags(t *testing.T) {
	for _, f := range rwFlagInfo {
		t.Run(f.name, func(t *testing.T) {
			var none, probes atomic.Int64
			fs := realFeatures(&none, &probes)
			before := probeSubmitCalls.Load()
			if err := fs.rwFlags(f.flag); err != nil {
				t.Fatalf("%s: %v", f.name, err)
			}
			if n := probeSubmitCalls.Load() - before; probes.Load() != 1 || n < 1 || n > 2 {
				t.Fatalf("%d probes with %d io_submit calls; want 1 with 1 or 2", probes.Load(), n)
			}
			probed := probeFlag(f.flag)
			switch f.flag {
			case RWFAtomic, RWFDontCache:
				// The file system decides: either answer is right.
				t.Logf("%s probe: %v", f.name, probed)
				if probed != nil && probed != syscall.EOPNOTSUPP {
					t.Fatalf("%s probe: %v; want nil or EOPNOTSUPP", f.name, probed)
				}
			default:
				if probed != nil {
					t.Fatalf("%s probe: %v; want it accepted", f.name, probed)
				}
			}
			if err := HaveRWFlags(f.flag); err != nil {
				t.Fatalf("HaveRWFlags(%s): %v", f.name, err)
			}
		})
	}
	if err := HaveRWFlags(knownRWFlags); err != nil {
		t.Fatalf("HaveRWFlags(all): %v", err)
	}
}

// TestHaveRWFlagsProbeSeesRefusal: the probe reaches the kernel and reports
// its refusal of a flag it does not know.
func TestHaveRWFlagsProbeSeesRefusal(t *testing.T) {
	for _, flag := range []RWFlags{1 << 20, 1 << 31} {
		if err := probeFlag(flag); err != syscall.EOPNOTSUPP {
			t.Errorf("probe of unknown flag %#x: %v; want EOPNOTSUPP", uint32(flag), err)
		}
	}
}

func TestHaveRWFlagsZero(t *testing.T) {
	var probes atomic.Int64
	fs := realFeatures(&probes, &probes)
	if err := fs.rwFlags(0); err != nil || probes.Load() != 0 {
		t.Fatalf("rwFlags(0) = %v after %d probes; want nil after none", err, probes.Load())
	}
	if err := HaveRWFlags(0); err != nil {
		t.Fatal(err)
	}
}

func TestHaveCommandUnknown(t *testing.T) {
	var probes atomic.Int64
	fs := realFeatures(&probes, &probes)
	for _, cmd := range []Command{4, 6, 9, 0xffff} {
		for _, err := range []error{HaveCommand(cmd), fs.command(cmd)} {
			wantError(t, err, "HaveCommand", syscall.EINVAL, cmd.String())
			if errors.Is(err, ErrNotSupported) {
				t.Errorf("%v wraps ErrNotSupported", err)
			}
		}
	}
	if probes.Load() != 0 {
		t.Fatalf("%d probes of unknown commands", probes.Load())
	}
}

func TestHaveRWFlagsUnknown(t *testing.T) {
	var probes atomic.Int64
	fs := realFeatures(&probes, &probes)
	for _, flags := range []RWFlags{0x200, 1 << 31, RWFNoWait | 0x400, ^RWFlags(0)} {
		for _, err := range []error{HaveRWFlags(flags), fs.rwFlags(flags)} {
			wantError(t, err, "HaveRWFlags", syscall.EINVAL, fmt.Sprintf("%#x", uint32(flags&^knownRWFlags)))
			if errors.Is(err, ErrNotSupported) {
				t.Errorf("%v wraps ErrNotSupported", err)
			}
		}
	}
	if probes.Load() != 0 {
		t.Fatalf("%d probes for flags refused as unknown", probes.Load())
	}
}

// TestFeatureOldKernel feeds the decisions a 4.14 kernel: io_submit refuses
// fsync, fdsync and poll with EINVAL, and every RWF flag with EOPNOTSUPP
// (as the probe's file would refuse one the kernel has).
func TestFeatureOldKernel(t *testing.T) {
	k := &fakeKernel{
		release: "4.14",
		cmd: func(c Command) error {
			if c == CmdFsync || c == CmdFdsync || c == CmdPoll {
				return syscall.EINVAL
			}
			return nil
		},
		flag: func(RWFlags) error { return syscall.EOPNOTSUPP },
	}
	fs := k.features()
	for cmd, need := range map[Command]string{
		CmdRead: "", CmdWrite: "", CmdReadV: "", CmdWriteV: "",
		CmdFsync: "4.18", CmdFdsync: "4.18", CmdPoll: "4.19",
	} {
		err := fs.command(cmd)
		if need == "" {
			if err != nil {
				t.Errorf("%s: %v", cmd, err)
			}
			continue
		}
		wantError(t, err, "HaveCommand", ErrNotSupported,
			fmt.Sprintf("%s needs Linux %s; this kernel is 4.14", cmd, need))
	}
	for flag, need := range map[RWFlags]string{
		RWFHiPri: "", RWFDSync: "", RWFSync: "", RWFNoWait: "",
		RWFAppend: "4.16", RWFNoAppend: "6.9", RWFAtomic: "6.11", RWFDontCache: "6.14", RWFNoSignal: "6.15",
	} {
		err := fs.rwFlags(flag)
		if need == "" {
			if err != nil {
				t.Errorf("%#x: %v", uint32(flag), err)
			}
			continue
		}
		wantError(t, err, "HaveRWFlags", ErrNotSupported, fmt.Sprintf("needs Linux %s; this kernel is 4.14", need))
	}
	// The first flag missing is named.
	wantError(t, fs.rwFlags(RWFNoWait|RWFNoSignal|RWFAppend), "HaveRWFlags", ErrNotSupported,
		"RWF_APPEND needs Linux 4.16")
	if err := fs.rwFlags(RWFHiPri | RWFDSync | RWFSync | RWFNoWait); err != nil {
		t.Fatal(err)
	}
}

// TestFeatureNoRWFlagsInAIO: before 4.13 kernel AIO refuses any RWF flag
// with EINVAL, even one preadv2 has.
func TestFeatureNoRWFlagsInAIO(t *testing.T) {
	k := &fakeKernel{release: "4.9.337", flag: func(RWFlags) error { return syscall.EINVAL }}
	fs := k.features()
	for _, f := range rwFlagInfo {
		wantError(t, fs.rwFlags(f.flag), "HaveRWFlags", ErrNotSupported,
			f.name+" needs Linux "+f.release, "RWF flags from Linux 4.13", "this kernel is 4.9.337")
	}
}

// TestFeatureRecentKernelRefuses: a kernel that has a flag but whose probe
// file refuses it leaves the answer to the file system (nil); one that
// refuses a command it should have is believed.
func TestFeatureRecentKernelRefuses(t *testing.T) {
	k := &fakeKernel{
		release: "6.18.2-arch1",
		cmd:     func(Command) error { return syscall.EINVAL },
		flag:    func(RWFlags) error { return syscall.EOPNOTSUPP },
	}
	fs := k.features()
	if err := fs.rwFlags(knownRWFlags); err != nil {
		t.Fatal(err)
	}
	wantError(t, fs.command(CmdPoll), "HaveCommand", ErrNotSupported, "refused poll with EINVAL", "from 4.19")
	wantError(t, fs.command(CmdRead), "HaveCommand", ErrNotSupported, "refused read with EINVAL")
	// A kernel one minor release short of a flag lacks it.
	k2 := &fakeKernel{release: "6.14", flag: func(RWFlags) error { return syscall.EOPNOTSUPP }}
	wantError(t, k2.features().rwFlags(RWFNoSignal), "HaveRWFlags", ErrNotSupported,
		"RWF_NOSIGNAL needs Linux 6.15; this kernel is 6.14")
	if err := k2.features().rwFlags(RWFDontCache); err != nil {
		t.Fatal(err)
	}
}

// TestFeatureNoAIO: a kernel without AIO lacks every feature, and says so.
func TestFeatureNoAIO(t *testing.T) {
	k := &fakeKernel{
		release: "6.1",
		cmd:     func(Command) error { return errNoAIO },
		flag:    func(RWFlags) error { return errNoAIO },
	}
	fs := k.features()
	for _, cmd := range allCommands {
		wantError(t, fs.command(cmd), "HaveCommand", ErrNotSupported, "CONFIG_AIO")
	}
	for _, f := range rwFlagInfo {
		wantError(t, fs.rwFlags(f.flag), "HaveRWFlags", ErrNotSupported, "CONFIG_AIO")
	}
}

// TestFeatureUndecided: a probe that could not run is reported with its
// cause and not cached; the next call probes again, and its answer is.
func TestFeatureUndecided(t *testing.T) {
	var fail atomic.Bool
	fail.Store(true)
	answer := func() error {
		if fail.Load() {
			return syscall.EMFILE
		}
		return nil
	}
	k := &fakeKernel{
		release: "6.18",
		cmd:     func(Command) error { return answer() },
		flag:    func(RWFlags) error { return answer() },
	}
	fs := k.features()
	wantError(t, fs.command(CmdPoll), "HaveCommand", syscall.EMFILE, "not cached")
	wantError(t, fs.rwFlags(RWFNoWait), "HaveRWFlags", syscall.EMFILE, "RWF_NOWAIT", "not cached")
	if err := fs.command(CmdPoll); errors.Is(err, ErrNotSupported) {
		t.Fatalf("an undecided probe reported as missing: %v", err)
	}
	fail.Store(false)
	if err := fs.command(CmdPoll); err != nil {
		t.Fatal(err)
	}
	if err := fs.rwFlags(RWFNoWait); err != nil {
		t.Fatal(err)
	}
	if n := k.probes.Load(); n != 5 {
		t.Fatalf("%d probes; want 5", n)
	}
	fail.Store(true)
	if fs.command(CmdPoll) != nil || fs.rwFlags(RWFNoWait) != nil || k.probes.Load() != 5 {
		t.Fatal("a decided answer was probed again")
	}
}

// TestFeatureCached: once decided, an answer is kept: no more probes, no
// more io_submit calls.
func TestFeatureCached(t *testing.T) {
	var cmdProbes, flagProbes atomic.Int64
	fs := realFeatures(&cmdProbes, &flagProbes)
	before := probeSubmitCalls.Load()
	if err := fs.command(CmdPoll); err != nil {
		t.Fatal(err)
	}
	if err := fs.rwFlags(RWFNoWait | RWFDSync); err != nil {
		t.Fatal(err)
	}
	first := probeSubmitCalls.Load()
	if first-before < 3 {
		t.Fatalf("%d io_submit calls for three probes", first-before)
	}
	for range 100 {
		if fs.command(CmdPoll) != nil || fs.rwFlags(RWFNoWait) != nil || fs.rwFlags(RWFDSync|RWFNoWait) != nil {
			t.Fatal("answer changed")
		}
	}
	if n := probeSubmitCalls.Load() - first; n != 0 || cmdProbes.Load() != 1 || flagProbes.Load() != 2 {
		t.Fatalf("%d more io_submit calls, %d command and %d flag probes; want 0, 1, 2",
			n, cmdProbes.Load(), flagProbes.Load())
	}
	// The package's own cache: decided by the first call, here or earlier.
	HaveCommand(CmdFsync)
	HaveRWFlags(knownRWFlags)
	after := probeSubmitCalls.Load()
	for range 100 {
		HaveCommand(CmdFsync)
		HaveRWFlags(knownRWFlags)
	}
	if n := probeSubmitCalls.Load() - after; n != 0 {
		t.Fatalf("%d io_submit calls by HaveCommand and HaveRWFlags after the first", n)
	}
	if n := testing.AllocsPerRun(100, func() {
		HaveCommand(CmdFsync)
		HaveRWFlags(knownRWFlags)
	}); n != 0 {
		t.Fatalf("cached answers allocate: %v allocations", n)
	}
}

// TestFeatureConcurrent: first calls from many goroutines at once make one
// probe per feature and agree.
func TestFeatureConcurrent(t *testing.T) {
	var cmdProbes, flagProbes atomic.Int64
	fs := realFeatures(&cmdProbes, &flagProbes)
	const n = 32
	var wg sync.WaitGroup
	errs := make(chan error, n*(len(allCommands)+2))
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, cmd := range allCommands {
				errs <- fs.command(cmd)
			}
			errs <- fs.rwFlags(knownRWFlags)
			errs <- HaveRWFlags(RWFNoSignal | RWFHiPri)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if cmdProbes.Load() != int64(len(allCommands)) || flagProbes.Load() != int64(len(rwFlagInfo)) {
		t.Fatalf("%d command and %d flag probes; want %d and %d",
			cmdProbes.Load(), flagProbes.Load(), len(allCommands), len(rwFlagInfo))
	}

	// And a slow probe of a missing feature: every caller gets its one
	// answer.
	k := &fakeKernel{
		release: "4.14",
		cmd:     func(Command) error { time.Sleep(10 * time.Millisecond); return syscall.EINVAL },
		flag:    func(RWFlags) error { time.Sleep(10 * time.Millisecond); return syscall.EOPNOTSUPP },
	}
	fake := k.features()
	got := make([][2]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i] = [2]error{fake.command(CmdPoll), fake.rwFlags(RWFAtomic)}
		}()
	}
	wg.Wait()
	for i := range got {
		if got[i][0] == nil || got[i][0] != got[0][0] || got[i][1] == nil || got[i][1] != got[0][1] {
			t.Fatalf("caller %d got %v; caller 0 got %v", i, got[i], got[0])
		}
	}
	if k.probes.Load() != 2 {
		t.Fatalf("%d probes; want 2", k.probes.Load())
	}
}

func ExampleHaveCommand() {
	if err := HaveCommand(CmdPoll); err != nil {
		fmt.Println("no poll:", err)
		return
	}
	if err := HaveRWFlags(RWFNoWait); err != nil {
		fmt.Println("no RWF_NOWAIT:", err)
		return
	}
	fmt.Println("poll and RWF_NOWAIT are supported")
	// Output: poll and RWF_NOWAIT are supported
}
