package demo

import "net/http"

// cookieName holds the visitor's session id; the visitor itself stays on the server.
const cookieName = "nw_session"

// visitorOf returns the id and state of the request's visitor; id is "" for a new one.
func (s *site) visitorOf(r *http.Request) (string, visitor) {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return "", visitor{}
	}
	v, ok := s.store.get(c.Value)
	if !ok {
		return "", visitor{}
	}
	return c.Value, v
}

// updateVisitor changes the request's visitor and sets the cookie when the id is new.
func (s *site) updateVisitor(w http.ResponseWriter, r *http.Request, fn func(*visitor)) {
	old, _ := s.visitorOf(r)
	id := s.store.update(old, fn)
	if id != old {
		setSessionCookie(w, id)
	}
}

func setSessionCookie(w http.ResponseWriter, id string) {
	http.SetCookie(w, &http.Cookie{
		Name: cookieName, Value: id, Path: "/",
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
	})
}
