package renderer

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"testing"

	"github.com/chromedp/cdproto/page"
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

func TestKeyEffectsAreJudgedByWhatTheyDo(t *testing.T) {
	down := func(key, code string, mods int, text string) KeyInput {
		return KeyInput{Action: "down", Key: key, Code: code, Modifiers: mods, Text: text, KeyCode: 999}
	}
	for _, tc := range []struct {
		name string
		k    KeyInput
		want KeyEffect
		nav  bool
	}{
		{"a letter types", down("a", "KeyA", 0, "a"), KeyEffect{VK: 'A', Text: "a"}, false},
		{"a key named Tab that carries text types it", down("Tab", "Tab", 0, "x"), KeyEffect{VK: 9, Text: "x"}, false},
		{"Tab moves focus", down("Tab", "Tab", 0, ""), KeyEffect{VK: 9}, true},
		{"an arrow moves the caret", down("ArrowLeft", "ArrowLeft", ModShift, ""), KeyEffect{VK: 37}, true},
		{"Ctrl+A selects all", down("a", "KeyA", ModCtrl, "a"), KeyEffect{VK: 'A', Command: "selectAll"}, false},
		{"Cmd+C copies", down("c", "KeyC", ModMeta, ""), KeyEffect{VK: 'C', Command: "copy"}, false},
		{"Ctrl+Insert copies", down("Insert", "Insert", ModCtrl, ""), KeyEffect{VK: 45, Command: "copy"}, false},
		{"Shift+Insert pastes", down("Insert", "Insert", ModShift, ""), KeyEffect{VK: 45, Command: "paste"}, false},
		{"Shift+Delete cuts", down("Delete", "Delete", ModShift, ""), KeyEffect{VK: 46, Command: "cut"}, false},
		{"Ctrl+Shift+V pastes as plain text", down("V", "KeyV", ModCtrl|ModShift, ""), KeyEffect{VK: 'V', Command: "pasteAndMatchStyle"}, false},
		{"Ctrl+V named otherwise is still a paste", down("v", "KeyV", ModCtrl, ""), KeyEffect{VK: 'V', Command: "paste"}, false},
		{"a key called a on the V key with Ctrl is judged by its key, as executed", down("a", "KeyV", ModCtrl, ""), KeyEffect{VK: 'A', Command: "selectAll"}, false},
		{"a paste key without a code", down("Paste", "", 0, ""), KeyEffect{Command: "paste"}, false},
		{"Ctrl+Z undoes", down("z", "KeyZ", ModCtrl, ""), KeyEffect{VK: 'Z', Command: "undo"}, false},
		{"Ctrl+Shift+Z redoes", down("Z", "KeyZ", ModCtrl|ModShift, ""), KeyEffect{VK: 'Z', Command: "redo"}, false},
		{"AltGr (Ctrl+Alt) types", down("@", "KeyQ", ModCtrl|ModAlt, "@"), KeyEffect{VK: 'Q', Text: "@"}, false},
		{"Backspace edits", down("Backspace", "Backspace", 0, ""), KeyEffect{VK: 8}, false},
		{"a lone modifier", down("Control", "ControlLeft", ModCtrl, ""), KeyEffect{VK: 17}, true},
		{"named keys without a code", down("Enter", "", 0, "\r"), KeyEffect{VK: 13, Text: "\r"}, false},
		{"the client's keyCode is ignored", down("q", "KeyQ", ModCtrl, ""), KeyEffect{VK: 'Q'}, false},
		{"a key up does nothing", KeyInput{Action: "up", Key: "v", Code: "KeyV", Modifiers: ModCtrl, Text: "v"}, KeyEffect{VK: 'V'}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := EffectOf(tc.k)
			if got != tc.want {
				t.Fatalf("EffectOf(%+v) = %+v, want %+v", tc.k, got, tc.want)
			}
			if got.Navigation() != tc.nav {
				t.Fatalf("Navigation() = %v, want %v", got.Navigation(), tc.nav)
			}
		})
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

func TestBlankPicture(t *testing.T) {
	encode := func(c color.RGBA, dot bool) []byte {
		img := image.NewRGBA(image.Rect(0, 0, 320, 200))
		for y := range 200 {
			for x := range 320 {
				img.Set(x, y, c)
			}
		}
		if dot {
			for y := 90; y < 110; y++ {
				for x := 150; x < 170; x++ {
					img.Set(x, y, color.RGBA{20, 20, 20, 255})
				}
			}
		}
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	white := color.RGBA{255, 255, 255, 255}
	for _, tc := range []struct {
		name  string
		jpg   []byte
		blank bool
	}{
		{"white", encode(white, false), true},
		{"white with text", encode(white, true), false},
		{"a coloured page", encode(color.RGBA{245, 240, 230, 255}, false), false},
		{"not a JPEG", []byte("nope"), true},
	} {
		if got := blankPicture(tc.jpg); got != tc.blank {
			t.Errorf("%s: blank = %v, want %v", tc.name, got, tc.blank)
		}
	}
}

func TestMisshapenPictures(t *testing.T) {
	m := &page.ScreencastFrameMetadata{DeviceWidth: 900, DeviceHeight: 500}
	for _, c := range []struct {
		w, h int
		want bool
	}{
		{1800, 1000, false}, {900, 500, false}, {450, 250, false}, {901, 500, false},
		{1800, 50, true}, {500, 500, true}, {900, 300, true},
	} {
		if got := misshapen(image.Config{Width: c.w, Height: c.h}, m); got != c.want {
			t.Errorf("misshapen(%dx%d of a 900x500 viewport) = %v, want %v", c.w, c.h, got, c.want)
		}
	}
}
