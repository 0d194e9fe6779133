//go:build linux && cgo

package aio

import "github.com/linuxaio/aio/internal/aiocore"

// flags.go spells out the Command and RWFlags numbers so that the package
// compiles without cgo. Here, where the bridge is built, each is checked
// against the C core's (aiocore.h's AIOC_CMD_* and AIOC_RWF_*, which the
// core checks in turn against libaio's IO_CMD_* and <linux/fs.h>'s RWF_*):
// a constant whose value differs makes one of the two subtractions
// negative, which does not compile ("constant overflows").
const (
	_ = (CmdRead - Command(aiocore.CmdPread)) + (Command(aiocore.CmdPread) - CmdRead)
	_ = (CmdWrite - Command(aiocore.CmdPwrite)) + (Command(aiocore.CmdPwrite) - CmdWrite)
	_ = (CmdFsync - Command(aiocore.CmdFsync)) + (Command(aiocore.CmdFsync) - CmdFsync)
	_ = (CmdFdsync - Command(aiocore.CmdFdsync)) + (Command(aiocore.CmdFdsync) - CmdFdsync)
	_ = (CmdPoll - Command(aiocore.CmdPoll)) + (Command(aiocore.CmdPoll) - CmdPoll)
	_ = (CmdReadV - Command(aiocore.CmdPreadv)) + (Command(aiocore.CmdPreadv) - CmdReadV)
	_ = (CmdWriteV - Command(aiocore.CmdPwritev)) + (Command(aiocore.CmdPwritev) - CmdWriteV)

	_ = (RWFHiPri - RWFlags(aiocore.RWFHipri)) + (RWFlags(aiocore.RWFHipri) - RWFHiPri)
	_ = (RWFDSync - RWFlags(aiocore.RWFDsync)) + (RWFlags(aiocore.RWFDsync) - RWFDSync)
	_ = (RWFSync - RWFlags(aiocore.RWFSync)) + (RWFlags(aiocore.RWFSync) - RWFSync)
	_ = (RWFNoWait - RWFlags(aiocore.RWFNowait)) + (RWFlags(aiocore.RWFNowait) - RWFNoWait)
	_ = (RWFAppend - RWFlags(aiocore.RWFAppend)) + (RWFlags(aiocore.RWFAppend) - RWFAppend)
	_ = (RWFNoAppend - RWFlags(aiocore.RWFNoappend)) + (RWFlags(aiocore.RWFNoappend) - RWFNoAppend)
	_ = (RWFAtomic - RWFlags(aiocore.RWFAtomic)) + (RWFlags(aiocore.RWFAtomic) - RWFAtomic)
	_ = (RWFDontCache - RWFlags(aiocore.RWFDontcache)) + (RWFlags(aiocore.RWFDontcache) - RWFDontCache)
	_ = (RWFNoSignal - RWFlags(aiocore.RWFNosignal)) + (RWFlags(aiocore.RWFNosignal) - RWFNoSignal)
)
