//go:build !linux || !cgo

package aio

// Kernel AIO needs Linux and cgo: in this build no feature is there.

func haveCommand(cmd Command) error   { return unsupported("HaveCommand") }
func haveRWFlags(flags RWFlags) error { return unsupported("HaveRWFlags") }
