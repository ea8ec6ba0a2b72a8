package call

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// lossyLink loses most of the video a member receives while on, before pion's receiver
// sees it: the member's receiver reports tell Tandem of the loss, as a congested link's
// would.
type lossyLink struct {
	interceptor.NoOp
	on atomic.Bool
	n  atomic.Int64
}

func (l *lossyLink) NewInterceptor(string) (interceptor.Interceptor, error) { return l, nil }

func (l *lossyLink) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(info.MimeType, "video/") {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attr, err := reader.Read(b, a)
			if err != nil || !l.on.Load() || l.n.Add(1)%5 == 0 {
				return n, attr, err
			}
		}
	})
}

// lossyAPI is pion's defaults with link in front of everything else that reads media.
func lossyAPI(t *testing.T, link *lossyLink) *webrtc.API {
	t.Helper()
	m := &webrtc.MediaEngine{}
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	reg.Add(link)
	if err := webrtc.RegisterDefaultInterceptors(m, reg); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(reg))
}

// received is what a member read of one track: the sequence numbers, in order.
type received struct {
	mu   sync.Mutex
	seqs []uint16
}

func (r *received) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	var pkt rtp.Packet
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		if pkt.Unmarshal(buf[:n]) == nil {
			r.mu.Lock()
			r.seqs = append(r.seqs, pkt.SequenceNumber)
			r.mu.Unlock()
		}
	}
}

func (r *received) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.seqs)
}

func (r *received) last() uint16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.seqs[len(r.seqs)-1]
}

// videoOf waits for m's copy of a video track and reads it.
func videoOf(t *testing.T, ctx context.Context, m *member) *received {
	t.Helper()
	for {
		select {
		case tr := <-m.tracks:
			if tr.Kind() == webrtc.RTPCodecTypeVideo {
				r := &received{}
				go r.read(tr)
				return r
			}
		case <-ctx.Done():
			t.Fatalf("%s never received a video", m.id)
		}
	}
}

type pauseEvent struct {
	receiver, publisher string
	paused              bool
}

