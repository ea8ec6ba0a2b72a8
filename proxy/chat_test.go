package proxy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tandem-cobrowse/tandem/proxy"
)

func chatText(text string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["text"] == text }
}

func say(c *client, text string) {
	c.send(map[string]any{"type": "chat", "text": text})
}

// chats are the texts of the chat messages c received from participant from, in order.
func (c *client) chats(from string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.msgs {
		if m["type"] == "chat" && m["from"] == from {
			out = append(out, m["text"].(string))
		}
	}
	return out
}

// settled returns once the session has taken everything c sent before: a binary message is
// refused by the connection's reader itself, after it has handed every earlier message
// to the session's queue, whose messages the session handles in order.
func (c *client) settled() {
	c.t.Helper()
	refused := func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["message"]), "binary") }
	before := c.count("error", refused)
	c.wmu.Lock()
	err := c.ws.WriteMessage(websocket.BinaryMessage, []byte{0})
	c.wmu.Unlock()
	if err != nil {
		c.t.Fatalf("send: %v", err)
	}
	eventually(c.t, "the reader answers", func() bool { return c.count("error", refused) > before })
}

func TestChatReachesEveryoneAsPlainText(t *testing.T) {
	p := newProvider(t)
	audit := &syncBuffer{}
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Audit = proxy.NewAudit(audit) })
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	hostID, guestID := host.id(), guest.id()

	html := `<img src=x onerror=alert(1)><b>bold</b> & "quotes"`
	say(guest, "  "+html+"\n")
	for who, c := range map[string]*client{"host": host, "guest": guest} {
		m := c.waitFor("chat", chatText(html))
		at, err := time.Parse(time.RFC3339, fmt.Sprint(m["at"]))
		if m["from"] != guestID || m["name"] != "Gus" || m["role"] != "guest" || !strings.HasPrefix(fmt.Sprint(m["color"]), "#") ||
			err != nil || time.Since(at) > time.Minute || !strings.HasPrefix(fmt.Sprint(m["id"]), "c") {
			t.Errorf("the %s got %v (time: %v)", who, m, err)
		}
	}
	// The host's answer comes after it, with a later id.
	say(host, "Hi Gus,\n\tline two")
	m := guest.waitFor("chat", func(m map[string]any) bool { return m["from"] == hostID })
	if m["text"] != "Hi Gus,\n\tline two" || m["name"] != "Hana" || m["role"] != "host" || m["id"] != "c2" {
		t.Errorf("the host's message: %v", m)
	}

	// Who wrote and how much is audited, never the text.
	eventually(t, "the audit has both messages", func() bool { return strings.Count(audit.String(), `"event":"chat_message"`) == 2 })
	lines := audit.String()
	if !strings.Contains(lines, `"participant":"`+guestID+`"`) || !strings.Contains(lines, fmt.Sprintf(`"length":%d`, len([]rune(html)))) ||
		strings.Contains(lines, "bold") || strings.Contains(lines, "line two") {
		t.Errorf("audit log:\n%s", lines)
	}
}

func TestLateJoinersGetTheChatHistory(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	if m := host.waitFor("chat_history", nil); len(m["messages"].([]any)) != 0 {
		t.Fatalf("a new session's history: %v", m)
	}
	for _, text := range []string{"one", "two", "three"} {
		say(host, text)
		host.waitFor("chat", chatText(text))
	}

	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	before, _ := guest.before("chat_history")
	if len(before) == 0 || before[0] != "welcome" {
		t.Errorf("before the history the guest got %v", before)
	}
	history := func(c *client) []string {
		var texts []string
		for _, m := range c.waitFor("chat_history", nil)["messages"].([]any) {
			m := m.(map[string]any)
			if m["type"] != "chat" || m["from"] == "" || m["name"] == "" || m["at"] == nil || m["id"] == nil {
				t.Errorf("history entry %v", m)
			}
			texts = append(texts, fmt.Sprint(m["name"], ":", m["text"]))
		}
		return texts
	}
	if got := strings.Join(history(guest), ","); got != "Hana:one,Hana:two,Hana:three" {
		t.Errorf("the late joiner's history: %s", got)
	}

	// A reconnect gets the history again, with what was said meanwhile.
	welcome := guest.waitFor("welcome", nil)
	say(guest, "four")
	host.waitFor("chat", chatText("four"))
	guest.ws.Close()
	again := h.resume(s.ID, token(s.Links["guest"]), welcome["resumeToken"].(string))
	if got := strings.Join(history(again), ","); got != "Hana:one,Hana:two,Hana:three,Gus:four" {
		t.Errorf("the history after a reconnect: %s", got)
	}
}

