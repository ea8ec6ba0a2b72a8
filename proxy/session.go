package proxy

import (
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"golang.org/x/time/rate"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/dom"
	"github.com/tandem-cobrowse/tandem/help"
	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// Conn is what a session needs of a participant's connection; *stream.Conn implements it.
type Conn interface {
	// SendFrame puts f in the viewer's frame slot; it reports whether it replaced one
	// not yet written (the viewer skips it).
	SendFrame(f *stream.Frame) bool
	Send(v any) error
	SendText(b []byte) error
	// SendLatest sends a message that the next one makes obsolete (state): a slow client
	// skips to the newest, and is not closed for it.
	SendLatest(b []byte)
	Close(code int, byeCode, message string)
}

// SharedTextConn is a Conn that can receive text together with other participants', as
// one message: a relay to another node sends the copy of the page that many of the
// session's participants there get alike once, not once per participant.
type SharedTextConn interface {
	// SharedKey names the connections that can share a message ("" for none), and this
	// one among them.
	SharedKey() (key, member string)
	// SendShared sends b to members, all of this connection's key, as one message.
	SendShared(members []string, b []byte)
}

// AudienceConn is a Conn that is told which audience each picture is for: a relay to
// another node publishes each audience's picture once, whoever watches it there.
type AudienceConn interface {
	SendAudienceFrame(audience string, f *stream.Frame) bool
}

// sendFrame hands f, a picture for audience id, to conn.
func sendFrame(conn Conn, id audienceID, f *stream.Frame) bool {
	if ac, ok := conn.(AudienceConn); ok {
		return ac.SendAudienceFrame(id.key(), f)
	}
	return conn.SendFrame(f)
}

// Close codes and bye codes of docs/protocol.md.
const (
	CloseSessionEnded = 4000
	CloseUnauthorized = 4001
	CloseReplaced     = 4002
	CloseNotFound     = 4004
	// CloseMoved: the session goes on on another node; the client reconnects.
	CloseMoved = 1012
)

// Session tuning that tests may shorten.
const (
	resumeGrace     = 10 * time.Second // a dropped participant keeps its seat this long
	pointerInterval = 50 * time.Millisecond
	inputRate       = 200 // events a second per participant, mouse moves excluded
	inputBurst      = 400
	injectQueue     = 1024
	// retellAfter: a refusal is told once per burst, and again when it happens after this
	// long, so a participant who keeps trying is not left guessing.
	retellAfter = 10 * time.Second
)

// SessionParams are what a session is made of. Registry.Create fills them.
type SessionParams struct {
	ID       string
	Rules    Rules
	Tokens   map[Role]string // one token per role
	Links    map[Role]string // viewer link per role
	LinkBase string          // scheme://host of viewer links
	// JoinCode is the session's current join code and its expiry ("" when none).
	JoinCode func() (string, time.Time)
	// Site is the provider site the session was started from ("" for none).
	Site string
	// ViewConsentOnHelp: the site counts the visitor's asking for help as consent to be
	// seen by the agent who accepts the request.
	ViewConsentOnHelp bool
	Tab               Tab
	StartURL          string
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
	// Call is the SFU the session's call uses; nil turns calls off unless LiveKit is set.
	Call *call.SFU
	// LiveKit carries the session's call instead of Call, when set.
	LiveKit *call.LiveKit
	// Recordings is where the session's recordings go; nil turns recording off.
	Recordings *recording.Store
	// Handoff: the session started with the visitor's handed-over sign-in state.
	Handoff bool
	// OnSnapshot, if set, is given the session's Snapshot as JSON whenever it changes
	// (on the session's goroutine: it must not block).
	OnSnapshot func([]byte)
	// Restored brings back a session whose node was lost: its participants, seats and
	// control. Tokens then holds fresh tokens for new links; the old ones still admit.
	Restored *Snapshot
}

// Session is one co-browse session: its participants, rules, control state and tab.
// All mutable state is owned by the goroutine of run; everything else reaches it
// through exec.
type Session struct {
	id        string
	createdAt time.Time
	rules     Rules
	// tokenHashes admit each role: its token's hash, and the hashes of the tokens a
	// session brought back had before (session_snapshot.go).
	tokenHashes map[Role][]string
	restores    int  // times the session was brought back on another node
	handover    bool // brought back because its node handed it over
	links       map[Role]string
	log         *slog.Logger
	params      SessionParams
	metrics     *metrics.Metrics
	audit       *Audit
	assets      *dom.AssetRegistry // the session's asset paths for Page mode
	assetCap    string             // the unguessable part of those paths
	uploads     uploadStore        // files given to the page (session_files.go)

	seatsMu sync.Mutex
	seats   map[string]Credential // by seatKey of their token

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
	fanStart     int // where in order the last frame's fan-out began, see deliver
	joined       int
	roleCount    map[Role]int
	control      Control
	page         renderer.PageState
	seq          uint64          // of the newest frame, across tabs
	lastRaw      *renderer.Frame // the newest frame, for joiners' first picture
	plain        *stream.Frame   // the newest frame prepared for the unmasked audience
	plainSeq     uint64
	audiences    map[audienceID]*audience
	refusals     map[string]*refusal // by host, see session_egress.go
	prevURL      string
	urlChangedAt time.Time
	dialog       *renderer.DialogOpened
	picker       *renderer.PickerOpened // the open select list, field picker or menu (session_picker.go)
	dom          domState
	refused      map[Refusal]int
	idle         *time.Timer
	gesture      gesture
	ended        bool
	stateDirty   bool // the state changed since it was last sent
	stateSentAt  time.Time
	lastFrameAt  time.Time         // of the newest picture
	lastStillAt  time.Time         // of the newest "still" message
	pace         pacer             // fan-out pacing of big audiences (pacing.go)
	read         time.Time         // when the message being handled was read
	call         callState         // the session's call (session_call.go)
	rec          *sessionRecording // the recording under way (session_record.go)
	lastSnapshot []byte            // the newest snapshot shared (session_snapshot.go)
	moved        bool              // ended here to go on on another node

	chooser *fileChooser // the page's open file chooser (session_files.go)
	chat    chatLog      // the session's chat (session_chat.go)
	drawn   int          // drawings ever relayed, for ids (session_draw.go)
}

// gesture is what the controller holds down in the tab, from the input we injected.
type gesture struct {
	buttons  int64
	keys     map[string]bool
	touching bool
}

func (g gesture) active() bool { return g.buttons != 0 || len(g.keys) > 0 || g.touching }

type participant struct {
	id           ParticipantID
	name         string
	role         Role
	color        string
	resumeToken  string // "" for a participant brought back until it resumes
	resumeHash   string // seatKey of resumeToken: what a session brought back knows
	restored     bool   // brought back from a snapshot (session_snapshot.go)
	toldRestored bool
	conn         Conn // nil while disconnected
	gen          int  // bumped on every (re)connect, so stale grace timers do nothing
	viewport     *stream.Viewport
	limiter      *rate.Limiter
	chatLimit    *rate.Limiter         // chat messages; made on the first (session_chat.go)
	drawLimit    *rate.Limiter         // drawings; made on the first (session_draw.go)
	told         map[Refusal]time.Time // when each refusal was last told
	mode         string                // ModeDOM or ModePixels
	domGen       uint64                // the DOM snapshot generation its copy has; 0: none
	pointer      *pointerMsg           // newest pointer not yet relayed
	// waiting: the host has not yet let this participant see the page. Its connection
	// is parked in waitConn (conn stays nil, so nothing of the page reaches it) with the
	// hello it joined with.
	waiting   bool
	waitConn  Conn
	waitHello stream.ClientMessage
	waitSince time.Time
	seat      string // the seat it joined by, "" for a role's link
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
		id:          p.ID,
		createdAt:   p.Now().UTC(),
		rules:       p.Rules,
		links:       p.Links,
		log:         p.Logger.With("session", p.ID),
		params:      p,
		metrics:     p.Metrics,
		audit:       p.Audit,
		inbox:       make(chan func(), 256),
		inject:      make(chan injectOp, injectQueue),
		ctx:         ctx,
		cancel:      cancel,
		done:        make(chan struct{}),
		seats:       map[string]Credential{},
		tokenHashes: map[Role][]string{},
		st: state{
			participants: map[ParticipantID]*participant{},
			audiences:    map[audienceID]*audience{},
			roleCount:    map[Role]int{},
			refused:      map[Refusal]int{},
			call:         callState{members: map[ParticipantID]callMember{}},
		},
	}
	for role, tok := range p.Tokens {
		s.tokenHashes[role] = []string{seatKey(tok)}
	}
	if p.Restored != nil {
		s.restore(p.Restored)
	}
	s.assetCap = newSecret(18)
	s.assets = dom.NewAssetRegistry(AssetPrefix(p.ID, s.assetCap), []byte(newSecret(32)))
	s.useTab(p.Tab)
	s.metrics.Sessions.Inc()
	go s.run()
	go s.injectLoop()
	return s
}

