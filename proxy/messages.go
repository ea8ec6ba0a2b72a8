package proxy

import "time"

// Server → client text messages of docs/protocol.md.

type participantInfo struct {
	ID        ParticipantID `json:"id"`
	Name      string        `json:"name"`
	Role      Role          `json:"role"`
	Color     string        `json:"color"`
	Connected bool          `json:"connected"`
	Priority  int           `json:"priority"`
	// Waiting: asking the host's consent to see the page.
	Waiting bool `json:"waiting,omitempty"`
}

type welcomeMsg struct {
	Type        string          `json:"type"`
	Participant participantInfo `json:"participant"`
	ResumeToken string          `json:"resumeToken"`
	Rules       RoleRules       `json:"rules"`
	Session     sessionRef      `json:"session"`
	Links       map[Role]string `json:"links,omitempty"`
	// The host's join code, for agents to type into the agent console.
	JoinCode          string     `json:"joinCode,omitempty"`
	JoinCodeExpiresAt *time.Time `json:"joinCodeExpiresAt,omitempty"`
	// CanRecord: the host may record this session (its rules allow it, the server keeps
	// recordings).
	CanRecord bool `json:"canRecord,omitempty"`
}

// waitingMsg tells a participant that the host is being asked to let it in.
type waitingMsg struct {
	Type        string          `json:"type"`
	Participant participantInfo `json:"participant"`
	Message     string          `json:"message"`
}

type sessionRef struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"`
}

type tabInfo struct {
	ID     string `json:"id"`
	URL    string `json:"url"`
	Title  string `json:"title"`
	Active bool   `json:"active"`
}

type stateMsg struct {
	Type            string            `json:"type"`
	URL             string            `json:"url"`
	Title           string            `json:"title"`
	CanGoBack       bool              `json:"canGoBack"`
	CanGoForward    bool              `json:"canGoForward"`
	Loading         bool              `json:"loading"`
	Controller      *ParticipantID    `json:"controller"`
	Participants    []participantInfo `json:"participants"`
	Requests        []Request         `json:"requests"`
	PendingTransfer *Transfer         `json:"pendingTransfer"`
	Tabs            []tabInfo         `json:"tabs"`
	// Audience, in a big session's state for guests, is how many are connected; the
	// participants are then only the host, agents and who holds or asks for control.
	Audience int `json:"audience,omitempty"`
}

type pointerMsg struct {
	Type        string        `json:"type"`
	Participant ParticipantID `json:"participant"`
	X           float64       `json:"x"`
	Y           float64       `json:"y"`
	Visible     bool          `json:"visible"`
}

type controlRequestMsg struct {
	Type        string        `json:"type"`
	Participant ParticipantID `json:"participant"`
}

type noticeMsg struct {
	Type    string  `json:"type"`
	Level   string  `json:"level"`
	Code    string  `json:"code"`
	Reason  Refusal `json:"reason,omitempty"`
	Message string  `json:"message"`
}

type errorMsg struct {
	Type    string `json:"type"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

type dialogMsg struct {
	Type          string    `json:"type"`
	ID            string    `json:"id"`
	Kind          string    `json:"kind"`
	Message       string    `json:"message"`
	DefaultPrompt string    `json:"defaultPrompt"`
	ExpiresAt     time.Time `json:"expiresAt"`
}

type dialogClosedMsg struct {
	Type   string `json:"type"`
	ID     string `json:"id"`
	Result string `json:"result"`
}

type clipboardMsg struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

func notice(level, code, message string) noticeMsg {
	return noticeMsg{Type: "notice", Level: level, Code: code, Message: message}
}

func errMsg(code, message string) errorMsg {
	return errorMsg{Type: "error", Code: code, Message: message}
}

// stillMsg says the page has not changed since picture Seq (a keep-alive).
type stillMsg struct {
	Type string `json:"type"`
	Seq  uint64 `json:"seq"`
}
