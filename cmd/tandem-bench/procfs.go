package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// selfCPU is this process's user+system CPU time so far (all its threads; not children).
func selfCPU() (time.Duration, error) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, fmt.Errorf("getrusage: %w", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), nil
}

// procStat is the part of /proc/PID/stat the bench uses.
type procStat struct {
	PID, PPID int
	// Ticks is utime+stime+cutime+cstime: the process's CPU and that of its children it
	// has already reaped, so a Chromium helper that exits mid-window still counts.
	Ticks uint64
}

// parseStat parses one /proc/PID/stat line. The command name may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStat(line string) (procStat, error) {
	var s procStat
	open := strings.IndexByte(line, '(')
	closing := strings.LastIndexByte(line, ')')
	if open < 1 || closing < open {
		return s, fmt.Errorf("stat line %q: no command name", line)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(line[:open]))
	if err != nil {
		return s, fmt.Errorf("stat line: pid: %w", err)
	}
	// After ')': state(3) ppid(4) … utime(14) stime(15) cutime(16) cstime(17).
	f := strings.Fields(line[closing+1:])
	if len(f) < 15 {
		return s, fmt.Errorf("stat line for %d: %d fields", pid, len(f))
	}
	field := func(n int) (uint64, error) { return strconv.ParseUint(f[n-3], 10, 64) }
	ppid, err := field(4)
	if err != nil {
		return s, fmt.Errorf("stat line for %d: ppid: %w", pid, err)
	}
	s.PID, s.PPID = pid, int(ppid)
	for n := 14; n <= 17; n++ {
		v, err := field(n)
		if err != nil {
			// cutime and cstime are signed in the kernel; they are never negative in practice.
			return s, fmt.Errorf("stat line for %d: field %d: %w", pid, n, err)
		}
		s.Ticks += v
	}
	return s, nil
}

// allStats reads /proc/*/stat; processes that vanish while it reads are skipped.
func allStats() (map[int]procStat, error) {
	paths, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return nil, err
	}
	out := make(map[int]procStat, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		s, err := parseStat(string(b))
		if err != nil {
			continue
		}
		out[s.PID] = s
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no readable /proc/PID/stat")
	}
	return out, nil
}

// descendants returns the pids whose parent chain leads to root (root excluded).
func descendants(root int, stats map[int]procStat) []int {
	children := map[int][]int{}
	for pid, s := range stats {
		children[s.PPID] = append(children[s.PPID], pid)
	}
	var out []int
	queue := []int{root}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// clockTicks is the kernel's USER_HZ (the unit of /proc/PID/stat times), read from the
// auxiliary vector (AT_CLKTCK) because Go has no sysconf; 100 when it cannot be read.
func clockTicks() int64 {
	const atClkTck = 17
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	word := 8
	if strconv.IntSize == 32 {
		word = 4
	}
	read := func(p []byte) uint64 {
		if word == 8 {
			return binary.NativeEndian.Uint64(p)
		}
		return uint64(binary.NativeEndian.Uint32(p))
	}
	for i := 0; i+2*word <= len(b); i += 2 * word {
		if k := read(b[i:]); k == atClkTck {
			if v := read(b[i+word:]); v > 0 {
				return int64(v)
			}
		}
	}
	return 100
}

// processKind names a Chromium process by its --type (and utility sub-type); the
// browser process has none. Chromium rewrites its title, so the arguments may be
// separated by spaces rather than NULs.
func processKind(pid int) string {
	b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/cmdline")
	kind := "browser"
	for _, a := range strings.FieldsFunc(string(b), func(r rune) bool { return r == 0 || r == ' ' }) {
		if v, ok := strings.CutPrefix(a, "--type="); ok {
			kind = v
		}
		if v, ok := strings.CutPrefix(a, "--utility-sub-type="); ok {
			kind += ":" + strings.TrimSuffix(strings.TrimPrefix(v, "network.mojom."), "Service")
		}
	}
	return kind
}

// memKiB reads VmRSS from /proc/PID/status and Pss from /proc/PID/smaps_rollup, in KiB;
// a value that cannot be read is 0.
func memKiB(pid string) (rss, pss int64) {
	rss = kibField("/proc/"+pid+"/status", "VmRSS:")
	pss = kibField("/proc/"+pid+"/smaps_rollup", "Pss:")
	return rss, pss
}

func kibField(path, key string) int64 {
	f, err := os.Open(path)
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, key) {
			continue
		}
		fs := strings.Fields(line[len(key):])
		if len(fs) == 0 {
			return 0
		}
		v, _ := strconv.ParseInt(fs[0], 10, 64)
		return v
	}
	return 0
}

// usage is a point-in-time reading of the bench process and the Chromium processes
// below it.
type usage struct {
	At          time.Time
	SelfCPU     time.Duration
	SelfRSS     int64 // bytes
	HeapInuse   int64 // bytes
	ChromeProcs int
	ChromeCPU   time.Duration
	ChromeRSS   int64 // bytes, summed over processes (shared pages count once per process)
	ChromePSS   int64 // bytes, proportional set size: shared pages split between sharers
	// ChromePSSByKind splits ChromePSS by Chromium process kind (browser, gpu-process,
	// renderer, utility:…), so a change in memory per session can be placed.
	ChromePSSByKind map[string]int64
}

// measure reads the usage now.
func measure() (usage, error) {
	u := usage{At: time.Now(), ChromePSSByKind: map[string]int64{}}
	var err error
	if u.SelfCPU, err = selfCPU(); err != nil {
		return u, err
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	u.HeapInuse = int64(ms.HeapInuse)
	rss, _ := memKiB("self")
	u.SelfRSS = rss << 10

	stats, err := allStats()
	if err != nil {
		return u, err
	}
	hz := clockTicks()
	var ticks uint64
	for _, pid := range descendants(os.Getpid(), stats) {
		rss, pss := memKiB(strconv.Itoa(pid))
		if rss == 0 {
			continue // gone, or a kernel thread
		}
		u.ChromeProcs++
		ticks += stats[pid].Ticks
		u.ChromeRSS += rss << 10
		u.ChromePSS += pss << 10
		u.ChromePSSByKind[processKind(pid)] += pss << 10
	}
	u.ChromeCPU = time.Duration(ticks) * time.Second / time.Duration(hz)
	return u, nil
}

// loadAverage is the 1-minute load average from /proc/loadavg, or "?".
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}
