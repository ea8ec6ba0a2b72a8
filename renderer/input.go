package renderer

import (
	"context"
	"errors"
	"fmt"
	"math"

	"github.com/chromedp/cdproto/input"
)

// heldInput is what the tab believes is pressed, from what was injected.
// Guarded by Tab.inputMu.
type heldInput struct {
	keys     map[string]KeyInput // by code (or key)
	buttons  map[string]bool
	x, y     float64 // last mouse position, CSS px
	touching bool
}

var errBadAction = errors.New("unknown input action")

// point maps normalised coordinates to CSS px of the newest frame.
func (t *Tab) point(x, y float64) (float64, float64) {
	g := t.geom.Load()
	return clamp01(x) * g.w, clamp01(y) * g.h
}

func clamp01(v float64) float64 {
	if math.IsNaN(v) {
		return 0
	}
	return min(max(v, 0), 1)
}

// Mouse injects a mouse move, press or release.
func (t *Tab) Mouse(ctx context.Context, m MouseInput) error {
	t.stir(ctx)
	var typ input.DispatchMouseEventType
	switch m.Action {
	case "move":
		typ = input.DispatchMouseEventTypeMouseMoved
	case "down":
		typ = input.DispatchMouseEventTypeMousePressed
	case "up":
		typ = input.DispatchMouseEventTypeMouseReleased
	default:
		return fmt.Errorf("mouse %q: %w", m.Action, errBadAction)
	}
	button := input.MouseButton(m.Button)
	switch button {
	case input.MouseButtonLeft, input.MouseButtonMiddle, input.MouseButtonRight, input.MouseButtonNone:
	case "":
		button = input.MouseButtonNone
	default:
		return fmt.Errorf("mouse button %q: %w", m.Button, errBadAction)
	}
	x, y := t.point(m.X, m.Y)
	p := input.DispatchMouseEventParams{
		Type:      typ,
		X:         x,
		Y:         y,
		Modifiers: int64(m.Modifiers),
		Button:    button,
		Buttons:   int64(m.Buttons),
	}
	if typ != input.DispatchMouseEventTypeMouseMoved {
		p.ClickCount = int64(max(m.ClickCount, 1))
	}
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	if typ == input.DispatchMouseEventTypeMouseMoved && len(t.held.buttons) > 0 {
		// A move while a button is down is a drag (text selection, dragging a slider or
		// a card): Chromium knows it by the move's button, so the move carries the held
		// buttons as the tab saw them pressed, whatever the client said.
		p.Buttons = 0
		for _, b := range []input.MouseButton{input.MouseButtonLeft, input.MouseButtonRight, input.MouseButtonMiddle} {
			if t.held.buttons[string(b)] {
				if p.Button == input.MouseButtonNone {
					p.Button = b
				}
				p.Buttons |= ButtonBit(string(b))
			}
		}
	}
	if _, err := call(ctx, t, input.DispatchMouseEvent, p); err != nil {
		return err
	}
	t.held.x, t.held.y = x, y
	if button != input.MouseButtonNone {
		switch typ {
		case input.DispatchMouseEventTypeMousePressed:
			if t.held.buttons == nil {
				t.held.buttons = map[string]bool{}
			}
			t.held.buttons[string(button)] = true
		case input.DispatchMouseEventTypeMouseReleased:
			delete(t.held.buttons, string(button))
		}
	}
	return nil
}

// Wheel injects a wheel scroll at normalised coordinates.
func (t *Tab) Wheel(ctx context.Context, w WheelInput) error {
	t.stir(ctx)
	x, y := t.point(w.X, w.Y)
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	// Not input.DispatchMouseEventParams: it leaves out a zero delta, and Chromium refuses a
	// wheel event without both deltas, so every purely vertical scroll would fail.
	cctx, cancel, err := t.callCtx(ctx)
	if err != nil {
		return err
	}
	defer cancel()
	err = t.target.Call(cctx, input.DispatchMouseEvent.Method, wheelParams{
		Type: string(input.DispatchMouseEventTypeMouseWheel), X: x, Y: y,
		DeltaX: w.DeltaX, DeltaY: w.DeltaY, Modifiers: int64(w.Modifiers),
	}, nil)
	if err != nil {
		return t.wrapErr(input.DispatchMouseEvent.Method, err)
	}
	return nil
}

type wheelParams struct {
	Type      string  `json:"type"`
	X         float64 `json:"x"`
	Y         float64 `json:"y"`
	DeltaX    float64 `json:"deltaX"`
	DeltaY    float64 `json:"deltaY"`
	Modifiers int64   `json:"modifiers"`
}

