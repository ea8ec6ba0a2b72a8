package cluster

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/tandem-cobrowse/tandem/stream"
)

// The relay serves a session's participants from a node that does not hold it. The node
// whose WebSocket a participant reached (the edge) attaches it to the holding node; the
// holder joins it to the session through a RemoteConn. Subjects:
//
//	tandem.node.NODE.attach      edge → holder, request: attach a participant
//	tandem.node.NODE.http        edge → holder, request: an API call about a session held there
//	tandem.node.NODE.adopt       any → node: sessions were handed to it; look now
//	tandem.node.NODE.pace        edge → holder: what its viewers did with the relayed frames
//	tandem.link.LINK.in          edge → holder: the participant's messages, keep-alives, leave
//	tandem.s.SESSION.EDGE.l.LINK holder → edge: text, newest-wins state, close, audience, frame
//	tandem.s.SESSION.EDGE.all    holder → edge: text for several of its links (header L), once
//	tandem.frames.SESSION.AUD    holder → edges: each audience's pictures, published once
//
// A frame is published once per audience, whatever the number of nodes and viewers; each
// edge subscribes once per audience and hands the same bytes to its viewers' newest-wins
// slots, so a viewer on another node skips stale pictures exactly as a local one does.
//
// Text that many participants get alike (Page mode's copy of the page) is published once
// per audience and edge, naming the edge's links that get it. The edge subscribes once
// per session to tandem.s.SESSION.EDGE.>, so that text and each link's own messages
// reach it in the order the holder sent them: a patch never overtakes the snapshot it
// changes.

// Header keys of relay messages.
const (
	hdrType      = "T"
	hdrPublished = "P" // unix nanoseconds at which the holder published a frame
	hdrLinks     = "L" // the links, space-separated, that shared text is for
)

// Link message types.
const (
	outText   = "text"
	outLatest = "latest"
	outClose  = "close"
	outAud    = "aud"
	outFrame  = "frame"

	inMsg   = "msg"
	inAlive = "ka"
	inLeave = "leave"
	inSub   = "sub" // the edge subscribed to its audience: send the newest picture
)

// Relay timing.
const (
	keepAliveEvery = 2 * time.Second
	linkExpiry     = 8 * time.Second // a link silent this long has lost its edge
	attachTimeout  = 10 * time.Second
)

func attachSubject(node string) string { return "tandem.node." + node + ".attach" }
func httpSubject(node string) string   { return "tandem.node." + node + ".http" }
func adoptSubject(node string) string  { return "tandem.node." + node + ".adopt" }
func paceSubject(node string) string   { return "tandem.node." + node + ".pace" }
func linkIn(link string) string        { return "tandem.link." + link + ".in" }

// sessionEdge is the prefix of what a holder sends one edge about one session.
func sessionEdge(session, edge string) string { return "tandem.s." + session + "." + edge }
func linkOut(session, edge, link string) string {
	return sessionEdge(session, edge) + ".l." + link
}
func sharedOut(session, edge string) string { return sessionEdge(session, edge) + ".all" }
func frameSubject(session, aud string) string {
	return "tandem.frames." + session + "." + aud
}

// audienceToken names an audience in a subject: a short hash of the session's own key.
func audienceToken(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

func newLinkID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NodeToken makes a node name usable in subjects and keys: dots, spaces and wildcards
// become dashes ("web-1.example.com" → "web-1-example-com").
func NodeToken(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == '_' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z'):
			return r
		default:
			return '-'
		}
	}, name)
}

// validSubjectToken: a session id or link id that can be put in a subject as it is.
func validSubjectToken(s string) bool {
	return s != "" && len(s) <= 128 && NodeToken(s) == s
}

// attachRequest is the edge's request to join a participant to a session held elsewhere.
type attachRequest struct {
	Link    string               `json:"link"`
	Session string               `json:"session"`
	Hello   stream.ClientMessage `json:"hello"`
	Remote  string               `json:"remote"` // the participant's address
	Edge    string               `json:"edge"`   // the node it is connected to
}

// closeMsg is why a participant is disconnected: the holder's verdict on an attach, or a
// close of its connection.
type closeMsg struct {
	OK      bool   `json:"ok,omitempty"`
	Code    int    `json:"code,omitempty"`
	Bye     string `json:"bye,omitempty"`
	Message string `json:"message,omitempty"`
}

// paceReport is what an edge's viewers of one audience did with the frames relayed to
// them over the last report interval.
type paceReport struct {
	Session    string `json:"session"`
	Deliveries int    `json:"deliveries"`
	Skips      int    `json:"skips"`
	Largest    int    `json:"largest"`
}

// paceEvery is how often an edge reports its viewers' skips to the holding node.
const paceEvery = 250 * time.Millisecond
