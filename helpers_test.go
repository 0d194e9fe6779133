//go:build linux && cgo

package aio_test

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/linuxaio/aio"
)

// TestMain fails the run if the tests leak a kernel AIO context, a file
// descriptor or a goroutine.
func TestMain(m *testing.M) {
	// Start Go's netpoller (an epoll fd and a wakeup fd), and os/signal's
	// goroutine, which both last for good once started, before counting.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	// And os/signal's goroutine, which never ends once started: the
	// fuzzing engine starts it (go test -fuzz), and so do tests of signals.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR2)
	signal.Stop(sig)
	fds, goroutines := countFDs(), runtime.NumGoroutine()
	code := m.Run()
	if benchPath != "" {
		os.Remove(benchPath)
	}
	if code == 0 {
		if n := aioMappings(); n != 0 {
			fmt.Fprintf(os.Stderr, "leak: %d kernel AIO contexts still mapped\n", n)
			code = 1
		}
		if n := countFDs(); n > fds {
			fmt.Fprintf(os.Stderr, "leak: %d file descriptors open, %d at start\n", n, fds)
			code = 1
		}
		if !settles(func() bool { return runtime.NumGoroutine() <= goroutines }) {
			fmt.Fprintf(os.Stderr, "leak: %d goroutines, %d at start\n", runtime.NumGoroutine(), goroutines)
			code = 1
		}
	}
	os.Exit(code)
}

// aioMappings counts this process's kernel AIO contexts: each maps its
// completion ring, shown as "/[aio] (deleted)" in /proc/self/maps.
func aioMappings() int {
	b, err := os.ReadFile("/proc/self/maps")
	if err != nil {
		panic(err)
	}
	return bytes.Count(b, []byte("/[aio]"))
}

func countFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		panic(err)
	}
	return len(ents)
}

// settles polls cond for up to two seconds.
func settles(cond func() bool) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return true
		}
	}
	return cond()
}

// newContext returns a Manual Context closed at the end of the test.
func newContext(t testing.TB, n int) *aio.Context {
	t.Helper()
	return streamContext(t, n, aio.Manual())
}

// streamContext returns a Context, in stream mode unless opts say
// otherwise, closed at the end of the test.
func streamContext(t testing.TB, n int, opts ...aio.Option) *aio.Context {
	t.Helper()
	ctx, err := aio.NewContext(n, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ctx.Close(); err != nil {
			t.Error(err)
		}
	})
	return ctx
}

// aioNr reads /proc/sys/fs/aio-nr: the kernel AIO slots set up system-wide.
func aioNr(t testing.TB) int { return procInt(t, "/proc/sys/fs/aio-nr") }

// procInt reads a number from a file under /proc/sys.
func procInt(t testing.TB, name string) int {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tempFile returns a new file holding data, closed at the end of the test.
func tempFile(t testing.TB, data []byte) *os.File {
	t.Helper()
	f, err := os.CreateTemp(t.TempDir(), "aio")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	return f
}

// directFile returns a file of size bytes of pattern data opened with
// O_DIRECT on a filesystem that supports it: the test's temporary directory
// when it does, else a directory beside the package (tmpfs before 6.6 refuses
// O_DIRECT).
func directFile(t testing.TB, size int) (*os.File, []byte) {
	t.Helper()
	data := pattern(size, 7)
	return directFileOf(t, data), data
}

// directFileOf is directFile holding data.
func directFileOf(t testing.TB, data []byte) *os.File {
	t.Helper()
	dirs := []string{t.TempDir()}
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, wd)
	}
	var why []string
	for _, dir := range dirs {
		d, err := os.MkdirTemp(dir, ".aio-direct-")
		if err != nil {
			why = append(why, err.Error())
			continue
		}
		t.Cleanup(func() { os.RemoveAll(d) })
		name := filepath.Join(d, "data")
		if err := os.WriteFile(name, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(name, os.O_RDWR|syscall.O_DIRECT, 0)
		if err != nil {
			why = append(why, fmt.Sprintf("%s: %v", dir, err))
			continue
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	t.Skipf("no filesystem here supports O_DIRECT: %s", strings.Join(why, "; "))
	return nil
}

// pattern returns n bytes that differ at every offset and with seed.
func pattern(n int, seed byte) []byte {
	p := make([]byte, n)
	for i := range p {
		p[i] = byte(i*31+i>>8) ^ seed
	}
	return p
}

// aligned returns a zeroed n-byte slice whose address is a multiple of 4096.
func aligned(n int) []byte {
	const align = 4096
	p := make([]byte, n+align)
	off := 0
	if r := int(uintptr(unsafe.Pointer(unsafe.SliceData(p))) % align); r != 0 {
		off = align - r
	}
	return p[off : off+n : off+n]
}

// tcpPair returns both ends of a loopback TCP connection, closed at the
// end of the test.
func tcpPair(t testing.TB) (client, server *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	s, err := ln.Accept()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return c.(*net.TCPConn), s.(*net.TCPConn)
}

// reap waits for exactly n events, failing the test on error or timeout.
func reap(t testing.TB, ctx *aio.Context, n int) []aio.Event {
	t.Helper()
	var out []aio.Event
	deadline := time.Now().Add(10 * time.Second)
	for len(out) < n {
		evs, err := ctx.GetEvents(1, n-len(out), time.Until(deadline))
		if err != nil {
			t.Fatalf("GetEvents: %v", err)
		}
		if len(evs) == 0 {
			t.Fatalf("timed out with %d of %d events", len(out), n)
		}
		out = append(out, evs...)
	}
	if evs, err := ctx.GetEvents(0, 16, 0); err != nil || len(evs) != 0 {
		t.Fatalf("extra events after %d: %v, %v", n, evs, err)
	}
	return out
}

// submit submits blocks, failing the test unless all go in.
func submit(t testing.TB, ctx *aio.Context, blocks ...*aio.Block) {
	t.Helper()
	n, err := ctx.Submit(blocks...)
	if err != nil || n != len(blocks) {
		t.Fatalf("Submit: %d of %d, %v", n, len(blocks), err)
	}
}

// do submits one Block and returns its event.
func do(t testing.TB, ctx *aio.Context, b *aio.Block) aio.Event {
	t.Helper()
	submit(t, ctx, b)
	ev := reap(t, ctx, 1)[0]
	if ev.Block != b {
		t.Fatalf("event for %p, want %p", ev.Block, b)
	}
	if b.InFlight() {
		t.Fatal("Block still in flight after its event")
	}
	return ev
}

// wantErr fails unless err matches target with errors.Is and its message
// contains every one of words.
func wantErr(t testing.TB, err, target error, words ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not mention %q", err, w)
		}
	}
}

