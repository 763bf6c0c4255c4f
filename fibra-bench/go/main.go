// Command fibra-bench-go runs one fibra-bench workload on Go's scheduler and
// prints one result line in the harness's protocol (fibra-bench/src/protocol.rs):
//
//	result workload=spawn_inside n=10000 check=49995000 ns=123456
//	unsupported workload=fib_join
//
// Usage (the same flags as the Rust child mode):
//
//	fibra-bench-go --workload W --n N --workers K [--warmup R] [--settle-ms MS]
//
// GOMAXPROCS is set to --workers. Only the standard library is used, so it
// builds offline. What each workload does is in docs/BENCHMARKS.md.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const skynetFanOut = 10
const fibCutoff = 20

func main() {
	workload := flag.String("workload", "", "workload name")
	n := flag.Uint64("n", 0, "size")
	workers := flag.Int("workers", 1, "GOMAXPROCS")
	warmup := flag.Int("warmup", 1, "untimed runs before the timed one")
	settleMs := flag.Int("settle-ms", 5, "pause before the timed run")
	flag.Parse()
	runtime.GOMAXPROCS(*workers)

	var line string
	switch *workload {
	case "idle":
		line = idle(*n)
	case "memory":
		line = memory(*n)
	case "blocked_rss":
		line = blockedRss(*n)
	default:
		run := timedWorkloads[*workload]
		if run == nil {
			line = "unsupported workload=" + *workload
			break
		}
		for i := 0; i < *warmup; i++ {
			run(*n)
		}
		time.Sleep(time.Duration(*settleMs) * time.Millisecond)
		start := time.Now()
		check := run(*n)
		line = result(*workload, *n, check, "ns", uint64(time.Since(start).Nanoseconds()))
	}
	fmt.Println(line)
}

var timedWorkloads = map[string]func(uint64) uint64{
	// Go has one way to spawn: a goroutine started from main is as much
	// "inside" the scheduler as one started from another goroutine.
	"spawn_inside":  spawnBurst,
	"spawn_outside": spawnBurst,
	"fib_spawn":     func(n uint64) uint64 { return fibSpawn(n) },
	// Go's skynet is the original, with channels: the same code answers
	// both skynet rows.
	"skynet_spawn": skynetRoot,
	"skynet_chan":  skynetRoot,
	"chained":      chained,
	"yield_many":   yieldMany,
	"ping_pong":    pingPong,
}

// pingPong passes a counter back and forth over two unbuffered channels.
func pingPong(n uint64) uint64 {
	ping, pong := make(chan uint64), make(chan uint64)
	seen := make(chan uint64)
	go func() {
		var count uint64
		for ball := range ping {
			count++
			pong <- ball
		}
		seen <- count
	}()
	for ball := uint64(0); ball < n; ball++ {
		ping <- ball
		if <-pong != ball {
			fail("ping-pong: wrong ball")
		}
	}
	close(ping)
	return <-seen
}

// yieldTasks goroutines each call runtime.Gosched n/yieldTasks times.
const yieldTasks = 100

func yieldMany(n uint64) uint64 {
	perTask := n / yieldTasks
	counts := make([]uint64, yieldTasks)
	var wg sync.WaitGroup
	wg.Add(yieldTasks)
	for t := 0; t < yieldTasks; t++ {
		go func(t int) {
			defer wg.Done()
			for i := uint64(0); i < perTask; i++ {
				runtime.Gosched()
			}
			counts[t] = perTask
		}(t)
	}
	wg.Wait()
	var total uint64
	for _, c := range counts {
		total += c
	}
	return total
}

func result(workload string, n, check uint64, fields ...interface{}) string {
	var b strings.Builder
	fmt.Fprintf(&b, "result workload=%s n=%d check=%d", workload, n, check)
	for i := 0; i+1 < len(fields); i += 2 {
		fmt.Fprintf(&b, " %v=%v", fields[i], fields[i+1])
	}
	return b.String()
}

// spawnBurst starts n goroutines; goroutine i stores i; waits for all, sums.
func spawnBurst(n uint64) uint64 {
	out := make([]uint64, n)
	var wg sync.WaitGroup
	wg.Add(int(n))
	for i := uint64(0); i < n; i++ {
		go func(i uint64) {
			out[i] = i
			wg.Done()
		}(i)
	}
	wg.Wait()
	var sum uint64
	for _, v := range out {
		sum += v
	}
	return sum
}

func skynetRoot(n uint64) uint64 {
	c := make(chan uint64)
	go skynet(c, 0, n)
	return <-c
}

