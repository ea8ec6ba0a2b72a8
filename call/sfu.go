// Package call is the voice and video call of a co-browse session: a selective forwarding
// unit inside Tandem. Each participant has one PeerConnection with Tandem, publishes what
// its role allows, and receives everyone else's tracks as Tandem forwards them, packet by
// packet, never decoded. Participants only ever exchange media with Tandem, on one UDP
// port (ICE over TCP as a fallback), so the call is as private as the page.
package call

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"

	"github.com/pion/webrtc/v4"
	"github.com/prometheus/client_golang/prometheus"
)

// ErrClosed is returned by a closed SFU or room.
var ErrClosed = errors.New("call closed")

// ErrNotInCall is returned for signalling from a participant who has not joined the call.
var ErrNotInCall = errors.New("not in the call")

// Config is where the SFU takes media.
type Config struct {
	// UDPAddr is the one UDP address every participant's media comes to
	// (host:port; port 0 picks a free one, for tests).
	UDPAddr string
	// TCPAddr, if set, takes ICE over TCP from networks that block UDP.
	TCPAddr string
	// PublicIPs are the addresses participants reach the server at when it is behind NAT
	// (1:1 NAT); empty means its own interfaces' addresses.
	PublicIPs []string
	// ICEServers are given to participants' browsers (TURN for the most closed networks).
	ICEServers []webrtc.ICEServer
	Logger     *slog.Logger
	// Metrics registers the SFU's figures; nil registers none.
	Metrics prometheus.Registerer
}

// SFU is the server's media engine, shared by every session's room.
type SFU struct {
	api        *webrtc.API
	udp        net.PacketConn
	tcp        net.Listener
	iceServers []webrtc.ICEServer
	log        *slog.Logger
	metrics    *metrics
}

// New opens the SFU's UDP (and TCP) port.
func New(cfg Config) (*SFU, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	udp, err := net.ListenPacket("udp", cfg.UDPAddr)
	if err != nil {
		return nil, fmt.Errorf("call: media port: %w", err)
	}
	logs := pionLogs{cfg.Logger.With("component", "call")}
	var se webrtc.SettingEngine
	se.LoggerFactory = logs
	se.SetICEUDPMux(webrtc.NewICEUDPMux(logs.NewLogger("udpmux"), udp))
	types := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	var tcp net.Listener
	if cfg.TCPAddr != "" {
		if tcp, err = net.Listen("tcp", cfg.TCPAddr); err != nil {
			udp.Close()
			return nil, fmt.Errorf("call: media TCP port: %w", err)
		}
		se.SetICETCPMux(webrtc.NewICETCPMux(logs.NewLogger("tcpmux"), tcp, 8))
		types = append(types, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(types)
	// Loopback too: a participant on the server's own machine (a test, a demo) reaches it
	// there, and one elsewhere simply finds that candidate unreachable.
	se.SetIncludeLoopbackCandidate(true)
	if len(cfg.PublicIPs) > 0 {
		// The public addresses come on top of the server's own, so participants on its
		// network still reach it directly.
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{
			External: cfg.PublicIPs, AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteAppend,
		}); err != nil {
			udp.Close()
			if tcp != nil {
				tcp.Close()
			}
			return nil, fmt.Errorf("call: public addresses: %w", err)
		}
	}
	return &SFU{
		api:        webrtc.NewAPI(webrtc.WithSettingEngine(se)),
		udp:        udp,
		tcp:        tcp,
		iceServers: cfg.ICEServers,
		log:        cfg.Logger.With("component", "call"),
		metrics:    newMetrics(cfg.Metrics),
	}, nil
}

// UDPPort is the media port, as bound.
func (s *SFU) UDPPort() int { return s.udp.LocalAddr().(*net.UDPAddr).Port }

// TCPPort is the ICE-TCP port, 0 when off.
func (s *SFU) TCPPort() int {
	if s.tcp == nil {
		return 0
	}
	_, port, _ := net.SplitHostPort(s.tcp.Addr().String())
	n, _ := strconv.Atoi(port)
	return n
}

// ICEServers are what participants' browsers are told to use.
func (s *SFU) ICEServers() []webrtc.ICEServer { return s.iceServers }

// Close closes the media ports; rooms should be closed first.
func (s *SFU) Close() error {
	err := s.udp.Close()
	if s.tcp != nil {
		err = errors.Join(err, s.tcp.Close())
	}
	return err
}
