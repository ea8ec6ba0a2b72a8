package demo

import (
	"bytes"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"unicode/utf8"
)

// pages are the parsed templates, one set per page, each with the shared layout.
type pages map[string]*template.Template

func mustParsePages() pages {
	funcs := template.FuncMap{
		"inc":   func(i int) int { return i + 1 },
		"runes": utf8.RuneCountInString,
	}
	layout := template.Must(template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html"))
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		panic(err)
	}
	out := make(pages)
	for _, n := range names {
		base := path.Base(n)
		if base == "layout.html" {
			continue
		}
		t := template.Must(template.Must(layout.Clone()).ParseFS(templateFS, n))
		out[strings.TrimSuffix(base, ".html")] = t
	}
	return out
}

// view is what every page gets: the header's state and the page's own data.
type view struct {
	Title     string
	Nav       string // the active navigation entry
	User      string
	CartCount int
	Data      any
	Tandem    Options // the co-browse button, when TandemURL is set
}

// render writes the page name with status. It renders to a buffer first, so a template
// failure becomes a clean 500 instead of half a page.
func (s *site) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	s.renderFor(w, r, status, name, title, data, nil)
}

// renderFor is render with the header drawn from v instead of the request's cookie, for
// responses that have just changed the visitor.
func (s *site) renderFor(w http.ResponseWriter, r *http.Request, status int, name, title string, data any, v *visitor) {
	if v == nil {
		_, cur := s.visitorOf(r)
		v = &cur
	}
	t, ok := s.pages[name]
	if !ok {
		s.log.Error("no such template", "name", name)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	var buf bytes.Buffer
	vw := view{Title: title, Nav: name, User: v.User, CartCount: v.CartCount(), Data: data,
		Tandem: Options{TandemURL: s.opts.TandemURL, SiteKey: s.opts.SiteKey}}
	if err := t.ExecuteTemplate(&buf, "layout.html", vw); err != nil {
		s.log.Error("render page", "name", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

type errorPage struct {
	Heading, Message string
}

func (s *site) notFound(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusNotFound, "error", "Page not found", errorPage{
		Heading: "We could not find that trail",
		Message: "The page " + r.URL.Path + " does not exist. It may have moved, or the link may be mistyped.",
	})
}

func (s *site) badRequest(w http.ResponseWriter, r *http.Request, msg string) {
	s.render(w, r, http.StatusBadRequest, "error", "Bad request", errorPage{
		Heading: "Something in that request was not right", Message: msg,
	})
}

// recoverer turns a panic into a 500 page; the handlers are written not to panic, this
// only keeps a bug from killing the connection without an answer.
func (s *site) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic in demo handler", "path", r.URL.Path, "panic", v)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		next.ServeHTTP(w, r)
	})
}

func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// noListing answers 404 for directories, which http.FileServer would list.
func noListing(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "" || strings.HasSuffix(r.URL.Path, "/") {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Cache-Control", "public, max-age=300")
		next.ServeHTTP(w, r)
	})
}
