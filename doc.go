// Package aio gives Go programs Linux kernel asynchronous I/O: io_setup,
// io_submit, io_getevents, io_cancel and io_destroy, with hundreds of disk
// I/Os in flight on a handful of OS threads.
//
// A Context is a kernel AIO context with a fixed number of slots. A Block is
// one request (read, write, readv, writev, fsync, fdsync or poll) with its
// file, buffers, offset and flags. Submit hands a batch of Blocks to the
// kernel in one system call, and their completions arrive as Events on the
// Context's channel:
//
//	ctx, err := aio.NewContext(128)
//	...
//	defer ctx.Close()
//	if _, err := ctx.Submit(aio.NewRead(f, buf, 0)); err != nil { ... }
//	for ev := range ctx.Events() {
//		n, err := ev.N(), ev.Err()
//		...
//	}
//
// Go's network poller watches the eventfd every request signals, so an idle
// Context holds no OS thread; completions are read from the kernel's ring in
// user space. A Block set with SetWait completes through Block.Wait instead,
// which takes a context.Context. A Context made with the Manual option has
// no channel: GetEvents reaps its completions, as io_getevents does.
//
// Code written for os.File can use a File instead: Context.File wraps an
// *os.File in an io.ReaderAt and io.WriterAt whose concurrent calls become
// batched kernel AIO, with no OS thread per call waiting.
//
// # When kernel AIO is asynchronous
//
// Kernel AIO is truly asynchronous for files opened with O_DIRECT (and for
// poll). For buffered files the kernel does the I/O inside io_submit, so
// Submit blocks as long as a pread would; RWFNoWait turns a read that would
// block into an EAGAIN event instead. O_DIRECT needs the buffer address, the
// length and the offset aligned to the file's logical block size (often 512
// or 4096 bytes): DirectAlignment and OpenDirect find it, from statx
// STATX_DIOALIGN (Linux 6.1+) or else the block device, and Submit refuses a
// misaligned request with an error naming it. Where neither is known, the
// request completes with an EINVAL event. AlignedBuffer and BufferPool give
// aligned memory outside the Go heap. tmpfs refuses O_DIRECT before Linux
// 6.6. For page-cache-hot reads, plain pread from
// goroutines is faster than kernel AIO.
//
// # Memory
//
// The C core keeps the kernel's structures (iocbs, the submission array,
// the event array) in C memory. Go buffers handed to the kernel are pinned
// with runtime.Pinner from Submit until their event is reaped, or until
// Close has waited for the kernel to finish with them. The kernel identifies
// a request by a slot number, never by a Go pointer.
//
// # Errors
//
// Failed system calls and refused requests return an *Error that names the
// operation and wraps a syscall.Errno or one of the sentinel errors
// (ErrClosed, ErrInFlight, ErrFull, ...), so errors.Is works; its Detail
// gives the likely cause where one is known (fs.aio-max-nr, O_DIRECT
// alignment, a kernel too old for a command). The error of an individual
// I/O arrives in its Event: Event.Err returns a syscall.Errno.
//
// # Requirements
//
// Linux 4.19 or later for every command (4.18 for fsync and fdsync, 4.19
// for poll; reads and writes work on any kernel with AIO), cgo with a C
// compiler, and libaio (Debian and Ubuntu: libaio-dev). Without Linux or
// cgo the package compiles but NewContext returns ErrNotSupported.
package aio