func TestChatHistoryKeepsTheNewest(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	// Many guests, each within its own burst, fill the history past its cap.
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	n := proxy.ChatHistoryCap + 10
	for i := 0; i < n; i += 5 {
		g := h.join(s.ID, token(s.Links["guest"]), fmt.Sprintf("G%d", i))
		g.id()
		for j := i; j < i+5 && j < n; j++ {
			say(g, fmt.Sprintf("m%d", j))
		}
		host.waitFor("chat", chatText(fmt.Sprintf("m%d", min(i+4, n-1))))
		g.ws.Close()
	}
	late := h.join(s.ID, token(s.Links["guest"]), "Late")
	msgs := late.waitFor("chat_history", nil)["messages"].([]any)
	if len(msgs) != proxy.ChatHistoryCap || msgs[0].(map[string]any)["text"] != "m10" || msgs[len(msgs)-1].(map[string]any)["text"] != fmt.Sprintf("m%d", n-1) {
		t.Errorf("history of %d messages, from %v to %v", len(msgs), msgs[0], msgs[len(msgs)-1])
	}
}

func TestAChatFloodIsLimited(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	host.id()
	guestID := guest.id()

	const sent = 30
	start := time.Now()
	for i := range sent {
		say(guest, fmt.Sprintf("spam %d", i))
	}
	guest.settled()
	elapsed := time.Since(start)
	// Every flood message has been handled; the host's marker comes after all of them.
	say(host, "marker")
	host.waitFor("chat", chatText("marker"))
	guest.waitFor("chat", chatText("marker"))

	arrived := host.chats(guestID)
	limited := guest.count("notice", func(m map[string]any) bool { return m["code"] == "chat_rate_limited" })
	// A burst of 5, then one a second: at most one more per second the flood took.
	most := 5 + int(elapsed/time.Second) + 1
	if len(arrived) < 5 || len(arrived) > most || len(arrived)+limited != sent {
		t.Fatalf("%d of %d arrived (at most %d allowed), %d refusals told", len(arrived), sent, most, limited)
	}
	for i, text := range arrived[:5] {
		if text != fmt.Sprintf("spam %d", i) {
			t.Errorf("message %d is %q: the burst is not the first messages, in order", i, text)
		}
	}
	if mine := guest.chats(guestID); strings.Join(mine, "|") != strings.Join(arrived, "|") {
		t.Errorf("the sender saw %v, the host %v", mine, arrived)
	}
	if n := host.count("notice", func(m map[string]any) bool { return m["code"] == "chat_rate_limited" }); n != 0 {
		t.Errorf("the host was told of %d refusals of someone else's messages", n)
	}

	// The limit refills: a message a little later goes through.
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; ; i++ {
		if time.Now().After(deadline) {
			t.Fatal("the sender stayed limited")
		}
		text := fmt.Sprintf("later %d", i)
		say(guest, text)
		guest.settled()
		if guest.count("chat", chatText(text)) == 1 {
			break
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func TestChatRefusesEmptyAndLongMessages(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	host.id()
	guestID := guest.id()

	refusal := func(what, want string) {
		t.Helper()
		e := guest.waitFor("error", func(m map[string]any) bool { return strings.Contains(fmt.Sprint(m["message"]), want) })
		if e["code"] != "bad_message" {
			t.Errorf("%s: %v", what, e)
		}
	}
	say(guest, " \n\t \u0000 ")
	refusal("blank", "empty")
	say(guest, strings.Repeat("é", proxy.ChatMaxRunes+1))
	refusal("too long", fmt.Sprint(proxy.ChatMaxRunes))

	// At the limit (in characters, not bytes) it goes; control characters and direction
	// overrides are taken out, line breaks kept.
	full := strings.Repeat("é", proxy.ChatMaxRunes)
	say(guest, full)
	say(guest, "a\x00b\u202e c\r\nd\x1b")
	guest.settled()
	say(host, "marker")
	host.waitFor("chat", chatText("marker"))
	if got := host.chats(guestID); len(got) != 2 || got[0] != full || got[1] != "ab c\nd" {
		t.Errorf("the host got %q", got)
	}
}

func TestWaitingParticipantsHaveNoChat(t *testing.T) {
	p := newProvider(t)
	h := newHarness(t)
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.id()
	say(host, "before")
	host.waitFor("chat", chatText("before"))

	agent := h.join(s.ID, token(s.Links["agent"]), "Ada")
	w := agent.waitFor("waiting", nil)
	agentID := w["participant"].(map[string]any)["id"].(string)
	say(agent, "let me in")
	agent.settled()
	say(host, "while waiting")
	host.waitFor("chat", chatText("while waiting"))

	host.state(waitingFor(agentID))
	host.send(map[string]any{"type": "consent", "participant": agentID, "kind": "view", "allow": true})
	before, _ := agent.before("welcome")
	if strings.Join(before, ",") != "waiting,error" {
		t.Errorf("while waiting the agent got %v", before)
	}
	var texts []string
	for _, m := range agent.waitFor("chat_history", nil)["messages"].([]any) {
		texts = append(texts, m.(map[string]any)["text"].(string))
	}
	if strings.Join(texts, ",") != "before,while waiting" {
		t.Errorf("the admitted agent's history: %v", texts)
	}
	say(agent, "thanks")
	host.waitFor("chat", chatText("thanks"))
	if got := host.chats(agentID); len(got) != 1 {
		t.Errorf("the host got %v from the agent: a message sent while waiting went out", got)
	}
}
