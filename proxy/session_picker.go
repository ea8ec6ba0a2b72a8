package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"slices"

	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// Pickers: a select's list, a date, time or colour field's picker, or the page's context
// menu, which the browser would draw outside the picture (renderer/pickers.go). Everyone
// who sees the page is shown it, drawn by the viewer; only the controller answers.

// InputPick is an answer to a picker.
const InputPick InputKind = "pick"

type pickerBox struct {
	X float64 `json:"x"`
	Y float64 `json:"y"`
	W float64 `json:"w"`
	H float64 `json:"h"`
}

type pickerViewport struct {
	Width  float64 `json:"width"`
	Height float64 `json:"height"`
}

// pickerMsg is the picker as one role is shown it.
type pickerMsg struct {
	Type     string                  `json:"type"`
	ID       string                  `json:"id"`
	Kind     string                  `json:"kind"`
	Box      *pickerBox              `json:"box"`
	Viewport pickerViewport          `json:"viewport"`
	Options  []renderer.PickerOption `json:"options,omitempty"`
	Value    string                  `json:"value,omitempty"`
	Min      string                  `json:"min,omitempty"`
	Max      string                  `json:"max,omitempty"`
	Step     string                  `json:"step,omitempty"`
	// A menu's: on a link (its address is never sent), on selected text (never sent
	// either), in a field that takes text.
	Link      bool `json:"link,omitempty"`
	Selection bool `json:"selection,omitempty"`
	Editable  bool `json:"editable,omitempty"`
	// Masked: the field is masked from this role; its options and value are left out.
	Masked bool `json:"masked,omitempty"`
}

type pickerClosedMsg struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// pickerFor is picker p as a role sees it: without its content when masked from it.
func pickerFor(p *renderer.PickerOpened, masked bool) pickerMsg {
	m := pickerMsg{Type: "picker", ID: p.ID, Kind: p.Kind, Viewport: pickerViewport{Width: p.ViewportW, Height: p.ViewportH},
		Link: p.Link, Selection: p.Selection, Editable: p.Editable, Masked: masked}
	if b := p.Box; b != nil {
		m.Box = &pickerBox{X: b.X, Y: b.Y, W: b.W, H: b.H}
	}
	if !masked {
		m.Options, m.Value, m.Min, m.Max, m.Step = p.Options, p.Value, p.Min, p.Max, p.Step
	}
	return m
}

// pickerShownTo reports whether p sees pickers at all, and whether the open one is masked
// from it.
func (s *Session) pickerShownTo(p *participant) (shown, masked bool) {
	r := s.rules.For(p.role)
	if p.conn == nil || !r.View || s.pageHidden(r) || s.st.picker == nil {
		return false, false
	}
	return true, s.st.picker.MaskedFor(r.MaskSelectors())
}

// onPickerOpened shows a new picker (or a changed one: the same id) to everyone who sees
// the page, encoded once per kind of audience.
func (s *Session) onPickerOpened(ev renderer.PickerOpened) {
	s.st.picker = &ev
	built := map[bool][]byte{}
	for _, id := range s.st.order {
		p := s.st.participants[id]
		shown, masked := s.pickerShownTo(p)
		if !shown {
			continue
		}
		b, ok := built[masked]
		if !ok {
			var err error
			if b, err = json.Marshal(pickerFor(&ev, masked)); err != nil {
				s.log.Error("encoding picker", "err", err)
				return
			}
			built[masked] = b
		}
		_ = p.conn.SendText(b)
	}
}

func (s *Session) onPickerClosed(ev renderer.PickerClosed) {
	if s.st.picker == nil || s.st.picker.ID != ev.ID {
		return
	}
	s.dropPicker(ev.Reason)
}

// dropPicker forgets the open picker and tells everyone (the tab was lost, or it closed).
func (s *Session) dropPicker(reason string) {
	if s.st.picker == nil {
		return
	}
	id := s.st.picker.ID
	s.st.picker = nil
	s.broadcast(pickerClosedMsg{Type: "picker_closed", ID: id, Reason: reason})
}

// replayPicker shows a joiner the picker open now.
func (s *Session) replayPicker(p *participant) {
	if shown, masked := s.pickerShownTo(p); shown {
		_ = p.conn.Send(pickerFor(s.st.picker, masked))
	}
}

// pick is the controller's answer to the open picker: an option, a value, a menu action,
// or cancel. What a role may not see it may not pick either; menu actions are judged as
// the input they stand for (navigation, copy).
func (s *Session) pick(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputPick, false) {
		return
	}
	pk := s.st.picker
	if pk == nil || pk.ID != m.ID {
		_ = p.conn.Send(errMsg("not_found", "that picker is no longer open"))
		return
	}
	choice := renderer.PickerChoice{Index: m.Index, Value: m.Value, Cancel: m.Cancel}
	answer := "cancel"
	var then func(context.Context, Tab) error
	var history string
	if !m.Cancel {
		answer = "pick"
		if pk.Kind == renderer.PickerMenu {
			answer = m.Value
			var ok bool
			if then, history, ok = s.menuAction(p, pk, m.Value); !ok {
				return
			}
		} else if pk.MaskedFor(s.rules.For(p.role).MaskSelectors()) {
			s.refuse(p, RefusedMasked)
			return
		}
	}
	s.audit.Record("picker_answered", s.id, slog.String("participant", string(p.id)), slog.String("kind", pk.Kind),
		slog.String("answer", answer))
	id, conn := pk.ID, p.conn
	s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error {
		err := tab.Pick(ctx, id, choice)
		switch {
		case errors.Is(err, renderer.ErrNoPicker):
			_ = conn.Send(errMsg("not_found", "that picker is no longer open"))
			return nil
		case errors.Is(err, renderer.ErrBadPick):
			_ = conn.Send(errMsg("bad_message", "the page's field refused that choice"))
			return nil
		case err != nil:
			return err
		case then != nil:
			return then(ctx, tab)
		}
		return nil
	}})
	if history != "" {
		s.navigate(p, stream.ClientMessage{Type: "history", Action: history}) // after the menu closed
	}
}

// menuAction judges a menu action of p and returns what runs after the menu closes:
// then in the inject loop, or a history action. ok is false when it was refused (p was
// told).
func (s *Session) menuAction(p *participant, pk *renderer.PickerOpened, action string) (then func(context.Context, Tab) error, history string, ok bool) {
	if !slices.Contains(renderer.MenuActions, action) {
		_ = p.conn.Send(errMsg("bad_message", "unknown menu action "+quote(action)))
		return nil, "", false
	}
	switch action {
	case renderer.MenuBack, renderer.MenuForward, renderer.MenuReload:
		if v := Judge(s.actor(p), s.st.control.Controller, InputNavigate, true); v != Accepted {
			s.refuse(p, v)
			return nil, "", false
		}
		return nil, action, true
	case renderer.MenuCopy, renderer.MenuCut:
		return s.copyOp(p, nil, action == renderer.MenuCut).run, "", true
	case renderer.MenuCopyLink:
		if !pk.Link {
			_ = p.conn.Send(errMsg("bad_message", "the menu is not on a link"))
			return nil, "", false
		}
		if pk.MaskedFor(s.rules.For(p.role).MaskSelectors()) {
			s.refuse(p, RefusedMaskedCopy)
			return nil, "", false
		}
		href, conn := pk.Href, p.conn
		return func(context.Context, Tab) error { return conn.Send(clipboardMsg{Type: "clipboard", Text: href}) }, "", true
	}
	// Paste: the viewer sends the participant's clipboard as text after the menu closes.
	return nil, "", true
}
