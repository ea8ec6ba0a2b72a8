package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/time/rate"

	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// Conn is what a session needs of a participant's connection; *stream.Conn implements it.
type Conn interface {
	SendFrame(f *stream.Frame)
	Send(v any) error
	SendText(b []byte) error
	Close(code int, byeCode, message string)
}

// Close codes and bye codes of docs/protocol.md.
const (
	CloseSessionEnded = 4000
	CloseUnauthorized = 4001
	CloseReplaced     = 4002
	CloseNotFound     = 4004
)

// Session tuning that tests may shorten.
const (
	resumeGrace     = 10 * time.Second // a dropped participant keeps its seat this long
	pointerInterval = 50 * time.Millisecond
	inputRate       = 200 // events a second per participant, mouse moves excluded
	inputBurst      = 400
	injectQueue     = 1024
)

// SessionParams are what a session is made of. Registry.Create fills them.
type SessionParams struct {
	ID       string
	Rules    Rules
	Tokens   map[Role]string // one token per role
	Links    map[Role]string // viewer link per role
	Tab      Tab
	StartURL string
	// Reopen opens a fresh tab in the session's own browser context when the tab is lost
	// (crash, hang, or Chromium restarting); the session then loads its last URL there.
	Reopen        func(ctx context.Context) (Tab, error)
	IdleTimeout   time.Duration // the session ends after this long with nobody connected
	CallTimeout   time.Duration // bound of every call into the tab
	ProbeInterval time.Duration // how often the tab's liveness is probed; 0 = 5 s
	JPEGQuality   int           // of masked pictures; 0 = 80
	Logger        *slog.Logger
	Metrics       *metrics.Metrics
	Audit         *Audit
	OnEnd         func(id string)
	Now           func() time.Time
}

// Session is one co-browse session: its participants, rules, control state and tab.
// All mutable state is owned by the goroutine of run; everything else reaches it
// through exec.
type Session struct {
	id        string
	createdAt time.Time
	rules     Rules
	tokens    map[Role]string
	links     map[Role]string
	log       *slog.Logger
	params    SessionParams
	metrics   *metrics.Metrics
	audit     *Audit

	// liveTab is the tab input goes to; nil while it is being recovered. The session's
	// goroutine sets it, the inject loop reads it.
	liveTab atomic.Pointer[tabRef]

	inbox  chan func()
	inject chan injectOp
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	st state // owned by run
}

type tabRef struct{ tab Tab }

type state struct {
	tab          Tab // nil while recovering
	frames       <-chan renderer.Frame
	events       <-chan renderer.Event
	tabDone      <-chan struct{}
	recovering   bool
	probing      bool
	probeFails   int
	participants map[ParticipantID]*participant
	order        []ParticipantID
	joined       int
	roleCount    map[Role]int
	control      Control
	page         renderer.PageState
	seq          uint64          // of the newest frame, across tabs
	lastRaw      *renderer.Frame // the newest frame, for joiners' first picture
	plain        *stream.Frame   // the newest frame prepared for the unmasked audience
	plainSeq     uint64
	audiences    map[audienceID]*audience
	prevURL      string
	urlChangedAt time.Time
	dialog       *renderer.DialogOpened
	refused      map[Refusal]int
	idle         *time.Timer
	gesture      gesture
	ended        bool
}

// gesture is what the controller holds down in the tab, from the input we injected.
type gesture struct {
	buttons  int
	keys     map[string]bool
	touching bool
}

func (g gesture) active() bool { return g.buttons != 0 || len(g.keys) > 0 || g.touching }

type participant struct {
	id          ParticipantID
	name        string
	role        Role
	color       string
	resumeToken string
	conn        Conn // nil while disconnected
	gen         int  // bumped on every (re)connect, so stale grace timers do nothing
	viewport    *stream.Viewport
	limiter     *rate.Limiter
	told        map[Refusal]bool
	pointer     *pointerMsg // newest pointer not yet relayed
}

var palette = []string{"#e5484d", "#0b7ad1", "#30a46c", "#f76b15", "#8e4ec6", "#d6409f", "#12a594", "#ad7f58"}

