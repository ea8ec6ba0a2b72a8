package stream

import (
	"encoding/json"
	"fmt"
	"math"
)

// ClientMessage is every client → server message of docs/protocol.md in one flat struct,
// so a message is decoded in one pass whatever its type. Fields a type does not use stay
// zero.
type ClientMessage struct {
	Type string `json:"type"`

	// hello
	Token    string    `json:"token,omitempty"`
	Name     string    `json:"name,omitempty"`
	Resume   string    `json:"resume,omitempty"`
	Viewport *Viewport `json:"viewport,omitempty"`
	Mode     string    `json:"mode,omitempty"` // hello and mode: "dom" or "pixels"
	// Modes (hello) are the views the client can show; a client that lists none shows only
	// pictures, so clients that predate Page mode keep getting them.
	Modes []string `json:"modes,omitempty"`

	// mouse, wheel, key, text, composition, touch, pointer; action also for control and history
	Action         string       `json:"action,omitempty"`
	X              float64      `json:"x,omitempty"`
	Y              float64      `json:"y,omitempty"`
	Button         string       `json:"button,omitempty"`
	Buttons        int          `json:"buttons,omitempty"`
	ClickCount     int          `json:"clickCount,omitempty"`
	Modifiers      int          `json:"modifiers,omitempty"`
	DeltaX         float64      `json:"deltaX,omitempty"`
	DeltaY         float64      `json:"deltaY,omitempty"`
	Key            string       `json:"key,omitempty"`
	Code           string       `json:"code,omitempty"`
	KeyCode        int          `json:"keyCode,omitempty"`
	Text           string       `json:"text,omitempty"` // key, text, composition; chat
	Repeat         bool         `json:"repeat,omitempty"`
	Location       int          `json:"location,omitempty"`
	SelectionStart int          `json:"selectionStart,omitempty"`
	SelectionEnd   int          `json:"selectionEnd,omitempty"`
	Touches        []TouchPoint `json:"touches,omitempty"`
	Visible        *bool        `json:"visible,omitempty"` // pointer; nil means visible

	// draw: a shape ("free", "arrow" or "rect") through points [x, y] in page CSS px;
	// action "clear" takes the sender's drawings away
	Shape  string      `json:"shape,omitempty"`
	Points [][]float64 `json:"points,omitempty"`

	// viewport (width and height are rounded: browsers measure fractional CSS pixels)
	Width  int     `json:"width,omitempty"`
	Height int     `json:"height,omitempty"`
	DPR    float64 `json:"dpr,omitempty"`
	Mobile bool    `json:"mobile,omitempty"`
	Touch  bool    `json:"touch,omitempty"`

	// control, navigate, dialog, tab
	Participant string `json:"participant,omitempty"`
	URL         string `json:"url,omitempty"`
	ID          string `json:"id,omitempty"`
	Accept      bool   `json:"accept,omitempty"`
	PromptText  string `json:"promptText,omitempty"`

	// pick: an option's index and value, a field's value or a menu action; or cancel
	Index  int    `json:"index,omitempty"`
	Value  string `json:"value,omitempty"`
	Cancel bool   `json:"cancel,omitempty"`

	// consent (the host's answer): kind "view" or "control", about participant
	Kind  string `json:"kind,omitempty"`
	Allow *bool  `json:"allow,omitempty"`

	// call (action join, leave or mute): what the client asks to publish, or has muted
	Audio *bool `json:"audio,omitempty"`
	Video *bool `json:"video,omitempty"`
	// rtc: a session description or an ICE candidate of the call, as the browser's
	// RTCSessionDescription and RTCIceCandidate serialise them
	SDP       json.RawMessage `json:"sdp,omitempty"`
	Candidate json.RawMessage `json:"candidate,omitempty"`
}

// Viewport is a viewer's drawing area: CSS size, device pixel ratio, phone with touch.
type Viewport struct {
	Width  int     `json:"width"`
	Height int     `json:"height"`
	DPR    float64 `json:"dpr"`
	Mobile bool    `json:"mobile"`
	Touch  bool    `json:"touch"`
}

// TouchPoint is one finger, normalised to the frame picture.
type TouchPoint struct {
	ID int     `json:"id"`
	X  float64 `json:"x"`
	Y  float64 `json:"y"`
}

// ByeMessage is sent just before the server closes a connection.
type ByeMessage struct {
	Type    string `json:"type"` // "bye"
	Code    string `json:"code"`
	Message string `json:"message"`
}

// ErrorMessage answers a client message the server could not accept.
type ErrorMessage struct {
	Type    string `json:"type"` // "error"
	Code    string `json:"code"`
	Message string `json:"message"`
}

// DecodeClientMessage decodes one text message. Unknown fields are ignored; a message that
// is not a JSON object with a type, or whose fields have the wrong JSON types, is
// ErrBadMessage.
func DecodeClientMessage(b []byte) (ClientMessage, error) {
	var m ClientMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return ClientMessage{}, fmt.Errorf("%w: %v", ErrBadMessage, err)
	}
	if m.Type == "" {
		return ClientMessage{}, fmt.Errorf("%w: no type", ErrBadMessage)
	}
	return m, nil
}

// UnmarshalJSON accepts fractional width and height and rounds them.
func (m *ClientMessage) UnmarshalJSON(b []byte) error {
	type plain ClientMessage // no methods: no recursion
	aux := struct {
		*plain
		Width  *float64 `json:"width"` // shadows plain's int field
		Height *float64 `json:"height"`
	}{plain: (*plain)(m)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	m.Width, m.Height = roundPx(aux.Width), roundPx(aux.Height)
	return nil
}

// UnmarshalJSON accepts fractional width and height and rounds them.
func (v *Viewport) UnmarshalJSON(b []byte) error {
	type plain Viewport
	aux := struct {
		*plain
		Width  *float64 `json:"width"`
		Height *float64 `json:"height"`
	}{plain: (*plain)(v)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	v.Width, v.Height = roundPx(aux.Width), roundPx(aux.Height)
	return nil
}

func roundPx(f *float64) int {
	if f == nil || math.IsNaN(*f) {
		return 0
	}
	return int(math.Round(max(min(*f, math.MaxInt32), math.MinInt32)))
}
