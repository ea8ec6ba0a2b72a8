package proxy

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"golang.org/x/time/rate"

	"github.com/tandem-cobrowse/tandem/stream"
)

// Drawing limits of docs/protocol.md. A drawing is a mark over the shared view, never
// input to the tab: it needs only the point rule.
const (
	DrawMaxPoints = 500    // points of a freehand stroke
	DrawMaxCoord  = 100000 // page CSS px; beyond it a point is nonsense, not a long page
	// DrawTTL is how long viewers show a drawing before it is gone; the server keeps
	// none (a late joiner sees none, they fade anyway).
	DrawTTL = 6 * time.Second
	// A participant may draw drawBurst shapes at once, then drawRate a second: plenty for
	// a person, too few to flood the others.
	drawRate  = 4
	drawBurst = 8
)

// Refusals of a drawing, told to the sender as error bad_message.
var (
	ErrDrawShape  = errors.New(`drawing shape must be "free", "arrow" or "rect"`)
	ErrDrawPoints = fmt.Errorf("a freehand drawing has 1 to %d points; an arrow or a rectangle exactly 2", DrawMaxPoints)
	ErrDrawCoord  = fmt.Errorf("drawing points must be [x, y] with x and y between 0 and %d", DrawMaxCoord)
	ErrDrawAction = errors.New(`drawing action must be "clear" or none`)
)

// drawMsg is one drawing as everyone who sees the page receives it, the author included
// (its own coming back is how it learns the id).
type drawMsg struct {
	Type   string        `json:"type"` // "draw"
	ID     string        `json:"id"`
	From   ParticipantID `json:"from"`
	Name   string        `json:"name"`
	Color  string        `json:"color"`
	Shape  string        `json:"shape"`
	Points [][2]float64  `json:"points"`
	TTL    int64         `json:"ttl"` // milliseconds
}

// drawClearMsg takes a participant's drawings away.
type drawClearMsg struct {
	Type string        `json:"type"` // "draw_clear"
	From ParticipantID `json:"from"`
}

// draw relays a participant's drawing, or its clear, to everyone who sees the page.
// Drawings are too frequent to audit and are kept nowhere.
func (s *Session) draw(p *participant, m stream.ClientMessage) {
	r := s.rules.For(p.role)
	if !r.Point || !r.View || s.pageHidden(r) {
		// Drawing on a page the sender does not see would mark what it cannot know.
		s.refuse(p, RefusedNotAllowed)
		return
	}
	var out any
	switch m.Action {
	case "clear":
		out = drawClearMsg{Type: "draw_clear", From: p.id}
	case "":
		pts, err := CheckDrawing(m.Shape, m.Points)
		if err != nil {
			_ = p.conn.Send(errMsg("bad_message", err.Error()))
			return
		}
		out = drawMsg{Type: "draw", From: p.id, Name: p.name, Color: p.color, Shape: m.Shape, Points: pts,
			TTL: DrawTTL.Milliseconds()}
	default:
		_ = p.conn.Send(errMsg("bad_message", ErrDrawAction.Error()))
		return
	}
	if p.drawLimit == nil {
		p.drawLimit = rate.NewLimiter(drawRate, drawBurst)
	}
	if !p.drawLimit.AllowN(s.now(), 1) {
		s.refuse(p, RefusedRate)
		return
	}
	if d, ok := out.(drawMsg); ok {
		s.st.drawn++
		d.ID = "d" + itoa(s.st.drawn)
		out = d
	}
	s.showPage(out)
}

// showPage sends m, encoded once, to everyone who sees the page: a role the page is
// hidden from sees nothing drawn on it either.
func (s *Session) showPage(m any) {
	b, err := json.Marshal(m)
	if err != nil {
		s.log.Error("encoding a drawing", "err", err)
		return
	}
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if r := s.rules.For(p.role); p.conn != nil && r.View && !s.pageHidden(r) {
			_ = p.conn.SendText(b)
		}
	}
	// A recording keeps what its (most restricted) audience sees: not drawings on a page
	// hidden from it.
	if s.st.rec != nil && !s.recordingAudience().hidden {
		s.recordEvent(b)
	}
}

// CheckDrawing validates a drawing's shape and points and returns the points rounded to
// a tenth of a pixel (finer is invisible, and the broadcast is smaller).
func CheckDrawing(shape string, points [][]float64) ([][2]float64, error) {
	switch shape {
	case "free":
		if len(points) < 1 || len(points) > DrawMaxPoints {
			return nil, ErrDrawPoints
		}
	case "arrow", "rect":
		if len(points) != 2 {
			return nil, ErrDrawPoints
		}
	default:
		return nil, ErrDrawShape
	}
	out := make([][2]float64, len(points))
	for i, pt := range points {
		if len(pt) != 2 {
			return nil, ErrDrawCoord
		}
		for j, v := range pt {
			if math.IsNaN(v) || v < 0 || v > DrawMaxCoord {
				return nil, ErrDrawCoord
			}
			out[i][j] = math.Round(v*10) / 10
		}
	}
	return out, nil
}
