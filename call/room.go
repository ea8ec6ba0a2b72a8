package call

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Publish is what a participant may send: its role's call rule.
type Publish struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

// Signal is one signalling message between a participant and the SFU, carried on the
// participant's WebSocket: a session description or an ICE candidate.
type Signal struct {
	SDP       *webrtc.SessionDescription `json:"sdp,omitempty"`
	Candidate *webrtc.ICECandidateInit   `json:"candidate,omitempty"`
}

// Room is one session's call. Tandem always makes the offers: when someone starts or
// stops publishing, every other member gets a new offer with the tracks to receive.
type Room struct {
	sfu *SFU
	log *slog.Logger

	mu       sync.Mutex
	closed   bool
	peers    map[string]*peer
	tracks   map[string]*forward // by track id
	onPaused func(receiver, publisher string, paused bool)
}

type peer struct {
	id       string
	pub      Publish
	pc       *webrtc.PeerConnection
	send     func(Signal)              // must not block
	offering bool                      // an offer is out, its answer not in
	again    bool                      // the tracks changed meanwhile: offer again after the answer
	early    []webrtc.ICECandidateInit // the client's, before its first answer
}

// maxEarlyCandidates bounds the candidates a client may send before its first answer.
const maxEarlyCandidates = 64

// forward is one published track and the copies of it that the other members receive.
type forward struct {
	id     string // the track's id for receivers: its publisher and kind
	from   string
	remote *webrtc.TrackRemote
	pc     *webrtc.PeerConnection // the publisher's, for keyframe requests
	// downs is every receiver's copy; replaced whole under the room's lock, read by
	// the forwarding goroutine for every packet.
	downs atomic.Pointer[[]*downTrack]
	// lastKeyframe is when a keyframe was last asked of the publisher (unix ns).
	lastKeyframe atomic.Int64
}

// down is receiver to's copy, nil when it has none.
func (f *forward) down(to string) *downTrack {
	if ds := f.downs.Load(); ds != nil {
		for _, d := range *ds {
			if d.to == to {
				return d
			}
		}
	}
	return nil
}

// setDownsLocked replaces the copies; the room's lock is held.
func (f *forward) setDownsLocked(keep func(*downTrack) bool, add *downTrack) {
	var next []*downTrack
	if ds := f.downs.Load(); ds != nil {
		for _, d := range *ds {
			if keep(d) {
				next = append(next, d)
			} else {
				d.stop()
			}
		}
	}
	if add != nil {
		next = append(next, add)
	}
	f.downs.Store(&next)
}

// keyframeDue reports whether a keyframe may be asked of the publisher at now, and notes
// it when so; concurrent callers get one yes.
func (f *forward) keyframeDue(now time.Time) bool {
	last := f.lastKeyframe.Load()
	return now.UnixNano()-last >= int64(keyframeEvery) && f.lastKeyframe.CompareAndSwap(last, now.UnixNano())
}

// keyframeEvery bounds how often a publisher is asked for a keyframe: a receiver on a
// lossy network asks again and again, and every keyframe is a burst of bits for everyone
// else too. One slow receiver must not cost the others their picture.
const keyframeEvery = 500 * time.Millisecond

// NewRoom opens a room for one session.
func (s *SFU) NewRoom(log *slog.Logger) *Room {
	if log == nil {
		log = s.log
	}
	return &Room{sfu: s, log: log.With("component", "call"), peers: map[string]*peer{}, tracks: map[string]*forward{}}
}

// OnVideoPaused makes the room call fn when receiver's copy of publisher's video is
// paused because receiver's link keeps losing it, and when it resumes. fn runs on the
// SFU's goroutines and must not block.
func (r *Room) OnVideoPaused(fn func(receiver, publisher string, paused bool)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.onPaused = fn
}

