package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

func (s *Session) handle(p *participant, m stream.ClientMessage) {
	switch m.Type {
	case "mouse", "wheel", "key", "text", "composition", "touch", "copy":
		s.input(p, m)
	case "pointer":
		s.pointer(p, m)
	case "viewport":
		vp := stream.Viewport{Width: m.Width, Height: m.Height, DPR: m.DPR, Mobile: m.Mobile, Touch: m.Touch}
		p.viewport = &vp
		if s.st.control.Controller == p.id {
			s.applyViewport(p)
		}
	case "control":
		s.control(p, m)
	case "consent":
		s.consentMessage(p, m)
	case "stop_sharing":
		s.stopSharing(p)
	case "mode":
		s.setMode(p, m.Mode)
	case "navigate", "history":
		s.navigate(p, m)
	case "dialog":
		s.answerDialog(p, m)
	case "call":
		s.callMessage(p, m)
	case "rtc":
		s.rtcMessage(p, m)
	case "record":
		s.recordMessage(p, m)
	case "pick":
		s.pick(p, m)
	case "file_chooser":
		s.fileChooserMessage(p, m)
	case "chat":
		s.chat(p, m)
	case "draw":
		s.draw(p, m)
	case "tab":
		if m.ID != "t1" {
			_ = p.conn.Send(errMsg("not_found", "no such tab"))
		}
	case "hello":
		_ = p.conn.Send(errMsg("bad_message", "already joined"))
	default:
		_ = p.conn.Send(errMsg("bad_message", "unknown message type "+quote(m.Type)))
	}
}

func (s *Session) actor(p *participant) Actor {
	return Actor{ID: p.id, Role: p.role, Rules: s.rules.For(p.role)}
}

// admit runs the gate; a refusal is counted and told to the sender once per reason, and
// again after retellAfter.
func (s *Session) admit(p *participant, kind InputKind, coalesced bool) bool {
	within := coalesced || p.limiter.Allow()
	verdict := Judge(s.actor(p), s.st.control.Controller, kind, within)
	if verdict == Accepted {
		if kind != InputPointer {
			s.metrics.InputAccepted.WithLabelValues(string(kind)).Inc()
		}
		return true
	}
	s.refuse(p, verdict)
	return false
}

// refuse counts a refusal and tells p, as admit says.
func (s *Session) refuse(p *participant, verdict Refusal) {
	s.st.refused[verdict]++
	s.metrics.InputRefused.WithLabelValues(string(verdict)).Inc()
	if at, told := p.told[verdict]; !told || s.now().Sub(at) >= retellAfter {
		p.told[verdict] = s.now()
		n := notice("warning", "input_refused", verdict.Message())
		n.Reason = verdict
		_ = p.conn.Send(n)
	}
}

// refuseFromTab is refuse for a verdict reached in the inject loop, by the tab.
func (s *Session) refuseFromTab(id ParticipantID, verdict Refusal) {
	_ = s.exec(func() {
		if p := s.st.participants[id]; p != nil && p.conn != nil {
			s.refuse(p, verdict)
		}
	})
}

// maskedFocusGuard wraps run so that, for a role with masked content, the tab is asked
// where focus is right before the event goes in (after every earlier event of the burst
// has been handled, a click that moved focus included): an event whose effect depends
// on focus is dropped when focus is in a field masked from the role. A tab that cannot
// answer counts as masked.
func (s *Session) maskedFocusGuard(p *participant, kind InputKind, key renderer.KeyInput, run func(context.Context, Tab) error) func(context.Context, Tab) error {
	sels := s.rules.For(p.role).MaskSelectors()
	if len(sels) == 0 || !MaskedFocusMatters(kind, key) {
		return run
	}
	id := p.id
	return func(ctx context.Context, tab Tab) error {
		focused, err := tab.FocusedMasked(ctx, sels)
		if v := JudgeMaskedFocus(kind, key, err != nil || len(focused) > 0); v != Accepted {
			s.refuseFromTab(id, v)
			return err
		}
		return run(ctx, tab)
	}
}

