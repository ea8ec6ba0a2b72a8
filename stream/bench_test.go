package stream

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// BenchmarkFanout prepares one ~30 KB frame per op and delivers it to every viewer. The
// viewers' far end is a sinkConn that parses and discards what the server writes, so the
// allocations reported are the server path's alone; they must not grow with viewers.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run(fmt.Sprintf("viewers=%d", n), func(b *testing.B) { benchFanout(b, n) })
	}
}

func benchFanout(b *testing.B, viewers int) {
	up := NewUpgrader(Options{})
	var delivered sync.WaitGroup // one Done per binary message a viewer received
	var running sync.WaitGroup
	ctx, cancel := context.WithCancel(context.Background())
	conns := make([]*Conn, viewers)
	for i := range conns {
		c, err := upgradeSink(up, newSinkConn(&delivered))
		if err != nil {
			b.Fatal(err)
		}
		conns[i] = c
		running.Go(func() { _ = c.Run(ctx, func(ClientMessage) {}) })
	}
	defer func() {
		cancel()
		running.Wait()
	}()

	jpeg := fakeJPEG(30<<10, 1)
	var seq uint64
	b.SetBytes(int64(len(jpeg)) * int64(viewers))
	b.ReportAllocs()
	for b.Loop() {
		seq++
		f, err := NewFrame(FrameHeader{Seq: seq, Width: 1280, Height: 720, TS: 1764072000000}, jpeg)
		if err != nil {
			b.Fatal(err)
		}
		delivered.Add(viewers)
		for _, c := range conns {
			c.SendFrame(f)
		}
		delivered.Wait()
	}
}

// upgradeSink runs the real Upgrade over conn, as an HTTP server would after accepting it.
func upgradeSink(up *Upgrader, conn *sinkConn) (*Conn, error) {
	r := httptest.NewRequest(http.MethodGet, "http://tandem.test/api/v1/sessions/s/ws", nil)
	r.Header.Set("Connection", "Upgrade")
	r.Header.Set("Upgrade", "websocket")
	r.Header.Set("Sec-WebSocket-Version", "13")
	r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
	return up.Upgrade(&hijacker{header: http.Header{}, conn: conn}, r)
}

type hijacker struct {
	header http.Header
	conn   net.Conn
}

func (h *hijacker) Header() http.Header         { return h.header }
func (h *hijacker) Write(b []byte) (int, error) { return len(b), nil }
func (h *hijacker) WriteHeader(int)             {}
func (h *hijacker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return h.conn, bufio.NewReadWriter(bufio.NewReader(h.conn), bufio.NewWriter(h.conn)), nil
}

// sinkConn is a viewer's socket whose far end discards everything: it parses the server's
// WebSocket frames without allocating, counts complete binary messages, and ends the
// connection (EOF) once the server's close frame has gone by.
type sinkConn struct {
	delivered *sync.WaitGroup

	handshake bool     // the HTTP 101 response has been written
	hdr       [10]byte // frame header being collected
	hdrLen    int
	payload   uint64 // payload bytes of the current frame still to come
	opcode    byte
	fin       bool

	closed    chan struct{}
	closeOnce sync.Once
}

func newSinkConn(delivered *sync.WaitGroup) *sinkConn {
	return &sinkConn{delivered: delivered, closed: make(chan struct{})}
}

func (s *sinkConn) Write(p []byte) (int, error) {
	n := len(p)
	if !s.handshake {
		if !bytes.HasPrefix(p, []byte("HTTP/1.1 101")) {
			return 0, fmt.Errorf("unexpected handshake %q", p)
		}
		s.handshake = true // gorilla writes the whole response at once
		return n, nil
	}
	for len(p) > 0 {
		if s.payload > 0 {
			k := min(uint64(len(p)), s.payload)
			s.payload -= k
			p = p[k:]
			if s.payload == 0 {
				s.frameDone()
			}
			continue
		}
		s.hdr[s.hdrLen] = p[0]
		s.hdrLen++
		p = p[1:]
		if s.hdrLen < 2 || s.hdrLen < headerSize(s.hdr[1]) {
			continue
		}
		s.fin, s.opcode = s.hdr[0]&0x80 != 0, s.hdr[0]&0x0F
		switch l := s.hdr[1] & 0x7F; l {
		case 126:
			s.payload = uint64(binary.BigEndian.Uint16(s.hdr[2:4]))
		case 127:
			s.payload = binary.BigEndian.Uint64(s.hdr[2:10])
		default:
			s.payload = uint64(l)
		}
		s.hdrLen = 0
		if s.payload == 0 {
			s.frameDone()
		}
	}
	return n, nil
}

// headerSize is the length of a server (unmasked) frame header, from its second byte.
func headerSize(b1 byte) int {
	switch b1 & 0x7F {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

func (s *sinkConn) frameDone() {
	switch {
	case s.opcode == 2 && s.fin:
		s.delivered.Done()
	case s.opcode == 8:
		s.closeOnce.Do(func() { close(s.closed) })
	}
}

func (s *sinkConn) Read([]byte) (int, error) {
	<-s.closed
	return 0, io.EOF
}

func (s *sinkConn) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	return nil
}

var sinkAddr = &net.TCPAddr{IP: net.IPv4(192, 0, 2, 1), Port: 1234}

func (s *sinkConn) LocalAddr() net.Addr              { return sinkAddr }
func (s *sinkConn) RemoteAddr() net.Addr             { return sinkAddr }
func (s *sinkConn) SetDeadline(time.Time) error      { return nil }
func (s *sinkConn) SetReadDeadline(time.Time) error  { return nil }
func (s *sinkConn) SetWriteDeadline(time.Time) error { return nil }
