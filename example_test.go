//go:build linux && cgo

package aio_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/linuxaio/aio"
)

// Read a file in chunks with many reads in flight, ranging over the
// completion stream.
func Example() {
	f, err := os.CreateTemp("", "aio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("kernel AIO delivers every completion on one channel")

	ctx, err := aio.NewContext(16)
	if err != nil {
		log.Fatal(err)
	}

	// Eight reads of 8 bytes, one Submit (one io_submit).
	var blocks []*aio.Block
	for off := int64(0); off < 64; off += 8 {
		blocks = append(blocks, aio.NewRead(f, make([]byte, 8), off))
	}
	if _, err := ctx.Submit(blocks...); err != nil {
		log.Fatal(err)
	}
	// Close waits for the I/O, then closes Events: the loop ends after
	// the last event.
	go ctx.Close()

	chunks := make(map[int64]string)
	for ev := range ctx.Events() {
		if err := ev.Err(); err != nil {
			log.Fatal(err)
		}
		chunks[ev.Block.Offset()] = string(ev.Block.Buffer()[:ev.N()])
	}
	for off := int64(0); off < 64; off += 8 {
		fmt.Print(chunks[off])
	}
	fmt.Println()
	// Output:
	// kernel AIO delivers every completion on one channel
}

// The natural loop: range over Completions and submit each Block again at
// its next offset, one Submit per event. The loop reaps for itself, and the
// Submits in its body go to the kernel together.
func ExampleContext_Completions() {
	f, err := os.CreateTemp("", "aio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("abcdefghijklmnopqrstuvwxyz012345")

	ctx, err := aio.NewContext(4)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	// Two readers, each reading every other 4-byte chunk.
	for off := int64(0); off < 8; off += 4 {
		if _, err := ctx.Submit(aio.NewRead(f, make([]byte, 4), off)); err != nil {
			log.Fatal(err)
		}
	}
	chunks := make([]string, 8)
	done := 0
	for ev := range ctx.Completions() {
		if err := ev.Err(); err != nil {
			log.Fatal(err)
		}
		b := ev.Block
		chunks[b.Offset()/4] = string(b.Buffer())
		done++
		if next := b.Offset() + 8; next < 32 {
			b.SetOffset(next)
			if _, err := ctx.Submit(b); err != nil {
				log.Fatal(err)
			}
		}
		if done == len(chunks) {
			break
		}
	}
	fmt.Println(chunks)
	// Output:
	// [abcd efgh ijkl mnop qrst uvwx yz01 2345]
}

// Submit one Block and wait for it alone, with a deadline, instead of
// reading the shared stream.
func ExampleBlock_Wait() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	ctx, err := aio.NewContext(4)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	readable := aio.NewPoll(r, aio.PollIn)
	readable.SetWait(true) // its event goes to Wait, not to Events
	if _, err := ctx.Submit(readable); err != nil {
		log.Fatal(err)
	}

	deadline, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err = readable.Wait(deadline)
	fmt.Println("before any write:", err)

	// The poll is still in flight: wait again once there is data.
	w.Write([]byte("x"))
	ev, err := readable.Wait(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("after a write, readable:", ev.PollEvents()&aio.PollIn != 0)
	// Output:
	// before any write: context deadline exceeded
	// after a write, readable: true
}

// Reap completions by hand with GetEvents, as with io_getevents: a Manual
// Context runs no goroutine.
func ExampleContext_GetEvents() {
	f, err := os.CreateTemp("", "aio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()

	ctx, err := aio.NewContext(16, aio.Manual())
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	// Two writes, one io_submit.
	if _, err := ctx.Submit(
		aio.NewWrite(f, []byte("hello, "), 0),
		aio.NewWrite(f, []byte("kernel AIO"), 7),
	); err != nil {
		log.Fatal(err)
	}
	evs, err := ctx.GetEvents(2, 2, -1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("writes:", evs[0].N()+evs[1].N(), "bytes")

	buf := make([]byte, 64)
	if _, err := ctx.Submit(aio.NewRead(f, buf, 0)); err != nil {
		log.Fatal(err)
	}
	evs, err = ctx.GetEvents(1, 1, -1)
	if err != nil {
		log.Fatal(err)
	}
	if err := evs[0].Err(); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("read: %q\n", buf[:evs[0].N()])
	// Output:
	// writes: 17 bytes
	// read: "hello, kernel AIO"
}

// Wait for a pipe to become readable, and cancel a poll that is not needed.
func ExampleNewPoll() {
	r, w, err := os.Pipe()
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	defer w.Close()

	ctx, err := aio.NewContext(4)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	readable := aio.NewPoll(r, aio.PollIn)
	if _, err := ctx.Submit(readable); err != nil {
		log.Fatal(err)
	}
	w.Write([]byte("wake up"))
	ev := <-ctx.Events()
	fmt.Println("readable:", ev.PollEvents()&aio.PollIn != 0)

	// A pipe's write end never becomes readable: cancel that poll.
	never := aio.NewPoll(w, aio.PollIn)
	ctx.Submit(never)
	if err := ctx.Cancel(never); err != nil {
		log.Fatal(err)
	}
	ev = <-ctx.Events()
	fmt.Println("cancelled:", ev.Err())
	// Output:
	// readable: true
	// cancelled: operation canceled
}

// Reuse one Block for many reads: change its offset between submissions.
func ExampleBlock_SetOffset() {
	f, err := os.CreateTemp("", "aio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("0123456789")

	ctx, err := aio.NewContext(1)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	b := aio.NewRead(f, make([]byte, 2), 0)
	for off := int64(0); off < 10; off += 4 {
		b.SetOffset(off)
		if _, err := ctx.Submit(b); err != nil {
			log.Fatal(err)
		}
		ev := <-ctx.Events()
		fmt.Printf("%d:%s ", off, b.Buffer()[:ev.N()])
	}
	fmt.Println()
	// Output:
	// 0:01 4:45 8:89
}

// Read a file from many goroutines through a File, an io.ReaderAt whose
// concurrent calls share io_submit calls.
func ExampleContext_File() {
	name := os.TempDir() + "/aio-example-file"
	if err := os.WriteFile(name, []byte("0123456789abcdefghijklmnopqrstuv"), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(name)
	f, err := os.Open(name)
	if err != nil {
		log.Fatal(err)
	}
	ctx, err := aio.NewContext(64)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	file, err := ctx.File(f) // the File owns f now
	if err != nil {
		log.Fatal(err)
	}
	defer file.Close()

	parts := make([]string, 4)
	var wg sync.WaitGroup
	for i := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := make([]byte, 8)
			if _, err := file.ReadAt(p, int64(8*i)); err != nil {
				log.Fatal(err)
			}
			parts[i] = string(p)
		}()
	}
	wg.Wait()
	fmt.Println(parts)

	// At the end of the file, ReadAt returns what there is and io.EOF.
	p := make([]byte, 8)
	n, err := file.ReadAt(p, 28)
	fmt.Println(n, string(p[:n]), err)
	// Output:
	// [01234567 89abcdef ghijklmn opqrstuv]
	// 4 stuv EOF
}

// Open a file for O_DIRECT, learn its alignment, and read it into a buffer
// allocated outside the Go heap with that alignment.
func ExampleOpenDirect() {
	name := "aio-example-direct" // beside the program: /tmp may be tmpfs
	if err := os.WriteFile(name, make([]byte, 1<<16), 0o600); err != nil {
		log.Fatal(err)
	}
	defer os.Remove(name)
	f, align, err := aio.OpenDirect(name, os.O_RDONLY, 0)
	if err != nil {
		log.Fatal(err) // EINVAL: this file system refuses O_DIRECT
	}
	buf, err := aio.AlignedBuffer(16<<10, align.Memory)
	if err != nil {
		log.Fatal(err)
	}
	defer aio.FreeBuffer(buf)

	ctx, err := aio.NewContext(8)
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	file, err := ctx.File(f)
	if err != nil {
		log.Fatal(err)
	}
	defer file.Close()
	n, err := file.ReadAt(buf, int64(4*align.ReadOffset))
	fmt.Println(n, err, 16<<10%align.ReadOffset == 0)
	// Output:
	// 16384 <nil> true
}

// Read a buffered file whose pages may not be in the page cache, without
// letting a read that waits for the disk hold up the Context's io_submit:
// with TryNoWait, what the cache lacks is read in an io_submit of its own.
func ExampleTryNoWait() {
	f, err := os.CreateTemp("", "aio-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	f.WriteString("cached or not, every byte arrives in one event")

	ctx, err := aio.NewContext(16, aio.TryNoWait())
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()
	b := aio.NewRead(f, make([]byte, 64), 0)
	b.SetWait(true)
	if _, err := ctx.Submit(b); err != nil {
		log.Fatal(err)
	}
	ev, err := b.Wait(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	// A read that ends past the end of the file is short, as pread's.
	fmt.Println(ev.N(), string(b.Buffer()[:ev.N()]))
	// Output:
	// 46 cached or not, every byte arrives in one event
}
