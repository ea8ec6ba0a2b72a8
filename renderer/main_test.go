package renderer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"testing"
	"time"

	jsonv2 "github.com/chromedp/cdproto/cdp/jsonv2"
	"github.com/chromedp/cdproto/runtime"

	"github.com/tandem-cobrowse/tandem/internal/testenv"
)

// One Chromium for the package; each test opens its own tabs.
var (
	testBrowser  *Browser
	browserErr   error
	testCfg      Config
	waitDeadline = 20 * time.Second
)

func TestMain(m *testing.M) {
	level := slog.LevelWarn
	if os.Getenv("RENDERER_DEBUG") != "" {
		level = slog.LevelDebug
	}
	testCfg = Config{
		NoSandbox: os.Getuid() == 0,
		Logger:    slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level})),
	}
	// RENDERER_DOZE=300ms makes every tab's screencast doze that soon: a stress run.
	if d, err := time.ParseDuration(os.Getenv("RENDERER_DOZE")); err == nil {
		testCfg.DozeAfter = d
	}
	if _, err := FindChromium(""); err != nil {
		browserErr = err
	} else {
		testBrowser, browserErr = Start(context.Background(), testCfg)
	}
	code := m.Run()
	if testBrowser != nil {
		testBrowser.Close()
	}
	os.Exit(code)
}

// needBrowser skips (or, on CI, fails) a test when Chromium is missing.
func needBrowser(t *testing.T) *Browser {
	t.Helper()
	if browserErr != nil {
		testenv.Missing(t, "Chromium not available (%v); install Debian's chromium", browserErr)
	}
	return testBrowser
}

func newTestTab(t *testing.T, vp Viewport) *Tab {
	t.Helper()
	b := needBrowser(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	defer cancel()
	tab, err := b.NewTab(ctx, vp)
	if err != nil {
		t.Fatalf("NewTab: %v", err)
	}
	t.Cleanup(func() { tab.Close() })
	return tab
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), waitDeadline)
	t.Cleanup(cancel)
	return ctx
}

// evalJS evaluates js in the page and returns its JSON-decoded value.
func evalJS[T any](t *testing.T, tab *Tab, js string) T {
	t.Helper()
	var v T
	res, err := call(testCtx(t), tab, runtime.Evaluate, runtime.EvaluateParams{
		Expression: js, ReturnByValue: new(true), AwaitPromise: new(true),
	})
	if err != nil {
		t.Fatalf("evaluate %q: %v", js, err)
	}
	if res.ExceptionDetails != nil {
		t.Fatalf("evaluate %q: exception %s", js, res.ExceptionDetails.Text)
	}
	if res.Result != nil && len(res.Result.Value) > 0 {
		if err := jsonv2.Unmarshal(res.Result.Value, &v); err != nil {
			t.Fatalf("evaluate %q: decoding %s: %v", js, res.Result.Value, err)
		}
	}
	return v
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitJS polls until js evaluates to want.
func waitJS[T comparable](t *testing.T, tab *Tab, js string, want T) {
	t.Helper()
	var last T
	deadline := time.Now().Add(waitDeadline)
	for {
		last = evalJS[T](t, tab, js)
		if last == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", js, last, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitEvent reads tab events until match accepts one; others are dropped.
func waitEvent[E Event](t *testing.T, tab *Tab, match func(E) bool) E {
	t.Helper()
	timer := time.NewTimer(waitDeadline)
	defer timer.Stop()
	var seen []string
	for {
		select {
		case ev, ok := <-tab.Events():
			if !ok {
				t.Fatalf("events closed; saw %v", seen)
			}
			seen = append(seen, fmt.Sprintf("%#v", ev))
			if e, ok := ev.(E); ok && (match == nil || match(e)) {
				return e
			}
		case <-timer.C:
			var zero E
			t.Fatalf("timed out waiting for %T; saw %v", zero, seen)
		}
	}
}

// navigate opens u and waits until the document is loaded.
func navigate(t *testing.T, tab *Tab, u string) {
	t.Helper()
	if err := tab.Navigate(testCtx(t), u); err != nil {
		t.Fatalf("Navigate(%s): %v", u, err)
	}
	waitJS(t, tab, `document.readyState === "complete" && location.href === `+jsString(u), true)
}

func jsString(s string) string {
	b, _ := jsonv2.Marshal(s)
	return string(b)
}

func isErr(err, target error) bool { return errors.Is(err, target) }
