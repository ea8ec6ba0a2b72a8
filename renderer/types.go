package renderer

import "time"

// Viewport is the CSS size of the area a viewer draws the tab in.
type Viewport struct {
	Width, Height int
	DPR           float64
	Mobile, Touch bool
}

// clamp keeps the viewport in the ranges the protocol allows.
func (v Viewport) clamp() Viewport {
	v.Width = min(max(v.Width, 200), 4096)
	v.Height = min(max(v.Height, 200), 4096)
	if v.DPR == 0 {
		v.DPR = 1
	}
	v.DPR = min(max(v.DPR, 0.5), 4)
	return v
}

// Frame is one JPEG screencast frame of a tab.
type Frame struct {
	Seq              uint64
	JPEG             []byte
	Width, Height    float64 // CSS px of the viewport shown
	ScrollX, ScrollY float64
	Timestamp        time.Time
	Arrived          time.Time // when the tab got it from Chromium (this machine's clock)
	// Masks is where masked elements are in this picture, when known at once;
	// read it with MaskState, which waits for the page's measurement after the
	// frame.
	Masks MaskState
	masks *pendingMasks
	// Documents lists the address of every document that may be in this picture: the
	// page, its frames (of any site), and those that left them within the last second.
	// DocumentsKnown is false when that cannot be vouched for: treat every page rule as
	// matching.
	Documents      []string
	DocumentsKnown bool
	// Painted is whether the page's document had painted (or settled with nothing to
	// paint) when the frame arrived. A tab's first pictures of a page can be blank, from
	// between the page's arrival and its first paint; the tab asks for a fresh picture
	// once it has painted.
	Painted bool
}

// MouseInput is a mouse event at normalised coordinates of the newest frame.
type MouseInput struct {
	Action     string  // move|down|up
	X, Y       float64 // 0..1 of the newest frame picture
	Button     string  // left|middle|right|none
	Buttons    int     // bitmask left1 right2 middle4
	ClickCount int
	Modifiers  int // Alt1 Ctrl2 Meta4 Shift8
}

// WheelInput is a wheel event at normalised coordinates; deltas in CSS px.
type WheelInput struct {
	X, Y, DeltaX, DeltaY float64
	Modifiers            int
}

// KeyInput is a key event as in DOM KeyboardEvent; KeyCode is the Windows
// virtual key code.
type KeyInput struct {
	Action                       string // down|up
	Key, Code, Text              string
	KeyCode, Modifiers, Location int
	Repeat                       bool
}

// TouchInput lists the touch points still on the surface.
type TouchInput struct {
	Action    string // start|move|end|cancel
	Touches   []TouchPoint
	Modifiers int
}

// TouchPoint is one finger at normalised coordinates.
type TouchPoint struct {
	ID   int
	X, Y float64
}

// Modifier bits of the protocol (and of CDP).
const (
	ModAlt   = 1
	ModCtrl  = 2
	ModMeta  = 4
	ModShift = 8
)
