//go:build !race

package aio_test

// raceOn: see race_on_test.go.
const raceOn = false
