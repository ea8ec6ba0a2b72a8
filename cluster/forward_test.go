package cluster

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// TestForwardingCarriesBodiesOverTheMaxPayload: on a NATS server that takes messages of
// at most 1 MB (an external NATS as configured by default), a 5 MB file passed to
// another node and a 3 MB answer come through whole, in chunks, and leave nothing
// behind in the transfers store; a body over the limit is ErrBodyTooLarge.
func TestForwardingCarriesBodiesOverTheMaxPayload(t *testing.T) {
	srv, err := StartServer(ServerConfig{Listen: "127.0.0.1:0", NodeName: "n0", DataDir: t.TempDir(), Secret: testSecret, MaxPayload: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	startNode := func(name string) *Node {
		t.Helper()
		nc := connect(t, srv)
		reg, err := OpenRegistry(ctx, nc, RegistryConfig{})
		if err != nil {
			t.Fatal(err)
		}
		n, err := StartNode(ctx, NodeConfig{Name: name, Conn: nc, Registry: reg, Sessions: newFakeSessions(),
			Load: func() NodeInfo { return NodeInfo{} }, Logger: testLog})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(n.Close)
		return n
	}
	a, b := startNode("a"), startNode("b")

	answer := bytes.Repeat([]byte("tandem "), 3<<20/7)
	err = b.ServeAPI(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := sha256.New()
		n, err := io.Copy(h, r.Body)
		if err != nil || n != r.ContentLength {
			http.Error(w, "short body", http.StatusBadRequest)
			return
		}
		w.Header().Set("X-Sum", hex.EncodeToString(h.Sum(nil)))
		w.Header().Set("X-Length", strconv.FormatInt(n, 10))
		_, _ = w.Write(answer)
	}))
	if err != nil {
		t.Fatal(err)
	}

	file := make([]byte, 5<<20)
	for i := range file {
		file[i] = byte(i * 7 / 3)
	}
	sum := sha256.Sum256(file)
	req := httptest.NewRequest(http.MethodPost, "http://a/api/v1/sessions/s1/files", bytes.NewReader(file))
	w := httptest.NewRecorder()
	if err := a.Forward(w, req, "b", "http://a", nil, 10<<20); err != nil {
		t.Fatal(err)
	}
	if w.Code != http.StatusOK || w.Header().Get("X-Sum") != hex.EncodeToString(sum[:]) || w.Header().Get("X-Length") != strconv.Itoa(len(file)) {
		t.Fatalf("node b got %s bytes summing %s (status %d), want %d summing %x",
			w.Header().Get("X-Length"), w.Header().Get("X-Sum"), w.Code, len(file), sum)
	}
	if !bytes.Equal(w.Body.Bytes(), answer) {
		t.Fatalf("the answer came back as %d bytes, want the %d sent", w.Body.Len(), len(answer))
	}
	// Small bodies go inline, both ways.
	w = httptest.NewRecorder()
	if err := a.Forward(w, httptest.NewRequest(http.MethodPost, "http://a/x", bytes.NewReader([]byte("hi"))), "b", "http://a", nil, 10<<20); err != nil {
		t.Fatal(err)
	}
	if w.Header().Get("X-Length") != "2" {
		t.Fatalf("a small body reached b as %s bytes", w.Header().Get("X-Length"))
	}

	big := httptest.NewRequest(http.MethodPost, "http://a/api/v1/sessions/s1/files", bytes.NewReader(file))
	if err := a.Forward(httptest.NewRecorder(), big, "b", "http://a", nil, 1<<20); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("a 5 MB body with a 1 MB limit: %v, want ErrBodyTooLarge", err)
	}
	waitFor(t, "the transfers store emptied", func() bool {
		infos, err := a.reg.transfers.List(ctx)
		return errors.Is(err, jetstream.ErrNoObjectsFound) || (err == nil && len(infos) == 0)
	})
}