// NewSession starts the session's goroutines; they end with End or ctx.
func NewSession(ctx context.Context, p SessionParams) *Session {
	if p.Logger == nil {
		p.Logger = slog.Default()
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.CallTimeout <= 0 {
		p.CallTimeout = 10 * time.Second
	}
	if p.ProbeInterval <= 0 {
		p.ProbeInterval = 5 * time.Second
	}
	if p.JPEGQuality <= 0 {
		p.JPEGQuality = 80
	}
	if p.Metrics == nil {
		p.Metrics = metrics.NewUnregistered()
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &Session{
		id:        p.ID,
		createdAt: p.Now().UTC(),
		rules:     p.Rules,
		tokens:    p.Tokens,
		links:     p.Links,
		log:       p.Logger.With("session", p.ID),
		params:    p,
		metrics:   p.Metrics,
		audit:     p.Audit,
		inbox:     make(chan func(), 256),
		inject:    make(chan injectOp, injectQueue),
		ctx:       ctx,
		cancel:    cancel,
		done:      make(chan struct{}),
		st: state{
			participants: map[ParticipantID]*participant{},
			audiences:    map[audienceID]*audience{},
			roleCount:    map[Role]int{},
			refused:      map[Refusal]int{},
		},
	}
	s.useTab(p.Tab)
	s.metrics.Sessions.Inc()
	go s.run()
	go s.injectLoop()
	return s
}

// useTab makes tab the session's tab. Run on the session's goroutine (or before it starts).
func (s *Session) useTab(tab Tab) {
	s.st.tab = tab
	s.st.frames, s.st.events, s.st.tabDone = tab.Frames(), tab.Events(), tab.Done()
	s.st.recovering, s.st.probeFails = false, 0
	s.liveTab.Store(&tabRef{tab: tab})
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

// Authenticate returns the role whose token this is. Tokens never change, so no lock.
func (s *Session) Authenticate(token string) (Role, bool) {
	found := Role("")
	for _, r := range Roles {
		// Compare against every role so the time taken does not tell which one matched.
		if secretEqual(token, s.tokens[r]) {
			found = r
		}
	}
	return found, found != ""
}

// exec runs fn on the session's goroutine.
func (s *Session) exec(fn func()) error {
	select {
	case s.inbox <- fn:
		return nil
	case <-s.done:
		return ErrSessionEnded
	}
}

// call runs fn on the session's goroutine and waits for it.
func (s *Session) call(fn func()) error {
	finished := make(chan struct{})
	if err := s.exec(func() { fn(); close(finished) }); err != nil {
		return err
	}
	select {
	case <-finished:
		return nil
	case <-s.done:
		return ErrSessionEnded
	}
}

func (s *Session) run() {
	defer close(s.done)
	tick := time.NewTicker(pointerInterval)
	defer tick.Stop()
	probe := time.NewTicker(s.params.ProbeInterval)
	defer probe.Stop()
	s.armIdle()
	for {
		var idle <-chan time.Time
		if s.st.idle != nil {
			idle = s.st.idle.C
		}
		select {
		case fn := <-s.inbox:
			fn()
		case f, ok := <-s.st.frames:
			if !ok {
				s.st.frames = nil // the tab is going; Done follows
				continue
			}
			s.onFrame(f)
		case ev, ok := <-s.st.events:
			if !ok {
				s.st.events = nil
				continue
			}
			s.onEvent(ev)
		case <-s.st.tabDone:
			s.log.Warn("tab lost; recovering")
			s.recoverTab("The page's browser stopped.")
		case <-probe.C:
			s.probe()
		case <-tick.C:
			s.flushPointers()
			s.settle()
		case <-idle:
			s.log.Info("session idle, ending")
			s.finish("The session ended after a time with nobody in it.")
		case <-s.ctx.Done():
			s.finish("The server is shutting down.")
		}
		if s.st.ended {
			return
		}
	}
}

// End ends the session: everyone is told, the tab and its browser context go away.
func (s *Session) End(reason string) {
	_ = s.call(func() { s.finish(reason) })
	<-s.done
}

func (s *Session) finish(reason string) {
	if s.st.ended {
		return
	}
	s.st.ended = true
	for _, p := range s.st.participants {
		if p.conn != nil {
			p.conn.Close(CloseSessionEnded, "session_ended", reason)
		}
	}
	s.cancel()
	if s.st.tab != nil {
		if err := s.st.tab.Close(); err != nil {
			s.log.Warn("closing tab", "err", err)
		}
	}
	for _, p := range s.st.participants {
		if p.conn != nil {
			s.metrics.Participants.WithLabelValues(string(p.role)).Dec()
		}
	}
	s.metrics.Sessions.Dec()
	if s.params.OnEnd != nil {
		s.params.OnEnd(s.id)
	}
	s.audit.Record("session_ended", s.id, slog.String("reason", reason))
	s.log.Info("session ended", "reason", reason)
}

// probe checks, off the session's goroutine, that the tab still runs script: a renderer
// can hang or die without a crash event. Two failures in a row count as a lost tab.
func (s *Session) probe() {
	if s.st.probing || s.st.recovering || s.st.tab == nil || s.st.dialog != nil {
		return // a page showing a dialog cannot run script, and is not hung
	}
	s.st.probing = true
	tab := s.st.tab
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.ProbeInterval)
		err := tab.Alive(ctx)
		cancel()
		_ = s.exec(func() {
			s.st.probing = false
			if tab != s.st.tab || s.st.dialog != nil {
				return
			}
			if err == nil {
				s.st.probeFails = 0
				return
			}
			s.st.probeFails++
			s.log.Warn("tab liveness probe failed", "err", err, "failures", s.st.probeFails)
			if s.st.probeFails >= 2 {
				s.recoverTab("The page stopped responding.")
			}
		})
	}()
}

// recoverTab replaces a lost tab with a fresh one at the last URL. Participants stay
// connected and see a notice; input meanwhile is dropped.
func (s *Session) recoverTab(why string) {
	if s.st.recovering || s.st.ended {
		return
	}
	old := s.st.tab
	s.st.recovering = true
	s.st.tab, s.st.frames, s.st.events, s.st.tabDone = nil, nil, nil, nil
	s.st.dialog = nil
	s.liveTab.Store(nil)
	url := s.st.page.URL
	if _, err := ValidateURL(url); err != nil {
		url = s.params.StartURL
	}
	s.broadcast(notice("warning", "tab_recovering", why+" Reopening "+url+"…"))
	s.audit.Record("tab_lost", s.id, slog.String("reason", why), slog.String("url", url))
	go func() {
		if old != nil {
			_ = old.Close()
		}
		tab, err := s.reopen(url)
		_ = s.exec(func() {
			if err != nil {
				s.finish("The page could not be recovered: " + err.Error())
				return
			}
			if s.st.ended {
				_ = tab.Close()
				return
			}
			s.useTab(tab)
			s.metrics.CrashesRecovered.Inc()
			s.audit.Record("tab_recovered", s.id, slog.String("url", url))
			s.broadcast(notice("info", "tab_recovered", "The page was recovered."))
			if c := s.st.participants[s.st.control.Controller]; c != nil {
				s.applyViewport(c)
			}
		})
	}()
}

// reopen opens a fresh tab at url, retrying while Chromium restarts, for up to a minute.
func (s *Session) reopen(url string) (Tab, error) {
	if s.params.Reopen == nil {
		return nil, errors.New("no way to reopen the tab")
	}
	deadline := time.Now().Add(time.Minute)
	backoff := 250 * time.Millisecond
	for {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		tab, err := s.params.Reopen(ctx)
		if err == nil {
			err = tab.Navigate(ctx, url)
			if err != nil && !errors.Is(err, renderer.ErrNavigation) {
				_ = tab.Close()
			} else {
				err = nil // a page that fails to load is shown as such, in a live tab
			}
		}
		cancel()
		if err == nil {
			return tab, nil
		}
		if s.ctx.Err() != nil || time.Now().After(deadline) {
			return nil, err
		}
		s.log.Warn("reopening tab", "err", err, "retry_in", backoff)
		select {
		case <-time.After(backoff):
		case <-s.ctx.Done():
			return nil, s.ctx.Err()
		}
		backoff = min(backoff*2, 4*time.Second)
	}
}

// Join adds a participant (or resumes one) on conn after its hello was authenticated as
// role. It returns the participant's id for Handle and Leave.
func (s *Session) Join(conn Conn, role Role, hello stream.ClientMessage) (ParticipantID, error) {
	var id ParticipantID
	err := s.call(func() { id = s.join(conn, role, hello) })
	return id, err
}

func (s *Session) join(conn Conn, role Role, hello stream.ClientMessage) ParticipantID {
	p := s.resumable(role, hello.Resume)
	resumed := p != nil
	if p != nil {
		if p.conn != nil {
			p.conn.Close(CloseReplaced, "replaced", "You joined this session from another window.")
		} else {
			s.metrics.Participants.WithLabelValues(string(role)).Inc()
		}
	} else {
		s.metrics.Participants.WithLabelValues(string(role)).Inc()
		s.st.joined++
		s.st.roleCount[role]++
		p = &participant{
			id:          ParticipantID("p" + itoa(s.st.joined)),
			name:        displayName(hello.Name, role, s.st.roleCount[role]),
			role:        role,
			color:       palette[(s.st.joined-1)%len(palette)],
			resumeToken: newSecret(24),
			limiter:     rate.NewLimiter(inputRate, inputBurst),
			told:        map[Refusal]bool{},
		}
		s.st.participants[p.id] = p
		s.st.order = append(s.st.order, p.id)
	}
	p.conn = conn
	p.gen++
	if hello.Viewport != nil {
		vp := *hello.Viewport
		p.viewport = &vp
	}
	s.disarmIdle()
	s.log.Info("participant joined", "participant", p.id, "role", role)
	s.audit.Record("participant_joined", s.id, slog.String("participant", string(p.id)), slog.String("role", string(role)),
		slog.String("name", p.name), slog.Bool("resumed", resumed))

	w := welcomeMsg{
		Type:        "welcome",
		Participant: s.info(p),
		ResumeToken: p.resumeToken,
		Rules:       s.rules.For(role),
		Session:     sessionRef{ID: s.id, CreatedAt: s.createdAt},
	}
	if role == RoleHost {
		w.Links = map[Role]string{RoleAgent: s.links[RoleAgent], RoleGuest: s.links[RoleGuest]}
	}
	_ = conn.Send(w)

	// The host lands holding control when nobody else has it.
	if role == RoleHost && s.st.control.Controller == "" {
		s.applyControl(ControlOp{Action: ControlRequest, Actor: p.id, Now: s.now()})
	} else if s.st.control.Controller == p.id {
		s.applyViewport(p)
	}
	s.broadcastState()
	if s.st.dialog != nil {
		_ = conn.Send(dialogFor(s.st.dialog))
	}
	if s.rules.For(role).View {
		s.firstFrame(p)
	}
	return p.id
}

// resumable finds the participant a reconnect takes over: the one whose resume token it
// presents, or for the host (there is one) the existing host.
func (s *Session) resumable(role Role, resume string) *participant {
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.role != role {
			continue
		}
		if resume != "" && secretEqual(resume, p.resumeToken) {
			return p
		}
	}
	if role == RoleHost {
		for _, id := range s.st.order {
			if p := s.st.participants[id]; p.role == RoleHost {
				return p
			}
		}
	}
	return nil
}