// copyOp answers a copy (or cut) with the selection as the sender's role may see it:
// never the tab's clipboard, which all sessions share, and never masked content. key,
// when the copy came as a key, is delivered to the page first (without the clipboard).
func (s *Session) copyOp(p *participant, key *renderer.KeyInput, cut bool) injectOp {
	id, conn := p.id, p.conn
	sels := s.rules.For(p.role).MaskSelectors()
	return injectOp{run: func(ctx context.Context, tab Tab) error {
		if key != nil {
			if err := tab.Key(ctx, *key); err != nil {
				return err
			}
		}
		sel, err := tab.SelectedText(ctx, sels)
		if err != nil {
			return err
		}
		if sel.Masked {
			s.refuseFromTab(id, RefusedMaskedCopy)
			return nil
		}
		if err := conn.Send(clipboardMsg{Type: "clipboard", Text: sel.Text}); err != nil {
			return err
		}
		if cut && sel.Text != "" {
			return tab.DeleteSelection(ctx)
		}
		return nil
	}}
}

func (s *Session) input(p *participant, m stream.ClientMessage) {
	move := m.Type == "mouse" && m.Action == "move"
	if !s.admit(p, InputKind(m.Type), move) {
		return
	}
	g := &s.st.gesture
	var op injectOp
	switch m.Type {
	case "mouse":
		in := renderer.MouseInput{Action: m.Action, X: clamp01(m.X), Y: clamp01(m.Y), Button: m.Button,
			Buttons: m.Buttons, ClickCount: m.ClickCount, Modifiers: m.Modifiers}
		switch m.Action {
		case "down":
			g.buttons |= renderer.ButtonBit(m.Button)
		case "up":
			g.buttons &^= renderer.ButtonBit(m.Button)
		case "move":
		default:
			_ = p.conn.Send(errMsg("bad_message", "mouse action must be move, down or up"))
			return
		}
		op = injectOp{move: move, run: func(ctx context.Context, tab Tab) error { return tab.Mouse(ctx, in) }}
		p.pointer = &pointerMsg{Type: "pointer", Participant: p.id, X: in.X, Y: in.Y, Visible: true}
	case "wheel":
		in := renderer.WheelInput{X: clamp01(m.X), Y: clamp01(m.Y), DeltaX: m.DeltaX, DeltaY: m.DeltaY, Modifiers: m.Modifiers}
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.Wheel(ctx, in) }}
	case "key":
		in := renderer.KeyInput{Action: m.Action, Key: m.Key, Code: m.Code, Text: m.Text, KeyCode: m.KeyCode,
			Modifiers: m.Modifiers, Location: m.Location, Repeat: m.Repeat}
		if g.keys == nil {
			g.keys = map[string]bool{}
		}
		name := m.Code // the key can change between down and up (Shift), the code cannot
		if name == "" {
			name = m.Key
		}
		switch m.Action {
		case "down":
			g.keys[name] = true
		case "up":
			delete(g.keys, name)
		default:
			_ = p.conn.Send(errMsg("bad_message", "key action must be down or up"))
			return
		}
		switch cmd := renderer.EffectOf(in).Command; cmd {
		case "copy", "cut":
			op = s.copyOp(p, &in, cmd == "cut")
			op.run = s.maskedFocusGuard(p, InputKey, in, op.run)
		default:
			op = injectOp{run: s.maskedFocusGuard(p, InputKey, in, func(ctx context.Context, tab Tab) error { return tab.Key(ctx, in) })}
		}
	case "text":
		text := m.Text
		op = injectOp{run: s.maskedFocusGuard(p, InputText, renderer.KeyInput{}, func(ctx context.Context, tab Tab) error { return tab.InsertText(ctx, text) })}
	case "composition":
		text, a, b := m.Text, m.SelectionStart, m.SelectionEnd
		op = injectOp{run: s.maskedFocusGuard(p, InputComposition, renderer.KeyInput{}, func(ctx context.Context, tab Tab) error { return tab.Compose(ctx, text, a, b) })}
	case "touch":
		in := renderer.TouchInput{Action: m.Action, Modifiers: m.Modifiers}
		for _, t := range m.Touches {
			in.Touches = append(in.Touches, renderer.TouchPoint{ID: t.ID, X: clamp01(t.X), Y: clamp01(t.Y)})
		}
		g.touching = len(in.Touches) > 0 && (m.Action == "start" || m.Action == "move" || m.Action == "end")
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.Touch(ctx, in) }}
	case "copy":
		op = s.copyOp(p, nil, false)
	}
	op.read, op.kind = s.st.read, m.Type
	s.enqueue(op)
	s.settle()
}

