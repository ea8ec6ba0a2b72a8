package app

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loadMeter measures what this node uses: the server and every process it started
// (Chromium and its helpers), read from /proc. Elsewhere it reports zeros.
type loadMeter struct {
	mu       sync.Mutex
	lastCPU  float64 // seconds of CPU of the tree at lastAt
	lastAt   time.Time
	pageSize int64
}

func newLoadMeter() *loadMeter { return &loadMeter{pageSize: int64(os.Getpagesize())} }

// sample returns the tree's resident memory and the cores it kept busy since the last
// sample.
func (m *loadMeter) sample() (rss int64, cores float64) {
	procs := readProcs()
	self := os.Getpid()
	children := map[int][]int{}
	for pid, p := range procs {
		children[p.ppid] = append(children[p.ppid], pid)
	}
	var cpu float64
	stack := []int{self}
	for len(stack) > 0 {
		pid := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if p, ok := procs[pid]; ok {
			rss += p.rssPages * m.pageSize
			cpu += p.cpuSeconds
		}
		stack = append(stack, children[pid]...)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now()
	if !m.lastAt.IsZero() && cpu >= m.lastCPU {
		if d := now.Sub(m.lastAt).Seconds(); d > 0 {
			cores = (cpu - m.lastCPU) / d
		}
	}
	m.lastCPU, m.lastAt = cpu, now
	return rss, cores
}

type procStat struct {
	ppid       int
	rssPages   int64
	cpuSeconds float64
}

// clockTicks is USER_HZ, 100 on every Linux Tandem runs on.
const clockTicks = 100

func readProcs() map[int]procStat {
	out := map[int]procStat{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range dirs {
		b, err := os.ReadFile(path)
		if err != nil {
			continue // gone since the listing
		}
		// The command name is in parentheses and may hold spaces: fields start after it.
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(s[i+1:])
		if len(f) < 22 { // f[0] is field 3 (state)
			continue
		}
		pid, err := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if err != nil {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		rss, _ := strconv.ParseInt(f[21], 10, 64)
		out[pid] = procStat{ppid: ppid, rssPages: rss, cpuSeconds: (utime + stime) / clockTicks}
	}
	return out
}
