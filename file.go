package aio

import (
	"context"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

// maxChunk is the most one iocb of a File carries. The kernel takes at most
// 2 GiB less a page per read or write; 1 GiB keeps every chunk aligned for
// O_DIRECT. A variable so that tests can split small requests.
var maxChunk = 1 << 30

// File does positioned reads and writes of an *os.File through a Context:
// it implements io.ReaderAt and io.WriterAt, so code written for os.File
// gets kernel AIO, and many goroutines calling it at once share io_submit
// calls (see Context.Stats). Make one with Context.File.
//
// On files opened with O_DIRECT (see OpenDirect) kernel AIO is truly
// asynchronous: a goroutine waiting in ReadAt holds no OS thread, unless at
// most two calls are in progress on the Context: then each waits for its
// own completion as a pread does, in a read of an eventfd of its own that
// the kernel signals, which is cheaper than having another goroutine reap
// the completion and wake it. On
// buffered files (regular files and block devices without O_DIRECT) it is
// not: the kernel does the I/O inside io_submit, holding up every request
// of the same io_submit. So a File keeps their reads and writes out of
// io_submit: a read first takes what the page cache holds with preadv2 and
// RWF_NOWAIT, where the file system honours it (xfs and block devices since
// Linux 4.13, ext4 since 5.5, btrfs since 5.9), and the rest of the read,
// or a whole write, is a blocking pread or pwrite made by the calling
// goroutine, as os.File makes it, at most MaxBlocking at once per Context
// (Stats.NoWaitHits, NoWaitFallbacks and BlockingCalls count them). Sync
// and Datasync go through kernel AIO on every file.
//
// On an O_DIRECT file, ReadAt takes any offset, length and buffer, so that
// anything that takes an io.ReaderAt (archive/zip, debug/elf,
// io.SectionReader, http.ServeContent) works on it. A read aligned to the
// file's Alignment (buffer address, length and offset) goes to the kernel
// as it is; any other read goes through a bounce buffer: the aligned range
// that covers it is read into a pooled buffer, in passes of up to 1 MiB,
// and the bytes asked for are copied out (Stats.BouncedReads counts such
// reads). Where the file system reports no alignment, a read goes as it is,
// and one the kernel refuses with EINVAL is read again through a buffer
// aligned to a page. WriteAt stays strict: it checks the buffer address,
// the length and the offset against the Alignment before anything reaches
// the kernel, and refuses a misaligned write with an error that names the
// alignment (the kernel does, with EINVAL, where the alignment is unknown),
// since writing part of a block would mean reading, changing and writing
// back blocks that other writers may be writing too.
//
// Closing: File.Close waits for the calls in progress, which complete with
// their data, then closes the file; calls after it fail with an error
// wrapping os.ErrClosed. A File does its I/O through a descriptor of its
// own, a duplicate of the file's that File.Close closes, so a caller who
// closes the *os.File behind the File's back instead can neither make a
// call's I/O go to a closed descriptor nor to another file that reused its
// number: the calls in progress complete with their data, and every call
// that starts after fails with an error wrapping os.ErrClosed.
//
// A File is safe for concurrent use by multiple goroutines.
type File struct {
	c  *Context
	f  *os.File
	rc syscall.RawConn
	fd int // the File's own duplicate of f's descriptor
	// cleanup closes fd if the File is dropped without Close: fd, unlike
	// f, has no finalizer of its own.
	cleanup runtime.Cleanup
	dio     dioAlign
	kind    fileKind
	direct  bool // f has O_DIRECT
	// buffered: f is a regular file or block device without O_DIRECT,
	// whose reads and writes stay out of io_submit (file_buffered.go);
	// nowait: its reads try RWF_NOWAIT first.
	buffered bool
	nowait   atomic.Bool
	append   bool // f has O_APPEND, which pwrite ignores: WriteAt refuses

	mu      sync.RWMutex   // shared by each call in progress; Close takes it alone
	pending sync.WaitGroup // I/O left in flight by calls whose ctx was done
	closed  atomic.Bool
	once    sync.Once
	cerr    error
	blocks  sync.Pool // idle Blocks bound to f, set to wait
}

// File returns a File that does f's I/O through c, which must be in stream
// mode (not Manual): its calls wait for their Blocks with Block.Wait, and
// fail with ErrWrongMode on a Manual Context. When c is full, File calls
// wait for room whatever c's FullPolicy; room held by events unread on
// Events, by other users of c, makes them wait for that reader.
//
// On success the File owns f: File.Close closes it. f's blocking mode is
// left as it is. Whether f is open with O_DIRECT, and its alignment, are read
// here, and the File's own descriptor is made. File fails, and f stays the
// caller's, open, when f or c is nil (EINVAL), f is closed (os.ErrClosed),
// f cannot be read or written at an offset (ESPIPE: a pipe, FIFO, socket,
// tty or other stream, as for os.File.ReadAt), or the process is out of
// descriptors.
func (c *Context) File(f *os.File) (*File, error) {
	const op = "File"
	if f == nil || c == nil {
		return nil, opError(op, syscall.EINVAL, "nil *os.File or Context")
	}
	x := &File{c: c, f: f, fd: -1}
	x.blocks.New = x.newBlock
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, opError(op, err, "")
	}
	x.rc = rc
	var derr error // dup's
	err = rc.Control(func(fd uintptr) {
		x.kind = kindOf(int32(fd))
		if x.kind == kindSocket || x.kind == kindStream {
			return
		}
		x.direct, x.append = openFlags(int(fd))
		x.dio = directAlign(int32(fd), x.direct)
		x.buffered = !x.direct && x.kind == kindFile
		x.nowait.Store(x.buffered && nowaitSupported(int(fd)))
		x.fd, derr = dupFD(int(fd))
	})
	switch {
	case err != nil:
		return nil, opError(op, os.ErrClosed, err.Error())
	case derr != nil:
		return nil, derr
	case x.kind == kindSocket || x.kind == kindStream:
		return nil, opError(op, syscall.ESPIPE, "a socket, pipe, FIFO, tty or other file with no offsets, "+
			"which pread(2) refuses too: wait for it with NewPoll and read or write it itself")
	}
	// Safe: a Block in flight belongs to a call in progress, or to an
	// abandon goroutine, and both hold the File.
	x.cleanup = runtime.AddCleanup(x, closeFD, x.fd)
	return x, nil
}

