//go:build linux && cgo

package aio

import "os"

// SetMaxChunk makes File split requests into chunks of n bytes, so that
// tests can see splitting without gigabyte buffers; it returns the undo.
func SetMaxChunk(n int) (restore func()) {
	old := maxChunk
	maxChunk = n
	return func() { maxChunk = old }
}

// BlockAlignment is DirectAlignment's fallback, for kernels without statx
// DIOALIGN: the logical block size of f's block device.
func BlockAlignment(f *os.File) (Alignment, error) {
	var a dioAlign
	err := controlFD(f, func(fd int) error {
		var err error
		a, err = blockAlign(fd)
		return err
	})
	return a.public(), err
}
