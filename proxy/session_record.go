package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"time"

	"github.com/tandem-cobrowse/tandem/dom"
	"github.com/tandem-cobrowse/tandem/mask"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
)

// Recording a session (docs/protocol.md, Recordings): when the rules allow it, the host
// starts and stops it, everyone is told and sees it, and what is written is what the
// session's most restricted audience receives: its pictures as they went out (masked by
// every selector any role masks, blank while the page is hidden from any role) and the
// session's state, chat and drawings.

// sessionRecording is the recording under way, owned by the session goroutine.
type sessionRecording struct {
	w         *recording.Writer
	by        ParticipantID
	lastFrame time.Time     // when a picture was last written
	held      *stream.Frame // the newest picture not written yet
	// For a recording audience nobody watches, frames are made for it only as often as
	// pictures are kept: painting masks on every frame of an animated page costs most of
	// a core.
	madeAt  time.Time
	madeSeq uint64
	// Page mode's copy, as the most restricted audience gets it: the snapshot generation
	// recorded (patches of others are not), and the assets recorded or being fetched.
	domGen  uint64
	assets  map[string]bool
	fetches chan struct{} // bounds the assets fetched at once
}

// recordEvery is the shortest time between two recorded pictures: a replay needs no
// more than ten a second, and an animated page would otherwise fill a recording's cap in
// a few minutes. The newest picture of each interval is the one kept.
const recordEvery = 100 * time.Millisecond

type recordingMsg struct {
	Type string        `json:"type"` // "recording"
	On   bool          `json:"on"`
	By   ParticipantID `json:"by,omitempty"`
	ID   string        `json:"id,omitempty"`
}

// recordedEvents are the message types a recording keeps besides pictures and state.
var recordedEvents = map[string]bool{"chat": true, "draw": true, "draw_clear": true, "call_state": true}

func (s *Session) recordMessage(p *participant, m stream.ClientMessage) {
	switch m.Action {
	case "start":
		switch {
		case p.role != RoleHost:
			_ = p.conn.Send(errMsg("forbidden", "only the host records the session"))
		case !s.rules.Recording.Allow:
			_ = p.conn.Send(errMsg("forbidden", "this session's rules do not allow recording"))
		case s.params.Recordings == nil:
			_ = p.conn.Send(errMsg("forbidden", "recording is off on this server"))
		case s.st.rec != nil:
			_ = p.conn.Send(errMsg("conflict", "the session is being recorded already"))
		default:
			s.startRecording(p)
		}
	case "stop":
		if p.role != RoleHost {
			_ = p.conn.Send(errMsg("forbidden", "only the host stops the recording"))
			return
		}
		s.stopRecording("stopped by the host")
	default:
		_ = p.conn.Send(errMsg("bad_message", "record action must be start or stop"))
	}
}

func (s *Session) startRecording(p *participant) {
	w, err := s.params.Recordings.Create(s.id, s.now())
	if err != nil {
		s.log.Warn("starting a recording", "err", err)
		_ = p.conn.Send(errMsg("unavailable", "the recording could not be started"))
		return
	}
	s.st.rec = &sessionRecording{w: w, by: p.id, assets: map[string]bool{}, fetches: make(chan struct{}, assetFetches)}
	s.audit.Record("recording_started", s.id, slog.String("by", string(p.id)), slog.String("recording", w.ID))
	s.broadcast(recordingMsg{Type: "recording", On: true, By: p.id, ID: w.ID})
	s.st.stateDirty = true
	s.flushState() // the recording starts with where the session is
	if a := s.st.audiences[s.recordingAudience()]; a != nil && a.last != nil {
		s.recordFrame(a.last) // and with its newest picture
	} else if s.st.lastRaw != nil {
		s.serve(s.recordingAudience(), *s.st.lastRaw) // made now, for a still page
	}
	// And, in Page mode, with the copy as it is now: the newest snapshot and the changes
	// since, or a snapshot asked for.
	if c := s.st.dom.copy; c != nil && c.Gen == s.st.dom.gen {
		s.recordDOM(c, map[copyAudience][]byte{})
		for _, m := range s.st.dom.since {
			s.recordDOM(m, map[copyAudience][]byte{})
		}
	} else {
		s.requestSnapshot()
	}
}

// assetFetches is how many of a recording's assets are fetched from the page at once.
const assetFetches = 4

// recordingRules are the most restricted audience as rules: every selector any viewing
// role masks, every page any viewing role may not see.
func (s *Session) recordingRules() RoleRules {
	r := RoleRules{View: true}
	defaults := map[string]bool{}
	for _, sel := range DefaultMaskSelectors {
		defaults[sel] = true
	}
	for _, sel := range s.rules.MaskUnion() {
		if !defaults[sel] {
			r.Masks = append(r.Masks, sel)
		}
	}
	for _, role := range Roles {
		if rr := s.rules.For(role); rr.View {
			r.HidePages = append(r.HidePages, rr.HidePages...)
		}
	}
	return r
}

// recordDOM keeps a Page-mode message as the most restricted audience gets it, and
// fetches the assets it refers to into the recording (a replay outlives the session,
// whose asset paths do not). built caches the message's versions, as in onDOM.
func (s *Session) recordDOM(m *dom.Message, built map[copyAudience][]byte) {
	rec := s.st.rec
	if rec == nil {
		return
	}
	switch {
	case m.Kind == dom.KindSnapshot:
		rec.domGen = m.Gen
	case m.Kind == dom.KindPatch && m.Gen != rec.domGen:
		return // of a snapshot the recording does not have
	}
	b, _, ok := s.domForRules(s.recordingRules(), m, built)
	if !ok {
		return
	}
	s.recordWrite(rec.w.DOM(s.now(), b))
	s.recordAssets(rec, b)
}

