//go:build linux

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A record is one 4 KiB block of a soak file, written whole:
//
//	[0, 8)        magic
//	[8, 16)       the record's file offset, little endian
//	[16, 24)      its generation: 1 for the first write at that offset, 2 for
//	              the next, ...
//	[24, 32)      the seed of the file it belongs to
//	[32, 4092)    bytes made from the offset, the generation and the seed
//	[4092, 4096)  CRC32C (Castagnoli) of bytes [0, 4092)
//
// An offset never written holds zeros (generation 0). A record read back
// must have a good checksum, its own offset and file (not another
// record's) and the generation of the last write at that offset.
const recordSize = 4096

var (
	recordMagic = [8]byte{'a', 'i', 'o', 's', 'o', 'a', 'k', '1'}
	castagnoli  = crc32.MakeTable(crc32.Castagnoli)
)

// fillRecord makes p the record for generation gen at offset off.
func fillRecord(p []byte, off int64, gen, seed uint64) {
	p = p[:recordSize]
	copy(p, recordMagic[:])
	binary.LittleEndian.PutUint64(p[8:], uint64(off))
	binary.LittleEndian.PutUint64(p[16:], gen)
	binary.LittleEndian.PutUint64(p[24:], seed)
	x := seed ^ uint64(off)*0x9e3779b97f4a7c15 ^ gen*0xbf58476d1ce4e5b9 | 1
	for i := 32; i+8 <= recordSize-4; i += 8 {
		x ^= x << 13 // xorshift64
		x ^= x >> 7
		x ^= x << 17
		binary.LittleEndian.PutUint64(p[i:], x)
	}
	binary.LittleEndian.PutUint32(p[recordSize-4:], crc32.Checksum(p[:recordSize-4], castagnoli))
}

// checkRecord returns why p is not the record of generation gen at offset
// off of the file with seed, or nil.
func checkRecord(p []byte, off int64, gen, seed uint64) error {
	p = p[:recordSize]
	if gen == 0 {
		for i, c := range p {
			if c != 0 {
				return fmt.Errorf("record at %d: never written, but byte %d is %#x", off, i, c)
			}
		}
		return nil
	}
	if want, got := crc32.Checksum(p[:recordSize-4], castagnoli), binary.LittleEndian.Uint32(p[recordSize-4:]); want != got {
		return fmt.Errorf("record at %d: checksum %08x, stored %08x", off, want, got)
	}
	if !bytes.Equal(p[:8], recordMagic[:]) {
		return fmt.Errorf("record at %d: bad magic %q", off, p[:8])
	}
	if got := int64(binary.LittleEndian.Uint64(p[8:])); got != off {
		return fmt.Errorf("record at %d: holds the record of offset %d", off, got)
	}
	if got := binary.LittleEndian.Uint64(p[24:]); got != seed {
		return fmt.Errorf("record at %d: belongs to the file of seed %#x, not %#x", off, got, seed)
	}
	if got := binary.LittleEndian.Uint64(p[16:]); got != gen {
		return fmt.Errorf("record at %d: generation %d, want %d", off, got, gen)
	}
	return nil
}