// TestALossyReceiverLosesOnlyItsOwnVideo: a receiver whose link keeps losing a video has
// its copy paused, while another receiver of the same video keeps getting every packet;
// once its link is better the copy resumes, numbered on from where it stopped, so the
// receiver sees no gap to ask for.
func TestALossyReceiverLosesOnlyItsOwnVideo(t *testing.T) {
	room := newRoom(t)
	events := make(chan pauseEvent, 16)
	room.OnVideoPaused(func(receiver, publisher string, paused bool) { events <- pauseEvent{receiver, publisher, paused} })
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	camera, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "camera", "p1")
	if err != nil {
		t.Fatal(err)
	}
	hana := newMemberWith(t, nil, room, "p1", Publish{Video: true}, camera)
	link := &lossyLink{}
	link.on.Store(true)
	gus := newMember(t, room, "p2", Publish{}, false)
	lena := newMemberWith(t, lossyAPI(t, link), room, "p3", Publish{}, nil)
	_ = hana

	var sent atomic.Int64
	go func() { // 200 packets a second, as a camera's video would come
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		p := &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SSRC: 5678}, Payload: make([]byte, 600)}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			p.SequenceNumber++
			p.Timestamp += 450
			_ = camera.WriteRTP(p)
			sent.Add(1)
		}
	}()
	atGus, atLena := videoOf(t, ctx, gus), videoOf(t, ctx, lena)

	next := func(what string) pauseEvent {
		t.Helper()
		select {
		case e := <-events:
			return e
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
			return pauseEvent{}
		}
	}
	if e := next("Lena's copy paused"); e != (pauseEvent{"p3", "p1", true}) {
		t.Fatalf("first pause event %+v, want Lena's copy of Hana's video paused", e)
	}
	lastBefore := atLena.last()

	// Gus's copy goes on, every packet: Lena's pause is Lena's alone.
	from, sentFrom := atGus.count(), sent.Load()
	for atGus.count() < from+200 {
		select {
		case <-ctx.Done():
			t.Fatalf("Gus got %d packets after Lena's pause", atGus.count()-from)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if got, sentSince := atGus.count()-from, sent.Load()-sentFrom; float64(got) < 0.9*float64(sentSince) {
		t.Fatalf("Gus got %d of the %d packets sent while Lena's copy was paused", got, sentSince)
	}

	// Lena's link gets better: her copy resumes after the back-off, numbered on.
	link.on.Store(false)
	if e := next("Lena's copy resumed"); e != (pauseEvent{"p3", "p1", false}) {
		t.Fatalf("pause event %+v, want Lena's copy resumed", e)
	}
	n := atLena.count()
	for atLena.count() < n+50 {
		select {
		case <-ctx.Done():
			t.Fatal("Lena got no video after her copy resumed")
		case <-time.After(20 * time.Millisecond):
		}
	}
	atLena.mu.Lock()
	seqs := append([]uint16(nil), atLena.seqs...)
	atLena.mu.Unlock()
	// The packets after the last one Lena had before the pause follow it with no gap
	// wider than those of her lossy link (4 in 5 lost): the ~800 withheld are not missing.
	// A gap is measured from the newest number so far: a retransmission of a packet
	// asked for again comes with an older one, and the next new packet is no jump.
	var gaps []int
	seen := false
	var newest uint16
	for _, seq := range seqs {
		if !seen {
			seen, newest = seq == lastBefore, seq
			continue
		}
		if d := int16(seq - newest); d > 0 {
			gaps = append(gaps, int(d))
			newest = seq
		}
	}
	for _, g := range gaps {
		if g > 40 {
			t.Fatalf("Lena's copy skipped %d sequence numbers across its pause; want it numbered on", g)
		}
	}
	if len(gaps) < 20 {
		t.Fatalf("only %d new packets after Lena's pause", len(gaps))
	}
	select {
	case e := <-events:
		if e.receiver == "p2" {
			t.Fatalf("Gus's copy changed too: %+v", e)
		}
	default:
	}
}

// TestPausesBackOff: a copy is paused after lossyReports lossy reports in a row (not after
// one, nor after lossy reports with a good one between), each pause of a link that stays
// lossy lasts twice the one before up to pauseLongest, and a link that kept its video for
// pauseForgotten starts again from pauseFirst.
func TestPausesBackOff(t *testing.T) {
	var changes []bool
	d := &downTrack{video: true}
	d.onChange = func(paused bool) { changes = append(changes, paused) }
	lossy, good := uint8(128), uint8(5) // 50% and 2% lost
	now := time.Now()

	pause := func() time.Duration {
		t.Helper()
		d.report(lossy, now)
		d.report(good, now) // a good report between: no pause
		d.report(lossy, now)
		if d.paused.Load() {
			t.Fatal("paused after lossy reports that a good one separated")
		}
		d.report(lossy, now)
		if !d.paused.Load() {
			t.Fatalf("not paused after %d lossy reports in a row", lossyReports)
		}
		d.mu.Lock()
		d.timer.Stop()
		next := d.backoff
		d.mu.Unlock()
		d.resume()
		return next
	}
	var nexts []time.Duration
	for range 6 {
		nexts = append(nexts, pause())
	}
	want := []time.Duration{2 * pauseFirst, 4 * pauseFirst, pauseLongest, pauseLongest, pauseLongest, pauseLongest}
	for i := range want {
		if nexts[i] != want[i] {
			t.Fatalf("back-off after pause %d is %s, want %s (all: %v)", i+1, nexts[i], want[i], nexts)
		}
	}
	now = now.Add(time.Hour) // long after the last resume
	if next := pause(); next != 2*pauseFirst {
		t.Fatalf("back-off after a long good spell's first pause is %s, want %s", next, 2*pauseFirst)
	}
	if len(changes) != 14 || !changes[0] || changes[1] {
		t.Fatalf("pause hook calls %v, want paused and resumed, seven times", changes)
	}

	audio := &downTrack{}
	for range 5 {
		audio.report(lossy, now)
	}
	if audio.paused.Load() {
		t.Fatal("an audio copy was paused: only video is")
	}
}