// recordAssets fetches, in the background, the assets that b (a message or a style
// sheet) refers to and the recording does not have yet, and writes each into it.
func (s *Session) recordAssets(rec *sessionRecording, b []byte) {
	prefix := []byte(AssetPrefix(s.id, s.assetCap))
	for rest := b; ; {
		i := bytes.Index(rest, prefix)
		if i < 0 || len(rest) < i+len(prefix)+assetKeyLen {
			return
		}
		key := string(rest[i+len(prefix) : i+len(prefix)+assetKeyLen])
		rest = rest[i+len(prefix)+assetKeyLen:]
		if rec.assets[key] {
			continue
		}
		rec.assets[key] = true
		go func() {
			select {
			case rec.fetches <- struct{}{}:
			case <-s.ctx.Done():
				return
			}
			defer func() { <-rec.fetches }()
			ctx, cancel := context.WithTimeout(s.ctx, 20*time.Second)
			defer cancel()
			a, err := s.Asset(ctx, s.assetCap, key)
			if err != nil {
				return // the replay shows it missing, as a viewer would have seen it
			}
			_ = s.exec(func() {
				if s.st.rec != rec {
					return // that recording ended
				}
				s.recordWrite(rec.w.Asset(s.now(), key, a.ContentType, a.Body))
				if s.st.rec == rec && strings.HasPrefix(a.ContentType, "text/css") {
					s.recordAssets(rec, a.Body) // its fonts and images
				}
			})
		}()
	}
}

// assetKeyLen is the length of an asset's key in its path (dom.AssetRegistry).
const assetKeyLen = 24

// stopRecording ends the recording under way, if any.
func (s *Session) stopRecording(why string) {
	rec := s.st.rec
	if rec == nil {
		return
	}
	if rec.held != nil {
		s.writeFrame(rec.held)
		if s.st.rec == nil {
			return // that write reached the cap, and stopped the recording there
		}
	}
	s.st.rec = nil
	err := rec.w.Close()
	if err != nil {
		s.log.Warn("closing a recording", "err", err)
	}
	s.audit.Record("recording_stopped", s.id, slog.String("recording", rec.w.ID), slog.String("why", why),
		slog.Int64("bytes", rec.w.Size()))
	s.broadcast(recordingMsg{Type: "recording", On: false, ID: rec.w.ID})
}

// recordingAudience is the session's most restricted audience: every selector any
// viewing role masks, and the page hidden when it is hidden from any viewing role.
func (s *Session) recordingAudience() audienceID {
	hidden := false
	for _, r := range Roles {
		if rr := s.rules.For(r); rr.View && s.pageHidden(rr) {
			hidden = true
		}
	}
	return audienceID{masks: mask.Key(s.rules.MaskUnion()), hidden: hidden}
}

func (s *Session) recordFrame(fr *stream.Frame) {
	r := s.st.rec
	if now := s.now(); now.Sub(r.lastFrame) < recordEvery {
		r.held = fr
		return
	}
	s.writeFrame(fr)
}

// serveRecording makes frame f's picture for the recording's audience when no viewer's
// audience is the same, at most every recordEvery.
func (s *Session) serveRecording(aud audienceID, f renderer.Frame) {
	r := s.st.rec
	if s.now().Sub(r.madeAt) < recordEvery {
		return // the tick makes the newest one when the interval has passed
	}
	r.madeAt, r.madeSeq = s.now(), f.Seq
	s.serve(aud, f)
}

// flushRecording (the session's tick) writes the held picture once its interval has
// passed, and has the newest frame made for the recording if it was skipped, so the last
// picture of a burst is never lost.
func (s *Session) flushRecording() {
	r := s.st.rec
	if r == nil {
		return
	}
	if r.held != nil && s.now().Sub(r.lastFrame) >= recordEvery {
		s.writeFrame(r.held)
	}
	if s.st.rec != nil && s.st.lastRaw != nil && s.st.lastRaw.Seq > r.madeSeq && !s.watched(s.recordingAudience()) {
		s.serveRecording(s.recordingAudience(), *s.st.lastRaw)
	}
}

// watched reports whether some connected viewer gets audience id's pictures (then every
// frame is made for it anyway).
func (s *Session) watched(id audienceID) bool {
	for _, pid := range s.st.order {
		p := s.st.participants[pid]
		if p.conn != nil && s.rules.For(p.role).View && s.audienceOf(p.role) == id {
			return true
		}
	}
	return false
}

func (s *Session) writeFrame(fr *stream.Frame) {
	r := s.st.rec
	r.held, r.lastFrame = nil, s.now()
	s.recordWrite(r.w.Frame(r.lastFrame, fr.Message()))
}

// recordEvent keeps a message everyone got, if it is of a kind a recording keeps.
func (s *Session) recordEvent(b []byte) {
	var head struct {
		Type string `json:"type"`
	}
	if json.Unmarshal(b, &head) != nil || !recordedEvents[head.Type] {
		return
	}
	s.recordWrite(s.st.rec.w.Event(s.now(), json.RawMessage(b)))
}

func (s *Session) recordWrite(err error) {
	switch {
	case err == nil:
	case errors.Is(err, recording.ErrFull):
		s.stopRecording("size cap reached")
		s.broadcast(notice("warning", "recording_full", "The recording reached its size limit and stopped."))
	default:
		s.log.Warn("writing the recording", "err", err)
		s.stopRecording("write failed")
	}
}
