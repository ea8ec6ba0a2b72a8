package demo

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
)

// maxStartBody bounds POST /tandem/start: one URL.
const maxStartBody = 16 << 10

// handoffCookie is a visitor's cookie as Tandem's handoff takes it.
type handoffCookie struct {
	Name     string `json:"name"`
	Value    string `json:"value"`
	Domain   string `json:"domain"`
	Path     string `json:"path"`
	Secure   bool   `json:"secure"`
	HTTPOnly bool   `json:"httpOnly"`
	SameSite string `json:"sameSite"`
}

type tandemSessionRequest struct {
	URL     string `json:"url"`
	Handoff struct {
		Cookies []handoffCookie   `json:"cookies"`
		Headers map[string]string `json:"headers"`
		Storage map[string]any    `json:"storage"`
	} `json:"handoff"`
}

// startAnswer is all the visitor's page gets of a new session: the host link is the
// visitor's own; the agent and guest links never leave the shop's server.
type startAnswer struct {
	ID                string `json:"id"`
	JoinCode          string `json:"joinCode"`
	JoinCodeExpiresAt string `json:"joinCodeExpiresAt"`
	Links             struct {
		Host string `json:"host"`
	} `json:"links"`
}

type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

// tandemStart is the provider backend of Tandem's embed: the co-browse button posts
// {url} here, and the shop starts the session with its API key, handing over the
// visitor's cookies (the HttpOnly sign-in cookie too, which the page's script cannot
// read), so that the shared tab is signed in as the visitor is.
func (s *site) tandemStart(w http.ResponseWriter, r *http.Request) {
	own := origin(r)
	// Only the shop's own pages may start a session for their visitor: a foreign page
	// would otherwise borrow the visitor's cookies (this is the CSRF check).
	if r.Header.Get("Origin") != own {
		writeJSON(w, http.StatusForbidden, apiError{"forbidden_origin", "Co-browsing can only be started from this shop's own pages."})
		return
	}
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeJSON(w, http.StatusUnsupportedMediaType, apiError{"bad_content_type", "The request must be JSON."})
		return
	}
	var in struct {
		URL string `json:"url"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxStartBody)).Decode(&in); err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_request", "The request could not be read."})
		return
	}
	if u, err := url.Parse(in.URL); err != nil || u.Scheme+"://"+u.Host != own || u.User != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"bad_url", "Only pages of this shop can be shared."})
		return
	}

	var req tandemSessionRequest
	req.URL = in.URL
	host := r.Host
	if h, _, err := net.SplitHostPort(r.Host); err == nil {
		host = h
	}
	req.Handoff.Cookies = []handoffCookie{}
	for _, c := range r.Cookies() {
		req.Handoff.Cookies = append(req.Handoff.Cookies, handoffCookie{
			Name: c.Name, Value: c.Value, Domain: host, Path: "/", HTTPOnly: true, SameSite: "Lax",
		})
	}
	req.Handoff.Headers = map[string]string{}
	req.Handoff.Storage = map[string]any{}
	body, err := json.Marshal(req)
	if err != nil {
		s.log.Error("tandem start: encode", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"internal", "The session could not be started."})
		return
	}

	out, err := http.NewRequestWithContext(r.Context(), http.MethodPost, s.opts.TandemURL+"/api/v1/sessions", bytes.NewReader(body))
	if err != nil {
		s.log.Error("tandem start: request", "err", err)
		writeJSON(w, http.StatusInternalServerError, apiError{"internal", "The session could not be started."})
		return
	}
	out.Header.Set("Content-Type", "application/json")
	out.Header.Set("Accept", "application/json")
	out.Header.Set("Authorization", "Bearer "+s.opts.APIKey)
	res, err := s.tandem.Do(out)
	if err != nil {
		s.log.Warn("tandem start: Tandem unreachable", "err", err)
		writeJSON(w, http.StatusBadGateway, apiError{"tandem_unavailable", "The co-browse service cannot be reached. Please try again in a moment."})
		return
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		s.log.Warn("tandem start: read answer", "err", err)
		writeJSON(w, http.StatusBadGateway, apiError{"tandem_unavailable", "The co-browse service did not answer. Please try again in a moment."})
		return
	}
	if res.StatusCode != http.StatusCreated && res.StatusCode != http.StatusOK {
		s.passError(w, res.StatusCode, raw)
		return
	}
	var ans startAnswer
	if err := json.Unmarshal(raw, &ans); err != nil || ans.ID == "" || ans.Links.Host == "" {
		s.log.Warn("tandem start: unusable answer", "status", res.StatusCode, "err", err)
		writeJSON(w, http.StatusBadGateway, apiError{"bad_gateway", "The co-browse service sent an answer the shop cannot use."})
		return
	}
	s.log.Info("co-browse session started", "session", ans.ID)
	writeJSON(w, http.StatusCreated, ans)
}

// passError hands Tandem's refusal on: a 4xx as it is, anything else as a 502.
func (s *site) passError(w http.ResponseWriter, status int, raw []byte) {
	var e apiError
	if json.Unmarshal(raw, &e) != nil || e.Error == "" {
		e = apiError{"tandem_error", ""}
	}
	if e.Message == "" {
		e.Message = "The co-browse service refused to start the session."
	}
	if status < 400 || status > 499 {
		s.log.Warn("tandem start: Tandem failed", "status", status, "error", e.Error)
		status = http.StatusBadGateway
	}
	writeJSON(w, status, e)
}

// origin is the request's own origin, as a browser names it in the Origin header.
func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, status = []byte(`{"error":"internal","message":"internal error"}`), http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}
