//go:build race

package aio_test

// raceOn: the race detector is on, and sync.Pool drops some of what it is
// given, so a test cannot count allocations.
const raceOn = true
