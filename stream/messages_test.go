package stream

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/gorilla/websocket"
)

func TestDecodeClientMessage(t *testing.T) {
	no := false
	// The examples of docs/protocol.md, "Client → server messages".
	cases := []struct {
		name, in string
		want     ClientMessage
	}{
		{"hello", `{"type":"hello","token":"tk","name":"Ana","viewport":{"width":1280,"height":720,"dpr":2,"mobile":false,"touch":false},"resume":"rs"}`,
			ClientMessage{Type: "hello", Token: "tk", Name: "Ana", Resume: "rs", Viewport: &Viewport{Width: 1280, Height: 720, DPR: 2}}},
		{"mouse", `{"type":"mouse","action":"down","x":0.5,"y":0.25,"button":"left","buttons":1,"clickCount":2,"modifiers":10}`,
			ClientMessage{Type: "mouse", Action: "down", X: 0.5, Y: 0.25, Button: "left", Buttons: 1, ClickCount: 2, Modifiers: 10}},
		{"wheel", `{"type":"wheel","x":0.5,"y":0.5,"deltaX":-3.5,"deltaY":120,"modifiers":2}`,
			ClientMessage{Type: "wheel", X: 0.5, Y: 0.5, DeltaX: -3.5, DeltaY: 120, Modifiers: 2}},
		{"key", `{"type":"key","action":"down","key":"a","code":"KeyA","keyCode":65,"text":"a","modifiers":8,"repeat":true,"location":1}`,
			ClientMessage{Type: "key", Action: "down", Key: "a", Code: "KeyA", KeyCode: 65, Text: "a", Modifiers: 8, Repeat: true, Location: 1}},
		{"text", `{"type":"text","text":"Grüße 👋"}`, ClientMessage{Type: "text", Text: "Grüße 👋"}},
		{"composition", `{"type":"composition","text":"にほ","selectionStart":2,"selectionEnd":2}`,
			ClientMessage{Type: "composition", Text: "にほ", SelectionStart: 2, SelectionEnd: 2}},
		{"touch", `{"type":"touch","action":"start","touches":[{"id":0,"x":0.4,"y":0.6},{"id":3,"x":1,"y":0}],"modifiers":0}`,
			ClientMessage{Type: "touch", Action: "start", Touches: []TouchPoint{{ID: 0, X: 0.4, Y: 0.6}, {ID: 3, X: 1, Y: 0}}}},
		{"copy", `{"type":"copy"}`, ClientMessage{Type: "copy"}},
		{"pointer", `{"type":"pointer","x":0.3,"y":0.7}`, ClientMessage{Type: "pointer", X: 0.3, Y: 0.7}},
		{"pointer hidden", `{"type":"pointer","visible":false}`, ClientMessage{Type: "pointer", Visible: &no}},
		{"viewport", `{"type":"viewport","width":1280,"height":720,"dpr":2,"mobile":true,"touch":true}`,
			ClientMessage{Type: "viewport", Width: 1280, Height: 720, DPR: 2, Mobile: true, Touch: true}},
		{"viewport in fractional CSS pixels", `{"type":"viewport","width":1279.6,"height":719.4,"dpr":1.5}`,
			ClientMessage{Type: "viewport", Width: 1280, Height: 719, DPR: 1.5}},
		{"control", `{"type":"control","action":"grant","participant":"p3"}`,
			ClientMessage{Type: "control", Action: "grant", Participant: "p3"}},
		{"navigate", `{"type":"navigate","url":"https://example.org/"}`, ClientMessage{Type: "navigate", URL: "https://example.org/"}},
		{"history", `{"type":"history","action":"back"}`, ClientMessage{Type: "history", Action: "back"}},
		{"dialog", `{"type":"dialog","id":"d1","accept":true,"promptText":"yes"}`,
			ClientMessage{Type: "dialog", ID: "d1", Accept: true, PromptText: "yes"}},
		{"tab", `{"type":"tab","id":"t2"}`, ClientMessage{Type: "tab", ID: "t2"}},
		{"pick", `{"type":"pick","id":"k1","index":2,"value":"b"}`, ClientMessage{Type: "pick", ID: "k1", Index: 2, Value: "b"}},
		{"pick cancel", `{"type":"pick","id":"k1","cancel":true}`, ClientMessage{Type: "pick", ID: "k1", Cancel: true}},
		{"unknown fields are ignored", `{"type":"copy","extra":{"a":[1,2]},"more":null}`, ClientMessage{Type: "copy"}},
		{"unknown types pass to the caller", `{"type":"foo"}`, ClientMessage{Type: "foo"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeClientMessage([]byte(tc.in))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestDecodeClientMessageRefuses(t *testing.T) {
	for _, in := range []string{
		``, `{`, `not json`, `null`, `42`, `"mouse"`, `[]`, `{}`, `{"type":""}`,
		`{"type":7}`, `{"type":"mouse","x":"left"}`, `{"type":"touch","touches":{"id":1}}`,
		`{"type":"viewport","width":"wide"}`, `{"type":"hello","viewport":{"width":true}}`,
	} {
		t.Run(in, func(t *testing.T) {
			if m, err := DecodeClientMessage([]byte(in)); !errors.Is(err, ErrBadMessage) {
				t.Errorf("got %+v, %v; want ErrBadMessage", m, err)
			}
		})
	}
}

func TestBadMessagesOverTheWire(t *testing.T) {
	h := newHarness(t, Options{})
	ws, c := h.dial(nil)
	res, handled := run(context.Background(), c)

	for _, bad := range []struct {
		mt   int
		data string
	}{
		{websocket.TextMessage, `{"type":"mouse",`},
		{websocket.TextMessage, `{"type":"mouse","x":"left"}`},
		{websocket.BinaryMessage, `{"type":"copy"}`},
	} {
		if err := ws.WriteMessage(bad.mt, []byte(bad.data)); err != nil {
			t.Fatal(err)
		}
		m := readJSON(t, ws)
		if m["type"] != "error" || m["code"] != "bad_message" || m["message"] == "" {
			t.Errorf("reply to %q: %v", bad.data, m)
		}
	}
	// The connection stays open and messages keep their order.
	for _, s := range []string{`{"type":"copy"}`, `{"type":"history","action":"reload"}`} {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(s)); err != nil {
			t.Fatal(err)
		}
	}
	if m := awaitMsg(t, handled); m.Type != "copy" {
		t.Errorf("first handled %q, want copy", m.Type)
	}
	if m := awaitMsg(t, handled); m.Type != "history" || m.Action != "reload" {
		t.Errorf("second handled %+v", m)
	}
	select {
	case err := <-res:
		t.Fatalf("Run ended: %v", err)
	default:
	}
}
