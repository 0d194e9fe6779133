package aio

import "unsafe"

// The package's unsafe code outside the cgo bridge is in files named
// *_unsafe.go: here, the addresses of byte slices, for alignment checks and
// for the buffer registry; in prepare_linux_unsafe.go, the addresses handed
// to the kernel; in sys_linux_unsafe.go, ioctls that fill a value.

// addrOf returns the address of p's first byte (0 for a nil slice). It
// keeps nothing alive: use it for arithmetic, never as a pointer.
func addrOf(p []byte) uintptr { return uintptr(unsafe.Pointer(unsafe.SliceData(p))) }

// dataOf returns p's backing array's first byte, nil for a nil slice; a
// buffer's identity in the buffer registry.
func dataOf(p []byte) *byte { return unsafe.SliceData(p) }

// sliceAt returns the n bytes from d: a buffer of n bytes whose first byte
// is d, which must be that long.
func sliceAt(d *byte, n int) []byte { return unsafe.Slice(d, n) }
