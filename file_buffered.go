//go:build linux && cgo

package aio

import (
	"context"
	"io"
	"syscall"
)

// Buffered files. Kernel AIO does a buffered read or write inside
// io_submit: a read of pages that are not in the page cache waits there for
// the disk, and with it every request of the same flush, other goroutines'
// O_DIRECT reads included. So a File on a buffered file keeps its reads and
// writes out of io_submit:
//
//   - A read first takes what the page cache holds, with preadv2 and
//     RWF_NOWAIT, where the file system honours the flag (nowaitSupported):
//     the kernel copies the cached pages and returns EAGAIN rather than
//     wait for the disk. A hit costs one system call, as os.File's pread
//     does; the same read through io_submit, with its reaping, cost twice
//     os.File's CPU (W3 in BENCHMARKS.md, before this path).
//   - What NOWAIT could not read, and every write, the calling goroutine
//     does with a plain pread or pwrite, as os.File would: Go's runtime
//     hands its P to other goroutines while it blocks. At most MaxBlocking
//     such calls run at once per Context, which bounds the OS threads that
//     cold reads hold; the others wait their turn, holding none.
//
// Writes never try NOWAIT: ext4 refuses a buffered NOWAIT write
// (EOPNOTSUPP), and since Linux 6.0 one can fail with a spurious EAGAIN
// while the file's times are updated, so it would mostly cost a second
// system call. Sync and Datasync still go through kernel AIO, whose
// IOCB_CMD_FSYNC the kernel runs from a work queue, off io_submit.

// Magic numbers of the file systems whose buffered reads honour RWF_NOWAIT
// (statfs(2)'s f_type).
const (
	ext4Magic  = 0xef53 // ext2, ext3 and ext4: all ext4's driver now
	xfsMagic   = 0x58465342
	btrfsMagic = 0x9123683e
)

// nowaitSupported reports whether buffered reads of fd, a regular file or
// a block device, can try RWF_NOWAIT: the kernel takes the flag for them
// since 4.13 on xfs and block devices, 5.5 on ext4 and 5.9 on btrfs. Other
// file systems may refuse it with EOPNOTSUPP, or accept it and still wait
// (tmpfs, which has no disk to wait for, gains nothing); their reads go
// the blocking way. A file system that refuses it all the same is found
// out by the first read (see readBuffered).
func nowaitSupported(fd int) bool {
	if sysPreadv2 == 0 {
		return false
	}
	var st syscall.Stat_t
	if syscall.Fstat(fd, &st) != nil {
		return false
	}
	if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
		return kernelAtLeast("4.13")
	}
	var fs syscall.Statfs_t
	if syscall.Fstatfs(fd, &fs) != nil {
		return false
	}
	switch uint32(fs.Type) {
	case xfsMagic:
		return kernelAtLeast("4.13")
	case ext4Magic:
		return kernelAtLeast("5.5")
	case btrfsMagic:
		return kernelAtLeast("5.9")
	}
	return false
}

// transferBuffered reads into or writes p at off on a buffered file, out
// of io_submit (see above). The caller holds the File (see enter).
func (f *File) transferBuffered(ctx context.Context, cmd Command, p []byte, off int64) (int, error) {
	op := fileOp(cmd)
	if err := f.c.s.fileRefusal(op); err != nil {
		return 0, err
	}
	if len(p) == 0 {
		return 0, nil
	}
	n := 0
	if cmd == CmdRead && f.nowait.Load() {
		var done bool
		var err error
		n, done, err = f.readNoWait(p, off)
		if done {
			return n, err
		}
	}
	return f.blocking(ctx, cmd, p, off, n)
}

// readNoWait reads what the page cache holds of len(p) bytes at off. It is
// done when it read them all, met the end of the file or an error; else the
// rest, from p[n:], needs a blocking read.
func (f *File) readNoWait(p []byte, off int64) (n int, done bool, err error) {
	counts := &f.c.s.files
	for n < len(p) {
		m, e := preadv2(f.fd, p[n:], off+int64(n), RWFNoWait)
		switch {
		case e == syscall.EINTR:
			continue
		case e == syscall.EAGAIN:
			counts.nowaitFallbacks.Add(1)
			return n, false, nil
		case e == syscall.EOPNOTSUPP || e == syscall.EINVAL || e == syscall.ENOSYS:
			// The file system, or the kernel, does not take the flag
			// after all: this File stops asking.
			f.nowait.Store(false)
			return n, false, nil
		case e != 0:
			return n, true, sysError("File.ReadAt", "preadv2", e, "")
		case m == 0:
			counts.nowaitHits.add(addrOf(p))
			return n, true, io.EOF
		}
		n += m
	}
	counts.nowaitHits.add(addrOf(p))
	return n, true, nil
}

// blocking finishes a read or write of p at off from p[n:] with blocking
// system calls, once the Context's limit on them lets it (MaxBlocking). It
// returns the bytes transferred from the start of p: fewer than len(p) with
// io.EOF at the end of the file for a read, and with an error for a write,
// as os.File's ReadAt and WriteAt do.
func (f *File) blocking(ctx context.Context, cmd Command, p []byte, off int64, n int) (int, error) {
	op := fileOp(cmd)
	sem := f.c.s.blocking
	select {
	case sem <- struct{}{}:
	default:
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			return n, ctx.Err()
		case <-f.c.s.closedCh:
			return n, opError(op, ErrClosed, "")
		}
	}
	defer func() { <-sem }()
	f.c.s.files.blocking.Add(1)
	for n < len(p) {
		var m int
		var err error
		if cmd == CmdRead {
			m, err = syscall.Pread(f.fd, p[n:], off+int64(n))
		} else {
			m, err = syscall.Pwrite(f.fd, p[n:], off+int64(n))
		}
		switch {
		case err == syscall.EINTR:
			continue
		case err != nil:
			call := "pread64"
			if cmd == CmdWrite {
				call = "pwrite64"
			}
			return n, sysError(op, call, err, "")
		case m == 0 && cmd == CmdRead:
			return n, io.EOF
		case m == 0:
			return n, opError(op, io.ErrShortWrite, "")
		}
		n += m
	}
	return n, nil
}

// fileRefusal returns the error a File call gets from a Context that is
// Manual or closed, as Submit would refuse its Blocks, or nil.
func (s *state) fileRefusal(op string) error {
	if s.manual {
		return opError(op, ErrWrongMode, "a File needs a stream-mode Context; this one is Manual")
	}
	select {
	case <-s.closedCh:
		return opError(op, ErrClosed, "")
	default:
		return nil
	}
}
