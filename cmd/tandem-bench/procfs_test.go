package main

import (
	"os"
	"os/exec"
	"slices"
	"testing"
	"time"
)

func TestParseStatCountsFieldsAfterTheCommandName(t *testing.T) {
	// A command name with spaces and parentheses, as Chromium's helpers can have.
	line := "4242 (chrome (renderer) x) S 4000 4242 4242 0 -1 4194560 100 0 0 0 " +
		"11 22 33 44 20 0 1 0 100 1000 50\n"
	s, err := parseStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if s.PID != 4242 || s.PPID != 4000 || s.Ticks != 11+22+33+44 {
		t.Fatalf("got %+v, want pid 4242 ppid 4000 ticks 110", s)
	}
	if _, err := parseStat("garbage"); err == nil {
		t.Fatal("a line without a command name parsed")
	}
}

func TestDescendantsFollowsTheParentChain(t *testing.T) {
	stats := map[int]procStat{
		1: {PID: 1}, 10: {PID: 10, PPID: 1}, 11: {PID: 11, PPID: 10},
		12: {PID: 12, PPID: 11}, 20: {PID: 20, PPID: 1},
	}
	got := descendants(10, stats)
	slices.Sort(got)
	if !slices.Equal(got, []int{11, 12}) {
		t.Fatalf("descendants(10) = %v, want [11 12]", got)
	}
}

func TestMeasureFindsAChildProcess(t *testing.T) {
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Skipf("cannot start sleep: %v", err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	deadline := time.Now().Add(10 * time.Second)
	for {
		stats, err := allStats()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(descendants(os.Getpid(), stats), cmd.Process.Pid) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("child %d not among the descendants of %d", cmd.Process.Pid, os.Getpid())
		}
		time.Sleep(20 * time.Millisecond)
	}
	u, err := measure()
	if err != nil {
		t.Fatal(err)
	}
	if u.ChromeProcs < 1 || u.ChromeRSS <= 0 || u.SelfRSS <= 0 || u.HeapInuse <= 0 {
		t.Fatalf("measure = %+v, want the child counted and own memory read", u)
	}
}
