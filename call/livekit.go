package call

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// ErrLiveKitConfig is returned for LiveKit settings that cannot work.
var ErrLiveKitConfig = errors.New("call: LiveKit settings")

// LiveKitConfig points calls at a LiveKit server the operator runs, instead of Tandem's
// own SFU. Tandem never carries the media then: participants' browsers connect to
// LiveKit with a room token Tandem mints, whose grants follow the role's call rule.
type LiveKitConfig struct {
	// URL is where browsers reach LiveKit (wss://lk.example.com; ws:// on a trusted
	// network). Tandem calls its API on the same host over https (http for ws).
	URL       string
	APIKey    string
	APISecret string
	// TokenTTL is how long a room token admits its holder; 6 h when 0.
	TokenTTL time.Duration
	// Client calls LiveKit's API; http.DefaultClient with a 10 s timeout when nil.
	Client *http.Client
}

// LiveKit mints room tokens and removes participants from LiveKit rooms.
type LiveKit struct {
	url, api    string
	key, secret string
	ttl         time.Duration
	client      *http.Client
	now         func() time.Time
}

// NewLiveKit checks c and returns its LiveKit.
func NewLiveKit(c LiveKitConfig) (*LiveKit, error) {
	u, err := url.Parse(c.URL)
	if err != nil || u.Host == "" || (u.Scheme != "ws" && u.Scheme != "wss") {
		return nil, fmt.Errorf("%w: the URL must be ws://HOST or wss://HOST, got %q", ErrLiveKitConfig, c.URL)
	}
	if c.APIKey == "" || len(c.APISecret) < 32 {
		return nil, fmt.Errorf("%w: an API key and a secret of at least 32 characters are needed", ErrLiveKitConfig)
	}
	api := *u
	api.Scheme = map[string]string{"ws": "http", "wss": "https"}[u.Scheme]
	api.Path, api.RawQuery, api.Fragment = strings.TrimSuffix(u.Path, "/"), "", ""
	if c.TokenTTL <= 0 {
		c.TokenTTL = 6 * time.Hour
	}
	if c.Client == nil {
		c.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &LiveKit{url: u.String(), api: api.String(), key: c.APIKey, secret: c.APISecret, ttl: c.TokenTTL,
		client: c.Client, now: time.Now}, nil
}

// URL is where browsers connect.
func (l *LiveKit) URL() string { return l.url }

// Room is the LiveKit room of a session.
func (l *LiveKit) Room(session string) string { return "tandem-" + session }

// videoGrant is LiveKit's "video" claim: what a token lets its holder do in a room.
type videoGrant struct {
	Room              string   `json:"room,omitempty"`
	RoomJoin          bool     `json:"roomJoin,omitempty"`
	RoomAdmin         bool     `json:"roomAdmin,omitempty"`
	RoomCreate        bool     `json:"roomCreate,omitempty"`
	CanPublish        *bool    `json:"canPublish,omitempty"`
	CanSubscribe      *bool    `json:"canSubscribe,omitempty"`
	CanPublishData    *bool    `json:"canPublishData,omitempty"`
	CanPublishSources []string `json:"canPublishSources,omitempty"`
}

type liveKitClaims struct {
	jwt.RegisteredClaims
	Name  string     `json:"name,omitempty"`
	Video videoGrant `json:"video"`
}

// Token admits identity (a participant id) to room as name, publishing what pub allows:
// the microphone for audio, the camera for video, nothing else (no screen share, no
// data); it receives everyone.
func (l *LiveKit) Token(room, identity, name string, pub Publish) (string, error) {
	sources := []string{}
	if pub.Audio {
		sources = append(sources, "microphone")
	}
	if pub.Video {
		sources = append(sources, "camera")
	}
	yes, no, publish := true, false, pub.Audio || pub.Video
	return l.sign(identity, name, l.ttl, videoGrant{Room: room, RoomJoin: true, CanPublish: &publish,
		CanSubscribe: &yes, CanPublishData: &no, CanPublishSources: sources})
}

func (l *LiveKit) sign(identity, name string, ttl time.Duration, grant videoGrant) (string, error) {
	now := l.now()
	claims := liveKitClaims{
		RegisteredClaims: jwt.RegisteredClaims{Issuer: l.key, Subject: identity, NotBefore: jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(now.Add(ttl))},
		Name: name, Video: grant,
	}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(l.secret))
}

// RemoveParticipant takes identity out of room at once (it left the session, or was
// removed from it): its token would otherwise admit it until it expires.
func (l *LiveKit) RemoveParticipant(ctx context.Context, room, identity string) error {
	return l.roomService(ctx, "RemoveParticipant", room, map[string]string{"room": room, "identity": identity})
}

// DeleteRoom ends room for everyone in it (the session ended).
func (l *LiveKit) DeleteRoom(ctx context.Context, room string) error {
	return l.roomService(ctx, "DeleteRoom", room, map[string]string{"room": room})
}

// roomService calls a method of LiveKit's RoomService (Twirp, JSON) with an admin token
// for room. A room or participant LiveKit does not know is no error: it is gone already.
func (l *LiveKit) roomService(ctx context.Context, method, room string, body any) error {
	token, err := l.sign("tandem", "", time.Minute, videoGrant{Room: room, RoomAdmin: true, RoomCreate: true})
	if err != nil {
		return err
	}
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, l.api+"/twirp/livekit.RoomService/"+method, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := l.client.Do(req)
	if err != nil {
		return fmt.Errorf("call: LiveKit %s: %w", method, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusNotFound {
		return nil
	}
	return fmt.Errorf("call: LiveKit %s: %s: %s", method, resp.Status, bytes.TrimSpace(msg))
}
