package stream

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// fakeJPEG is n bytes that start and end like a JPEG; the transport never looks inside.
func fakeJPEG(n int, seed uint64) []byte {
	b := make([]byte, n)
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range b {
		b[i] = byte(r.UintN(256))
	}
	copy(b, []byte{0xFF, 0xD8, 0xFF, 0xE0})
	copy(b[n-2:], []byte{0xFF, 0xD9})
	return b
}

func TestFrameOnTheWire(t *testing.T) {
	h := newHarness(t, Options{})
	ws, c := h.dial(nil)
	run(context.Background(), c)

	hdr := FrameHeader{Seq: 42, Width: 1280, Height: 719.5, ScrollX: 3, ScrollY: 1024.25, TS: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC).UnixMilli()}
	jpeg := fakeJPEG(30<<10, 7)
	f, err := NewFrame(hdr, jpeg)
	if err != nil {
		t.Fatal(err)
	}
	want := bytes.Clone(jpeg)
	jpeg[100] ^= 0xFF // the frame owns a copy
	c.SendFrame(f)

	_ = ws.SetReadDeadline(time.Now().Add(wait))
	mt, msg, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	if mt != websocket.BinaryMessage {
		t.Fatalf("message type %d, want binary", mt)
	}
	// Parse exactly as docs/protocol.md, "Frames", says.
	if msg[0] != 0x01 {
		t.Fatalf("kind byte 0x%02x, want 0x01", msg[0])
	}
	n := binary.BigEndian.Uint32(msg[1:5])
	if int(n) > len(msg)-5 {
		t.Fatalf("header length %d in a message of %d bytes", n, len(msg))
	}
	var fields map[string]any
	if err := json.Unmarshal(msg[5:5+n], &fields); err != nil {
		t.Fatalf("header %q: %v", msg[5:5+n], err)
	}
	wantFields := map[string]any{"seq": 42.0, "width": 1280.0, "height": 719.5, "scrollX": 3.0, "scrollY": 1024.25, "ts": float64(hdr.TS)}
	if !reflect.DeepEqual(fields, wantFields) {
		t.Errorf("header fields %v, want %v", fields, wantFields)
	}
	if !bytes.Equal(msg[5+n:], want) {
		t.Errorf("JPEG bytes differ: got %d bytes, want %d", len(msg)-5-int(n), len(want))
	}

	gotH, gotJPEG, err := ParseFrame(msg)
	if err != nil || gotH != hdr || !bytes.Equal(gotJPEG, want) {
		t.Errorf("ParseFrame = %+v, %d bytes, %v", gotH, len(gotJPEG), err)
	}
	if f.Seq() != 42 || f.Header() != hdr || f.Size() != len(msg) {
		t.Errorf("Seq %d, Header %+v, Size %d (message %d bytes)", f.Seq(), f.Header(), f.Size(), len(msg))
	}
}

func TestParseFrameRefuses(t *testing.T) {
	for name, msg := range map[string][]byte{
		"too short":         {0x01, 0, 0},
		"wrong kind":        {0x02, 0, 0, 0, 2, '{', '}'},
		"header too long":   {0x01, 0, 0, 1, 0, '{', '}'},
		"header not JSON":   {0x01, 0, 0, 0, 2, 'n', 'o'},
		"header wrong type": append([]byte{0x01, 0, 0, 0, 11}, `{"seq":"1"}x`...),
	} {
		t.Run(name, func(t *testing.T) {
			if _, _, err := ParseFrame(msg); !errors.Is(err, ErrBadFrame) {
				t.Errorf("got %v, want ErrBadFrame", err)
			}
		})
	}
}

func TestQueueBeforeFrames(t *testing.T) {
	h := newHarness(t, Options{})
	ws, c := h.dial(nil)
	// Queued before Run, as a session does while a participant joins.
	f, err := NewFrame(FrameHeader{Seq: 1, Width: 10, Height: 10}, fakeJPEG(1000, 1))
	if err != nil {
		t.Fatal(err)
	}
	c.SendFrame(f)
	for _, typ := range []string{"welcome", "state"} {
		if err := c.Send(map[string]string{"type": typ}); err != nil {
			t.Fatal(err)
		}
	}
	run(context.Background(), c)
	if m := readJSON(t, ws); m["type"] != "welcome" {
		t.Errorf("first %v, want welcome", m)
	}
	if m := readJSON(t, ws); m["type"] != "state" {
		t.Errorf("second %v, want state", m)
	}
	_ = ws.SetReadDeadline(time.Now().Add(wait))
	mt, msg, err := ws.ReadMessage()
	if err != nil || mt != websocket.BinaryMessage {
		t.Fatalf("third: type %d, %v; want the frame", mt, err)
	}
	if h, _, err := ParseFrame(msg); err != nil || h.Seq != 1 {
		t.Errorf("frame %+v, %v", h, err)
	}
}

func TestFrameFromMessageKeepsTheBytes(t *testing.T) {
	f, err := NewFrame(FrameHeader{Seq: 7, Width: 10, Height: 5}, []byte{0xff, 0xd8, 1, 2})
	if err != nil {
		t.Fatal(err)
	}
	g, err := FrameFromMessage(append([]byte(nil), f.Message()...))
	if err != nil {
		t.Fatal(err)
	}
	if g.Seq() != 7 || g.Header() != f.Header() || !bytes.Equal(g.Message(), f.Message()) || g.Size() != f.Size() {
		t.Fatalf("frame from message = %+v, want %+v", g.Header(), f.Header())
	}
	if _, err := FrameFromMessage([]byte{0x02, 0, 0, 0, 0}); !errors.Is(err, ErrBadFrame) {
		t.Fatalf("a message of another kind: err = %v, want ErrBadFrame", err)
	}
}
