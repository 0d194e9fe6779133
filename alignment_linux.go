//go:build linux && cgo

package aio

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/linuxaio/aio/internal/aiocore"
)

// directAlign returns the alignment O_DIRECT I/O on fd needs if fd is open
// with O_DIRECT (direct, from openFlags) and the alignment can be found
// (see DirectAlignment), else zeros: then the kernel alone judges each
// request.
func directAlign(fd int32, direct bool) dioAlign {
	if !direct {
		return dioAlign{}
	}
	a, _ := alignmentOf(int(fd))
	return a
}

// alignmentOf finds the O_DIRECT alignment of the file fd refers to: from
// statx STATX_DIOALIGN (Linux 6.1+), else from the logical block size of
// the block device the file is on, or is.
func alignmentOf(fd int) (dioAlign, error) {
	a, e := aiocore.GetDioAlign(fd)
	switch {
	case e != 0:
		// The kernel predates STATX_DIOALIGN, or the file system
		// does not report it.
		return blockAlign(fd)
	case a.Mem == 0 || a.Offset == 0:
		return dioAlign{}, fmt.Errorf("the file system reports no O_DIRECT support for this file (statx DIOALIGN is 0): %w", syscall.EINVAL)
	}
	return dioAlign{mem: a.Mem, write: a.Offset, read: a.ReadOffset, source: AlignStatx}, nil
}

// blockAlign returns the alignment of a file from its block device's
// logical block size: BLKSSZGET on a block device itself, sysfs for a
// file on one. Before Linux 6.0 the kernel wanted buffer addresses aligned
// to the same size; later kernels accept less, which this stricter figure
// refuses: the choice costs nothing to callers that align buffers to pages.
func blockAlign(fd int) (dioAlign, error) {
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return dioAlign{}, err
	}
	var size int
	if st.Mode&syscall.S_IFMT == syscall.S_IFBLK {
		const blkSSZGet = 0x1268 // _IO(0x12, 104)
		n, e := ioctlInt32(fd, blkSSZGet)
		if e != 0 {
			return dioAlign{}, e
		}
		size = int(n)
	} else {
		var err error
		if size, err = sysfsBlockSize(st.Dev); err != nil {
			return dioAlign{}, err
		}
	}
	if size <= 0 || size&(size-1) != 0 {
		return dioAlign{}, fmt.Errorf("logical block size %d: %w", size, syscall.EINVAL)
	}
	a := uint32(size)
	return dioAlign{mem: a, write: a, read: a, source: AlignBlockDevice}, nil
}

// sysfsBlockSize reads the logical block size of device dev from sysfs. A
// partition has no queue of its own; its disk's, one directory up, holds it.
func sysfsBlockSize(dev uint64) (int, error) {
	major := (dev>>8)&0xfff | (dev>>32)&^0xfff
	minor := dev&0xff | (dev>>12)&^0xff
	base := fmt.Sprintf("/sys/dev/block/%d:%d/", major, minor)
	for _, p := range []string{base + "queue/logical_block_size", base + "../queue/logical_block_size"} {
		b, err := os.ReadFile(p)
		if err == nil {
			return strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	return 0, fmt.Errorf("device %d:%d has no block queue in sysfs: %w", major, minor, errNoBlockDevice)
}

// errNoBlockDevice: the file is on no block device whose block size could
// give its alignment.
var errNoBlockDevice = errors.New("not on a block device")

// DirectAlignment returns the alignment O_DIRECT I/O on f needs, whether
// or not f is open with O_DIRECT. It asks statx for STATX_DIOALIGN (Linux
// 6.1+) and, where the kernel or the file system does not say, takes the
// logical block size of the block device f is on (or is). For a file on no
// block device whose file system does not say either (tmpfs, btrfs,
// overlayfs or a network file system), it returns the page size, Source
// AlignPage: nothing stricter is asked by a file system that takes O_DIRECT
// at all. Neither tmpfs nor btrfs reports DIOALIGN (Linux 6.18), and
// neither refuses a misaligned O_DIRECT request: tmpfs needs no alignment,
// and btrfs does such a request as buffered I/O, through the page cache.
// It fails, with an error wrapping EINVAL, when the file system reports
// that it takes no O_DIRECT on f.
func DirectAlignment(f *os.File) (Alignment, error) {
	if f == nil {
		return Alignment{}, opError("DirectAlignment", os.ErrInvalid, "nil file")
	}
	var a dioAlign
	err := controlFD(f, func(fd int) error {
		var err error
		a, err = alignmentOf(fd)
		return err
	})
	if errors.Is(err, errNoBlockDevice) {
		p := uint32(os.Getpagesize())
		return Alignment{Memory: int(p), Offset: int(p), ReadOffset: int(p), Source: AlignPage}, nil
	}
	if err != nil {
		return Alignment{}, opError("DirectAlignment", err, "file "+f.Name())
	}
	return a.public(), nil
}

// OpenDirect opens the named file with O_DIRECT added to flag, as
// os.OpenFile does, and returns it with the alignment its I/O needs (see
// DirectAlignment). It fails if the file system refuses O_DIRECT (EINVAL
// from open).
func OpenDirect(name string, flag int, perm os.FileMode) (*os.File, Alignment, error) {
	f, err := os.OpenFile(name, flag|syscall.O_DIRECT, perm)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, Alignment{}, sysError("OpenDirect", "open", err, "file "+name)
	}
	a, err := DirectAlignment(f)
	if err != nil {
		f.Close()
		if e, ok := err.(*Error); ok {
			e.Op = "OpenDirect"
		}
		return nil, Alignment{}, err
	}
	return f, a, nil
}
