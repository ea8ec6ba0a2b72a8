package proxy

import (
	"errors"
	"log/slog"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// APIError is the JSON body of every error answer.
type APIError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// statusOf maps the package's errors to HTTP: the one place that does.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, ErrBadRequest):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrInvalidURL):
		return http.StatusBadRequest, "invalid_url"
	case errors.Is(err, ErrStartURL):
		return http.StatusUnprocessableEntity, "start_url_failed"
	case errors.Is(err, ErrEgressRefused):
		return http.StatusForbidden, "egress_refused"
	case errors.Is(err, ErrNavigationRefused):
		return http.StatusForbidden, "navigation_refused"
	case errors.Is(err, ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, ErrRecordingNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrSessionNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, ErrSessionEnded):
		return http.StatusGone, "session_ended"
	case errors.Is(err, ErrTooManySessions):
		return http.StatusTooManyRequests, "too_many_sessions"
	case errors.Is(err, ErrCrossOrigin):
		return http.StatusForbidden, "cross_origin"
	case errors.Is(err, ErrMediaType):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, ErrHostNotAllowed):
		return http.StatusMisdirectedRequest, "host_not_allowed"
	case errors.Is(err, ErrCSRF):
		return http.StatusForbidden, "csrf"
	case errors.Is(err, ErrBadCode):
		return http.StatusNotFound, "bad_code"
	case errors.Is(err, ErrCodeUsed):
		return http.StatusConflict, "code_used"
	case errors.Is(err, ErrLockedOut), errors.Is(err, ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, ErrAlreadyAccepted):
		return http.StatusConflict, "already_accepted"
	case errors.Is(err, ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, ErrSiteRefused):
		return http.StatusForbidden, "site_refused"
	case errors.Is(err, ErrNoConsentPending):
		return http.StatusNotFound, "not_waiting"
	case errors.Is(err, ErrUnknownConsent):
		return http.StatusBadRequest, "bad_request"
	case errors.Is(err, ErrNoHelp):
		return http.StatusNotFound, "help_disabled"
	case errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable, "unavailable"
	case errors.Is(err, ErrTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, ErrTypeRefused):
		return http.StatusUnsupportedMediaType, "type_refused"
	case errors.Is(err, ErrNotController):
		return http.StatusForbidden, "not_controller"
	case errors.Is(err, ErrUploadRefused):
		return http.StatusForbidden, "upload_refused"
	case errors.Is(err, ErrNoChooser):
		return http.StatusConflict, "no_chooser"
	}
	return http.StatusInternalServerError, "internal"
}

// HTTPErrorHandler answers every error, ours and echo's, with a JSON APIError.
func HTTPErrorHandler(log *slog.Logger) echo.HTTPErrorHandler {
	return func(err error, c echo.Context) {
		if c.Response().Committed {
			return
		}
		status, code := statusOf(err)
		msg := err.Error()
		var he *echo.HTTPError
		if errors.As(err, &he) {
			status = he.Code
			code = strings.ToLower(strings.ReplaceAll(http.StatusText(status), " ", "_"))
			if m, ok := he.Message.(string); ok {
				msg = m
			} else {
				msg = http.StatusText(status)
			}
		}
		if status >= 500 {
			log.Error("request failed", "method", c.Request().Method, "path", c.Path(), "err", err)
		}
		if status == http.StatusTooManyRequests {
			c.Response().Header().Set("Retry-After", "30")
		}
		if c.Request().Method == http.MethodHead {
			_ = c.NoContent(status)
			return
		}
		_ = c.JSON(status, APIError{Error: code, Message: msg})
	}
}
