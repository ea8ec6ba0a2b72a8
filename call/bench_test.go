package call

import (
	"context"
	"encoding/binary"
	"log/slog"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// BenchmarkForwarding: four members each publish a video-sized stream (1,100-byte RTP
// packets at 100 a second, about 0.9 Mbit/s, what a 640x360 camera sends); each receives
// the other three through the room: twelve forwarded streams. Reported: packets and
// bit rate forwarded, and the latency from a member's send to another's receive through
// Tandem on this machine (loopback; both ends are pion, so this is the SFU's hop and the
// two stacks). CPU: run with -cpuprofile, or read the process's time against the rate.
func BenchmarkForwarding(b *testing.B) {
	room := benchRoom(b)
	const members = 4
	type recv struct {
		mu   sync.Mutex
		lat  []time.Duration
		pkts int
	}
	var got recv
	var pubs []*webrtc.TrackLocalStaticRTP
	ready := make(chan struct{}, members*(members-1))
	for i := range members {
		id := string(rune('a' + i))
		pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pc.Close() })
		track, err := webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP8, ClockRate: 90000}, "cam", id)
		if err != nil {
			b.Fatal(err)
		}
		pubs = append(pubs, track)
		pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
			ready <- struct{}{}
			buf := make([]byte, 1500)
			var p rtp.Packet
			for {
				n, _, err := tr.Read(buf)
				if err != nil {
					return
				}
				now := time.Now()
				if p.Unmarshal(buf[:n]) != nil || len(p.Payload) < 8 {
					continue
				}
				sent := time.Unix(0, int64(binary.BigEndian.Uint64(p.Payload)))
				got.mu.Lock()
				got.lat = append(got.lat, now.Sub(sent))
				got.pkts++
				got.mu.Unlock()
			}
		})
		in := make(chan Signal, 64)
		pc.OnICECandidate(func(c *webrtc.ICECandidate) {
			if c != nil {
				ci := c.ToJSON()
				_ = room.Signal(id, Signal{Candidate: &ci})
			}
		})
		if err := room.Join(id, Publish{Video: true}, func(s Signal) { in <- s }); err != nil {
			b.Fatal(err)
		}
		var once sync.Once
		go func() {
			for s := range in {
				if s.Candidate != nil {
					_ = pc.AddICECandidate(*s.Candidate)
				}
				if s.SDP == nil {
					continue
				}
				if pc.SetRemoteDescription(*s.SDP) != nil {
					return
				}
				once.Do(func() { _, _ = pc.AddTrack(track) })
				ans, err := pc.CreateAnswer(nil)
				if err != nil || pc.SetLocalDescription(ans) != nil || room.Signal(id, Signal{SDP: &ans}) != nil {
					return
				}
			}
		}()
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Everyone sends from the start; the streams arrive as the negotiations settle.
	send := func(i int, seq uint16) {
		payload := make([]byte, 1100)
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		_ = pubs[i].WriteRTP(&rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 96, SequenceNumber: seq,
			Timestamp: uint32(seq) * 900, SSRC: uint32(1000 + i)}, Payload: payload})
	}
	go func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for seq := uint16(0); ctx.Err() == nil; seq++ {
			<-tick.C
			for i := range pubs {
				send(i, seq)
			}
		}
	}()
	for range members * (members - 1) {
		select {
		case <-ready:
		case <-time.After(30 * time.Second):
			b.Fatal("not every member receives every other")
		}
	}
	got.mu.Lock()
	got.lat, got.pkts = nil, 0
	got.mu.Unlock()
	b.ResetTimer()
	cpu0 := cpuTime()
	start := time.Now()
	// b.N is the number of 10 ms rounds: each forwards 4 packets to 3 members.
	for range b.N {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	got.mu.Lock()
	defer got.mu.Unlock()
	if got.pkts == 0 {
		b.Fatal("nothing forwarded")
	}
	slices.Sort(got.lat)
	b.ReportMetric(float64(got.pkts)/elapsed.Seconds(), "pkts/s")
	b.ReportMetric(float64(got.pkts)*1100*8/elapsed.Seconds()/1e6, "Mbit/s")
	b.ReportMetric(float64(got.lat[len(got.lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(got.lat[len(got.lat)*95/100].Microseconds()), "p95-µs")
	// The whole process: the SFU and the four members' own stacks (encrypting, sending,
	// receiving, decrypting), so an upper bound of the SFU's share.
	b.ReportMetric(100*cpu.Seconds()/elapsed.Seconds()/float64(members*(members-1)), "cpu-%/stream")
}

// cpuTime is the process's user and system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchRoom(b *testing.B) *Room {
	b.Helper()
	sfu, err := New(Config{UDPAddr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sfu.Close() })
	room := sfu.NewRoom(nil)
	b.Cleanup(room.Close)
	return room
}