// newBlock returns a Block bound to the File's own descriptor, which stays
// open until every call has returned and every Block left in flight has
// completed (see Close): Submit need not hold f open around io_submit, so a
// File's Blocks may be detached (see Context.submitGathering).
func (f *File) newBlock() any {
	b := &Block{request: request{cmd: CmdRead, resfd: -1}}
	b.bind(FD(f.fd), rawFD(f.fd), nil)
	b.kind, b.dio, b.direct = f.kind, f.dio, f.direct
	b.SetWait(true)
	return b
}

// Name returns the name of the underlying file.
func (f *File) Name() string {
	if f.f == nil {
		return ""
	}
	return f.f.Name()
}

// Alignment returns what the File's I/O must be aligned to: for a file open
// with O_DIRECT, the figures ReadAt and WriteAt check; otherwise the zero
// Alignment (Source AlignNone), as buffered I/O needs none.
func (f *File) Alignment() Alignment { return f.dio.public() }

// ReadAt reads len(p) bytes at offset off, as io.ReaderAt says: when it
// returns fewer, err says why, and is io.EOF at the end of the file.
// Requests larger than one iocb takes (1 GiB) are split, and the parts go
// to the kernel together. On an O_DIRECT file, a read that breaks the
// file's Alignment costs a copy through a bounce buffer (see File).
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	return f.ReadAtContext(context.Background(), p, off)
}

// ReadAtContext is ReadAt with a context.Context. If ctx is done before the
// call starts, it returns ctx.Err() and reads nothing. If ctx is done while
// the call waits for room in the Context or for the read, ReadAtContext
// returns ctx.Err() then, but the kernel cannot cancel disk I/O: a read
// already submitted goes on, and may write p until it completes. p stays
// pinned and referenced until then, so memory stays safe, but its contents
// are undefined, and since nothing reports when that read ends, the caller
// must not reuse p for other data (nor free it, if it is an AlignedBuffer)
// until the File's Close has returned: Close waits for that I/O. A read
// through a bounce buffer leaves p alone once ReadAtContext has returned:
// the kernel writes only the bounce buffer, which is reused once it is done.
func (f *File) ReadAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	return f.transfer(ctx, CmdRead, p, off)
}

// WriteAt writes p at offset off, as io.WriterAt says: it returns an error
// when it writes fewer than len(p) bytes. A File whose file is open with
// O_APPEND refuses WriteAt, as os.File does, since the kernel would append.
// On an O_DIRECT file, p's address, its length and off must be aligned to
// the File's Alignment: a misaligned write is refused with an error naming
// it (see File), unlike a misaligned read.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	return f.WriteAtContext(context.Background(), p, off)
}

// WriteAtContext is WriteAt with a context.Context. If ctx is done before
// the call starts, it returns ctx.Err() and writes nothing. If ctx is done
// while the write is in flight, WriteAtContext returns ctx.Err() then, and
// the write goes on: the kernel may read p until it completes, and some,
// all or none of p may reach the file. As with ReadAtContext, p must not be
// reused or freed until the File's Close has returned.
func (f *File) WriteAtContext(ctx context.Context, p []byte, off int64) (int, error) {
	if f.append {
		return 0, opError("File.WriteAt", syscall.EINVAL, "WriteAt on a file opened with O_APPEND")
	}
	return f.transfer(ctx, CmdWrite, p, off)
}

// Sync flushes the file's data and metadata to its device (IOCB_CMD_FSYNC,
// Linux 4.18+), like os.File.Sync.
func (f *File) Sync() error { return f.SyncContext(context.Background()) }

// SyncContext is Sync with a context.Context: when ctx is done first it
// returns ctx.Err(), and the flush goes on.
func (f *File) SyncContext(ctx context.Context) error { return f.sync(ctx, CmdFsync) }

// Datasync flushes the file's data, and the metadata needed to read it
// back, like fdatasync(2) (IOCB_CMD_FDSYNC, Linux 4.18+).
func (f *File) Datasync() error { return f.DatasyncContext(context.Background()) }

// DatasyncContext is Datasync with a context.Context: when ctx is done
// first it returns ctx.Err(), and the flush goes on.
func (f *File) DatasyncContext(ctx context.Context) error { return f.sync(ctx, CmdFdsync) }

// Close waits for the File's I/O in flight, including I/O that calls whose
// ctx was done left behind, then closes the underlying *os.File. It does
// not close the Context. Calls after Close fail with an error wrapping
// os.ErrClosed; Close may be called more than once, and returns the error
// of closing the file each time: one wrapping os.ErrClosed if the caller
// had closed it already.
func (f *File) Close() error {
	f.once.Do(func() {
		f.closed.Store(true)
		f.mu.Lock() // waits for the calls in progress
		f.pending.Wait()
		f.mu.Unlock()
		if f.fd >= 0 {
			f.cleanup.Stop()
			closeFD(f.fd)
		}
		if f.f != nil {
			f.cerr = f.f.Close()
		}
	})
	return f.cerr
}
