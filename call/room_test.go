package call

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// member is a participant's side of the call, played by a pion PeerConnection on the
// same machine: it answers Tandem's offers over a channel, as a browser would over the
// WebSocket.
type member struct {
	t      *testing.T
	id     string
	room   *Room
	pc     *webrtc.PeerConnection
	in     chan Signal
	tracks chan *webrtc.TrackRemote
	track  *webrtc.TrackLocalStaticRTP // what it publishes, nil for nothing
	once   sync.Once
	gone   atomic.Bool // the test is over: errors of the closing connection are expected
}

func newMember(t *testing.T, room *Room, id string, pub Publish, publishAudio bool) *member {
	t.Helper()
	var track *webrtc.TrackLocalStaticRTP
	if publishAudio {
		var err error
		track, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "mic", id)
		if err != nil {
			t.Fatal(err)
		}
	}
	return newMemberWith(t, nil, room, id, pub, track)
}

// newMemberWith is newMember on its own pion API (nil: pion's defaults), publishing
// track (nil: nothing).
func newMemberWith(t *testing.T, api *webrtc.API, room *Room, id string, pub Publish, track *webrtc.TrackLocalStaticRTP) *member {
	t.Helper()
	newPC := webrtc.NewPeerConnection
	if api != nil {
		newPC = api.NewPeerConnection
	}
	pc, err := newPC(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	m := &member{t: t, id: id, room: room, pc: pc, in: make(chan Signal, 64), tracks: make(chan *webrtc.TrackRemote, 8), track: track}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			ci := c.ToJSON()
			_ = room.Signal(id, Signal{Candidate: &ci})
		}
	})
	t.Cleanup(func() { m.gone.Store(true); pc.Close() })
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { m.tracks <- tr })
	if err := room.Join(id, pub, func(s Signal) { m.in <- s }); err != nil {
		t.Fatal(err)
	}
	go m.answer()
	return m
}

// answer answers every offer of Tandem's and takes its candidates.
func (m *member) answer() {
	for s := range m.in {
		if s.Candidate != nil {
			_ = m.pc.AddICECandidate(*s.Candidate)
		}
		if s.SDP == nil {
			continue
		}
		if err := m.pc.SetRemoteDescription(*s.SDP); err != nil {
			if !m.gone.Load() {
				m.t.Errorf("%s: offer: %v", m.id, err)
			}
			return
		}
		if m.track != nil {
			m.once.Do(func() {
				if _, err := m.pc.AddTrack(m.track); err != nil {
					m.t.Errorf("%s: publishing: %v", m.id, err)
				}
			})
		}
		ans, err := m.pc.CreateAnswer(nil)
		if err == nil {
			err = m.pc.SetLocalDescription(ans)
		}
		if err == nil {
			err = m.room.Signal(m.id, Signal{SDP: &ans})
		}
		if err != nil {
			if !m.gone.Load() {
				m.t.Errorf("%s: answer: %v", m.id, err)
			}
			return
		}
	}
}

// speak sends RTP packets until ctx ends.
func (m *member) speak(ctx context.Context) {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 111, SSRC: 1234}, Payload: []byte{0xf8, 0xff, 0xfe}}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		p.SequenceNumber++
		p.Timestamp += 960
		_ = m.track.WriteRTP(p)
	}
}

func newRoom(t *testing.T) *Room {
	t.Helper()
	sfu, err := New(Config{UDPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sfu.Close() })
	room := sfu.NewRoom(nil)
	t.Cleanup(room.Close)
	return room
}

