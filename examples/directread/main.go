//go:build linux && cgo

// Command directread reads a file with O_DIRECT through kernel AIO, a fixed
// number of reads in flight, and prints its CRC-32C checksum, the IOPS and
// the CPU time the reading took. It then checks the checksum against a plain
// read of the file.
//
//	go run ./examples/directread                 # makes a 256 MiB file, reads it, removes it
//	go run ./examples/directread -file big.img -depth 64 -bs 65536
package main

import (
	"errors"
	"flag"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"time"
	"unsafe"

	"github.com/linuxaio/aio"
)

func main() {
	name := flag.String("file", "", "file to read (default: make a temporary one of -size bytes)")
	size := flag.Int64("size", 256<<20, "size of the temporary file")
	depth := flag.Int("depth", 32, "reads in flight")
	bs := flag.Int("bs", 4096, "bytes per read (a multiple of the file's O_DIRECT alignment)")
	flag.Parse()

	if *name == "" {
		dir, err := os.MkdirTemp(".", ".directread-")
		check(err)
		defer os.RemoveAll(dir)
		*name = filepath.Join(dir, "data")
		fmt.Printf("writing %d MiB of random data to %s\n", *size>>20, *name)
		check(makeFile(*name, *size))
	}
	r, err := readDirect(*name, *depth, *bs)
	check(err)
	fmt.Printf("read     %s: %d bytes in %d reads of %d bytes, %d in flight (O_DIRECT %v)\n",
		*name, r.Bytes, r.IOs, *bs, *depth, r.Direct)
	fmt.Printf("crc32c   %08x\n", r.Sum)
	fmt.Printf("time     %v: %.0f IOPS, %.1f MB/s\n", r.Elapsed.Round(time.Millisecond),
		float64(r.IOs)/r.Elapsed.Seconds(), float64(r.Bytes)/r.Elapsed.Seconds()/1e6)
	fmt.Printf("cpu      %v user+system: %.2f µs per read\n", r.CPU.Round(time.Microsecond),
		float64(r.CPU.Microseconds())/float64(max(r.IOs, 1)))

	plain, err := plainSum(*name)
	check(err)
	if plain != r.Sum {
		fmt.Printf("MISMATCH: a plain read gives %08x\n", plain)
		os.Exit(1)
	}
	fmt.Println("verified against a plain read of the file")
}

func check(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "directread:", err)
		os.Exit(1)
	}
}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Result is what readDirect measured.
type Result struct {
	Sum     uint32
	Bytes   int64
	IOs     int
	Direct  bool
	Elapsed time.Duration
	CPU     time.Duration
}

// readDirect reads name from start to end with depth reads of bs bytes in
// flight and returns the CRC-32C of its contents. Reads complete in any
// order; each buffer is hashed when all before it have been, then reused.
func readDirect(name string, depth, bs int) (Result, error) {
	var res Result
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_DIRECT, 0)
	res.Direct = err == nil
	if errors.Is(err, syscall.EINVAL) {
		f, err = os.Open(name) // tmpfs before Linux 6.6, and others, refuse O_DIRECT
	}
	if err != nil {
		return res, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return res, err
	}
	size := fi.Size()

	ctx, err := aio.NewContext(depth) // completions arrive on ctx.Events()
	if err != nil {
		return res, err
	}
	defer ctx.Close()

	chunks := int((size + int64(bs) - 1) / int64(bs))
	blocks := make([]*aio.Block, depth)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, alignedBuffer(bs), 0)
	}
	done := make(map[int64]*aio.Block, depth) // completed, waiting to be hashed
	next, hashed := 0, 0                      // next chunk to submit, to hash
	var free []*aio.Block
	evs := make([]aio.Event, 0, depth)

	cpu0, start := cpuTime(), time.Now()
	submitFree := func() error {
		batch := free[:0]
		for _, b := range free {
			if next == chunks {
				break
			}
			b.SetOffset(int64(next) * int64(bs))
			next++
			batch = append(batch, b)
		}
		free = free[:0]
		if len(batch) == 0 {
			return nil
		}
		_, err := ctx.Submit(batch...)
		return err
	}
	free = append(free, blocks...)
	if err := submitFree(); err != nil {
		return res, err
	}
	crc := uint32(0)
	events := ctx.Events()
	for hashed < chunks {
		// Take the event that is due, and any others already there.
		evs = append(evs[:0], <-events)
	more:
		for len(evs) < depth {
			select {
			case ev := <-events:
				evs = append(evs, ev)
			default:
				break more
			}
		}
		for _, ev := range evs {
			off := ev.Block.Offset()
			want := min(int64(bs), size-off)
			if err := ev.Err(); err != nil {
				return res, fmt.Errorf("read at %d: %w", off, err)
			}
			if int64(ev.N()) != want {
				return res, fmt.Errorf("read at %d: %d bytes, want %d", off, ev.N(), want)
			}
			res.IOs++
			done[off] = ev.Block
		}
		for {
			off := int64(hashed) * int64(bs)
			b, ok := done[off]
			if !ok {
				break
			}
			delete(done, off)
			n := min(int64(bs), size-off)
			crc = crc32.Update(crc, castagnoli, b.Buffer()[:n])
			res.Bytes += n
			hashed++
			free = append(free, b)
		}
		if err := submitFree(); err != nil {
			return res, err
		}
	}
	res.Elapsed, res.CPU, res.Sum = time.Since(start), cpuTime()-cpu0, crc
	return res, nil
}

// alignedBuffer returns n bytes at an address aligned to 4096, which
// satisfies O_DIRECT on every common device.
func alignedBuffer(n int) []byte {
	p := make([]byte, n+4096)
	off := int(-uintptr(unsafe.Pointer(&p[0])) & 4095)
	return p[off : off+n : off+n]
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func plainSum(name string) (uint32, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	h := crc32.New(castagnoli)
	_, err = io.Copy(h, f)
	return h.Sum32(), err
}

// makeFile writes size bytes of pseudo-random data to name and flushes it,
// so that O_DIRECT reads go to the disk.
func makeFile(name string, size int64) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	buf := make([]byte, 1<<20)
	x := uint64(0x9e3779b97f4a7c15)
	for written := int64(0); written < size; {
		for i := 0; i+8 <= len(buf); i += 8 {
			x ^= x << 13
			x ^= x >> 7
			x ^= x << 17
			*(*uint64)(unsafe.Pointer(&buf[i])) = x
		}
		n := min(int64(len(buf)), size-written)
		if _, err := f.Write(buf[:n]); err != nil {
			f.Close()
			return err
		}
		written += n
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
