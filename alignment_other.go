//go:build !linux || !cgo

package aio

import "os"

// DirectAlignment returns an error wrapping ErrNotSupported in this build.
func DirectAlignment(f *os.File) (Alignment, error) {
	return Alignment{}, unsupported("DirectAlignment")
}

// OpenDirect returns an error wrapping ErrNotSupported in this build.
func OpenDirect(name string, flag int, perm os.FileMode) (*os.File, Alignment, error) {
	return nil, Alignment{}, unsupported("OpenDirect")
}
