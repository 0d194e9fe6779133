package aio

// Feature probes: whether the running kernel has each AIO command and each
// RWF flag, asked of the kernel itself and remembered. The probes are in
// features_linux.go; without Linux or cgo, features_other.go answers.

// HaveCommand reports whether the running kernel supports cmd through
// kernel AIO. It returns nil if it does; otherwise an *Error (Op
// "HaveCommand") wrapping ErrNotSupported whose message names the first
// Linux release with cmd and this kernel's release, as in "poll needs Linux
// 4.19; this kernel is 4.14". CmdRead, CmdWrite, CmdReadV and CmdWriteV need
// only kernel AIO itself; CmdFsync and CmdFdsync need Linux 4.18, CmdPoll
// 4.19. A Command that is none of these gives an error wrapping
// syscall.EINVAL.
//
// The answer comes from a real submission, made once per command on a
// small Manual Context of its own: fsync and fdsync of an unlinked
// temporary file, poll of a pipe made readable first, a one-byte read or
// write of that file for the others. A kernel that refuses it with EINVAL
// lacks the command. The answer is cached: later calls, from any goroutine,
// make no system call. Concurrent first calls wait for one probe and agree.
//
// A kernel built without AIO (CONFIG_AIO off: io_setup fails with ENOSYS)
// makes every HaveCommand and HaveRWFlags return an error wrapping
// ErrNotSupported that says so. When the probe cannot run at all (no file
// descriptor or AIO context to spare, for one: fs.aio-max-nr reached), the
// error wraps that cause instead of ErrNotSupported, and is not cached: the
// next call probes again.
//
// Without Linux or cgo, HaveCommand returns an error wrapping
// ErrNotSupported for every cmd.
func HaveCommand(cmd Command) error { return haveCommand(cmd) }

// HaveRWFlags reports whether the running kernel knows every flag in flags,
// for reads and writes through kernel AIO, on the same terms as
// HaveCommand: nil if it does, else an *Error (Op "HaveRWFlags") wrapping
// ErrNotSupported that names the first flag it lacks, the Linux release that
// added it and this kernel's release. flags 0 gives nil; bits outside the
// RWF* constants of this package give an error wrapping syscall.EINVAL.
//
// Each flag is probed once, by itself, and its answer cached: a one-byte
// write of an unlinked temporary file, or a read of it for the flags that
// apply to reads too (RWFHiPri, RWFNoWait, RWFDontCache). The probes of
// one call share one Manual Context. The kernel takes RWF flags in kernel
// AIO from Linux 4.13; before that it refuses any with EINVAL, and every
// flag is reported missing.
//
// A flag can be refused with EOPNOTSUPP by a kernel that has it, when the
// file does not support it: RWFNoWait needs a file system that supports
// non-blocking I/O, RWFAtomic a write to a file opened with
// O_DIRECT on a file system and device with atomic writes, RWFDontCache a
// file system that supports it and no O_DIRECT, and RWFAtomic and
// RWFNoSignal apply to writes only. Where the probe is refused that way, the
// kernel's release decides: before the flag's release the kernel lacks it;
// from it on, HaveRWFlags returns nil. So nil means the kernel knows the
// flags; a particular file may still refuse them with EOPNOTSUPP at Submit.
// A kernel whose release cannot be read counts as recent.
//
// Without Linux or cgo, HaveRWFlags returns an error wrapping
// ErrNotSupported for any flags.
func HaveRWFlags(flags RWFlags) error { return haveRWFlags(flags) }

// rwFlagInfo lists the RWF flags this package knows, lowest bit first, with
// the kernel's name for each and the first Linux release that has it (for
// preadv2 and pwritev2; kernel AIO takes none before 4.13).
var rwFlagInfo = [...]struct {
	flag    RWFlags
	name    string
	release string
}{
	{RWFHiPri, "RWF_HIPRI", "4.6"},
	{RWFDSync, "RWF_DSYNC", "4.7"},
	{RWFSync, "RWF_SYNC", "4.7"},
	{RWFNoWait, "RWF_NOWAIT", "4.14"},
	{RWFAppend, "RWF_APPEND", "4.16"},
	{RWFNoAppend, "RWF_NOAPPEND", "6.9"},
	{RWFAtomic, "RWF_ATOMIC", "6.11"},
	{RWFDontCache, "RWF_DONTCACHE", "6.14"},
	{RWFNoSignal, "RWF_NOSIGNAL", "6.15"},
}

// knownRWFlags is every flag in rwFlagInfo.
const knownRWFlags = RWFHiPri | RWFDSync | RWFSync | RWFNoWait | RWFAppend |
	RWFNoAppend | RWFAtomic | RWFDontCache | RWFNoSignal
