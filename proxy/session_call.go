package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/stream"
)

// The session's call (docs/protocol.md, Call): participants join and leave it with `call`
// messages, and their browsers negotiate with Tandem's SFU with `rtc` messages on the same
// WebSocket. The session keeps who is in the call and what they publish; the room keeps
// the media.

// callMember is one participant's place in the call.
type callMember struct {
	Audio      bool `json:"audio"`      // may publish audio (and asked to)
	Video      bool `json:"video"`      // may publish video (and asked to)
	AudioMuted bool `json:"audioMuted"` // said by the client; its track sends silence
	VideoMuted bool `json:"videoMuted"`
}

type callMemberInfo struct {
	ID ParticipantID `json:"id"`
	callMember
}

type callStateMsg struct {
	Type    string           `json:"type"` // "call_state"
	Members []callMemberInfo `json:"members"`
}

type callJoinedMsg struct {
	Type       string             `json:"type"` // "call_joined"
	Audio      bool               `json:"audio"`
	Video      bool               `json:"video"`
	ICEServers []webrtc.ICEServer `json:"iceServers"`
	// LiveKit, when the server's calls go through LiveKit: where to connect and the
	// room token that admits this participant with what it may publish.
	LiveKit *liveKitJoin `json:"livekit,omitempty"`
}

type liveKitJoin struct {
	URL   string `json:"url"`
	Token string `json:"token"`
	Room  string `json:"room"`
}