// await returns the next n events of ctx: from Events in stream mode, from
// GetEvents in manual mode (see reap).
func await(t testing.TB, ctx *aio.Context, n int) []aio.Event {
	t.Helper()
	if ctx.Events() == nil {
		return reap(t, ctx, n)
	}
	evs := make([]aio.Event, n)
	for i := range evs {
		evs[i] = recv(t, ctx)
	}
	return evs
}

// storm is a signal storm started by signalStorm.
type storm struct {
	caught atomic.Int64
	Stop   func() int // ends the storm; returns Caught
}

// Caught returns how many signals the process has caught so far.
func (s *storm) Caught() int { return int(s.caught.Load()) }

// signalStorm sends SIGUSR1, caught through signal.Notify, to the process
// and to each of its threads, as fast as it can, until Stop. A signal sent
// to the process goes to whichever thread the kernel picks, most often the
// main thread, so every thread also gets its own (tgkill): a thread waiting
// in io_getevents or io_submit is interrupted too. The kernel merges a
// signal sent to a thread that has one pending already, so how many are
// caught depends on how fast the threads run: tests wait for a number
// caught, not sent.
func signalStorm(t testing.TB) *storm {
	t.Helper()
	s := &storm{}
	caught := make(chan os.Signal, 256)
	signal.Notify(caught, syscall.SIGUSR1)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-caught:
				s.caught.Add(1)
			case <-done:
				return
			}
		}
	}()
	go func() {
		defer wg.Done()
		pid := os.Getpid()
		for i := 0; ; i++ {
			select {
			case <-done:
				return
			default:
			}
			syscall.Kill(pid, syscall.SIGUSR1)
			if i%8 != 0 {
				continue
			}
			tasks, _ := os.ReadDir("/proc/self/task")
			for _, task := range tasks {
				if tid, err := strconv.Atoi(task.Name()); err == nil {
					syscall.Tgkill(pid, tid, syscall.SIGUSR1)
				}
			}
		}
	}()
	s.Stop = sync.OnceValue(func() int {
		close(done)
		wg.Wait()
		// Signals still on their way are caught and dropped by the runtime.
		signal.Stop(caught)
		return s.Caught()
	})
	t.Cleanup(func() { s.Stop() })
	return s
}

// childEnv names, in a test binary run again by runChild, the test that
// is to do its child's part.
const childEnv = "AIO_TEST_CHILD"

// isChild reports whether this process is a child that runChild started
// for the running test.
func isChild(t testing.TB) bool { return os.Getenv(childEnv) == t.Name() }