// Key injects a key press or release as EffectOf(k) says: a press with text types it; a
// shortcut runs its editing command (headless Chromium does not map every shortcut
// itself); copy, cut and paste never reach Chromium's clipboard, which every session's
// browser context shares: the key is delivered to the page without them, and the
// session answers it with the participant's own clipboard (SelectedText, InsertText).
func (t *Tab) Key(ctx context.Context, k KeyInput) error {
	t.stir(ctx)
	e := EffectOf(k)
	vk := e.VK
	if e.Clipboard() {
		vk = 0 // so that Blink does not map it to its own copy, cut or paste
	}
	p := input.DispatchKeyEventParams{
		Modifiers:             int64(k.Modifiers),
		Key:                   k.Key,
		Code:                  k.Code,
		WindowsVirtualKeyCode: int64(vk),
		NativeVirtualKeyCode:  int64(vk),
		Location:              int64(k.Location),
	}
	if k.Repeat {
		p.AutoRepeat = new(true)
	}
	switch k.Action {
	case "down":
		p.Type = input.DispatchKeyEventTypeRawKeyDown
		if e.Text != "" {
			p.Type = input.DispatchKeyEventTypeKeyDown
			p.Text = e.Text
			p.UnmodifiedText = e.Text
		}
		if e.Command != "" && !e.Clipboard() {
			p.Commands = []string{e.Command}
		}
	case "up":
		p.Type = input.DispatchKeyEventTypeKeyUp
	default:
		return fmt.Errorf("key %q: %w", k.Action, errBadAction)
	}
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	if _, err := call(ctx, t, input.DispatchKeyEvent, p); err != nil {
		return err
	}
	id := k.Code
	if id == "" {
		id = k.Key
	}
	if k.Action == "down" {
		if t.held.keys == nil {
			t.held.keys = map[string]KeyInput{}
		}
		t.held.keys[id] = k
	} else {
		delete(t.held.keys, id)
	}
	return nil
}

// InsertText inserts text at the caret as if typed.
func (t *Tab) InsertText(ctx context.Context, text string) error {
	t.stir(ctx)
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	_, err := call(ctx, t, input.InsertText, input.InsertTextParams{Text: text})
	return err
}

// Compose shows an IME composition in progress; empty text cancels it.
func (t *Tab) Compose(ctx context.Context, text string, selStart, selEnd int) error {
	t.stir(ctx)
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	_, err := call(ctx, t, input.ImeSetComposition, input.ImeSetCompositionParams{
		Text:           text,
		SelectionStart: int64(selStart),
		SelectionEnd:   int64(selEnd),
	})
	return err
}

// Touch injects a touch event; Touches are the points still on the surface.
func (t *Tab) Touch(ctx context.Context, ti TouchInput) error {
	t.stir(ctx)
	var typ input.DispatchTouchEventType
	switch ti.Action {
	case "start":
		typ = input.DispatchTouchEventTypeTouchStart
	case "move":
		typ = input.DispatchTouchEventTypeTouchMove
	case "end":
		typ = input.DispatchTouchEventTypeTouchEnd
	case "cancel":
		typ = input.DispatchTouchEventTypeTouchCancel
	default:
		return fmt.Errorf("touch %q: %w", ti.Action, errBadAction)
	}
	points := make([]*input.TouchPoint, 0, len(ti.Touches))
	for _, tp := range ti.Touches {
		x, y := t.point(tp.X, tp.Y)
		id := float64(tp.ID)
		points = append(points, &input.TouchPoint{X: x, Y: y, ID: &id})
	}
	if typ == input.DispatchTouchEventTypeTouchCancel {
		points = points[:0] // the protocol wants none
	}
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	if _, err := call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type:        typ,
		TouchPoints: points,
		Modifiers:   int64(ti.Modifiers),
	}); err != nil {
		return err
	}
	t.held.touching = typ != input.DispatchTouchEventTypeTouchCancel && len(points) > 0
	return nil
}

// ReleaseAll releases every key and mouse button the tab believes held and
// ends any touch, so nothing stays stuck when control changes hands.
func (t *Tab) ReleaseAll(ctx context.Context) error {
	t.stir(ctx)
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	var errs []error
	for id, k := range t.held.keys {
		_, err := call(ctx, t, input.DispatchKeyEvent, input.DispatchKeyEventParams{
			Type:                  input.DispatchKeyEventTypeKeyUp,
			Key:                   k.Key,
			Code:                  k.Code,
			WindowsVirtualKeyCode: int64(EffectOf(k).VK),
			NativeVirtualKeyCode:  int64(EffectOf(k).VK),
			Location:              int64(k.Location),
		})
		errs = append(errs, err)
		delete(t.held.keys, id)
	}
	buttons := int64(0)
	for b := range t.held.buttons {
		buttons |= ButtonBit(b)
	}
	for b := range t.held.buttons {
		buttons &^= ButtonBit(b)
		_, err := call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{
			Type:       input.DispatchMouseEventTypeMouseReleased,
			X:          t.held.x,
			Y:          t.held.y,
			Button:     input.MouseButton(b),
			Buttons:    buttons,
			ClickCount: 1,
		})
		errs = append(errs, err)
		delete(t.held.buttons, b)
	}
	if t.held.touching {
		_, err := call(ctx, t, input.DispatchTouchEvent, input.DispatchTouchEventParams{
			Type:        input.DispatchTouchEventTypeTouchCancel,
			TouchPoints: []*input.TouchPoint{},
		})
		errs = append(errs, err)
		t.held.touching = false
	}
	return errors.Join(errs...)
}

// ButtonBit is the bit of a mouse button ("left", "right", "middle") in the buttons
// mask of docs/protocol.md and of the Input domain; 0 for any other name.
func ButtonBit(b string) int64 {
	switch b {
	case "left":
		return 1
	case "right":
		return 2
	case "middle":
		return 4
	}
	return 0
}

// Held reports the keys (by code) and mouse buttons the tab believes
// pressed; the proxy can wait for them to be up before a control transfer.
func (t *Tab) Held() (keys, buttons []string) {
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	for id := range t.held.keys {
		keys = append(keys, id)
	}
	for b := range t.held.buttons {
		buttons = append(buttons, b)
	}
	return keys, buttons
}
