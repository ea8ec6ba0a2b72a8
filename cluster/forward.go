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
	"github.com/nats-io/nats.go/jetstream"
)

// ErrNodeUnreachable: the node that holds a session did not answer over NATS.
var ErrNodeUnreachable = errors.New("cluster: node unreachable")

// ErrBodyTooLarge: a request to pass on had a body over the limit Forward was given.
var ErrBodyTooLarge = errors.New("cluster: request body too large")

// inlineMax is the largest body carried inside a forwarded request or answer. A larger
// one goes through the transfers object store, in chunks that any NATS system takes
// (an external one's max_payload is 1 MB by default), streamed rather than held whole.
const inlineMax = 256 << 10

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
	// BodyRef names the body in the transfers store instead, when it is over inlineMax.
	BodyRef string `json:"bodyRef,omitempty"`
	// Base is the scheme://host of the node that was asked: the links in the answer
	// point at it.
	Base string `json:"base"`
	// Identity is who the asking node found the caller to be (a signed-in agent), for
	// the answering node to take as it is: it cannot check a sign-in made elsewhere.
	Identity []byte `json:"identity,omitempty"`
}

type forwardedResponse struct {
	Status  int         `json:"status"`
	Header  http.Header `json:"header"`
	Body    []byte      `json:"body,omitempty"`
	BodyRef string      `json:"bodyRef,omitempty"` // as forwardedRequest's
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
// the caller to be, or nil). A body over max bytes is ErrBodyTooLarge.
func (n *Node) Forward(w http.ResponseWriter, r *http.Request, node, base string, identity []byte, max int64) error {
	ctx, cancel := context.WithTimeout(r.Context(), forwardTimeout)
	defer cancel()
	body, err := io.ReadAll(io.LimitReader(r.Body, min(max, inlineMax)+1))
	if err != nil {
		return fmt.Errorf("cluster: reading the request: %w", err)
	}
	if int64(len(body)) > max {
		return fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, max)
	}
	var ref string
	if len(body) > inlineMax {
		ref = newLinkID()
		info, err := n.reg.transfers.Put(ctx, jetstream.ObjectMeta{Name: ref},
			io.LimitReader(io.MultiReader(bytes.NewReader(body), r.Body), max+1))
		if err != nil {
			return fmt.Errorf("cluster: passing the request's body on: %w", err)
		}
		defer func() { _ = n.reg.transfers.Delete(context.WithoutCancel(ctx), ref) }()
		if int64(info.Size) > max {
			return fmt.Errorf("%w: over %d bytes", ErrBodyTooLarge, max)
		}
		body = nil
	}
	h := r.Header.Clone()
	for _, k := range hopHeaders {
		h.Del(k)
	}
	req, err := json.Marshal(forwardedRequest{Method: r.Method, URI: r.URL.RequestURI(), Host: r.Host,
		Remote: r.RemoteAddr, Header: h, Body: body, BodyRef: ref, Base: base, Identity: identity})
	if err != nil {
		return err
	}
	msg, err := n.nc.RequestWithContext(ctx, httpSubject(node), req)
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrNodeUnreachable, node, err)
	}
	var resp forwardedResponse
	if err := json.Unmarshal(msg.Data, &resp); err != nil {
		return fmt.Errorf("%w: %s: bad answer: %w", ErrNodeUnreachable, node, err)
	}
	var answer io.Reader = bytes.NewReader(resp.Body)
	if resp.BodyRef != "" {
		obj, err := n.reg.transfers.Get(ctx, resp.BodyRef)
		if err != nil {
			return fmt.Errorf("%w: %s: its answer's body: %w", ErrNodeUnreachable, node, err)
		}
		defer func() {
			obj.Close()
			_ = n.reg.transfers.Delete(context.WithoutCancel(ctx), resp.BodyRef)
		}()
		answer = obj
	}
	for k, v := range resp.Header {
		w.Header()[k] = v
	}
	w.Header().Set("X-Tandem-Node", node)
	w.WriteHeader(resp.Status)
	_, _ = io.Copy(w, answer)
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
			var body io.Reader = bytes.NewReader(fr.Body)
			size := int64(len(fr.Body))
			if fr.BodyRef != "" {
				obj, err := n.reg.transfers.Get(ctx, fr.BodyRef)
				if err != nil {
					n.log.Warn("reading a forwarded request's body", "err", err)
					n.respond(m, forwardedResponse{Status: http.StatusBadGateway,
						Body: []byte(`{"error":"unavailable","message":"The request's body did not come through; try again."}`)})
					return
				}
				defer obj.Close()
				info, err := obj.Info()
				if err != nil {
					n.respond(m, forwardedResponse{Status: http.StatusBadGateway,
						Body: []byte(`{"error":"unavailable","message":"The request's body did not come through; try again."}`)})
					return
				}
				body, size = obj, int64(info.Size)
			}
			req, err := http.NewRequestWithContext(ctx, fr.Method, "http://"+fr.Host+fr.URI, body)
			if err != nil {
				n.respond(m, forwardedResponse{Status: http.StatusBadRequest, Body: []byte(`{"error":"malformed forwarded request"}`)})
				return
			}
			req.Header = fr.Header
			req.Host = fr.Host
			req.RemoteAddr = fr.Remote
			req.ContentLength = size
			rec := &bufferedResponse{header: http.Header{}}
			handler.ServeHTTP(rec, req)
			if rec.status == 0 {
				rec.status = http.StatusOK
			}
			answer := forwardedResponse{Status: rec.status, Header: rec.header, Body: rec.body.Bytes()}
			if rec.body.Len() > inlineMax {
				ref := newLinkID()
				if _, err := n.reg.transfers.Put(ctx, jetstream.ObjectMeta{Name: ref}, &rec.body); err != nil {
					n.log.Warn("passing an answer's body back", "err", err)
					answer = forwardedResponse{Status: http.StatusBadGateway,
						Body: []byte(`{"error":"unavailable","message":"The answer did not come through; try again."}`)}
				} else {
					answer.Body, answer.BodyRef = nil, ref
				}
			}
			n.respond(m, answer)
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
