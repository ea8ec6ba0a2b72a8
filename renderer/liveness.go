package renderer

import (
	"context"
	"fmt"
	"os"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// Alive checks that the tab's page still runs script, bounded by CallTimeout. A renderer
// that hangs, or dies without a crash event, fails it. A page that shows a JavaScript
// dialog cannot run script either: callers skip the probe while one is open.
func (t *Tab) Alive(ctx context.Context) error {
	res, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "1", ReturnByValue: new(true)})
	if err != nil {
		return fmt.Errorf("liveness probe: %w", err)
	}
	if res.ExceptionDetails != nil {
		return fmt.Errorf("liveness probe: %s", res.ExceptionDetails.Text)
	}
	return nil
}

// Crash makes the tab's renderer process crash, as a real crash would: for recovery
// drills and tests.
func (t *Tab) Crash(ctx context.Context) error {
	_, err := call(ctx, t, page.Crash, cdp.Empty{})
	// The renderer dies before it can answer; the call's error is expected.
	_ = err
	return nil
}

// Process is the running Chromium process, or nil while it restarts: for operators'
// drills and tests that kill it.
func (b *Browser) Process() *os.Process { return b.process() }