// Leave is called when conn of participant id has closed.
func (s *Session) Leave(id ParticipantID, conn Conn) {
	_ = s.exec(func() {
		p := s.st.participants[id]
		if p == nil || p.conn != conn {
			return // replaced by a newer connection
		}
		p.conn = nil
		gen := p.gen
		s.metrics.Participants.WithLabelValues(string(p.role)).Dec()
		s.log.Info("participant disconnected", "participant", id)
		s.broadcastPointer(pointerMsg{Type: "pointer", Participant: id, Visible: false})
		s.broadcastState()
		time.AfterFunc(resumeGrace, func() {
			_ = s.exec(func() {
				if p := s.st.participants[id]; p != nil && p.conn == nil && p.gen == gen {
					s.remove(p)
				}
			})
		})
		if s.connected() == 0 {
			s.armIdle()
		}
	})
}

func (s *Session) remove(p *participant) {
	s.applyControl(ControlOp{Action: ControlLeave, Actor: p.id, Now: s.now()})
	delete(s.st.participants, p.id)
	for i, id := range s.st.order {
		if id == p.id {
			s.st.order = append(s.st.order[:i], s.st.order[i+1:]...)
			break
		}
	}
	s.log.Info("participant left", "participant", p.id)
	s.audit.Record("participant_left", s.id, slog.String("participant", string(p.id)), slog.String("role", string(p.role)))
	s.broadcastState()
}

