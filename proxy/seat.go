package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
)

// Credential is what a token admits: a role and, for a seat issued to a named person (an
// agent who redeemed a join code or accepted a help request), that person's name.
type Credential struct {
	Role Role
	// Name is the participant's name set by the server (an agent's account); "" lets the
	// participant choose its own.
	Name string
	// Consent, when not "", says why the host's consent to view is already given (the
	// visitor asked for help on a site that counts that as consent). It is announced to
	// the host and audited, never silent.
	Consent string
	// seat identifies a seat's person: a second connection with the same link takes
	// over the first (another tab of the same agent) instead of adding a participant.
	seat string
}

// Authenticate returns what token admits: a role's token (compared in constant time
// against every role, so the time taken does not tell which one matched) or a seat.
func (s *Session) Authenticate(token string) (Credential, bool) {
	found, key := Role(""), seatKey(token)
	for _, r := range Roles {
		for _, h := range s.tokenHashes[r] {
			if secretEqual(key, h) {
				found = r
			}
		}
	}
	if found != "" {
		return Credential{Role: found}, true
	}
	// Seats are looked up by the token's hash: a lookup's timing says nothing of the token.
	s.seatsMu.Lock()
	defer s.seatsMu.Unlock()
	c, ok := s.seats[seatKey(token)]
	return c, ok
}

// Seat issues a link of its own for one person, such as an agent who redeemed the join
// code; the link admits cred and lives as long as the session.
func (s *Session) Seat(cred Credential) string {
	tok := newSecret(32)
	cred.seat = seatKey(tok)
	s.seatsMu.Lock()
	s.seats[cred.seat] = cred
	s.seatsMu.Unlock()
	link := s.params.LinkBase + "/s/" + s.id + "#token=" + tok
	if cred.Name != "" {
		// The viewer need not ask the person's name: the server knows it.
		link += "&name=" + url.QueryEscape(cred.Name)
	}
	return link
}

func seatKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}
