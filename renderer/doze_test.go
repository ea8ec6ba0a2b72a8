package renderer

import (
	"bytes"
	"context"
	"image/jpeg"
	"testing"
	"time"
)

// TestStillPageDozesAndWakes: a still page's screencast dozes at thumbnail size; a change
// made by the page itself, and input, each bring a full picture showing it. No thumbnail
// ever reaches a viewer.
func TestStillPageDozesAndWakes(t *testing.T) {
	needBrowser(t)
	cfg := testCfg
	cfg.DozeAfter = 400 * time.Millisecond
	ctx := testCtx(t)
	b, err := Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	tab, err := b.NewTab(ctx, Viewport{Width: 640, Height: 480, DPR: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	srv := servePage(t, `<!doctype html><style>html,body{margin:0;height:100%;background:#fff}</style>
<body onmousedown="document.body.style.background='#00f'">`, nil)
	navigate(t, tab, srv.URL+"/")

	// colour waits for a full picture that shows want (r, g, b).
	colour := func(what string, want [3]int) {
		t.Helper()
		for {
			select {
			case f := <-tab.Frames():
				img, err := jpeg.Decode(bytes.NewReader(f.JPEG))
				if err != nil {
					t.Fatal(err)
				}
				if sz := img.Bounds().Size(); sz.X != 640 || sz.Y != 480 {
					t.Fatalf("a %dx%d picture reached the viewer, want 640x480", sz.X, sz.Y)
				}
				// The middle, and a corner far outside the tab's small window (chromium.go).
				near := true
				for _, pt := range [][2]int{{320, 240}, {630, 470}} {
					r, g, b, _ := img.At(pt[0], pt[1]).RGBA()
					got := [3]int{int(r >> 8), int(g >> 8), int(b >> 8)}
					for i := range got {
						near = near && abs(got[i]-want[i]) < 40
					}
				}
				if near {
					return
				}
			case <-ctx.Done():
				t.Fatalf("no full picture of %s", what)
			}
		}
	}
	dozed := func() {
		t.Helper()
		waitFor(t, "the screencast to doze", func() bool { return tab.dozing.Load() && b.Dozing() == 1 })
	}

	colour("the white page", [3]int{255, 255, 255})
	dozed()
	// The page changes by itself: no input, no call that stirs the tab.
	evalJS[any](t, tab, `setTimeout(() => document.body.style.background = '#f00', 0)`)
	colour("the page's own change", [3]int{255, 0, 0})

	dozed()
	mctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, action := range []string{"down", "up"} {
		if err := tab.Mouse(mctx, MouseInput{Action: action, X: 0.5, Y: 0.5, Button: "left", Buttons: 1, ClickCount: 1}); err != nil {
			t.Fatal(err)
		}
	}
	colour("the click's change", [3]int{0, 0, 255})

	dozed()
	tab.Close()
	if n := b.Dozing(); n != 0 {
		t.Fatalf("%d tabs counted dozing after the only one closed", n)
	}
}

func abs(v int) int { return max(v, -v) }
