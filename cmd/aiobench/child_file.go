//go:build linux && cgo

package main

import (
	"errors"

	"github.com/linuxaio/aio"
)

// fileRand runs a random-I/O job as a user of aio.File would: the same
// Depth goroutines as osfileRand, calling ReadAt (or WriteAt) on a File,
// whose calls become batched kernel AIO with no OS thread waiting per call.
func fileRand(j job) (res childResult, err error) {
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	ctx, err := aio.NewContext(j.Depth)
	if err != nil {
		f.Close()
		return childResult{}, err
	}
	file, err := ctx.File(f)
	if err != nil {
		f.Close()
		ctx.Close()
		return childResult{}, err
	}
	defer func() { err = errors.Join(err, file.Close(), ctx.Close()) }()
	return goroutinesRand(j, file, size)
}
