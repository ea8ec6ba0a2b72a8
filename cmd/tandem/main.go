// Command tandem is the co-browse server: one headless Chromium, one isolated tab per
// session, frames streamed to every participant, input gated by the session's rules.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/tandem-cobrowse/tandem/auditlog"
	"github.com/tandem-cobrowse/tandem/internal/app"
)

func main() {
	// `tandem agents ...` and `tandem sites ...` administer the store, `tandem audit
	// verify` checks an audit log; anything else runs the server.
	if len(os.Args) > 1 && (os.Args[1] == "agents" || os.Args[1] == "sites") {
		os.Exit(runAdmin(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
	}
	if len(os.Args) > 1 && os.Args[1] == "audit" {
		os.Exit(runAudit(os.Args[2:], os.Stdin, os.Stdout, os.Stderr))
	}
	cfg, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, errHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "tandem:", err)
		os.Exit(1)
	}
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func run(ctx context.Context, cfg config, logw io.Writer) error {
	logger := newLogger(cfg, logw)
	ac := cfg.app()
	switch cfg.AuditLog {
	case "off", "":
	case "-":
		ac.AuditLog = os.Stdout
	default:
		// The file's chain is checked and continued; a broken one stops the server.
		f, chain, err := auditlog.OpenFile(cfg.AuditLog)
		if err != nil {
			return fmt.Errorf("audit log: %w (check it with `tandem audit verify`, and move it aside to start a new log)", err)
		}
		defer f.Close()
		ac.AuditLog = chain
	}
	s, err := app.New(ctx, ac, logger)
	if err != nil {
		return err
	}
	return s.Serve(ctx)
}
