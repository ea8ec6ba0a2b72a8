// Package ui is the browser side of Tandem: the start page and the viewer, served from
// files embedded in the binary. It has no build step: plain JS modules and CSS.
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var embedded embed.FS

// csp allows nothing but our own origin; the viewer needs ws:/wss: for its socket and
// blob:/data: for decoded frames and inline SVG icons.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; connect-src 'self' ws: wss:; font-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// pageCSP is the policy of the frame a Page-mode copy is built in: images, styles and
// fonts from Tandem (and inline data), nothing else at all: no scripts, no connections,
// no frames, no forms. It is sandboxed too, so even a sanitiser's miss runs nothing and
// reaches nobody.
const pageCSP = "default-src 'none'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; " +
	"font-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-same-origin"

// file is one embedded asset, read once at start-up.
type file struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

type handler struct {
	start, viewer, page, embed *file
	assets                     map[string]*file // by path below /assets/
}

// Handler serves "/" (start page), "/s/{id}" (viewer; the page reads the id from its own
// path), "/page-frame" (the empty, sandboxed document Page mode builds its copy in),
// "/embed.js" (the co-browse button providers put on their own pages), "/assets/..."
// (embedded JS, CSS and SVG) and 404 for everything else.
func Handler() http.Handler {
	h := &handler{assets: map[string]*file{}}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		if p == "assets/embed.js" {
			body = stripCommentLines(body)
		}
		sum := sha256.Sum256(body)
		f := &file{
			name:  p,
			body:  body,
			ctype: contentType(p),
			etag:  `"` + hex.EncodeToString(sum[:8]) + `"`,
		}
		switch p {
		case "assets/index.html":
			h.start = f
		case "assets/viewer.html":
			h.viewer = f
		case "assets/page-frame.html":
			h.page = f
		case "assets/embed.js":
			h.embed = f
		default:
			h.assets[strings.TrimPrefix(p, "assets/")] = f
		}
		return nil
	})
	if err != nil || h.start == nil || h.viewer == nil || h.embed == nil {
		// The files are compiled in, so this is a broken build, not a runtime condition.
		panic("ui: embedded assets are incomplete")
	}
	return h
}

// stripCommentLines drops the lines that hold only a // comment: every provider's
// visitor downloads the embed script, and its comments are for us. Lines, not a
// tokenizer: the script keeps no "//" at the start of a line inside a string.
func stripCommentLines(b []byte) []byte {
	var out []byte
	for line := range bytes.Lines(b) {
		if !bytes.HasPrefix(bytes.TrimLeft(line, " \t"), []byte("//")) {
			out = append(out, line...)
		}
	}
	return out
}

func contentType(p string) string {
	switch path.Ext(p) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".html":
		return "text/html; charset=utf-8"
	case ".svg":
		return "image/svg+xml"
	}
	if t := mime.TypeByExtension(path.Ext(p)); t != "" {
		return t
	}
	return "application/octet-stream"
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	if r.URL.Path == "/page-frame" {
		hd.Set("Content-Security-Policy", pageCSP)
	} else {
		hd.Set("Content-Security-Policy", csp)
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")

	f := h.route(r.URL.Path)
	if f == nil {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hd.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if f == h.embed {
		// Loaded by other sites' pages: any origin may fetch it, and browsers keep it a
		// few minutes, so a new version reaches every page soon.
		hd.Set("Cache-Control", "public, max-age=300")
		hd.Set("Access-Control-Allow-Origin", "*")
		hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	} else {
		// Pages and assets revalidate on every load: the ETag keeps that cheap, and a
		// new binary never mixes an old script with a new page.
		hd.Set("Cache-Control", "no-cache")
	}
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(f.body))
}

// route maps a request path to the file it serves, or nil for 404.
func (h *handler) route(p string) *file {
	switch {
	case p == "/":
		return h.start
	case p == "/page-frame":
		return h.page
	case p == "/embed.js":
		return h.embed
	case strings.HasPrefix(p, "/s/"):
		id := strings.TrimPrefix(p, "/s/")
		if id == "" || strings.Contains(id, "/") {
			return nil
		}
		return h.viewer
	case strings.HasPrefix(p, "/assets/"):
		return h.assets[strings.TrimPrefix(p, "/assets/")]
	}
	return nil
}