type rtcMsg struct {
	Type      string                     `json:"type"` // "rtc"
	SDP       *webrtc.SessionDescription `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit   `json:"candidate,omitempty"`
}

func (s *Session) callMessage(p *participant, m stream.ClientMessage) {
	switch m.Action {
	case "join":
		s.joinCall(p, m)
	case "leave":
		s.leaveCall(p)
	case "mute":
		mem, ok := s.st.call.members[p.id]
		if !ok {
			_ = p.conn.Send(errMsg("conflict", "you are not in the call"))
			return
		}
		if m.Audio != nil {
			mem.AudioMuted = !*m.Audio
		}
		if m.Video != nil {
			mem.VideoMuted = !*m.Video
		}
		s.st.call.members[p.id] = mem
		s.broadcastCall()
	default:
		_ = p.conn.Send(errMsg("bad_message", "call action must be join, leave or mute"))
	}
}

// joinCall lets p in, publishing what it asks for within its role's call rule.
func (s *Session) joinCall(p *participant, m stream.ClientMessage) {
	if s.params.Call == nil && s.params.LiveKit == nil {
		_ = p.conn.Send(errMsg("forbidden", "calls are off on this server"))
		return
	}
	rule := s.rules.For(p.role).Call
	pub := call.Publish{Audio: rule.Audio && (m.Audio == nil || *m.Audio), Video: rule.Video && (m.Video == nil || *m.Video)}
	if lk := s.params.LiveKit; lk != nil {
		room := lk.Room(s.id)
		token, err := lk.Token(room, string(p.id), p.name, pub)
		if err != nil {
			s.log.Warn("minting a LiveKit token", "participant", p.id, "err", err)
			_ = p.conn.Send(errMsg("unavailable", "the call could not be joined"))
			return
		}
		s.st.call.members[p.id] = callMember{Audio: pub.Audio, Video: pub.Video}
		s.st.call.liveKitUsed = true
		s.audit.Record("call_joined", s.id, slog.String("participant", string(p.id)),
			slog.Bool("audio", pub.Audio), slog.Bool("video", pub.Video), slog.String("via", "livekit"))
		_ = p.conn.Send(callJoinedMsg{Type: "call_joined", Audio: pub.Audio, Video: pub.Video, ICEServers: []webrtc.ICEServer{},
			LiveKit: &liveKitJoin{URL: lk.URL(), Token: token, Room: room}})
		s.broadcastCall()
		return
	}
	if s.st.call.room == nil {
		s.st.call.room = s.params.Call.NewRoom(s.log)
		s.st.call.room.OnVideoPaused(func(receiver, publisher string, paused bool) {
			_ = s.exec(func() { s.videoPaused(ParticipantID(receiver), ParticipantID(publisher), paused) })
		})
	}
	conn := p.conn
	// The room calls send from the SFU's goroutines: the connection's queue takes it.
	err := s.st.call.room.Join(string(p.id), pub, func(sig call.Signal) {
		_ = conn.Send(rtcMsg{Type: "rtc", SDP: sig.SDP, Candidate: sig.Candidate})
	})
	if err != nil {
		s.log.Warn("joining the call", "participant", p.id, "err", err)
		_ = p.conn.Send(errMsg("unavailable", "the call could not be joined"))
		return
	}
	s.st.call.members[p.id] = callMember{Audio: pub.Audio, Video: pub.Video}
	s.audit.Record("call_joined", s.id, slog.String("participant", string(p.id)),
		slog.Bool("audio", pub.Audio), slog.Bool("video", pub.Video))
	_ = p.conn.Send(callJoinedMsg{Type: "call_joined", Audio: pub.Audio, Video: pub.Video, ICEServers: s.params.Call.ICEServers()})
	s.broadcastCall()
}

// leaveCall takes p out of the call, if it is in.
func (s *Session) leaveCall(p *participant) {
	if _, ok := s.st.call.members[p.id]; !ok {
		return
	}
	delete(s.st.call.members, p.id)
	if s.st.call.room != nil {
		s.st.call.room.Leave(string(p.id))
	}
	if lk := s.params.LiveKit; lk != nil {
		// Its token would admit it until it expires: out of the room now.
		room, id := lk.Room(s.id), string(p.id)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := lk.RemoveParticipant(ctx, room, id); err != nil {
				s.log.Warn("removing a participant from the LiveKit room", "participant", id, "err", err)
			}
		}()
	}
	s.audit.Record("call_left", s.id, slog.String("participant", string(p.id)))
	s.broadcastCall()
}

// rtcMessage passes a browser's answer or ICE candidate to the SFU.
func (s *Session) rtcMessage(p *participant, m stream.ClientMessage) {
	if _, ok := s.st.call.members[p.id]; !ok || s.st.call.room == nil {
		_ = p.conn.Send(errMsg("conflict", "join the call first"))
		return
	}
	var sig call.Signal
	if len(m.SDP) > 0 {
		sig.SDP = &webrtc.SessionDescription{}
		if err := json.Unmarshal(m.SDP, sig.SDP); err != nil {
			_ = p.conn.Send(errMsg("bad_message", "rtc sdp: "+err.Error()))
			return
		}
	}
	if len(m.Candidate) > 0 {
		sig.Candidate = &webrtc.ICECandidateInit{}
		if err := json.Unmarshal(m.Candidate, sig.Candidate); err != nil {
			_ = p.conn.Send(errMsg("bad_message", "rtc candidate: "+err.Error()))
			return
		}
	}
	if err := s.st.call.room.Signal(string(p.id), sig); err != nil && !errors.Is(err, call.ErrNotInCall) {
		_ = p.conn.Send(errMsg("bad_message", err.Error()))
	}
}

// broadcastCall tells everyone who is in the call.
func (s *Session) broadcastCall() {
	msg := callStateMsg{Type: "call_state", Members: []callMemberInfo{}}
	for _, id := range s.st.order {
		if mem, ok := s.st.call.members[id]; ok {
			msg.Members = append(msg.Members, callMemberInfo{ID: id, callMember: mem})
		}
	}
	s.broadcast(msg)
}

// callState is the session goroutine's part of the call.
type callState struct {
	room    *call.Room // nil until someone joins
	members map[ParticipantID]callMember
	// liveKitUsed: someone joined the session's LiveKit room, which ends with it.
	liveKitUsed bool
}

// endCall closes the call with the session.
func (s *Session) endCall() {
	if s.st.call.room != nil {
		s.st.call.room.Close()
	}
	if lk := s.params.LiveKit; lk != nil && s.st.call.liveKitUsed {
		room := lk.Room(s.id)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := lk.DeleteRoom(ctx, room); err != nil {
				s.log.Warn("ending the LiveKit room", "err", err)
			}
		}()
	}
}

// videoPaused tells a participant that their copy of another's video was paused because
// their connection kept losing it (the others' copies go on), or that it is back.
func (s *Session) videoPaused(receiver, publisher ParticipantID, paused bool) {
	p, from := s.st.participants[receiver], s.st.participants[publisher]
	if p == nil || p.conn == nil || from == nil {
		return
	}
	if paused {
		_ = p.conn.Send(notice("warning", "call_video_paused",
			"Your connection is too slow for "+from.name+"'s video: it is paused, and comes back when your connection allows. You still hear them."))
		return
	}
	_ = p.conn.Send(notice("info", "call_video_resumed", from.name+"'s video is back."))
}
