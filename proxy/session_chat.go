package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"

	"github.com/tandem-cobrowse/tandem/stream"
)

// Chat limits of docs/protocol.md.
const (
	ChatMaxRunes   = 1000 // characters (runes) a message may hold, after cleaning
	ChatHistoryCap = 200  // messages a session keeps for joiners; older ones are forgotten
	// A participant may send chatBurst messages at once, then one every chatEvery: enough
	// to talk, too few to bury the others' messages.
	chatBurst = 5
	chatEvery = time.Second
)

// Refusals of a chat message, told to the sender as error bad_message.
var (
	ErrChatEmpty   = errors.New("chat message is empty")
	ErrChatTooLong = fmt.Errorf("chat message is longer than %d characters", ChatMaxRunes)
	ErrChatUTF8    = errors.New("chat message is not valid UTF-8")
)

// chatMsg is one message as everyone receives it. Text is plain text: clients show it as
// text, never as markup.
type chatMsg struct {
	Type  string        `json:"type"` // "chat"
	ID    string        `json:"id"`
	From  ParticipantID `json:"from"`
	Name  string        `json:"name"`
	Role  Role          `json:"role"`
	Color string        `json:"color"`
	Text  string        `json:"text"`
	At    time.Time     `json:"at"`
}

// chatHistoryMsg gives a joiner the session's chat so far, oldest first.
type chatHistoryMsg struct {
	Type     string    `json:"type"` // "chat_history"
	Messages []chatMsg `json:"messages"`
}

// chatLog is the session's chat, owned by the session's goroutine like the rest of state.
type chatLog struct {
	sent int       // messages ever accepted, for ids
	msgs []chatMsg // the newest ChatHistoryCap, oldest first
}

func (l *chatLog) add(m chatMsg) {
	if len(l.msgs) >= ChatHistoryCap {
		// Shift rather than grow: the slice's array stays at the cap for the session's life.
		copy(l.msgs, l.msgs[1:])
		l.msgs = l.msgs[:len(l.msgs)-1]
	}
	l.msgs = append(l.msgs, m)
}

// chat takes a participant's message: cleaned, limited, kept and sent to everyone admitted
// to the session (a participant still waiting for the host's consent has no connection
// here, so it neither sends nor receives). Seeing the page is not needed: a role the page
// is hidden from, or one without the view rule, still talks with the others.
func (s *Session) chat(p *participant, m stream.ClientMessage) {
	text, err := CleanChat(m.Text)
	if err != nil {
		_ = p.conn.Send(errMsg("bad_message", err.Error()))
		return
	}
	if p.chatLimit == nil {
		p.chatLimit = rate.NewLimiter(rate.Every(chatEvery), chatBurst)
	}
	if !p.chatLimit.AllowN(s.now(), 1) {
		// Each dropped message is told, so the sender knows which text did not go.
		_ = p.conn.Send(notice("warning", "chat_rate_limited",
			"You are sending messages too quickly; this one was not sent. Wait a moment and send it again."))
		return
	}
	s.st.chat.sent++
	msg := chatMsg{Type: "chat", ID: "c" + itoa(s.st.chat.sent), From: p.id, Name: p.name, Role: p.role,
		Color: p.color, Text: text, At: s.now().UTC().Truncate(time.Millisecond)}
	s.st.chat.add(msg)
	// The audit log says who wrote and how much, never what.
	s.audit.Record("chat_message", s.id, slog.String("participant", string(p.id)), slog.String("role", string(p.role)),
		slog.String("id", msg.ID), slog.Int("length", utf8.RuneCountInString(text)))
	s.broadcast(msg)
}

// sendChatHistory gives p the chat so far; an empty history is sent too, so a client
// that reconnects replaces what it shows rather than adding to it.
func (s *Session) sendChatHistory(p *participant) {
	_ = p.conn.Send(chatHistoryMsg{Type: "chat_history", Messages: append([]chatMsg{}, s.st.chat.msgs...)})
}

// CleanChat returns a chat message's text as it is kept: line breaks as \n, without
// control characters other than newline and tab, without the direction overrides that
// can make text read as something else, and without surrounding space. It refuses an
// empty or too long message.
func CleanChat(text string) (string, error) {
	if !utf8.ValidString(text) {
		return "", ErrChatUTF8
	}
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.Map(func(r rune) rune {
		switch {
		case r == '\n' || r == '\t':
			return r
		case r == '\r':
			return '\n'
		case unicode.IsControl(r) || directionOverride(r):
			return -1
		}
		return r
	}, text)
	text = strings.TrimSpace(text)
	switch n := utf8.RuneCountInString(text); {
	case n == 0:
		return "", ErrChatEmpty
	case n > ChatMaxRunes:
		return "", ErrChatTooLong
	}
	return text, nil
}

// directionOverride reports the embedding, override and isolate controls (U+202A–U+202E,
// U+2066–U+2069): they reorder the text around them.
func directionOverride(r rune) bool {
	return (r >= 0x202A && r <= 0x202E) || (r >= 0x2066 && r <= 0x2069)
}