func (s *Session) connected() int {
	n := 0
	for _, p := range s.st.participants {
		if p.conn != nil {
			n++
		}
	}
	return n
}

func (s *Session) armIdle() {
	if s.st.idle == nil && s.params.IdleTimeout > 0 {
		s.st.idle = time.NewTimer(s.params.IdleTimeout)
	}
}

func (s *Session) disarmIdle() {
	if s.st.idle != nil {
		s.st.idle.Stop()
		s.st.idle = nil
	}
}

func (s *Session) now() time.Time { return s.params.Now() }

// Handle takes one message of participant id's connection conn.
func (s *Session) Handle(id ParticipantID, conn Conn, m stream.ClientMessage) {
	_ = s.exec(func() {
		p := s.st.participants[id]
		if p == nil || p.conn != conn {
			return
		}
		s.handle(p, m)
	})
}

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
	case "navigate", "history":
		s.navigate(p, m)
	case "dialog":
		s.answerDialog(p, m)
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

// focusMasked reports whether the tab's focused element is masked from role.
func (s *Session) focusMasked(role Role) bool {
	sel := s.rules.For(role).MaskSelectors()
	if len(sel) == 0 || s.st.tab == nil {
		return false
	}
	for _, f := range s.st.tab.FocusedMatches() {
		for _, m := range sel {
			if f == m {
				return true
			}
		}
	}
	return false
}

