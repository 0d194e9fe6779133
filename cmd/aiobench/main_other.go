//go:build !linux || !cgo

// Command aiobench runs the package's side-by-side benchmarks. It needs
// Linux and cgo.
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "aiobench: kernel AIO needs Linux and cgo")
	os.Exit(1)
}