// ID returns the session id.
func (s *Session) ID() string { return s.id }

// Done is closed when the session has ended.
func (s *Session) Done() <-chan struct{} { return s.done }

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
		case m := <-s.st.dom.in:
			s.onDOM(m)
		case <-s.st.tabDone:
			s.log.Warn("tab lost; recovering")
			s.recoverTab("The page's browser stopped.")
		case <-probe.C:
			s.probe()
		case <-s.st.pace.due():
			if f := s.st.pace.release(); f != nil {
				s.serveFrame(*f)
			}
		case <-tick.C:
			s.st.pace.adapt(s.now())
			s.flushRecording()
			s.flushPointers()
			s.settle()
			s.flushState()
			s.keepAlive()
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
	s.st.pace.stop()
	s.endCall()
	s.stopRecording("the session ended")
	code, bye := CloseSessionEnded, "session_ended"
	if s.st.moved {
		code, bye = CloseMoved, "session_moved" // not a stop: the viewers reconnect
	}
	for _, p := range s.st.participants {
		if p.conn != nil {
			p.conn.Close(code, bye, reason)
		}
		if p.waitConn != nil {
			p.waitConn.Close(code, bye, reason)
		}
	}
	s.cancel()
	if s.st.tab != nil {
		if err := s.st.tab.Close(); err != nil {
			s.log.Warn("closing tab", "err", err)
		}
	}
	if err := s.uploads.close(); err != nil {
		s.log.Warn("removing uploaded files", "err", err)
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

// Join adds a participant (or resumes one) on conn after its hello was authenticated as
// cred. It returns the participant's id for Handle and Leave. A participant whose role
// needs the host's consent to view waits, seeing nothing of the page, until the host
// answers (see consent.go).
func (s *Session) Join(conn Conn, cred Credential, hello stream.ClientMessage) (ParticipantID, error) {
	var id ParticipantID
	err := s.call(func() { id = s.join(conn, cred, hello) })
	return id, err
}

func (s *Session) join(conn Conn, cred Credential, hello stream.ClientMessage) ParticipantID {
	role := cred.Role
	p := s.resumable(role, hello.Resume)
	if p == nil && cred.seat != "" {
		p = s.bySeat(cred.seat)
	}
	resumed := p != nil
	if p == nil {
		s.st.joined++
		s.st.roleCount[role]++
		name := hello.Name
		if cred.Name != "" {
			name = cred.Name // an account's name, not the participant's choice
		}
		p = &participant{
			id:          ParticipantID("p" + itoa(s.st.joined)),
			name:        displayName(name, role, s.st.roleCount[role]),
			role:        role,
			color:       palette[(s.st.joined-1)%len(palette)],
			resumeToken: newSecret(24),
			limiter:     rate.NewLimiter(inputRate, inputBurst),
			told:        map[Refusal]time.Time{},
			mode:        s.rules.For(role).Mode,
			waiting:     s.rules.For(role).AskToView && cred.Consent == "",
			seat:        cred.seat,
		}
		p.resumeHash = seatKey(p.resumeToken)
		s.st.participants[p.id] = p
		s.st.order = append(s.st.order, p.id)
		if s.rules.For(role).AskToView && cred.Consent != "" {
			s.consentImplied(p, cred.Consent)
		}
	}
	if p.waiting {
		s.park(p, conn, hello)
		return p.id
	}
	s.enter(p, conn, hello, resumed)
	return p.id
}

// enter connects p on conn and gives it the session: welcome, state, the page.
func (s *Session) enter(p *participant, conn Conn, hello stream.ClientMessage, resumed bool) {
	role := p.role
	if p.conn != nil {
		p.conn.Close(CloseReplaced, "replaced", "You joined this session from another window.")
	} else {
		s.metrics.Participants.WithLabelValues(string(role)).Inc()
	}
	p.conn = conn
	p.gen++
	switch {
	case hello.Mode == ModeDOM || hello.Mode == ModePixels:
		p.mode = hello.Mode // the viewer remembers its choice across reloads
	case !resumed && !slices.Contains(hello.Modes, ModeDOM):
		p.mode = ModePixels // a client that cannot show the page
	}
	if p.mode == ModeDOM && s.st.dom.failed != "" {
		p.mode = ModePixels
	}
	p.domGen = 0
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
		if code, exp := s.JoinCode(); code != "" {
			w.JoinCode, w.JoinCodeExpiresAt = code, &exp
		}
		w.CanRecord = s.rules.Recording.Allow && s.params.Recordings != nil
	}
	_ = conn.Send(w)
	s.tellRestored(p)

	// The host lands holding control when nobody else has it.
	if role == RoleHost && s.st.control.Controller == "" {
		s.applyControl(ControlOp{Action: ControlRequest, Actor: p.id, Now: s.now()})
	} else if s.st.control.Controller == p.id {
		s.applyViewport(p)
	}
	s.broadcastState()
	s.sendChatHistory(p)
	if s.st.dialog != nil {
		_ = conn.Send(dialogFor(s.st.dialog))
	}
	s.replayPicker(p)
	if len(s.st.call.members) > 0 {
		s.broadcastCall() // the newcomer learns who is in the call
	}
	if r := s.st.rec; r != nil {
		_ = conn.Send(recordingMsg{Type: "recording", On: true, By: r.by, ID: r.w.ID})
	}
	s.replayChooser(p)
	_ = conn.Send(modeMsg{Type: "mode", Mode: p.mode})
	if s.rules.For(role).View && s.getsFrames(p) {
		s.firstFrame(p)
	}
	if s.wantsDOM(p) {
		s.updateDOMCapture()
		s.serveCopy(p)
	}
	s.tellRefusals(p)
}