// Join makes id a member that may publish pub and receives everyone else; send carries
// Tandem's signals to it. Joining again replaces the earlier connection.
func (r *Room) Join(id string, pub Publish, send func(Signal)) error {
	pc, err := r.sfu.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	p := &peer{id: id, pub: pub, pc: pc, send: send}
	kinds := map[webrtc.RTPCodecType]bool{webrtc.RTPCodecTypeAudio: pub.Audio, webrtc.RTPCodecTypeVideo: pub.Video}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if !kinds[kind] {
			continue // no m-line to publish on: the browser cannot send it
		}
		if _, err := pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			pc.Close()
			return fmt.Errorf("call: %w", err)
		}
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		ci := c.ToJSON()
		// Gathering starts with the offer, but pion tells of candidates on a goroutine of
		// its own: one could overtake the offer (offerLocked sends it holding r.mu) and
		// reach a client with no description to add it to.
		r.mu.Lock()
		defer r.mu.Unlock()
		send(Signal{Candidate: &ci})
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if !kinds[t.Kind()] {
			return // not offered, so not negotiated; never forwarded
		}
		r.forward(p, t)
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			r.log.Info("call connection failed", "participant", id)
			r.leave(id, pc)
		}
	})

	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		pc.Close()
		return ErrClosed
	}
	if old := r.peers[id]; old != nil {
		r.dropLocked(old)
	}
	r.peers[id] = p
	r.offerLocked(p)
	return nil
}

// Signal takes a participant's answer or ICE candidate.
func (r *Room) Signal(id string, s Signal) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peers[id]
	if p == nil {
		return ErrNotInCall
	}
	if s.SDP != nil {
		if s.SDP.Type != webrtc.SDPTypeAnswer || !p.offering {
			return fmt.Errorf("call: expected an answer to Tandem's offer, got %s", s.SDP.Type)
		}
		if err := p.pc.SetRemoteDescription(*s.SDP); err != nil {
			return fmt.Errorf("call: answer: %w", err)
		}
		p.offering = false
		for _, c := range p.early {
			if err := p.pc.AddICECandidate(c); err != nil {
				r.log.Debug("call: an early candidate", "participant", id, "err", err)
			}
		}
		p.early = nil
		if p.again {
			p.again = false
			r.offerLocked(p)
		}
	}
	if s.Candidate != nil {
		// A client's candidates can come before its first answer, which they belong to.
		if p.pc.RemoteDescription() == nil {
			if len(p.early) >= maxEarlyCandidates {
				return fmt.Errorf("call: candidate: %d already wait for an answer", len(p.early))
			}
			p.early = append(p.early, *s.Candidate)
			return nil
		}
		if err := p.pc.AddICECandidate(*s.Candidate); err != nil {
			return fmt.Errorf("call: candidate: %w", err)
		}
	}
	return nil
}

// Leave ends id's membership: its tracks stop for everyone.
func (r *Room) Leave(id string) { r.leave(id, nil) }

// leave drops id if its connection is pc (any, for nil).
func (r *Room) leave(id string, pc *webrtc.PeerConnection) {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.peers[id]
	if p == nil || (pc != nil && p.pc != pc) {
		return
	}
	r.dropLocked(p)
	delete(r.peers, id)
	r.renegotiateLocked()
}

// Members lists who is in the call.
func (r *Room) Members() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, 0, len(r.peers))
	for id := range r.peers {
		out = append(out, id)
	}
	return out
}

// Close ends the call for everyone.
func (r *Room) Close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closed = true
	for id, p := range r.peers {
		r.dropLocked(p)
		delete(r.peers, id)
	}
}

func (r *Room) dropLocked(p *peer) {
	for tid, f := range r.tracks {
		if f.pc == p.pc {
			delete(r.tracks, tid)
			f.setDownsLocked(func(*downTrack) bool { return false }, nil)
			continue
		}
		f.setDownsLocked(func(d *downTrack) bool { return d.to != p.id }, nil)
	}
	go p.pc.Close() // it waits for its goroutines, some of which may wait for r.mu
}

// forward copies a published track to every other member until it ends.
func (r *Room) forward(p *peer, t *webrtc.TrackRemote) {
	f := &forward{id: p.id + "-" + t.Kind().String(), from: p.id, remote: t, pc: p.pc}
	r.mu.Lock()
	if r.closed || r.peers[p.id] != p {
		r.mu.Unlock()
		return
	}
	if old := r.tracks[f.id]; old != nil {
		old.setDownsLocked(func(*downTrack) bool { return false }, nil)
	}
	r.tracks[f.id] = f
	r.renegotiateLocked()
	r.mu.Unlock()

	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := t.Read(buf)
		if err != nil {
			break
		}
		if err := pkt.Unmarshal(buf[:n]); err != nil {
			continue
		}
		// The publisher's header extensions carry the ids it negotiated (its mid, audio
		// level...), which mean other things on a receiver's connection: dropped here.
		pkt.Extension, pkt.Extensions = false, nil
		read := time.Now()
		sent := 0
		if ds := f.downs.Load(); ds != nil {
			for _, d := range *ds {
				if !d.paused.Load() {
					sent++
				}
				// A receiver whose connection is closing is dropped by the room; the
				// others go on.
				if err := d.write(&pkt); err != nil && !errors.Is(err, io.ErrClosedPipe) {
					r.log.Debug("call: forwarding a packet", "to", d.to, "err", err)
				}
			}
		}
		r.sfu.metrics.forwarded(sent, n, read)
	}
	r.mu.Lock()
	if r.tracks[f.id] == f {
		delete(r.tracks, f.id)
		f.setDownsLocked(func(*downTrack) bool { return false }, nil)
		r.renegotiateLocked()
	}
	r.mu.Unlock()
}

