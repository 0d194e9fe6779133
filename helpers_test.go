//go:build linux && cgo

package aio_test

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/linuxaio/aio"
)

// TestMain fails the run if the tests leak a kernel AIO context, a file
// descriptor or a goroutine.
func TestMain(m *testing.M) {
	// Start Go's netpoller (an epoll fd and a wakeup fd) before counting.
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
		return f, data
	}
	t.Skipf("no filesystem here supports O_DIRECT: %s", strings.Join(why, "; "))
	return nil, nil
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
