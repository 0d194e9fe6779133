//go:build linux && cgo

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/linuxaio/aio"
)

// idleResult is what the idle check found: an idle Context should cost
// nothing, neither CPU nor a thread parked for it, whatever the completion
// path does while I/O is in flight (a leader blocked in io_getevents, a
// timer, a poller would each show here).
type idleResult struct {
	Secs     float64  `json:"secs"`      // how long it idled
	CPU      float64  `json:"cpu_us"`    // the process's user + system CPU over that time, µs
	Switches int64    `json:"switches"`  // its context switches meanwhile: each is a wakeup
	Threads  int      `json:"threads"`   // its OS threads
	Held     int      `json:"held"`      // threads blocked for something other than parking (see heldThreads)
	HeldWhat []string `json:"held_what"` // where those threads wait (their wchan)
	// BaseCPU and BaseSwitches are the same process's CPU and context
	// switches over the same time before it made the Context: what an
	// idle Go program costs here anyway (its runtime's timers and
	// housekeeping; on the project's VM some hundreds of µs over 2 s),
	// which is no part of the Context's cost.
	BaseCPU      float64 `json:"base_cpu_us"`
	BaseSwitches int64   `json:"base_switches"`
}

// aioIdle runs the idle check. First the process idles for Secs seconds
// with no Context, for the baseline; then on a stream-mode Context it has
// Depth O_DIRECT reads of File in flight for a moment, through Events and
// Block.Wait both (so that every part of the completion path has run and
// left behind what it leaves), and idles for Secs seconds again, while its
// CPU time, context switches and threads are taken before and after.
func aioIdle(j job) (childResult, error) {
	f, size, err := openJob(j)
	if err != nil {
		return childResult{}, err
	}
	defer f.Close()
	offset := offsets(size, seed(0))
	bufs := newArena(j.Depth)

	time.Sleep(100 * time.Millisecond) // the runtime's start-up work ends
	base0 := selfUsage()
	time.Sleep(j.duration())
	base1 := selfUsage()

	ctx, err := aio.NewContext(j.Depth)
	if err != nil {
		return childResult{}, err
	}
	defer ctx.Close()
	blocks := make([]*aio.Block, j.Depth)
	for i := range blocks {
		blocks[i] = aio.NewRead(f, bufs.buf(i), offset())
	}
	var ios int64
	for round := range 20 {
		waits := round%2 == 1
		for _, b := range blocks {
			b.SetWait(waits)
			b.SetOffset(offset())
		}
		if _, err := ctx.Submit(blocks...); err != nil {
			return childResult{}, err
		}
		for _, b := range blocks {
			var ev aio.Event
			if waits {
				ev, err = b.Wait(context.Background())
			} else {
				ev = <-ctx.Events()
			}
			if err != nil || ev.N() != ioSize {
				return childResult{}, fmt.Errorf("warming up: %d bytes, %v %v", ev.Res, ev.Err(), err)
			}
			ios++
		}
	}
	// Let what the runtime does after a burst (a GC cycle, spinning
	// threads going to sleep) end before the idle time starts.
	time.Sleep(100 * time.Millisecond)

	before := selfUsage()
	start := time.Now()
	time.Sleep(j.duration())
	secs := time.Since(start).Seconds()
	after := selfUsage()
	res := &idleResult{
		Secs:         secs,
		CPU:          float64(after.cpu-before.cpu) / 1e3,
		Switches:     after.switches - before.switches,
		BaseCPU:      float64(base1.cpu-base0.cpu) / 1e3,
		BaseSwitches: base1.switches - base0.switches,
	}
	res.Threads, res.HeldWhat = heldThreads()
	res.Held = len(res.HeldWhat)
	return childResult{IOs: ios, Seconds: secs, Idle: res}, nil
}

// selfCounters are this process's CPU time (ns) and context switches, all
// threads, from getrusage(RUSAGE_SELF).
type selfCounters struct{ cpu, switches int64 }

func selfUsage() selfCounters {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return selfCounters{
		cpu:      ru.Utime.Nano() + ru.Stime.Nano(),
		switches: ru.Nvcsw + ru.Nivcsw,
	}
}

// heldThreads returns this process's OS threads, and where each of those
// that is held waits: every thread blocked in the kernel for something
// other than what an idle Go program's threads park in. From
// /proc/self/task/*/wchan, the kernel function a thread sleeps in:
// futex waits (idle Ms), nanosleep (sysmon), and one epoll wait (the
// runtime's network poller, which the stream shares with every net.Conn)
// are parking; a second epoll wait, io_getevents (read_events) or anything
// else is a thread the process holds for a purpose. The thread reading
// (running, wchan 0) is the caller's.
func heldThreads() (threads int, held []string) {
	tasks, _ := filepath.Glob("/proc/self/task/*")
	polls := 0
	for _, t := range tasks {
		b, err := os.ReadFile(filepath.Join(t, "wchan"))
		if err != nil {
			continue // exited meanwhile
		}
		threads++
		w := strings.TrimSpace(string(b))
		switch {
		case w == "" || w == "0":
		case strings.Contains(w, "futex"), strings.Contains(w, "nanosleep"):
		case strings.Contains(w, "epoll_wait") && polls == 0:
			polls++
		default:
			held = append(held, w)
		}
	}
	return threads, held
}