// renegotiateLocked offers every member the tracks it should now receive.
func (r *Room) renegotiateLocked() {
	for _, p := range r.peers {
		r.offerLocked(p)
	}
}

// offerLocked brings p's senders in line with the room's tracks and sends it an offer,
// or notes that one is due once the outstanding offer is answered.
func (r *Room) offerLocked(p *peer) {
	if p.offering {
		p.again = true
		return
	}
	have := map[string]bool{}
	for _, s := range p.pc.GetSenders() {
		t := s.Track()
		if t == nil {
			continue
		}
		f, ok := r.tracks[t.ID()]
		if !ok || f.down(p.id) == nil || f.down(p.id).local != t {
			_ = p.pc.RemoveTrack(s) // its publisher left, or published anew
			continue
		}
		have[t.ID()] = true
	}
	for tid, f := range r.tracks {
		if f.from == p.id || have[tid] {
			continue
		}
		local, err := webrtc.NewTrackLocalStaticRTP(f.remote.Codec().RTPCodecCapability, f.id, f.from)
		if err != nil {
			r.log.Warn("call: forwarding a track", "err", err)
			continue
		}
		// An m-line of its own: AddTrack would reuse the m-line this member publishes on,
		// and its browser sends there without receiving.
		tr, err := p.pc.AddTransceiverFromTrack(local, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			r.log.Warn("call: adding a track", "participant", p.id, "err", err)
			continue
		}
		d := &downTrack{to: p.id, local: local, video: f.remote.Kind() == webrtc.RTPCodecTypeVideo, pausedGauge: r.sfu.metrics.paused}
		d.onChange = func(paused bool) { r.videoPaused(f, d, paused) }
		f.setDownsLocked(func(old *downTrack) bool { return old.to != p.id }, d)
		go r.relayRTCP(tr.Sender(), f, d)
		// A new receiver needs a keyframe to start from.
		r.keyframe(f)
	}
	if len(p.pc.GetTransceivers()) == 0 {
		return // nothing to send or receive yet: the first track brings the first offer
	}
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		if p.pc.ConnectionState() != webrtc.PeerConnectionStateClosed {
			r.log.Warn("call: offer", "participant", p.id, "err", err)
		}
		return
	}
	p.offering = true
	p.send(Signal{SDP: &offer})
}

// relayRTCP passes a receiver's keyframe requests on to the publisher, and its loss
// reports to its copy of the track.
func (r *Room) relayRTCP(sender *webrtc.RTPSender, f *forward, d *downTrack) {
	var ssrc uint32
	if enc := sender.GetParameters().Encodings; len(enc) > 0 {
		ssrc = uint32(enc[0].SSRC)
	}
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, pkt := range pkts {
			switch pkt.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if !d.paused.Load() {
					r.keyframe(f)
				}
			}
			if lost, ok := lossOf(pkt, ssrc); ok {
				d.report(lost, time.Now())
			}
		}
	}
}

// videoPaused tells the room's hook that d's copy of f paused or resumed; a resumed copy
// needs a keyframe to start from.
func (r *Room) videoPaused(f *forward, d *downTrack, paused bool) {
	r.log.Info("call: a receiver's copy of a video", "receiver", d.to, "publisher", f.from, "paused", paused)
	if !paused {
		r.keyframe(f)
	}
	r.mu.Lock()
	fn := r.onPaused
	r.mu.Unlock()
	if fn != nil {
		fn(d.to, f.from, paused)
	}
}

func (r *Room) keyframe(f *forward) {
	if f.remote.Kind() != webrtc.RTPCodecTypeVideo {
		return
	}
	if !f.keyframeDue(time.Now()) {
		return // asked lately: that keyframe serves this receiver too
	}
	_ = f.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(f.remote.SSRC())}})
}