func (s *Session) actor(p *participant) Actor {
	return Actor{ID: p.id, Role: p.role, Rules: s.rules.For(p.role)}
}

// admit runs the gate; a refusal is counted and told to the sender once per reason.
func (s *Session) admit(p *participant, kind InputKind, key string, coalesced bool) bool {
	within := coalesced || p.limiter.Allow()
	verdict := Judge(s.actor(p), s.st.control.Controller, kind, within)
	if verdict == Accepted {
		verdict = JudgeMaskedFocus(kind, key, s.focusMasked(p.role))
	}
	if verdict == Accepted {
		if kind != InputPointer {
			s.metrics.InputAccepted.WithLabelValues(string(kind)).Inc()
		}
		return true
	}
	s.st.refused[verdict]++
	s.metrics.InputRefused.WithLabelValues(string(verdict)).Inc()
	if !p.told[verdict] {
		p.told[verdict] = true
		n := notice("warning", "input_refused", verdict.Message())
		n.Reason = verdict
		_ = p.conn.Send(n)
	}
	return false
}

func (s *Session) input(p *participant, m stream.ClientMessage) {
	move := m.Type == "mouse" && m.Action == "move"
	if !s.admit(p, InputKind(m.Type), m.Key, move) {
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
			g.buttons |= buttonBit(m.Button)
		case "up":
			g.buttons &^= buttonBit(m.Button)
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
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.Key(ctx, in) }}
	case "text":
		text := m.Text
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.InsertText(ctx, text) }}
	case "composition":
		text, a, b := m.Text, m.SelectionStart, m.SelectionEnd
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.Compose(ctx, text, a, b) }}
	case "touch":
		in := renderer.TouchInput{Action: m.Action, Modifiers: m.Modifiers}
		for _, t := range m.Touches {
			in.Touches = append(in.Touches, renderer.TouchPoint{ID: t.ID, X: clamp01(t.X), Y: clamp01(t.Y)})
		}
		g.touching = len(in.Touches) > 0 && (m.Action == "start" || m.Action == "move" || m.Action == "end")
		op = injectOp{run: func(ctx context.Context, tab Tab) error { return tab.Touch(ctx, in) }}
	case "copy":
		conn := p.conn
		op = injectOp{run: func(ctx context.Context, tab Tab) error {
			text, err := tab.SelectedText(ctx)
			if err != nil {
				return err
			}
			return conn.Send(clipboardMsg{Type: "clipboard", Text: text})
		}}
	}
	s.enqueue(op)
	s.settle()
}

