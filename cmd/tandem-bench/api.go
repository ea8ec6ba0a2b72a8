package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// api is a REST client of one Tandem server.
type api struct {
	base string // http://127.0.0.1:PORT
	http *http.Client
}

func newAPI(base string) *api {
	return &api{base: strings.TrimRight(base, "/"), http: &http.Client{Timeout: 30 * time.Second}}
}

// session is a created session: its id and the token per role, taken from the links.
type session struct {
	ID     string
	Tokens map[string]string // role → token
}

// waitHealthy polls /healthz until it answers 200 or timeout passes.
func (a *api) waitHealthy(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	var last error
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, a.base+"/healthz", nil)
		resp, err := a.http.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%w: /healthz not OK after %s: %v", ErrServer, timeout, last)
}

// create opens a session on pageURL with the default rules.
func (a *api) create(ctx context.Context, pageURL string) (session, error) {
	return a.createWith(ctx, pageURL, nil)
}

// createWith opens a session on pageURL with these rules (nil: the defaults).
func (a *api) createWith(ctx context.Context, pageURL string, rules map[string]any) (session, error) {
	req0 := map[string]any{"url": pageURL}
	if rules != nil {
		req0["rules"] = rules
	}
	body, _ := json.Marshal(req0)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, a.base+"/api/v1/sessions", bytes.NewReader(body))
	if err != nil {
		return session{}, fmt.Errorf("%w: %v", ErrAPI, err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := a.http.Do(req)
	if err != nil {
		return session{}, fmt.Errorf("%w: create session: %v", ErrAPI, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusCreated {
		return session{}, fmt.Errorf("%w: create session on %s: HTTP %d: %s", ErrAPI, pageURL, resp.StatusCode, bytes.TrimSpace(raw))
	}
	var out struct {
		ID    string            `json:"id"`
		Links map[string]string `json:"links"`
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return session{}, fmt.Errorf("%w: create session: body: %v", ErrAPI, err)
	}
	s := session{ID: out.ID, Tokens: map[string]string{}}
	for role, link := range out.Links {
		tok, err := linkToken(link)
		if err != nil {
			return session{}, fmt.Errorf("%w: %s link: %v", ErrAPI, role, err)
		}
		s.Tokens[role] = tok
	}
	for _, role := range []string{"host", "guest"} {
		if s.Tokens[role] == "" {
			return session{}, fmt.Errorf("%w: create session: no %s link in %s", ErrAPI, role, raw)
		}
	}
	return s, nil
}

// end deletes the session with its host token.
func (a *api) end(ctx context.Context, s session) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, a.base+"/api/v1/sessions/"+url.PathEscape(s.ID), nil)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrAPI, err)
	}
	req.Header.Set("Authorization", "Bearer "+s.Tokens["host"])
	resp, err := a.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: end session: %v", ErrAPI, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%w: end session %s: HTTP %d", ErrAPI, s.ID, resp.StatusCode)
	}
	return nil
}

// clientParams returns how a participant of role connects to s.
func (a *api) clientParams(s session, role, name string) clientParams {
	ws := "ws" + strings.TrimPrefix(a.base, "http") + "/api/v1/sessions/" + url.PathEscape(s.ID) + "/ws"
	return clientParams{WSURL: ws, Origin: a.base, Token: s.Tokens[role], Name: name}
}

// linkToken takes the token out of a viewer link's fragment (…/s/ID#token=T).
func linkToken(link string) (string, error) {
	u, err := url.Parse(link)
	if err != nil {
		return "", err
	}
	q, err := url.ParseQuery(u.Fragment)
	if err != nil {
		return "", err
	}
	tok := q.Get("token")
	if tok == "" {
		return "", fmt.Errorf("no token in %q", link)
	}
	return tok, nil
}