// skynet is the original benchmark's node: children report on a channel.
func skynet(c chan uint64, num, size uint64) {
	if size == 1 {
		c <- num
		return
	}
	rc := make(chan uint64)
	child := size / skynetFanOut
	for i := uint64(0); i < skynetFanOut; i++ {
		go skynet(rc, num+i*child, child)
	}
	var sum uint64
	for i := 0; i < skynetFanOut; i++ {
		sum += <-rc
	}
	c <- sum
}

func fibRecursive(n uint64) uint64 {
	if n < 2 {
		return n
	}
	return fibRecursive(n-1) + fibRecursive(n-2)
}

// fibSpawn runs fib(n-1) in a goroutine above the cutoff, fib(n-2) itself.
func fibSpawn(n uint64) uint64 {
	if n <= fibCutoff {
		return fibRecursive(n)
	}
	var wg sync.WaitGroup
	var first uint64
	wg.Add(1)
	go func() {
		first = fibSpawn(n - 1)
		wg.Done()
	}()
	second := fibSpawn(n - 2)
	wg.Wait()
	return first + second
}

func hop(i, n uint64, done chan uint64) {
	if i >= n {
		done <- i
		return
	}
	go hop(i+1, n, done)
}

func chained(n uint64) uint64 {
	done := make(chan uint64, 1)
	go hop(1, n, done)
	return <-done
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		fail("getrusage: " + err.Error())
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// idle runs one goroutine, then measures process CPU over n ms of sleep.
func idle(n uint64) string {
	check := spawnBurst(1)
	before, start := cpuTime(), time.Now()
	time.Sleep(time.Duration(n) * time.Millisecond)
	cpu, elapsed := cpuTime()-before, time.Since(start)
	return result("idle", n, check, "ns", elapsed.Nanoseconds(), "cpu_ns", cpu.Nanoseconds())
}

// rss returns VmRSS and VmHWM from /proc/self/status, in KiB.
func rss() (now, peak uint64) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		fail(err.Error())
	}
	for _, line := range strings.Split(string(status), "\n") {
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		v, _ := strconv.ParseUint(fields[1], 10, 64)
		switch fields[0] {
		case "VmRSS:":
			now = v
		case "VmHWM:":
			peak = v
		}
	}
	return now, peak
}

// memory starts n goroutines that each wait on a channel before adding
// their number: Go cannot keep a started goroutine from running (spinning
// holders are preempted), and a goroutine owns its descriptor and stack from
// the moment it is created, run or not, so a goroutine parked before its
// work is Go's nearest form of "queued but not run".
func memory(n uint64) string {
	spawnBurst(1)
	base, _ := rss()
	start := time.Now()
	release := make(chan struct{})
	var sum atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(int(n))
	for i := uint64(0); i < n; i++ {
		go func(i uint64) {
			<-release
			sum.Add(i)
			wg.Done()
		}(i)
	}
	queued, _ := rss()
	close(release)
	wg.Wait()
	elapsed := time.Since(start)
	_, peak := rss()
	return result("memory", n, sum.Load(), "ns", elapsed.Nanoseconds(),
		"base_rss_kb", base, "queued_rss_kb", queued, "hwm_kb", peak)
}

// blockedRss starts n goroutines, each blocked receiving from its own
// unbuffered channel, measures RSS once all have started, then sends i to
// goroutine i and waits until every one has added its value.
func blockedRss(n uint64) string {
	spawnBurst(1)
	base, _ := rss()
	start := time.Now()
	var started, sum atomic.Uint64
	var wg sync.WaitGroup
	wg.Add(int(n))
	chans := make([]chan uint64, n)
	for i := range chans {
		c := make(chan uint64)
		chans[i] = c
		go func() {
			started.Add(1)
			sum.Add(<-c)
			wg.Done()
		}()
	}
	for started.Load() < n {
		time.Sleep(50 * time.Microsecond)
	}
	time.Sleep(10 * time.Millisecond) // as the Rust children: the last ones finish blocking
	blocked, _ := rss()
	for i, c := range chans {
		c <- uint64(i)
	}
	wg.Wait()
	elapsed := time.Since(start)
	_, peak := rss()
	return result("blocked_rss", n, sum.Load(), "ns", elapsed.Nanoseconds(),
		"base_rss_kb", base, "blocked_rss_kb", blocked, "hwm_kb", peak)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "fibra-bench-go: "+msg)
	os.Exit(1)
}
