//go:build linux && cgo

// Package csrc only compiles the C core (aiocore.h and the .c files beside
// it) into Go programs; it has no Go API. The cgo bridge, internal/aiocore,
// imports it for that alone and calls the core's functions, which the
// linker finds in this package's objects. The Makefile here builds the same
// sources into libaiocore.a for C programs.
//
// The C core is a Go package so that the go command compiles its .c files
// itself, and so tracks them and the headers beside them in its build
// cache: a plain go build rebuilds the core after an edit to any of them.
// Each .c file carries the build constraint of this file, so that a build
// without cgo, or for another system, leaves them alone.
package csrc

/*
#cgo CFLAGS: -std=gnu11
#cgo CFLAGS: -D_GNU_SOURCE
#cgo LDFLAGS: -laio
*/
import "C"

import _ "embed" // for the go:embed below

// The text of aiocore.h, which the bridge reads through cgo. Nothing uses
// it, and the linker leaves it out of programs: it is here so that this
// package's compiled form changes with every byte of the header. The go
// command rebuilds a package when the compiled form of a package it imports
// changes, so the bridge goes through cgo again after every header edit,
// even one that leaves the core's objects alike (a renamed struct field
// built without -g, a declaration the .c files do not use).
//
//go:embed aiocore.h
var _ string
