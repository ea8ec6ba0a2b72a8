// Command tandem-cluster-bench measures Tandem as a cluster on this machine:
//
//   - the viewer curve: one session on an animated page, its viewers spread over three
//     nodes (in one process, clustered over loopback NATS routes), against the same
//     viewers on a single node: the share of produced frames each viewer receives;
//
//   - the relay's cost: the CPU per relayed frame and the latency it adds (a viewer on
//     another node against a viewer on the holding node, frame by frame);
//
//   - node-loss recovery: three node processes; the holder of a session is killed with
//     SIGKILL, and the time until its viewer on another node sees the page again is
//     measured, over -kills kills.
//
//     go run ./cmd/tandem-cluster-bench [-viewers 100,300,1000] [-window 10s] [-kills 10]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type options struct {
	Viewers []int
	Window  time.Duration
	Kills   int
	Skip    string
}

func main() {
	if spec := os.Getenv(nodeEnv); spec != "" {
		os.Exit(runNode(spec)) // a node process of the recovery phase
	}
	var o options
	viewers := flag.String("viewers", "100,300,1000", "viewer counts of the curve, comma-separated")
	flag.DurationVar(&o.Window, "window", 10*time.Second, "measuring window of each point of the curve")
	flag.IntVar(&o.Kills, "kills", 10, "node kills of the recovery phase (0 skips it)")
	flag.StringVar(&o.Skip, "skip", "", "phases to skip: curve, recovery")
	flag.Parse()
	for _, f := range strings.Split(*viewers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 3 {
			fmt.Fprintln(os.Stderr, "tandem-cluster-bench: -viewers takes counts of at least 3")
			os.Exit(2)
		}
		o.Viewers = append(o.Viewers, n)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o); err != nil {
		fmt.Fprintln(os.Stderr, "tandem-cluster-bench: FAILED:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	page, stopPage := animatedProvider()
	defer stopPage()
	if !strings.Contains(o.Skip, "curve") {
		if err := curve(ctx, o, page); err != nil {
			return fmt.Errorf("viewer curve: %w", err)
		}
	}
	if o.Kills > 0 && !strings.Contains(o.Skip, "recovery") {
		if err := recovery(ctx, o, page); err != nil {
			return fmt.Errorf("recovery: %w", err)
		}
	}
	return nil
}

var errTimeout = errors.New("timed out")

func waitFor(ctx context.Context, timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return errTimeout
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}
