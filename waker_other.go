//go:build !linux || !cgo

package aio

// Without Linux or cgo no Context exists, and no File call waits.

func (s *state) callStarts(bool) int32 { return -1 }
func (s *state) callEnds(int32)        {}
func (b *Block) setWaker(int32)        {}
func (b *Block) awaitWaker()           {}
