package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/nats-io/nats.go"
)

// ErrNodeUnreachable: the node that holds a session did not answer over NATS.
var ErrNodeUnreachable = errors.New("cluster: node unreachable")

// forwardTimeout bounds an API call passed to another node (creating a session opens a
// tab and loads its first page there).
var forwardTimeout = 45 * time.Second

// forwardedRequest is an API call passed to the node that can answer it.
type forwardedRequest struct {
	Method string      `json:"method"`
	URI    string      `json:"uri"` // path and query
	Host   string      `json:"host"`
	Remote string      `json:"remote"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body,omitempty"`
	// Base is the scheme://host of the node that was asked: the links in the answer
	// point at it.
	Base string `json:"base"`
	// Identity is who the asking node found the caller to be (a signed-in agent), for
	// the answering node to take as it is: it cannot check a sign-in made elsewhere.
	Identity []byte `json:"identity,omitempty"`
}

type forwardedResponse struct {
	Status int         `json:"status"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"body,omitempty"`
}

type forwardedKey struct{}

type forwarded struct {
	base     string
	identity []byte
}

// Forwarded reports whether r was passed on by another node, and the base of the links
// it wants. Only the relay sets it: no client can.
func Forwarded(r *http.Request) (base string, ok bool) {
	f, ok := r.Context().Value(forwardedKey{}).(forwarded)
	return f.base, ok
}

// ForwardedIdentity is who the node that passed r on found its caller to be; nil when r
// was not passed on or carried nobody.
func ForwardedIdentity(r *http.Request) []byte {
	f, _ := r.Context().Value(forwardedKey{}).(forwarded)
	return f.identity
}

// hopHeaders are not passed on: they belong to one connection.
var hopHeaders = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "Trailer"}

// Forward passes r to node and writes its answer to w, with identity (who this node found
// the caller to be, or nil). The body is read whole, up to max bytes.
func (n *Node) Forward(w http.ResponseWriter, r *http.Request, node, base string, identity []byte, max int64) error {
	body, err := io.ReadAll(io.LimitReader(r.Body, max+1))
	if err != nil {
		return fmt.Errorf("cluster: reading the request: %w", err)
	}
	if int64(len(body)) > max {
		return fmt.Errorf("cluster: request body over %d bytes", max)
	}
	h := r.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	req, err := json.Marshal(forwardedRequest{Method: r.Method, URI: r.URL.RequestURI(), Host: r.Host,
		Remote: r.RemoteAddr, Header: h, Body: body, Base: base, Identity: identity})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	msg, err := n.nc.RequestWithContext(ctx, httpSubject(node), req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNodeUnreachable, node, err)
	}
	var resp forwardedResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("%w: %s: bad answer: %w", ErrNodeUnreachable, node, err)
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("X-Tandem-Node", node)
	w.WriteHeader(resp.Status)
	_, _ = w.Write(resp.Body)
	n.metrics.forwarded()
	return nil
}

// answerHTTP serves the API calls other nodes pass to this one through handler.
func (n *Node) answerHTTP(handler http.Handler) func(m *nats.Msg) {
	return func(m *nats.Msg) {
		// Each on its own goroutine: creating a session takes a while, and other calls
		// must not wait behind it.
		go func() {
			var fr forwardedRequest
			if err := json.Unmarshal(m.Data, &fr); err != nil {
				n.respond(m, forwardedResponse{Status: http.StatusBadRequest, Body: []byte(`{"error":"malformed forwarded request"}`)})
				return
			}
			ctx, cancel := context.WithTimeout(context.WithValue(n.ctx, forwardedKey{}, forwarded{base: fr.Base, identity: fr.Identity}), forwardTimeout)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, fr.Method, "http://"+fr.Host+fr.URI, bytes.NewReader(fr.Body))
			if err != nil {
				n.respond(m, forwardedResponse{Status: http.StatusBadRequest, Body: []byte(`{"error":"malformed forwarded request"}`)})
				return
			}
			req.Header = fr.Header
			req.Host = fr.Host
			req.RemoteAddr = fr.Remote
			req.ContentLength = int64(len(fr.Body))
			rec := &bufferedResponse{header: http.Header{}}
			handler.ServeHTTP(rec, req)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			n.respond(m, forwardedResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()})
		}()
	}
}

func (n *Node) respond(m *nats.Msg, r forwardedResponse) {
	b, err := json.Marshal(r)
	if err == nil {
		err = m.Respond(b)
	}
	if err != nil {
		n.log.Debug("answering a forwarded request", "err", err)
	}
}

// bufferedResponse is a ResponseWriter that keeps the answer for the node that asked.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}
