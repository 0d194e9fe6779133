//go:build !(linux && cgo)

package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "dcopy needs Linux and cgo (CGO_ENABLED=1, gcc and libaio)")
	os.Exit(1)
}