func (s *Session) pointer(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputPointer, true) {
		return
	}
	visible := m.Visible == nil || *m.Visible
	p.pointer = &pointerMsg{Type: "pointer", Participant: p.id, X: clamp01(m.X), Y: clamp01(m.Y), Visible: visible}
	if !visible {
		s.flushPointers()
	}
}

// flushPointers relays the newest pointer of each participant: positions are coalesced,
// so a fast pointer costs at most one message per participant per tick.
func (s *Session) flushPointers() {
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.pointer == nil {
			continue
		}
		s.broadcastPointer(*p.pointer)
		p.pointer = nil
	}
}

func (s *Session) broadcastPointer(m pointerMsg) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.id != m.Participant && p.conn != nil && s.rules.For(p.role).View {
			_ = p.conn.SendText(b)
		}
	}
}

func (s *Session) navigate(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputNavigate, false) {
		return
	}
	var run func(context.Context, Tab) error
	switch {
	case m.Type == "navigate":
		u, err := ValidateURL(m.URL)
		if err != nil {
			_ = p.conn.Send(errMsg("invalid_url", err.Error()))
			return
		}
		run = func(ctx context.Context, tab Tab) error { return tab.Navigate(ctx, u) }
	case m.Action == "back":
		run = func(ctx context.Context, tab Tab) error { return tab.GoBack(ctx) }
	case m.Action == "forward":
		run = func(ctx context.Context, tab Tab) error { return tab.GoForward(ctx) }
	case m.Action == "reload":
		run = func(ctx context.Context, tab Tab) error { return tab.Reload(ctx) }
	default:
		_ = p.conn.Send(errMsg("bad_message", "history action must be back, forward or reload"))
		return
	}
	conn := p.conn
	s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error {
		// A page that cannot load is announced to everyone by the tab's NavigationFailed
		// event; other failures are the sender's alone.
		if err := run(ctx, tab); err != nil && !errors.Is(err, renderer.ErrNavigation) {
			_ = conn.Send(notice("error", "navigation_failed", "Navigation failed: "+err.Error()))
		}
		return nil
	}})
}

func (s *Session) answerDialog(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputDialog, false) {
		return
	}
	if s.st.dialog == nil || s.st.dialog.ID != m.ID {
		_ = p.conn.Send(errMsg("not_found", "that dialog is no longer open"))
		return
	}
	id, accept, text, tab := m.ID, m.Accept, m.PromptText, s.st.tab
	// Not through the inject queue: while a dialog is open the page is blocked, and input
	// queued before the answer would wait for it.
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		defer cancel()
		if err := tab.AnswerDialog(ctx, id, accept, text); err != nil {
			s.log.Debug("answer dialog", "err", err)
		}
	}()
}

// injectOp is one call into the tab, in order. Consecutive mouse moves are coalesced.
type injectOp struct {
	move bool
	run  func(ctx context.Context, tab Tab) error
	// read is when the participant's message was read, kind its type: the op's time to
	// Chromium is measured (tandem_input_inject_seconds).
	read time.Time
	kind string
}

func (s *Session) enqueue(op injectOp) {
	select {
	case s.inject <- op:
	default:
		s.st.refused[RefusedRate]++
		s.log.Warn("input queue full, event dropped")
	}
}

// injectLoop owns the calls into the tab, so that the session goroutine never waits on
// Chromium.
func (s *Session) injectLoop() {
	var next *injectOp
	for {
		var op injectOp
		if next != nil {
			op, next = *next, nil
		} else {
			select {
			case op = <-s.inject:
			case <-s.ctx.Done():
				return
			}
		}
		for op.move && next == nil {
			select {
			case n := <-s.inject:
				if n.move {
					op = n // a newer position replaces an older one not yet injected
				} else {
					next = &n
				}
				continue
			default:
			}
			break
		}
		ref := s.liveTab.Load()
		if ref == nil {
			continue // the tab is being recovered; input meanwhile is dropped
		}
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		err := op.run(ctx, ref.tab)
		if err != nil && s.ctx.Err() == nil {
			s.log.Debug("inject", "err", err)
		}
		cancel()
		if err == nil && !op.read.IsZero() {
			s.metrics.InputInject.WithLabelValues(op.kind).Observe(time.Since(op.read).Seconds())
		}
	}
}

func clamp01(v float64) float64 {
	switch {
	case v < 0 || v != v:
		return 0
	case v > 1:
		return 1
	}
	return v
}