func (s *Session) pointer(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputPointer, "", true) {
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
	if len(s.rules.maskUnion()) > 0 {
		// Mobile emulation shrinks a page without a viewport meta tag to fit (a page scale
		// below 1), and the mask boxes cannot be placed then: masked viewers would get no
		// picture. A phone-sized desktop layout, with touch, keeps the scale at 1.
		vp.Mobile = false
	}
	s.enqueue(injectOp{run: func(ctx context.Context, tab Tab) error { return tab.SetViewport(ctx, vp) }})
}

func (s *Session) navigate(p *participant, m stream.ClientMessage) {
	if !s.admit(p, InputNavigate, "", false) {
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
	if !s.admit(p, InputDialog, "", false) {
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

func (s *Session) onFrame(f renderer.Frame) {
	s.metrics.FramesProduced.Inc()
	// The session numbers its frames itself: a recovered tab counts from 1 again, and
	// viewers drop a frame whose number is not above the last one's.
	s.st.seq++
	f.Seq = s.st.seq
	s.drainEvents() // judge the frame by the newest page state
	s.st.lastRaw = &f
	served := map[audienceID]bool{}
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.conn == nil || !s.rules.For(p.role).View {
			continue
		}
		if aud := s.audienceOf(p.role); !served[aud] {
			served[aud] = true
			s.serve(aud, f)
		}
	}
}

// firstFrame gives a joiner its audience's newest picture at once, and a picture of the
// newest frame if the audience has none of it yet (nobody of it was watching).
func (s *Session) firstFrame(p *participant) {
	id := s.audienceOf(p.role)
	a := s.audience(id)
	if a.last != nil {
		p.conn.SendFrame(a.last)
	}
	if s.st.lastRaw != nil && (a.last == nil || a.lastSeq < s.st.lastRaw.Seq) {
		s.serve(id, *s.st.lastRaw)
	}
}

// drainEvents handles the tab's pending events.
func (s *Session) drainEvents() {
	for {
		select {
		case ev, ok := <-s.st.events:
			if !ok {
				s.st.events = nil
				return
			}
			s.onEvent(ev)
		default:
			return
		}
	}
}

func (s *Session) onEvent(ev renderer.Event) {
	switch ev := ev.(type) {
	case renderer.PageState:
		if ev.URL != s.st.page.URL {
			s.st.prevURL, s.st.urlChangedAt = s.st.page.URL, s.now()
		}
		s.st.page = ev
		s.broadcastState()
	case renderer.DialogOpened:
		s.st.dialog = &ev
		s.broadcast(dialogFor(&ev))
	case renderer.DialogClosed:
		s.st.dialog = nil
		s.broadcast(dialogClosedMsg{Type: "dialog_closed", ID: ev.ID, Result: ev.Result})
	case renderer.DownloadRefused:
		name := ev.Filename
		if name == "" {
			name = "a file"
		}
		s.broadcast(notice("warning", "download_refused", "The page tried to download "+name+"; downloads are not allowed in a co-browse session."))
	case renderer.PopupOpened:
		s.broadcast(notice("info", "popup_opened", "A new window opened; it is shown in this tab."))
	case renderer.TabRecovered:
		s.broadcast(notice("warning", "tab_recovered", "The page crashed and was reloaded."))
	case renderer.NavigationBlocked:
		s.metrics.NavigationsBlocked.Inc()
		s.audit.Record("navigation_refused", s.id, slog.String("url", ev.URL), slog.String("reason", ev.Reason))
		s.broadcast(notice("warning", "navigation_blocked", "Blocked "+ev.URL+": "+ev.Reason))
	case renderer.NavigationFailed:
		s.broadcast(notice("error", "navigation_failed", "Could not load "+ev.URL+": "+ev.Reason))
	}
}

func dialogFor(d *renderer.DialogOpened) dialogMsg {
	return dialogMsg{Type: "dialog", ID: d.ID, Kind: d.Kind, Message: d.Message, DefaultPrompt: d.DefaultPrompt, ExpiresAt: d.ExpiresAt}
}

func (s *Session) broadcast(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		s.log.Error("encoding message", "err", err)
		return
	}
	for _, id := range s.st.order {
		if p := s.st.participants[id]; p.conn != nil {
			_ = p.conn.SendText(b)
		}
	}
}

// broadcastState tells everyone the session's state. A role the current page is hidden
// from does not learn its address or title either.
func (s *Session) broadcastState() {
	if s.st.ended {
		return
	}
	m := s.stateMsg()
	full, err := json.Marshal(m)
	if err != nil {
		return
	}
	var masked []byte
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.conn == nil {
			continue
		}
		if !s.pageHidden(s.rules.For(p.role)) {
			_ = p.conn.SendText(full)
			continue
		}
		if masked == nil {
			h := m
			h.URL, h.Title = "", "Hidden page"
			h.Tabs = []tabInfo{{ID: "t1", Title: h.Title, Active: true}}
			masked, _ = json.Marshal(h)
		}
		_ = p.conn.SendText(masked)
	}
}