// TestTheRoomForwardsWhatMembersPublish: a member's audio reaches the other member
// through Tandem, as a track of a stream named by the publisher; a member whose role may
// not publish has nothing forwarded.
func TestTheRoomForwardsWhatMembersPublish(t *testing.T) {
	room := newRoom(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hana := newMember(t, room, "p1", Publish{Audio: true, Video: true}, true)
	gus := newMember(t, room, "p2", Publish{}, true) // tries to publish, may not
	go hana.speak(ctx)
	go gus.speak(ctx)

	var got *webrtc.TrackRemote
	select {
	case got = <-gus.tracks:
	case <-ctx.Done():
		t.Fatal("Gus never received Hana's audio")
	}
	if got.StreamID() != "p1" || got.Kind() != webrtc.RTPCodecTypeAudio {
		t.Fatalf("Gus received %s track of stream %q, want Hana's audio (stream p1)", got.Kind(), got.StreamID())
	}
	buf := make([]byte, 1500)
	for range 5 {
		if _, _, err := got.Read(buf); err != nil {
			t.Fatalf("reading Hana's audio at Gus: %v", err)
		}
	}
	// Gus was not allowed to publish: once Hana has received a packet of anything it
	// would have been forwarded with, the room holds only Hana's track.
	room.mu.Lock()
	n := len(room.tracks)
	_, hanas := room.tracks["p1-audio"]
	room.mu.Unlock()
	if n != 1 || !hanas {
		t.Fatalf("the room forwards %d tracks (Hana's: %v); Gus may not publish", n, hanas)
	}
	select {
	case tr := <-hana.tracks:
		t.Fatalf("Hana received a %s track from %q", tr.Kind(), tr.StreamID())
	default:
	}

	room.Leave("p1")
	if m := room.Members(); len(m) != 1 || m[0] != "p2" {
		t.Fatalf("members after Hana left: %v", m)
	}
}

// TestMediaCandidatesNameTheConfiguredPorts: Tandem offers its one UDP port, its ICE-TCP
// port, and the public address it is told it has behind NAT.
func TestMediaCandidatesNameTheConfiguredPorts(t *testing.T) {
	sfu, err := New(Config{UDPAddr: "127.0.0.1:0", TCPAddr: "127.0.0.1:0", PublicIPs: []string{"203.0.113.7"},
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sfu.Close() })
	room := sfu.NewRoom(nil)
	t.Cleanup(room.Close)
	got := make(chan string, 64)
	if err := room.Join("p1", Publish{Audio: true}, func(s Signal) {
		if s.Candidate != nil {
			got <- s.Candidate.Candidate
		}
	}); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"udp on the media port":      fmt.Sprintf(" udp %%d 127.0.0.1 %d ", sfu.UDPPort()),
		"tcp on the ICE-TCP port":    fmt.Sprintf(" tcp %%d 127.0.0.1 %d ", sfu.TCPPort()),
		"the public address, on udp": fmt.Sprintf(" udp %%d 203.0.113.7 %d ", sfu.UDPPort()),
	}
	deadline := time.After(20 * time.Second)
	var seen []string
	for len(want) > 0 {
		select {
		case c := <-got:
			seen = append(seen, c)
			for what, pattern := range want {
				var prio int
				prefix, rest, _ := strings.Cut(pattern, "%d")
				if i := strings.Index(c, prefix); i >= 0 {
					if _, err := fmt.Sscanf(c[i+len(prefix):], "%d"+rest, &prio); err == nil {
						delete(want, what)
					}
				}
			}
		case <-deadline:
			t.Fatalf("no candidate for %v among %q", want, seen)
		}
	}
	// Media goes to those two ports only: no candidate names another.
	for _, c := range seen {
		f := strings.Fields(c)
		if len(f) < 6 || (f[5] != fmt.Sprint(sfu.UDPPort()) && f[5] != fmt.Sprint(sfu.TCPPort())) {
			t.Errorf("candidate %q is not on the media ports %d/%d", c, sfu.UDPPort(), sfu.TCPPort())
		}
	}
}

// TestKeyframeRequestsAreThrottled: however often receivers ask, a publisher is asked
// for a keyframe at most every keyframeEvery.
func TestKeyframeRequestsAreThrottled(t *testing.T) {
	var f forward
	asks := 0
	start := time.Now()
	for i := range 100 { // 100 requests over one second
		if f.keyframeDue(start.Add(time.Duration(i) * 10 * time.Millisecond)) {
			asks++
		}
	}
	if asks != 2 {
		t.Fatalf("%d keyframes asked in a second of requests, want 2", asks)
	}
}

// TestCandidatesKeepTheirPlaceAroundTheOffer: Tandem's candidates come after the offer
// they belong to, and a client's candidates sent before its answer are kept for it, not
// refused: either way round, a candidate lost could leave a client that must relay
// through TURN with no address to relay to.
func TestCandidatesKeepTheirPlaceAroundTheOffer(t *testing.T) {
	room := newRoom(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hana := newMember(t, room, "p1", Publish{Audio: true}, true)
	go hana.speak(ctx)

	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	tracks := make(chan *webrtc.TrackRemote, 4)
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) { tracks <- tr })
	var mine []webrtc.ICECandidateInit
	var mu sync.Mutex
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c != nil {
			mu.Lock()
			mine = append(mine, c.ToJSON())
			mu.Unlock()
		}
	})
	in := make(chan Signal, 64)
	if err := room.Join("p2", Publish{}, func(s Signal) { in <- s }); err != nil {
		t.Fatal(err)
	}
	next := func() Signal {
		t.Helper()
		select {
		case s := <-in:
			return s
		case <-ctx.Done():
			t.Fatal("no signal from Tandem")
			return Signal{}
		}
	}

	first := next()
	if first.SDP == nil {
		t.Fatalf("Tandem's first signal is %+v, want its offer", first)
	}
	if err := pc.SetRemoteDescription(*first.SDP); err != nil {
		t.Fatal(err)
	}
	answer, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(answer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	// Every candidate of this side goes before its answer.
	mu.Lock()
	early := append([]webrtc.ICECandidateInit(nil), mine...)
	mu.Unlock()
	if len(early) == 0 {
		t.Fatal("no candidate gathered")
	}
	for _, c := range early {
		if err := room.Signal("p2", Signal{Candidate: &c}); err != nil {
			t.Fatalf("a candidate before the answer: %v", err)
		}
	}
	if err := room.Signal("p2", Signal{SDP: pc.LocalDescription()}); err != nil {
		t.Fatal(err)
	}
	go func() {
		for s := range in {
			if s.Candidate != nil {
				_ = pc.AddICECandidate(*s.Candidate)
			}
		}
	}()
	select {
	case tr := <-tracks:
		if tr.Kind() != webrtc.RTPCodecTypeAudio {
			t.Fatalf("got a %s track, want Hana's audio", tr.Kind())
		}
	case <-ctx.Done():
		t.Fatal("no track reached the member whose candidates came before its answer")
	}
}
