//go:build linux && cgo

package aio

import (
	"os"
	"syscall"
)

// Descriptor helpers: the system calls the package makes on files other
// than through the C core.

// controlFD runs fn with f's descriptor, without making it blocking as
// f.Fd would.
func controlFD(f *os.File, fn func(fd int) error) error {
	if f == nil {
		return os.ErrInvalid
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = fn(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// openFlags reports whether fd is open with O_DIRECT and with O_APPEND.
func openFlags(fd int) (direct, appendOnly bool) {
	fl, e := fcntl(fd, syscall.F_GETFL)
	return e == 0 && fl&syscall.O_DIRECT != 0, e == 0 && fl&syscall.O_APPEND != 0
}

func fcntl(fd, cmd int) (int, syscall.Errno) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	return int(r), e
}

// closeFD closes fd.
func closeFD(fd int) { syscall.Close(fd) }

// dupFD returns a close-on-exec duplicate of fd: the same open file.
func dupFD(fd int) (int, error) {
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), syscall.F_DUPFD_CLOEXEC, 0)
	if e != 0 {
		return -1, sysError("File", "dup", e, "")
	}
	return int(r), nil
}

// kindOf returns whether fd is a directory, a socket, or another file
// that pread(2) refuses with ESPIPE (kindFile if fstat fails: then the
// kernel judges).
//
// pread refuses a file opened without FMODE_PREAD: pipes and FIFOs, ttys
// and other character devices opened as streams, and anonymous-inode files
// (eventfd, timerfd, epoll, ...). Kernel AIO does not check that flag: it
// reads such a file at its current position, ignoring the offset, so the
// package refuses them itself. Regular files and block devices always
// have it. A character device opened as a stream (nonseekable_open,
// stream_open) loses FMODE_LSEEK with FMODE_PREAD, so lseek(fd, 0,
// SEEK_CUR), which moves nothing, tells; an anonymous inode has no file
// type bits at all. (A zero-length pread would tell too, but on a
// character device it calls the driver's read.)
func kindOf(fd int32) fileKind {
	var st syscall.Stat_t
	if syscall.Fstat(int(fd), &st) != nil {
		return kindFile
	}
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		return kindDir
	case syscall.S_IFSOCK:
		return kindSocket
	case syscall.S_IFIFO, 0:
		return kindStream
	case syscall.S_IFCHR:
		if _, err := syscall.Seek(int(fd), 0, 1); err == syscall.ESPIPE {
			return kindStream
		}
	}
	return kindFile
}
