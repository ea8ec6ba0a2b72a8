package site

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"github.com/labstack/echo/v4"
)

// MaxBodyBytes bounds the body of PUT /sites/:id; a site is a few hundred bytes.
const MaxBodyBytes = 64 << 10

// apiError is the JSON body of every error answer, the same shape as the rest of the API.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// putAnswer is a stored site plus, once, the webhook secret the PUT generated.
type putAnswer struct {
	Site
	WebhookSecret string `json:"webhookSecret,omitempty"`
}

type api struct {
	st            *Store
	validateRules func(json.RawMessage) error
}

// RegisterAPI adds the sites API to g (normally /api/v1): GET /sites, GET, PUT and DELETE
// /sites/:id, and POST /sites/:id/keys, every one behind requireKey (the server's API
// key). validateRules checks a site's rules as POST /api/v1/sessions would, so that a
// site cannot store rules its sessions would then refuse; nil skips that check.
func RegisterAPI(g *echo.Group, st *Store, requireKey echo.MiddlewareFunc, validateRules func(json.RawMessage) error) {
	if requireKey == nil {
		panic("site: RegisterAPI without requireKey would leave the sites API open")
	}
	a := &api{st: st, validateRules: validateRules}
	g.GET("/sites", a.list, requireKey)
	g.GET("/sites/:id", a.get, requireKey)
	g.PUT("/sites/:id", a.put, requireKey)
	g.DELETE("/sites/:id", a.remove, requireKey)
	g.POST("/sites/:id/keys", a.newKey, requireKey)
}

func (a *api) list(c echo.Context) error {
	sites, err := a.st.List()
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string][]Site{"sites": sites})
}

func (a *api) get(c echo.Context) error {
	s, err := a.st.Get(c.Param("id"))
	if err != nil {
		return answerError(c, err)
	}
	return c.JSON(http.StatusOK, s)
}

func (a *api) put(c echo.Context) error {
	id := c.Param("id")
	var s Site
	if err := decodeBody(c, &s); err != nil {
		return answerError(c, err)
	}
	if s.ID != "" && s.ID != id {
		return answerError(c, invalid("the id in the body (%q) differs from the one in the path (%q)", s.ID, id))
	}
	s.ID = id
	if a.validateRules != nil && len(s.Rules) > 0 && string(s.Rules) != "null" {
		if err := a.validateRules(s.Rules); err != nil {
			return answerError(c, invalid("rules: %v", err))
		}
	}
	saved, ch, err := a.st.Save(s)
	if err != nil {
		return answerError(c, err)
	}
	ans := putAnswer{Site: saved}
	if ch.SecretGenerated {
		ans.WebhookSecret = saved.WebhookSecret
	}
	status := http.StatusOK
	if ch.Created {
		status = http.StatusCreated
	}
	return c.JSON(status, ans)
}

func (a *api) remove(c echo.Context) error {
	if err := a.st.Remove(c.Param("id")); err != nil {
		return answerError(c, err)
	}
	return c.NoContent(http.StatusNoContent)
}

func (a *api) newKey(c echo.Context) error {
	key, err := a.st.NewAPIKey(c.Param("id"))
	if err != nil {
		return answerError(c, err)
	}
	return c.JSON(http.StatusCreated, map[string]string{"apiKey": key})
}

// errBody is an unreadable request body; its status is in status.
type errBody struct {
	status int
	code   string
	msg    string
}

func (e *errBody) Error() string { return e.msg }

// decodeBody reads a JSON body of at most MaxBodyBytes into v, refusing other media types,
// unknown fields and trailing data: a typo must not silently leave a setting unchanged.
func decodeBody(c echo.Context, v any) error {
	r := c.Request()
	mt, _, err := mime.ParseMediaType(r.Header.Get(echo.HeaderContentType))
	if err != nil || mt != echo.MIMEApplicationJSON {
		return &errBody{http.StatusUnsupportedMediaType, "unsupported_media_type", "the body must be JSON (Content-Type: application/json)"}
	}
	tooLarge := &errBody{http.StatusRequestEntityTooLarge, "too_large", fmt.Sprintf("the body must be at most %d bytes", MaxBodyBytes)}
	if r.ContentLength > MaxBodyBytes {
		return tooLarge
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, MaxBodyBytes+1))
	if err != nil {
		return &errBody{http.StatusBadRequest, "invalid", "reading the body failed"}
	}
	if len(body) > MaxBodyBytes {
		return tooLarge
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return invalid("malformed JSON body: %v", err)
	}
	if dec.More() {
		return invalid("malformed JSON body: data after the object")
	}
	return nil
}

// answerError answers the package's errors as JSON 4xx and hands anything else to echo's
// error handler (a 500, logged there).
func answerError(c echo.Context, err error) error {
	var eb *errBody
	switch {
	case errors.As(err, &eb):
		return c.JSON(eb.status, apiError{Error: eb.code, Message: eb.msg})
	case errors.Is(err, ErrInvalid):
		return c.JSON(http.StatusBadRequest, apiError{Error: "invalid", Message: err.Error()})
	case errors.Is(err, ErrNotFound):
		return c.JSON(http.StatusNotFound, apiError{Error: "not_found", Message: err.Error()})
	}
	return err
}
