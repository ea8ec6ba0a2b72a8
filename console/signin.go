package console

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tandem-cobrowse/tandem/internal/webguard"
)

// maxSignInBody is far more than a name and password need.
const maxSignInBody = 4 << 10

type meAnswer struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName"`
	CSRFToken   string `json:"csrfToken,omitempty"`
	// OIDC tells the page this session came from single sign-on.
	OIDC bool `json:"oidc"`
}

type loginTokenAnswer struct {
	Token string     `json:"token"`
	SSO   *ssoAnswer `json:"sso,omitempty"` // present when single sign-on is on
}

type ssoAnswer struct {
	Provider string `json:"provider"` // button text
	LoginURL string `json:"loginURL"`
}

// signIn checks a name and password and starts a session. Besides the password it
// guards against login CSRF, where another site signs the browser in to an account of
// the attacker's choosing: the request must come from our own origin and carry the
// double-submit token of the tandem_login cookie, which only our page can read
// through GET /api/v1/agent/login-token.
func (c *Console) signIn(ec echo.Context) error {
	r := ec.Request()
	if !c.sameOrigin(r) {
		return fail(ec, http.StatusForbidden, "bad_origin", "Sign in from the Tandem agent console page.")
	}
	if ck, err := r.Cookie(loginCookie); err != nil || !sameToken(r.Header.Get(csrfHeader), ck.Value) {
		return fail(ec, http.StatusForbidden, "csrf", "The sign-in form has expired; reload the page and try again.")
	}
	var body struct {
		Name     string `json:"name"`
		Password string `json:"password"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(ec.Response(), r.Body, maxSignInBody)).Decode(&body); err != nil {
		return fail(ec, http.StatusBadRequest, "bad_request", "Send a JSON object with name and password.")
	}

	addr := addrKey(r.RemoteAddr)
	if ok, wait := c.attempts.allow(addr, nameKey(body.Name), c.now()); !ok {
		c.log.Warn("agent sign-in rate limited", "name", loggable(body.Name), "addr", addr)
		ec.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		return fail(ec, http.StatusTooManyRequests, "rate_limited", "Too many sign-in attempts; wait a minute.")
	}
	keys := strikeKeys(addr, nameKey(body.Name))
	if c.lockedOut(r.Context(), keys) {
		c.log.Warn("agent sign-in locked out across the cluster", "name", loggable(body.Name), "addr", addr)
		ec.Response().Header().Set("Retry-After", strconv.Itoa(int(strikeName.lockOut.Seconds())))
		return fail(ec, http.StatusTooManyRequests, "rate_limited", "Too many wrong sign-ins; wait a few minutes.")
	}
	a, err := c.verify(body.Name, body.Password)
	if err != nil {
		c.log.Info("agent sign-in refused", "name", loggable(body.Name), "addr", addr)
		c.strike(r.Context(), keys)
		return fail(ec, http.StatusUnauthorized, "bad_credentials", "Wrong name or password.")
	}

	sess, err := c.startSession(ec, a, false)
	if err != nil {
		c.log.Error("agent sign-in failed", "agent", a.Name, "addr", addr, "err", err)
		return fail(ec, http.StatusServiceUnavailable, "unavailable", "Signing in is not possible right now; try again in a moment.")
	}
	c.log.Info("agent signed in", "agent", a.Name, "addr", addr)
	return answer(ec, http.StatusOK, meAnswer{Name: a.Name, DisplayName: a.DisplayName, CSRFToken: sess.csrf})
}

func (c *Console) verify(name, password string) (Agent, error) {
	if name == "" || password == "" {
		return Agent{}, errors.New("empty name or password")
	}
	a, err := c.accounts.Verify(name, password)
	if err != nil {
		return Agent{}, err
	}
	if a.DisplayName == "" {
		a.DisplayName = a.Name
	}
	return a, nil
}

// signOut ends the cookie's session. It needs the CSRF token like any unsafe request:
// otherwise any site could sign agents out.
func (c *Console) signOut(ec echo.Context) error {
	r := ec.Request()
	id, sess, err := c.session(r)
	if errors.Is(err, ErrUnavailable) {
		return unavailable(ec)
	}
	if err != nil {
		ec.SetCookie(c.cookie(sessionCookie, "", "/", -1))
		return fail(ec, http.StatusUnauthorized, "not_signed_in", "You are not signed in.")
	}
	if !sameToken(r.Header.Get(csrfHeader), sess.csrf) {
		return fail(ec, http.StatusForbidden, "csrf", "The request lacked the console's security token; reload the page and try again.")
	}
	// The cookie stays until the session is gone: clearing it alone would tell the
	// agent they signed out while the session lives on.
	if err := c.sessions.remove(r.Context(), id); err != nil {
		c.log.Error("agent sign-out failed", "agent", sess.agent.Name, "err", err)
		return unavailable(ec)
	}
	ec.SetCookie(c.cookie(sessionCookie, "", "/", -1))
	c.log.Info("agent signed out", "agent", sess.agent.Name)
	noStore(ec)
	return ec.NoContent(http.StatusNoContent)
}

// me tells the page who is signed in and gives it the session's CSRF token.
func (c *Console) me(ec echo.Context) error {
	r := ec.Request()
	if tok, ok := bearer(r); ok && strings.HasPrefix(tok, agentTokenPrefix) {
		a, err := c.Authenticate(r)
		if err != nil {
			return fail(ec, http.StatusUnauthorized, "not_signed_in", "You are not signed in.")
		}
		return answer(ec, http.StatusOK, meAnswer{Name: a.Name, DisplayName: a.DisplayName})
	}
	_, sess, err := c.session(r)
	switch {
	case errors.Is(err, ErrUnavailable):
		return unavailable(ec)
	case err != nil:
		return fail(ec, http.StatusUnauthorized, "not_signed_in", "You are not signed in.")
	}
	return answer(ec, http.StatusOK, meAnswer{
		Name: sess.agent.Name, DisplayName: sess.agent.DisplayName,
		CSRFToken: sess.csrf, OIDC: sess.viaOIDC,
	})
}

// loginToken hands the page the value of its tandem_login cookie, setting one if the
// browser has none, and says whether single sign-on is on.
func (c *Console) loginToken(ec echo.Context) error {
	out := loginTokenAnswer{Token: c.ensureLoginCookie(ec)}
	if c.sso != nil {
		out.SSO = &ssoAnswer{Provider: c.sso.providerName, LoginURL: ssoLoginPath}
	}
	return answer(ec, http.StatusOK, out)
}

// ensureLoginCookie returns the browser's login token, minting one if needed. It
// lasts as long as the browser session, so a page left open can still sign in.
func (c *Console) ensureLoginCookie(ec echo.Context) string {
	if ck, err := ec.Request().Cookie(loginCookie); err == nil && len(ck.Value) >= 43 {
		return ck.Value
	}
	v := randomToken()
	ec.SetCookie(c.cookie(loginCookie, v, "/", 0))
	return v
}

// sameOrigin reports whether r carries an Origin header naming the server itself:
// the scheme and Host of the request, https with that Host when the server is known to
// be public over https (a TLS proxy may not say so), or the configured public URL.
// Browsers send Origin on every POST, so its absence means no browser page made it.
func (c *Console) sameOrigin(r *http.Request) bool {
	h := r.Header.Get("Origin")
	if h == "" {
		return false
	}
	o := webguard.NormOrigin(h)
	return o == webguard.NormOrigin(webguard.RequestScheme(r)+"://"+r.Host) ||
		(c.secure && o == webguard.NormOrigin("https://"+r.Host)) ||
		(c.origin != "" && o == c.origin)
}

var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,39}$`)

// loggable is a tried name fit for the log. Anything that is not a valid agent name is
// left out, since people do type their password into the name field.
func loggable(name string) string {
	if validName.MatchString(name) {
		return name
	}
	return "(not a valid name)"
}

// lockedOut reports whether the cluster has locked out the sign-in's name or address.
// When the count cannot be read, the per-node limit alone applies.
func (c *Console) lockedOut(ctx context.Context, keys [2]string) bool {
	if c.strikes == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, strikeTimeout)
	defer cancel()
	for _, k := range keys {
		locked, err := c.strikes.Locked(ctx, k)
		if err != nil {
			c.log.Warn("reading the cluster's sign-in strikes", "err", err)
			return false
		}
		if locked {
			return true
		}
	}
	return false
}

// strike counts a wrong password against the sign-in's name and address.
func (c *Console) strike(ctx context.Context, keys [2]string) {
	if c.strikes == nil {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, strikeTimeout)
	defer cancel()
	for i, q := range []strikeQuota{strikeName, strikeAddr} {
		if err := c.strikes.Strike(ctx, keys[i], q.allow, q.window, q.lockOut); err != nil {
			c.log.Warn("counting a wrong sign-in across the cluster", "err", err)
		}
	}
}

// strikeTimeout bounds the cluster's answer about strikes.
const strikeTimeout = 2 * time.Second