func (s *Session) stateMsg() stateMsg {
	m := stateMsg{
		Type: "state", URL: s.st.page.URL, Title: s.st.page.Title,
		CanGoBack: s.st.page.CanGoBack, CanGoForward: s.st.page.CanGoForward, Loading: s.st.page.Loading,
		Participants:    []participantInfo{},
		Requests:        append([]Request{}, s.st.control.Requests...),
		PendingTransfer: s.st.control.Pending,
		Tabs:            []tabInfo{{ID: "t1", URL: s.st.page.URL, Title: s.st.page.Title, Active: true}},
	}
	if c := s.st.control.Controller; c != "" {
		m.Controller = &c
	}
	for _, id := range s.st.order {
		m.Participants = append(m.Participants, s.info(s.st.participants[id]))
	}
	return m
}

func (s *Session) info(p *participant) participantInfo {
	return participantInfo{ID: p.id, Name: p.name, Role: p.role, Color: p.color, Connected: p.conn != nil,
		Priority: s.rules.For(p.role).Priority}
}

// Info is the session as the REST API shows it.
type Info struct {
	ID           string            `json:"id"`
	URL          string            `json:"url"`
	Title        string            `json:"title"`
	CreatedAt    time.Time         `json:"createdAt"`
	Controller   *ParticipantID    `json:"controller"`
	Participants []participantInfo `json:"participants"`
	Requests     []Request         `json:"requests"`
	Rules        Rules             `json:"rules"`
	InputRefused map[Refusal]int   `json:"inputRefused"`
}

// Info returns a snapshot of the session.
func (s *Session) Info() (Info, error) {
	var info Info
	err := s.call(func() {
		st := s.stateMsg()
		info = Info{ID: s.id, URL: st.URL, Title: st.Title, CreatedAt: s.createdAt, Controller: st.Controller,
			Participants: st.Participants, Requests: st.Requests, Rules: s.rules, InputRefused: map[Refusal]int{}}
		for k, v := range s.st.refused {
			info.InputRefused[k] = v
		}
	})
	return info, err
}

// injectOp is one call into the tab, in order. Consecutive mouse moves are coalesced.
type injectOp struct {
	move bool
	run  func(ctx context.Context, tab Tab) error
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
		if err := op.run(ctx, ref.tab); err != nil && s.ctx.Err() == nil {
			s.log.Debug("inject", "err", err)
		}
		cancel()
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

func buttonBit(b string) int {
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

// displayName cleans a participant's chosen name, or makes one from the role.
func displayName(name string, role Role, n int) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	if r := []rune(name); len(r) > 40 {
		name = string(r[:40])
	}
	if name != "" {
		return name
	}
	title := strings.ToUpper(string(role[:1])) + string(role[1:])
	if role == RoleHost {
		return title
	}
	return title + " " + itoa(n)
}
