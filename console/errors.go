package console

import (
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"
)

// Sentinel errors of Authenticate; callers match them with errors.Is.
var (
	// ErrNotSignedIn: the request carries no valid agent session or agent token.
	ErrNotSignedIn = errors.New("console: not signed in as an agent")
	// ErrCSRF: a cookie-authenticated unsafe request lacks the session's X-CSRF-Token.
	// The cookie is ambient (a browser sends it on any request to us), so it alone
	// cannot prove that the console page, rather than another site, made the request.
	ErrCSRF = errors.New("console: missing or wrong X-CSRF-Token")
	// ErrUnavailable: the session store failed, so whether the cookie is signed in is
	// unknown. It always comes together with ErrNotSignedIn, so a caller that knows
	// only that one fails closed; one that knows this one can answer 503 instead of
	// sending the agent back to the sign-in form.
	ErrUnavailable = errors.New("console: agent sessions are unavailable")
)

// apiError is the body of every error answer, the same shape the rest of the API uses.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// fail answers a JSON error. Handlers return its result so echo sees the answer as
// written and does not run its own error handler.
func fail(c echo.Context, status int, code, message string) error {
	noStore(c)
	return c.JSON(status, apiError{Error: code, Message: message})
}

// answer writes a JSON API answer that no cache may keep: it may carry a CSRF token.
func answer(c echo.Context, status int, body any) error {
	noStore(c)
	return c.JSON(status, body)
}

// unavailable answers a request whose session the store could not tell.
func unavailable(c echo.Context) error {
	return fail(c, http.StatusServiceUnavailable, "unavailable", "The console cannot check sign-ins right now; try again in a moment.")
}

func noStore(c echo.Context) {
	c.Response().Header().Set("Cache-Control", "no-store")
}
