//go:build !linux || !cgo

package aio

// The descriptor helpers without Linux or cgo: nothing reaches a kernel.

func directAlign(fd int32, direct bool) dioAlign { return dioAlign{} }

func openFlags(fd int) (direct, appendOnly bool) { return false, false }

func kindOf(fd int32) fileKind { return kindFile }

func dupFD(fd int) (int, error) { return -1, unsupported("dup") }

func closeFD(fd int) {}
