package aio

import (
	"math"
	"os"
	"reflect"
	"syscall"
)

// target is the file the Block applies to, as SetFile (or a File) bound
// it. Its user owns it while the Block is idle; fd is written again by the
// claim (lookupFD) under the Context's mu, and read by the flush under
// subMu.
type target struct {
	file    syscall.Conn    // keeps an *os.File or net.Conn referenced
	rc      syscall.RawConn // file's, to read its descriptor at Submit
	holdKey any             // tells the Block's file apart in a flush: see bind
	readFD  func(uintptr)   // stores the descriptor in fd; made once
	fd      int32
	fdBad   bool     // the descriptor read at SetFile is out of range
	fileErr error    // why the file cannot be used at all
	kind    fileKind // a directory, a socket or a stream: no reads or writes
	dio     dioAlign // O_DIRECT alignment to check; zero if unchecked
	// direct: open with O_DIRECT, so that its reads and writes do not
	// wait inside io_submit. nowaitOK: a buffered file whose reads can
	// try RWF_NOWAIT (see TryNoWait), once a Submit on a Context made
	// with TryNoWait has asked its file system (nowaitUnasked).
	direct        bool
	nowaitOK      bool
	nowaitUnasked bool
}

// setFile records f and reads its descriptor now, to learn whether it is
// a directory or a socket, or open with O_DIRECT and with what alignment;
// Submit reads the descriptor again, so that a file closed in between is
// refused rather than its number, perhaps reused by another file, being
// used.
func (b *Block) setFile(f syscall.Conn) {
	rc, err := rawConnOf(f)
	b.bind(f, rc, err)
	if err == nil && control(rc, b.readFD) == nil {
		b.fdBad = b.fd < 0
		if b.kind = kindOf(b.fd); b.kind == kindFile {
			b.direct, _ = openFlags(int(b.fd))
			b.dio = directAlign(b.fd, b.direct)
			b.nowaitUnasked = !b.direct // see learnNoWait
		}
	}
}

// bind points b at f, whose RawConn is rc (or err, why it has none), as a
// plain file with no O_DIRECT alignment to check: setFile reads those, a
// File copies its own.
func (b *Block) bind(f syscall.Conn, rc syscall.RawConn, err error) {
	b.file, b.rc, b.fd, b.fdBad, b.fileErr, b.kind, b.dio = f, rc, -1, false, err, kindFile, dioAlign{}
	b.direct, b.nowaitOK, b.nowaitUnasked = false, false, false
	// A flush holds each file once (see hold.go), telling files apart by
	// a key it compares with == and hashes into a map. A key must be a
	// pointer: comparing two interface values of any other type can
	// panic, even where reflect calls the type comparable (a struct with
	// an interface field holding a slice, as a decorating RawConn often
	// is). os.File returns a new RawConn at each SyscallConn, so the
	// *os.File tells its Blocks' files apart; other files go by their
	// RawConn where it is a pointer (a net.Conn's is), else each Block by
	// itself.
	switch f.(type) {
	case *os.File:
		b.holdKey = f
	default:
		b.holdKey = b
		if rc != nil && reflect.TypeOf(rc).Kind() == reflect.Pointer {
			b.holdKey = rc
		}
	}
	if b.readFD == nil {
		b.readFD = func(fd uintptr) {
			b.fd = -1 // out of range: refused as EBADF
			if fd <= math.MaxInt32 {
				b.fd = int32(fd)
			}
		}
	}
}

// File returns the file the Block applies to.
func (b *Block) File() syscall.Conn { return b.file }

// SetFile changes the file the Block applies to. Whether the file is a
// directory or a socket, or open with O_DIRECT and with what alignment, is
// read here: a change of the file's flags with fcntl afterwards is not
// seen.
func (b *Block) SetFile(f syscall.Conn) error {
	if err := b.idle(); err != nil {
		return err
	}
	b.setFile(f)
	return nil
}