// runChild runs the running test again in a new process of the test binary,
// started with attr, where isChild is true. It fails unless the child
// passes, and skips if the child skipped. It returns the error from
// starting the child, for the caller to skip on when the system refuses
// attr.
func runChild(t testing.TB, attr *syscall.SysProcAttr) (startErr error) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+t.Name())
	cmd.SysProcAttr = attr
	b, err := cmd.CombinedOutput()
	out := string(b)
	var exit *exec.ExitError
	switch {
	case err != nil && !errors.As(err, &exit):
		return err
	case err == nil && strings.Contains(out, "--- SKIP: "+t.Name()):
		t.Skipf("child skipped:\n%s", out)
	case err != nil || !strings.Contains(out, "--- PASS: "+t.Name()):
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("child:\n%s", out)
	return nil
}

// aioNrBack checks that /proc/sys/fs/aio-nr gave back the slots of
// Contexts of the given sizes, just closed. aio-nr counts every process's
// contexts, and other processes come and go meanwhile: it waits, up to two
// seconds, until aio-nr is below its value before the Contexts (base), or
// its value just before Close (peak) less theirs, by more than the
// smallest's size. A Close that kept any one of the kernel contexts keeps
// at least that many counted; other processes' churn up to that passes.
func aioNrBack(t testing.TB, base, peak int, sizes ...int) {
	t.Helper()
	ours, smallest := 0, sizes[0]
	for _, n := range sizes {
		ours += n
		smallest = min(smallest, n)
	}
	if !settles(func() bool { return aioNr(t) < max(base, peak-ours)+smallest }) {
		t.Fatalf("aio-nr %d after Close: %d before the Contexts, %d with them open (%d of them ours, the smallest %d)",
			aioNr(t), base, peak, ours, smallest)
	}
}

// recv returns the next event on ctx's stream, failing after 10 s.
func recv(t testing.TB, ctx *aio.Context) aio.Event {
	t.Helper()
	select {
	case ev, ok := <-ctx.Events():
		if !ok {
			t.Fatal("Events closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event within 10 s")
	}
	panic("unreachable")
}

// noEvent fails if an event arrives on ctx's stream within d.
func noEvent(t testing.TB, ctx *aio.Context, d time.Duration) {
	t.Helper()
	select {
	case ev := <-ctx.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

// readOffset is the offset of the i-th 4 KiB read of a file of size bytes:
// a walk over the file's blocks in a scattered order.
func readOffset(i, size int) int64 { return int64(i*7919%(size/4096)) * 4096 }

// wantRead fails unless ev is a read of its whole buffer that holds data
// from the Block's offset.
func wantRead(t testing.TB, ev aio.Event, data []byte) {
	t.Helper()
	b := ev.Block
	off, buf := b.Offset(), b.Buffer()
	if ev.Err() != nil || ev.N() != len(buf) || !bytes.Equal(buf, data[off:off+int64(len(buf))]) {
		t.Fatalf("read of %d bytes at %d: res %d (%v), data right %v",
			len(buf), off, ev.Res, ev.Err(), bytes.Equal(buf, data[off:off+int64(len(buf))]))
	}
}

// mismatch returns the index of the first byte where a and b differ, or -1.
func mismatch(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	if len(a) != len(b) {
		return min(len(a), len(b))
	}
	return -1
}

// ledger counts the Blocks in flight, to check that each submission has one
// event and no more. Safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	pending map[*aio.Block]bool
	events  int
}

// submitted records that b went in.
func (o *ledger) submitted(b *aio.Block) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == nil {
		o.pending = map[*aio.Block]bool{}
	}
	o.pending[b] = true
}

// event records b's event, failing on one that no submission is owed.
func (o *ledger) event(t testing.TB, b *aio.Block) {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.pending[b] {
		t.Errorf("event for a Block not in flight: %p (a second event, or an unknown Block)", b)
	}
	delete(o.pending, b)
	o.events++
}

// left returns how many submissions still await their event.
func (o *ledger) left() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.pending)
}

// mustFile is ctx.File(f), failing the test on an error.
func mustFile(t testing.TB, ctx *aio.Context, f *os.File) *aio.File {
	t.Helper()
	file, err := ctx.File(f)
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// checkZip reads the zip archive of size bytes in r and checks that it
// holds exactly want's entries, each byte for byte.
func checkZip(t testing.TB, r io.ReaderAt, size int64, want map[string][]byte) {
	t.Helper()
	zr, err := zip.NewReader(r, size)
	if err != nil {
		t.Fatalf("zip.NewReader: %v", err)
	}
	if len(zr.File) != len(want) {
		t.Fatalf("%d entries, want %d", len(zr.File), len(want))
	}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || !bytes.Equal(got, want[zf.Name]) {
			t.Fatalf("%s: %d bytes, %v; want %d", zf.Name, len(got), err, len(want[zf.Name]))
		}
	}
}
