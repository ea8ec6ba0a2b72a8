package call

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

const testLKSecret = "a-livekit-api-secret-of-32-chars!"

func parseLK(t *testing.T, token string) liveKitClaims {
	t.Helper()
	var c liveKitClaims
	_, err := jwt.ParseWithClaims(token, &c, func(*jwt.Token) (any, error) { return []byte(testLKSecret), nil },
		jwt.WithValidMethods([]string{"HS256"}))
	if err != nil {
		t.Fatalf("token: %v", err)
	}
	return c
}

// TestLiveKitTokensFollowTheCallRule: a room token admits its participant to the
// session's room only, names it, and lets it publish the microphone for audio and the
// camera for video, nothing else; it is signed with the API secret and issued by the key.
func TestLiveKitTokensFollowTheCallRule(t *testing.T) {
	lk, err := NewLiveKit(LiveKitConfig{URL: "wss://lk.example.com", APIKey: "APIkey1", APISecret: testLKSecret})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		pub     Publish
		sources []string
	}{
		{Publish{Audio: true, Video: true}, []string{"microphone", "camera"}},
		{Publish{Audio: true}, []string{"microphone"}},
		{Publish{}, []string{}},
	} {
		token, err := lk.Token(lk.Room("s1"), "p2", "Gus", tc.pub)
		if err != nil {
			t.Fatal(err)
		}
		c := parseLK(t, token)
		v := c.Video
		if c.Issuer != "APIkey1" || c.Subject != "p2" || c.Name != "Gus" || v.Room != "tandem-s1" || !v.RoomJoin || v.RoomAdmin || v.RoomCreate {
			t.Fatalf("claims %+v", c)
		}
		if *v.CanPublish != (tc.pub.Audio || tc.pub.Video) || !*v.CanSubscribe || *v.CanPublishData || !slices.Equal(v.CanPublishSources, tc.sources) {
			t.Fatalf("grants for %+v: %+v (sources %v)", tc.pub, v, v.CanPublishSources)
		}
	}
	if _, err := jwt.Parse(mustToken(t, lk), func(*jwt.Token) (any, error) { return []byte("another secret of thirty-two chars"), nil }); err == nil {
		t.Fatal("a token verified with another secret")
	}
	for _, bad := range []LiveKitConfig{
		{URL: "https://lk.example.com", APIKey: "k", APISecret: testLKSecret},
		{URL: "wss://", APIKey: "k", APISecret: testLKSecret},
		{URL: "wss://lk.example.com", APIKey: "", APISecret: testLKSecret},
		{URL: "wss://lk.example.com", APIKey: "k", APISecret: "short"},
	} {
		if _, err := NewLiveKit(bad); !errors.Is(err, ErrLiveKitConfig) {
			t.Errorf("NewLiveKit(%+v): %v, want ErrLiveKitConfig", bad, err)
		}
	}
}

func mustToken(t *testing.T, lk *LiveKit) string {
	t.Helper()
	tok, err := lk.Token("r", "p", "n", Publish{Audio: true})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLiveKitRoomService: removing a participant and ending a room call LiveKit's
// RoomService with an admin token for that room; a room LiveKit no longer has is no error.
func TestLiveKitRoomService(t *testing.T) {
	type call struct {
		path, body string
		claims     liveKitClaims
	}
	var mu sync.Mutex
	var calls []call
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		c := call{path: r.URL.Path, body: string(b), claims: parseLK(t, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))}
		mu.Lock()
		calls = append(calls, c)
		mu.Unlock()
		if strings.Contains(c.body, "gone") {
			http.Error(w, `{"code":"not_found","msg":"room not found"}`, http.StatusNotFound)
			return
		}
		if r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad content type", http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte(`{}`))
	}))
	t.Cleanup(srv.Close)
	lk, err := NewLiveKit(LiveKitConfig{URL: "ws" + strings.TrimPrefix(srv.URL, "http"), APIKey: "APIkey1", APISecret: testLKSecret})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := lk.RemoveParticipant(ctx, "tandem-s1", "p2"); err != nil {
		t.Fatal(err)
	}
	if err := lk.DeleteRoom(ctx, "tandem-s1"); err != nil {
		t.Fatal(err)
	}
	if err := lk.DeleteRoom(ctx, "gone"); err != nil {
		t.Fatalf("a room LiveKit no longer has: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != 3 || calls[0].path != "/twirp/livekit.RoomService/RemoveParticipant" || calls[1].path != "/twirp/livekit.RoomService/DeleteRoom" {
		t.Fatalf("calls %+v", calls)
	}
	var body map[string]string
	if json.Unmarshal([]byte(calls[0].body), &body) != nil || body["room"] != "tandem-s1" || body["identity"] != "p2" {
		t.Fatalf("RemoveParticipant body %s", calls[0].body)
	}
	if v := calls[0].claims.Video; v.Room != "tandem-s1" || !v.RoomAdmin || v.RoomJoin {
		t.Fatalf("admin token grants %+v", v)
	}
}
