package renderer

import (
	"errors"
	"testing"
)

func TestFindChromium(t *testing.T) {
	t.Run("a missing explicit path is ErrNoChromium naming the path", func(t *testing.T) {
		_, err := FindChromium("/nonexistent/chromium-xyz")
		if !errors.Is(err, ErrNoChromium) {
			t.Fatalf("err = %v, want ErrNoChromium", err)
		}
		if want := "/nonexistent/chromium-xyz"; !contains(err.Error(), want) {
			t.Errorf("error %q does not name %q", err, want)
		}
	})
	t.Run("nothing on PATH and no fallback lists what was tried", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		p, err := FindChromium("")
		if err == nil {
			// The fallback /usr/bin/chromium exists on this machine.
			if p != chromiumFallback {
				t.Fatalf("found %q with an empty PATH", p)
			}
			return
		}
		if !errors.Is(err, ErrNoChromium) || !contains(err.Error(), "chromium-browser on PATH") {
			t.Fatalf("err = %v", err)
		}
	})
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestNormalizeURL(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"http://example.org/", "http://example.org/", true},
		{"HTTPS://example.org/a?b#c", "https://example.org/a?b#c", true},
		{"HtTp://127.0.0.1:8080/", "http://127.0.0.1:8080/", true},
		{"file:///etc/passwd", "", false},
		{"javascript:alert(1)", "", false},
		{"chrome://version", "", false},
		{"about:blank", "", false},
		{"data:text/html,hi", "", false},
		{"http:///nohost", "", false},
		{"example.org", "", false},
	} {
		got, err := normalizeURL(tc.in)
		if tc.ok && (err != nil || got != tc.want) {
			t.Errorf("normalizeURL(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
		if !tc.ok && !errors.Is(err, ErrInvalidURL) {
			t.Errorf("normalizeURL(%q) = %q, %v; want ErrInvalidURL", tc.in, got, err)
		}
	}
}

func TestViewportClamp(t *testing.T) {
	got := Viewport{Width: 10, Height: 9999, DPR: 9}.clamp()
	if got.Width != 200 || got.Height != 4096 || got.DPR != 4 {
		t.Errorf("clamp = %+v", got)
	}
	got = Viewport{Width: 1280, Height: 720, DPR: 0.1}.clamp()
	if got.Width != 1280 || got.Height != 720 || got.DPR != 0.5 {
		t.Errorf("clamp = %+v", got)
	}
	if got := (Viewport{Width: 300, Height: 300}).clamp(); got.DPR != 1 {
		t.Errorf("zero DPR should mean 1, got %v", got.DPR)
	}
}

func TestEditingCommand(t *testing.T) {
	for _, tc := range []struct {
		k    KeyInput
		want string
	}{
		{KeyInput{Code: "KeyA", Modifiers: ModCtrl}, "selectAll"},
		{KeyInput{KeyCode: 'C', Modifiers: ModMeta}, "copy"},
		{KeyInput{Code: "KeyZ", Modifiers: ModCtrl}, "undo"},
		{KeyInput{Code: "KeyZ", Modifiers: ModCtrl | ModShift}, "redo"},
		{KeyInput{Code: "KeyQ", Modifiers: ModCtrl}, ""},
	} {
		if got := editingCommand(tc.k); got != tc.want {
			t.Errorf("editingCommand(%+v) = %q, want %q", tc.k, got, tc.want)
		}
	}
}

func TestFramesNewestWins(t *testing.T) {
	tab := &Tab{frames: make(chan Frame, 1)}
	tab.offer(Frame{Seq: 1})
	tab.offer(Frame{Seq: 2})
	tab.offer(Frame{Seq: 3})
	if f := <-tab.frames; f.Seq != 3 {
		t.Fatalf("got frame %d, want the newest, 3", f.Seq)
	}
	select {
	case f := <-tab.frames:
		t.Fatalf("unexpected second frame %d", f.Seq)
	default:
	}
}
