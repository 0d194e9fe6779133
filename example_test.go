//go:build linux && cgo

package aio_test

import (
	"fmt"
	"log"
	"os"
	"time"

	"github.com/linuxaio/aio"
)

// Write a file and read it back, with one batch of writes and one read.
func Example() {
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

	ctx, err := aio.NewContext(4, aio.Manual())
	if err != nil {
		log.Fatal(err)
	}
	defer ctx.Close()

	readable := aio.NewPoll(r, aio.PollIn)
	if _, err := ctx.Submit(readable); err != nil {
		log.Fatal(err)
	}
	w.Write([]byte("wake up"))
	evs, err := ctx.GetEvents(1, 1, time.Second)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("readable:", evs[0].PollEvents()&aio.PollIn != 0)

	// A pipe's write end never becomes readable: cancel that poll.
	never := aio.NewPoll(w, aio.PollIn)
	ctx.Submit(never)
	if err := ctx.Cancel(never); err != nil {
		log.Fatal(err)
	}
	evs, _ = ctx.GetEvents(1, 1, time.Second)
	fmt.Println("cancelled:", evs[0].Err())
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

	ctx, err := aio.NewContext(1, aio.Manual())
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
		evs, err := ctx.GetEvents(1, 1, -1)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%d:%s ", off, b.Buffer()[:evs[0].N()])
	}
	fmt.Println()
	// Output:
	// 0:01 4:45 8:89
}
