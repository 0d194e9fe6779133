//go:build !linux || !cgo

package aio

// Without Linux or cgo no Context exists, and no File call waits.

type wakerFD int32

func (s *state) callStarts(bool) wakerFD { return -1 }
func (s *state) callEnds(wakerFD)        {}
func (b *Block) setWaker(wakerFD)        {}
func (b *Block) awaitWaker()             {}
