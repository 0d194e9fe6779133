//go:build linux

// Package testlock keeps the tests of this module's packages from running
// into one test that takes all of fs.aio-max-nr.
//
// fs.aio-max-nr counts the kernel AIO events of every process on the
// machine, and `go test ./...` runs packages' test binaries side by side.
// While TestFaultAioMaxNr holds the whole limit, any other test process's
// io_setup fails with EAGAIN. So that test holds Exclusive, and every other
// test binary that makes contexts holds Shared for its whole run: an flock
// on one file in the temporary directory, which the kernel drops when a
// process ends, however it ends.
//
// The functions are safe for concurrent use.
package testlock

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// Name is the lock file's name in os.TempDir.
const Name = "github.com-linuxaio-aio-tests.lock"

// Shared takes the lock shared, waiting while a test holds it exclusive,
// and returns the function that gives it back. TestMain calls it around
// m.Run. On an error (a temporary directory it cannot create files in) the
// caller runs unlocked: the lock only guards against a rare collision.
func Shared() (release func(), err error) {
	return take(syscall.LOCK_SH)
}

// Exclusive takes the lock exclusive, waiting for every other test process
// that holds it shared, and returns the function that gives it back and how
// long it waited.
func Exclusive() (release func(), waited time.Duration, err error) {
	start := time.Now()
	release, err = take(syscall.LOCK_EX)
	return release, time.Since(start), err
}

func take(how int) (func(), error) {
	name := filepath.Join(os.TempDir(), Name)
	// Read-only: another user's lock file (mode 0644) can still be locked.
	f, err := os.OpenFile(name, os.O_RDONLY|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("testlock: %w", err)
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("testlock: flock %s: %w", name, err)
	}
	// Closing the file drops the lock.
	return func() { f.Close() }, nil
}

// Run runs a test binary's tests (m is its *testing.M) holding the lock
// shared, and returns their exit code for os.Exit.
func Run(m interface{ Run() int }) int {
	release, err := Shared()
	if err != nil {
		fmt.Fprintf(os.Stderr, "%v: running without it\n", err)
		return m.Run()
	}
	defer release()
	return m.Run()
}
