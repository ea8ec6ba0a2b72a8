package proxy

import (
	"context"
	"errors"
	"log/slog"

	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

func (s *Session) control(p *participant, m stream.ClientMessage) {
	op := ControlOp{Action: ControlAction(m.Action), Actor: p.id, Target: ParticipantID(m.Participant), Now: s.now(),
		Gesture: s.st.gesture.active()}
	if op.Action == ControlLeave {
		op.Action = "" // not a client verb
	}
	if err := s.applyControl(op); err != nil {
		code := "forbidden"
		switch {
		case errors.Is(err, ErrUnknownAction):
			code = "bad_message"
		case errors.Is(err, ErrParticipantAbsent), errors.Is(err, ErrNoRequest):
			code = "not_found"
		case errors.Is(err, ErrNobodyInControl):
			code = "conflict"
		}
		_ = p.conn.Send(errMsg(code, err.Error()))
	}
}

// applyControl runs a control action and carries out its effects.
func (s *Session) applyControl(op ControlOp) error {
	res, err := s.st.control.Apply(op, s.roster())
	if err != nil {
		return err
	}
	s.st.control = res.Control
	if res.Changed {
		s.audit.Record("control_changed", s.id, slog.String("from", string(res.Previous)),
			slog.String("to", string(res.Control.Controller)), slog.String("action", string(op.Action)),
			slog.String("by", string(op.Actor)), slog.String("target", string(op.Target)))
	} else if p := res.Control.Pending; p != nil && op.Action != ControlLeave {
		s.audit.Record("control_pending", s.id, slog.String("to", string(p.To)), slog.String("action", string(op.Action)),
			slog.String("by", string(op.Actor)), slog.String("why", "waiting for the controller's gesture to end"))
	}
	if res.Asked != "" {
		s.audit.Record("control_requested", s.id, slog.String("by", string(res.Asked)))
	}
	if res.Denied != "" {
		s.audit.Record("control_denied", s.id, slog.String("participant", string(res.Denied)), slog.String("by", string(op.Actor)))
	}
	if res.Asked != "" {
		for _, p := range s.audienceFor(res.Asked) {
			_ = p.conn.Send(controlRequestMsg{Type: "control_request", Participant: res.Asked})
		}
	}
	if res.Denied != "" {
		if d := s.st.participants[res.Denied]; d != nil && d.conn != nil {
			_ = d.conn.Send(notice("info", "control_denied", "Your request for control was declined."))
		}
	}
	s.afterControl(res)
	s.log.Info("control", "action", op.Action, "by", op.Actor, "target", op.Target,
		"controller", res.Control.Controller, "pending", res.Control.Pending != nil)
	return nil
}

// audienceFor is who is asked about a request: the host and the controller.
func (s *Session) audienceFor(requester ParticipantID) []*participant {
	var out []*participant
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.conn == nil || p.id == requester {
			continue
		}
		if p.role == RoleHost || p.id == s.st.control.Controller {
			out = append(out, p)
		}
	}
	return out
}

// settle lands a pending transfer when the controller's gesture is over or too long.
func (s *Session) settle() {
	if s.st.control.Pending == nil {
		return
	}
	pending := *s.st.control.Pending
	res := s.st.control.Settle(s.now(), s.st.gesture.active())
	s.st.control = res.Control
	if res.Changed {
		why := "the controller's gesture ended"
		if s.st.gesture.active() {
			why = "the controller's gesture outlasted the grace period"
		}
		s.audit.Record("control_changed", s.id, slog.String("from", string(res.Previous)),
			slog.String("to", string(res.Control.Controller)), slog.String("action", string(pending.Reason)), slog.String("why", why))
	}
	s.afterControl(res)
}

func (s *Session) afterControl(res ControlResult) {
	if res.Changed {
		// Nothing may stay pressed across a change of hands.
		s.st.gesture = gesture{}
		s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error { return tab.ReleaseAll(ctx) }})
		for _, p := range s.st.participants {
			clear(p.told)
		}
		if c := s.st.participants[res.Control.Controller]; c != nil {
			s.applyViewport(c)
		}
		s.chooserControlChanged()
	}
	s.broadcastState()
}

func (s *Session) roster() Roster {
	r := make(Roster, len(s.st.participants))
	for id, p := range s.st.participants {
		r[id] = s.actor(p)
	}
	return r
}

func (s *Session) applyViewport(p *participant) {
	if p.viewport == nil {
		return
	}
	v := *p.viewport
	vp := renderer.Viewport{Width: v.Width, Height: v.Height, DPR: v.DPR, Mobile: v.Mobile, Touch: v.Touch}
	if len(s.rules.MaskUnion()) > 0 {
		// Mobile emulation shrinks a page without a viewport meta tag to fit (a page scale
		// below 1), and the mask boxes cannot be placed then: masked viewers would get no
		// picture. A phone-sized desktop layout, with touch, keeps the scale at 1.
		vp.Mobile = false
	}
	s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error { return tab.SetViewport(ctx, vp) }})
}
