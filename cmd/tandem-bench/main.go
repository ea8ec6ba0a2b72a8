// Command tandem-bench starts an in-process Tandem server with its demo site, drives
// one co-browse session with a host and many guest viewers, and reports frame rates,
// input-to-frame latency, time to first frame, CPU and memory; then the same for many
// viewers of the page in Page mode (DOM): delivery, fan-out lag, CPU per change, join time.
//
//	go run ./cmd/tandem-bench [-viewers 50] [-duration 20s] [-samples 30] [-extra-sessions 5] [-page-viewers 100]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// options are the command's flags.
type options struct {
	Viewers       int
	Duration      time.Duration
	Warmup        time.Duration
	Samples       int
	Spacing       time.Duration
	StillSamples  int
	FreshSessions int
	ExtraSessions int
	Page          string
	ExtraPage     string
	Chromium      string
	Strict        bool
	Verbose       bool
	Masked        bool
	PageViewers   int
	PagePage      string
	WarmTabs      int
	CPUProfile    string
	JPEGQuality   int
}

// errTargets is returned with -strict when a target is missed.
var errTargets = errors.New("a target was missed")

func main() {
	var o options
	flag.IntVar(&o.Viewers, "viewers", 50, "guest viewers on the measured session")
	flag.DurationVar(&o.Duration, "duration", 20*time.Second, "length of the frame-rate and CPU window")
	flag.DurationVar(&o.Warmup, "warmup", 2*time.Second, "wait after all viewers have a frame, before the window")
	flag.IntVar(&o.Samples, "samples", 30, "input-to-frame latency samples")
	flag.IntVar(&o.StillSamples, "still-samples", 3, "inputs timed on a page still long enough for its screencast to doze, each about 7 s apart; 0 skips them")
	flag.DurationVar(&o.Spacing, "spacing", 300*time.Millisecond, "time between the starts of latency samples")
	flag.IntVar(&o.FreshSessions, "fresh-sessions", 5, "sessions created to time the first frame")
	flag.IntVar(&o.ExtraSessions, "extra-sessions", 5, "sessions opened to measure memory per session")
	flag.StringVar(&o.Page, "page", "animated", "demo page of the measured session (relative to the demo site)")
	flag.StringVar(&o.ExtraPage, "extra-page", "long", "static demo page of the extra sessions")
	flag.StringVar(&o.Chromium, "chromium", "", "Chromium executable (default: found by the renderer)")
	flag.BoolVar(&o.Strict, "strict", false, "exit with status 2 when a target is missed")
	flag.BoolVar(&o.Verbose, "v", false, "log the server at info level (default: warnings only)")
	flag.BoolVar(&o.Masked, "masked", true, "compare the frames of the masked (guest) and unmasked (host) audiences")
	flag.IntVar(&o.PageViewers, "page-viewers", 100, "Page-mode (DOM) viewers of the Page-mode phase; 0 skips it")
	flag.StringVar(&o.PagePage, "page-page", "animated", "demo page of the Page-mode phase (a clock changes its text every frame)")
	flag.IntVar(&o.WarmTabs, "warm-tabs", 2, "tabs the server keeps ready for new sessions (0: each opened when asked)")
	flag.StringVar(&o.CPUProfile, "cpuprofile", "", "write a CPU profile of the frame-rate window (server and bench clients) to this file")
	flag.IntVar(&o.JPEGQuality, "jpeg-quality", 80, "the server's --jpeg-quality")
	flag.Parse()
	if err := o.validate(); err != nil {
		fmt.Fprintln(os.Stderr, "tandem-bench:", err)
		os.Exit(2)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, o, os.Stdout, os.Stderr)
	stop()
	switch {
	case errors.Is(err, errTargets):
		fmt.Fprintln(os.Stderr, "tandem-bench:", err)
		os.Exit(2)
	case err != nil:
		fmt.Fprintln(os.Stderr, "tandem-bench: FAILED:", err)
		os.Exit(1)
	}
}

func (o options) validate() error {
	switch {
	case o.Viewers < 1:
		return errors.New("-viewers must be at least 1")
	case o.Duration < time.Second:
		return errors.New("-duration must be at least 1s")
	case o.PageViewers < 0:
		return errors.New("-page-viewers must not be negative")
	case o.Samples < 1:
		return errors.New("-samples must be at least 1")
	case o.StillSamples < 0:
		return errors.New("-still-samples must not be negative")
	case o.WarmTabs < 0:
		return errors.New("-warm-tabs must not be negative")
	case o.FreshSessions < 1:
		return errors.New("-fresh-sessions must be at least 1")
	case o.ExtraSessions < 1:
		return errors.New("-extra-sessions must be at least 1")
	case o.FreshSessions+o.ExtraSessions+2 > maxSessions:
		return fmt.Errorf("-fresh-sessions plus -extra-sessions must stay below %d", maxSessions)
	}
	return nil
}

const maxSessions = 100

// run starts the server, runs every measurement, prints the report to out and progress
// to progress, and shuts the server down.
func run(ctx context.Context, o options, out, progress io.Writer) (err error) {
	level := slog.LevelWarn
	if o.Verbose {
		level = slog.LevelInfo
	}
	logger := slog.New(slog.NewTextHandler(progress, &slog.HandlerOptions{Level: level}))
	say := func(format string, args ...any) { fmt.Fprintf(progress, "· "+format+"\n", args...) }

	say("starting Tandem and Chromium")
	dbDir, err := os.MkdirTemp("", "tandem-bench-")
	if err != nil {
		return fmt.Errorf("%w: %v", ErrServer, err)
	}
	defer os.RemoveAll(dbDir)
	srvCtx, cancel := context.WithCancel(ctx)
	srv, err := app.New(srvCtx, app.Config{
		DBPath: filepath.Join(dbDir, "tandem.db"),
		Addr:   "127.0.0.1:0", DemoAddr: "127.0.0.1:0", Chromium: o.Chromium,
		NoSandbox: os.Geteuid() == 0, MaxSessions: maxSessions, IdleTimeout: time.Minute,
		JPEGQuality: o.JPEGQuality, DialogTimeout: 30 * time.Second, CallTimeout: 10 * time.Second,
		WarmTabs: o.WarmTabs,
	}, logger)
	if err != nil {
		cancel()
		return fmt.Errorf("%w: %v", ErrServer, err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(srvCtx) }()
	defer func() {
		say("shutting down")
		cancel()
		select {
		case serr := <-served:
			if serr != nil && err == nil {
				err = fmt.Errorf("%w: serve: %v", ErrServer, serr)
			}
		case <-time.After(30 * time.Second):
			if err == nil {
				err = fmt.Errorf("%w: did not shut down within 30s", ErrServer)
			}
		}
	}()

	b := &bench{o: o, api: newAPI(srv.URL()), demo: srv.DemoURL(), say: say, warmReady: srv.WarmTabsReady, logger: logger, metrics: srv.Metrics()}
	if err := b.api.waitHealthy(ctx, 30*time.Second); err != nil {
		return err
	}
	if b.demo == "" {
		return fmt.Errorf("%w: the demo site is off", ErrServer)
	}
	r, err := b.run(ctx)
	if err != nil {
		return err
	}
	r.print(out)
	if o.Strict && !r.passed() {
		return errTargets
	}
	return nil
}