// resumable finds the participant a reconnect takes over: the one whose resume token it
// presents, or for the host (there is one) the existing host.
func (s *Session) resumable(role Role, resume string) *participant {
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.role != role {
			continue
		}
		if resume != "" && secretEqual(seatKey(resume), p.resumeHash) {
			if p.resumeToken == "" {
				p.resumeToken = resume // brought back: the participant's own token again
			}
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

// bySeat is the participant who joined by seat.
func (s *Session) bySeat(seat string) *participant {
	for _, id := range s.st.order {
		if p := s.st.participants[id]; p.seat == seat {
			return p
		}
	}
	return nil
}

// Leave is called when conn of participant id has closed.
func (s *Session) Leave(id ParticipantID, conn Conn) {
	_ = s.exec(func() {
		p := s.st.participants[id]
		if p != nil && p.waiting && p.waitConn == conn {
			s.withdraw(p) // gone before the host answered
			return
		}
		if p == nil || p.conn != conn {
			return // replaced by a newer connection
		}
		s.leaveCall(p) // its media went with the connection; the client joins again on resume
		p.conn = nil
		gen := p.gen
		s.metrics.Participants.WithLabelValues(string(p.role)).Dec()
		s.log.Info("participant disconnected", "participant", id)
		s.updateDOMCapture() // the last Page-mode viewer gone: the tab stops capturing
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
	read := time.Now()
	_ = s.exec(func() {
		p := s.st.participants[id]
		if p == nil || p.conn != conn {
			return
		}
		s.st.read = read
		s.handle(p, m)
	})
}

// ReportDeliveries counts what viewers on another node did with the frames relayed to
// them: deliveries, how many of those replaced a frame not yet written, and the most
// viewers one frame went to there. They pace the session as its own viewers do.
func (s *Session) ReportDeliveries(deliveries, skipped, largest int) {
	_ = s.exec(func() { s.st.pace.reported(deliveries, skipped, largest) })
}

func (s *Session) onFrame(f renderer.Frame) {
	if s.st.lastRaw == nil && (!f.Painted || preload(f)) && s.now().Sub(s.createdAt) < preloadGrace {
		return // the blank tab before the first page: never a viewer's first picture
	}
	s.metrics.FramesProduced.Inc()
	if s.st.pace.hold(f, s.now()) {
		return // served when the pacing interval has passed, unless a newer one comes
	}
	s.serveFrame(f)
}

// serveFrame numbers f and hands it to every audience.
func (s *Session) serveFrame(f renderer.Frame) {
	if !f.Arrived.IsZero() {
		s.metrics.FrameServe.Observe(time.Since(f.Arrived).Seconds())
	}
	s.st.lastFrameAt = s.now()
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
	if s.st.rec != nil {
		if aud := s.recordingAudience(); !served[aud] {
			s.serveRecording(aud, f)
		}
	}
}

// preload reports whether f may be a picture of the tab's blank document, from before its
// first page: it shows no page's document. (The tab asks for a fresh picture once its
// page has loaded, so a still page is not left without one.)
func preload(f renderer.Frame) bool {
	for _, d := range f.Documents {
		if d != "" && d != "about:blank" {
			return false
		}
	}
	return true
}

// preloadGrace bounds how long pictures showing no page are held back at the start: the
// document list of a tab that cannot tell its documents, or a page that never says it
// painted, is never a reason for no picture.
const preloadGrace = 5 * time.Second

// stillEvery is how long a page may stay unchanged before viewers are told it is still
// there: pictures come only when the page repaints, and a client cannot otherwise tell
// a still page from a stalled stream.
const stillEvery = 2 * time.Second

// keepAlive tells every viewer, when no picture came for stillEvery, that the page is
// still the one of picture seq.
func (s *Session) keepAlive() {
	now := s.now()
	if now.Sub(s.st.lastFrameAt) < stillEvery || now.Sub(s.st.lastStillAt) < stillEvery || s.st.seq == 0 {
		return
	}
	s.st.lastStillAt = now
	s.broadcast(stillMsg{Type: "still", Seq: s.st.seq})
}

// firstFrame gives a joiner its audience's newest picture at once, and a picture of the
// newest frame if the audience has none of it yet (nobody of it was watching).
func (s *Session) firstFrame(p *participant) {
	id := s.audienceOf(p.role)
	a := s.audience(id)
	if a.last != nil {
		sendFrame(p.conn, id, a.last)
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
	case renderer.PickerOpened:
		s.onPickerOpened(ev)
	case renderer.PickerClosed:
		s.onPickerClosed(ev)
	case renderer.DownloadRefused:
		name := ev.Filename
		if name == "" {
			name = "a file"
		}
		s.broadcast(notice("warning", "download_refused", "The page tried to download "+name+"; downloads are not allowed in a co-browse session."))
	case renderer.PopupOpened:
		s.broadcast(notice("info", "popup_opened", "A new window opened; it is shown in this tab."))
	case renderer.PageCrashed:
		s.audit.Record("page_crashed", s.id, slog.String("url", ev.URL))
		s.broadcast(notice("warning", "page_crashed", "The page crashed; it is being reloaded."))
	case renderer.NavigationBlocked:
		s.metrics.NavigationsBlocked.Inc()
		s.audit.Record("navigation_refused", s.id, slog.String("url", ev.URL), slog.String("reason", ev.Reason))
		s.broadcast(notice("warning", "navigation_blocked", "Blocked "+ev.URL+": "+ev.Reason))
	case renderer.NavigationFailed:
		s.broadcast(notice("error", "navigation_failed", "Could not load "+ev.URL+": "+ev.Reason))
	case renderer.FileChooserOpened:
		s.chooserOpened(ev)
	case renderer.FileChooserClosed:
		s.chooserClosed(ev)
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
	if s.st.rec != nil {
		s.recordEvent(b)
	}
}

// broadcastState tells everyone the session's state, now if the last telling was a while
// ago, otherwise with the next tick: a storm of joins or control changes costs one
// message each per tick, not one per change.
func (s *Session) broadcastState() {
	if s.st.ended {
		return
	}
	s.st.stateDirty = true
	if s.now().Sub(s.st.stateSentAt) >= stateEvery {
		s.flushState()
	}
}

// stateEvery is the shortest time between two state messages.
const stateEvery = 50 * time.Millisecond

// fullListUpTo is the size up to which everyone gets every participant in state; in a
// bigger session guests get the people who matter to them (the host, agents, who holds
// or asks for control) and the audience's size, so a state message stays small.
const fullListUpTo = 25

// flushState sends the state if it changed since it was last sent. A role the current
// page is hidden from does not learn its address or title either.
func (s *Session) flushState() {
	if !s.st.stateDirty || s.st.ended {
		return
	}
	s.st.stateDirty, s.st.stateSentAt = false, s.now()
	m := s.stateMsg()
	big := len(m.Participants) > fullListUpTo
	var short stateMsg
	if big {
		short = m
		short.Participants = nil
		short.Audience = 0
		for _, id := range s.st.order {
			p := s.st.participants[id]
			if p.conn != nil {
				short.Audience++
			}
			if s.notable(p) {
				short.Participants = append(short.Participants, s.info(p))
			}
		}
	}
	built := map[[2]bool][]byte{} // by (short, hidden)
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.conn == nil {
			continue
		}
		key := [2]bool{big && !s.seesEveryone(p), s.pageHidden(s.rules.For(p.role))}
		b, ok := built[key]
		if !ok {
			v := m
			if key[0] {
				v = short
			}
			if key[1] {
				v.URL, v.Title = "", "Hidden page"
				v.Tabs = []tabInfo{{ID: "t1", Title: v.Title, Active: true}}
			}
			var err error
			if b, err = json.Marshal(v); err != nil {
				return
			}
			built[key] = b
		}
		p.conn.SendLatest(b)
	}
	if s.st.rec != nil {
		v := m
		if s.recordingAudience().hidden {
			v.URL, v.Title = "", "Hidden page"
			v.Tabs = []tabInfo{{ID: "t1", Title: v.Title, Active: true}}
		}
		s.recordWrite(s.st.rec.w.Event(s.now(), v))
	}
	s.shareSnapshot()
}

// notable is whether p is listed to everyone in a big session.
func (s *Session) notable(p *participant) bool {
	c := s.st.control
	return p.role != RoleGuest || p.id == c.Controller || c.hasRequest(p.id) || (c.Pending != nil && c.Pending.To == p.id)
}

// seesEveryone is whether p gets the whole list in a big session: the host, support
// staff and whoever holds control.
func (s *Session) seesEveryone(p *participant) bool {
	return p.role != RoleGuest || p.id == s.st.control.Controller
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
		Priority: s.rules.For(p.role).Priority, Waiting: p.waiting}
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
	// Waiting are the questions put to the host that it has not answered.
	Waiting           []Waiting     `json:"waiting"`
	JoinCode          string        `json:"joinCode,omitempty"`
	JoinCodeExpiresAt *time.Time    `json:"joinCodeExpiresAt,omitempty"`
	Site              string        `json:"site,omitempty"`
	Help              *help.Request `json:"help,omitempty"`
}

// Info returns a snapshot of the session.
func (s *Session) Info() (Info, error) {
	var info Info
	err := s.call(func() {
		st := s.stateMsg()
		info = Info{ID: s.id, URL: st.URL, Title: st.Title, CreatedAt: s.createdAt, Controller: st.Controller,
			Participants: st.Participants, Requests: st.Requests, Rules: s.rules, InputRefused: map[Refusal]int{},
			Waiting: s.waitingList(), Site: s.params.Site}
		if code, exp := s.JoinCode(); code != "" {
			info.JoinCode, info.JoinCodeExpiresAt = code, &exp
		}
		for k, v := range s.st.refused {
			info.InputRefused[k] = v
		}
	})
	return info, err
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
