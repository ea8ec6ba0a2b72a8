package renderer

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"testing"
	"time"
)

func TestDeadChromiumNeverHangsAndIsRestarted(t *testing.T) {
	needBrowser(t)
	// A browser of its own: this test kills it.
	b, err := Start(context.Background(), testCfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab, err := b.NewTab(testCtx(t), Viewport{Width: 400, Height: 300, DPR: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	srv := servePage(t, `<!doctype html><title>x</title>`, nil)
	navigate(t, tab, srv.URL+"/")

	proc := b.process()
	if err := proc.Kill(); err != nil {
		t.Fatal(err)
	}
	// Calls must return (with an error) rather than hang. Background has
	// no deadline, so only the renderer's own bounds can end them.
	errc := make(chan error, 3)
	go func() { errc <- tab.Navigate(context.Background(), srv.URL+"/again") }()
	go func() { errc <- tab.Mouse(context.Background(), MouseInput{Action: "move", X: 0.5, Y: 0.5}) }()
	go func() { _, err := tab.SelectedText(context.Background(), nil); errc <- err }()
	for range 3 {
		select {
		case err := <-errc:
			if err == nil {
				t.Fatal("a call on a tab of a killed Chromium succeeded")
			}
		case <-time.After(waitDeadline):
			t.Fatal("a call on a tab of a killed Chromium hangs")
		}
	}
	select {
	case <-tab.Done():
	case <-time.After(waitDeadline):
		t.Fatal("Done not closed after Chromium died")
	}
	if err := tab.Navigate(context.Background(), srv.URL+"/"); !errors.Is(err, ErrTabClosed) {
		t.Fatalf("call after Done = %v, want ErrTabClosed", err)
	}

	waitFor(t, "Chromium to be restarted", func() bool { return b.Ping(context.Background()) == nil })
	if p := b.process(); p == nil || p.Pid == proc.Pid {
		t.Fatalf("no new process after the restart")
	}
	fresh, err := b.NewTab(testCtx(t), Viewport{Width: 400, Height: 300, DPR: 1})
	if err != nil {
		t.Fatalf("NewTab after restart: %v", err)
	}
	defer fresh.Close()
	navigate(t, fresh, srv.URL+"/")

	b.Close()
	if err := b.Ping(context.Background()); !errors.Is(err, ErrBrowserDown) {
		t.Fatalf("Ping after Close = %v, want ErrBrowserDown", err)
	}
	select {
	case <-fresh.Done():
	case <-time.After(waitDeadline):
		t.Fatal("tab not done after Browser.Close")
	}
}

func TestCloseIsIdempotentAndEndsTheTab(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 400, Height: 300, DPR: 1})
	id := tab.targetID
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	if err := tab.Close(); err != nil {
		t.Fatal(err)
	}
	<-tab.Done()
	for range tab.Events() { // buffered events, then closed
	}
	for range tab.Frames() { // a buffered frame, then closed
	}
	if err := tab.Mouse(context.Background(), MouseInput{Action: "move"}); !errors.Is(err, ErrTabClosed) {
		t.Fatalf("Mouse after Close = %v, want ErrTabClosed", err)
	}
	other := newTestTab(t, Viewport{Width: 400, Height: 300, DPR: 1})
	waitFor(t, "the closed tab's target to go", func() bool {
		cctx, cancel, err := other.callCtx(testCtx(t))
		if err != nil {
			t.Fatal(err)
		}
		defer cancel()
		infos, err := targetsOf(cctx, other)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.TargetID == id {
				return false
			}
		}
		return true
	})
}

// TestCrashedPageComesBackAtItsViewport: a page whose renderer crashed is reloaded at the
// participant's viewport, and its pictures flow again.
func TestCrashedPageComesBackAtItsViewport(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>x</title><p>crash me</p>`, nil)
	navigate(t, tab, srv.URL+"/")
	if err := tab.Crash(testCtx(t)); err != nil {
		t.Fatal(err)
	}
	waitEvent[PageCrashed](t, tab, nil)
	// Pictures from before the crash are of no interest.
	for len(tab.Frames()) > 0 {
		<-tab.Frames()
	}
	waitJS(t, tab, `document.readyState + ' ' + innerWidth + 'x' + innerHeight`, "complete 640x480")
	select {
	case f := <-tab.Frames():
		if f.Width != 640 || f.Height != 480 {
			t.Fatalf("a picture after the crash is %vx%v CSS px, want 640x480", f.Width, f.Height)
		}
		if cfg, err := jpeg.DecodeConfig(bytes.NewReader(f.JPEG)); err != nil || cfg.Width != 640 || cfg.Height != 480 {
			t.Fatalf("a picture after the crash is %dx%d px (%v), want 640x480", cfg.Width, cfg.Height, err)
		}
	case <-testCtx(t).Done():
		t.Fatal("no picture after the crash")
	}
}
