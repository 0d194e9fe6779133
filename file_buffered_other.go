//go:build !linux || !cgo

package aio

import "context"

// Without Linux or cgo no File exists (Context.File cannot duplicate a
// descriptor), so these are never reached.

func nowaitSupported(fd int) bool { return false }

func (f *File) transferBuffered(ctx context.Context, cmd Command, p []byte, off int64) (int, error) {
	return 0, unsupported(fileOp(cmd))
}
