package console

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// agentTokenPrefix marks an agent's API token; other bearer credentials (site keys,
// host tokens) belong to other handlers and are left to them.
const agentTokenPrefix = "tdm_agent_"

// contextKey is where RequireAgent leaves the agent in the echo context.
const contextKey = "tandem.console.agent"

// Authenticate tells which agent made r. An agent token in Authorization: Bearer wins
// and needs no CSRF token, since a browser never attaches it on its own. Otherwise the
// console cookie decides, and an unsafe method must also carry the session's CSRF
// token in X-CSRF-Token. Errors match ErrNotSignedIn or ErrCSRF; when the session
// store failed, both ErrNotSignedIn and ErrUnavailable.
func (c *Console) Authenticate(r *http.Request) (Agent, error) {
	if token, ok := bearer(r); ok && strings.HasPrefix(token, agentTokenPrefix) {
		a, err := c.accounts.ByToken(token)
		if err != nil {
			return Agent{}, fmt.Errorf("%w: agent token refused: %w", ErrNotSignedIn, err)
		}
		return a, nil
	}
	_, sess, err := c.session(r)
	if err != nil {
		return Agent{}, err
	}
	if !safeMethod(r.Method) && !sameToken(r.Header.Get(csrfHeader), sess.csrf) {
		return Agent{}, ErrCSRF
	}
	return sess.agent, nil
}

// RequireAgent is echo middleware for the agent-only API: it answers 401 or 403 JSON
// unless Authenticate accepts the request, and leaves the agent for AgentFrom.
func (c *Console) RequireAgent(next echo.HandlerFunc) echo.HandlerFunc {
	return func(ec echo.Context) error {
		a, err := c.Authenticate(ec.Request())
		switch {
		case errors.Is(err, ErrCSRF):
			return fail(ec, http.StatusForbidden, "csrf", "The request lacked the console's security token; reload the page and try again.")
		case errors.Is(err, ErrUnavailable):
			return unavailable(ec)
		case err != nil:
			return fail(ec, http.StatusUnauthorized, "not_signed_in", "Sign in as an agent first.")
		}
		ec.Set(contextKey, a)
		return next(ec)
	}
}

// AgentFrom returns the agent RequireAgent accepted for this request.
func AgentFrom(ec echo.Context) (Agent, bool) {
	a, ok := ec.Get(contextKey).(Agent)
	return a, ok
}

// session returns the cookie value and live session of r's console cookie. The error
// matches ErrNotSignedIn when there is none, and ErrUnavailable too when the store
// failed; the store's own error goes to the log, not to whoever asked.
func (c *Console) session(r *http.Request) (string, session, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return "", session{}, ErrNotSignedIn
	}
	sess, err := c.sessions.get(r.Context(), ck.Value, c.now())
	switch {
	case noSession(err):
		return ck.Value, session{}, ErrNotSignedIn
	case err != nil:
		c.log.Error("agent session store failed", "err", err)
		return ck.Value, session{}, fmt.Errorf("%w: %w", ErrNotSignedIn, ErrUnavailable)
	}
	return ck.Value, sess, nil
}

func bearer(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// sameToken compares a presented token with the expected one in constant time; an
// empty expected token matches nothing.
func sameToken(got, want string) bool {
	return want != "" && subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1
}
