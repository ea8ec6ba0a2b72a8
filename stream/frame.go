package stream

import (
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/gorilla/websocket"
)

// FrameKind is byte 0 of a binary frame message (docs/protocol.md, Frames).
const FrameKind = 0x01

// FrameHeader is the JSON header of a frame message.
type FrameHeader struct {
	Seq     uint64  `json:"seq"`
	Width   float64 `json:"width"`
	Height  float64 `json:"height"`
	ScrollX float64 `json:"scrollX"`
	ScrollY float64 `json:"scrollY"`
	TS      int64   `json:"ts"`
	// Masked is true when boxes were painted over this picture for the viewer's role.
	Masked bool `json:"masked,omitempty"`
	// Hidden is true when the page is hidden from the viewer's role: the picture is a
	// blank placeholder and the viewer shows a notice instead.
	Hidden bool `json:"hidden,omitempty"`
}

// Frame is one screencast frame as a binary WebSocket message, encoded once and written
// as is to every connection: no per-viewer copy or encoding. It is immutable.
type Frame struct {
	header FrameHeader
	size   int
	msg    []byte // the message as written (the prepared message holds the same bytes)
	pm     *websocket.PreparedMessage
}

// NewFrame lays out kind byte, header length, JSON header and JPEG bytes, and prepares the
// WebSocket message. jpeg is copied; the caller may reuse it.
func NewFrame(h FrameHeader, jpeg []byte) (*Frame, error) {
	hdr, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("stream: frame header: %w", err)
	}
	msg := make([]byte, 0, 5+len(hdr)+len(jpeg))
	msg = append(msg, FrameKind)
	msg = binary.BigEndian.AppendUint32(msg, uint32(len(hdr)))
	msg = append(msg, hdr...)
	msg = append(msg, jpeg...)
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, msg)
	if err != nil {
		return nil, fmt.Errorf("stream: prepare frame: %w", err)
	}
	return &Frame{header: h, size: len(msg), msg: msg, pm: pm}, nil
}

// Message is the binary message as every viewer receives it; it must not be changed.
func (f *Frame) Message() []byte { return f.msg }

// Seq is the frame's sequence number.
func (f *Frame) Seq() uint64 { return f.header.Seq }

// Header is the frame's header.
func (f *Frame) Header() FrameHeader { return f.header }

// Size is the length of the binary message payload in bytes.
func (f *Frame) Size() int { return f.size }

// ParseFrame splits a binary frame message into its header and JPEG bytes, for Go clients
// and tests. The JPEG aliases msg.
func ParseFrame(msg []byte) (FrameHeader, []byte, error) {
	var h FrameHeader
	if len(msg) < 5 {
		return h, nil, fmt.Errorf("%w: %d bytes", ErrBadFrame, len(msg))
	}
	if msg[0] != FrameKind {
		return h, nil, fmt.Errorf("%w: kind 0x%02x", ErrBadFrame, msg[0])
	}
	n := binary.BigEndian.Uint32(msg[1:5])
	if uint64(n) > uint64(len(msg)-5) {
		return h, nil, fmt.Errorf("%w: header length %d in a message of %d bytes", ErrBadFrame, n, len(msg))
	}
	if err := json.Unmarshal(msg[5:5+n], &h); err != nil {
		return h, nil, fmt.Errorf("%w: header: %v", ErrBadFrame, err)
	}
	return h, msg[5+n:], nil
}

// FrameFromMessage makes a Frame of a binary frame message made elsewhere (by the node
// that holds the session): the bytes are checked and prepared as they are, not encoded
// again. msg must not be changed afterwards.
func FrameFromMessage(msg []byte) (*Frame, error) {
	h, _, err := ParseFrame(msg)
	if err != nil {
		return nil, err
	}
	pm, err := websocket.NewPreparedMessage(websocket.BinaryMessage, msg)
	if err != nil {
		return nil, fmt.Errorf("stream: prepare frame: %w", err)
	}
	return &Frame{header: h, size: len(msg), msg: msg, pm: pm}, nil
}
