package console

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"time"

	"github.com/labstack/echo/v4"
)

//go:embed assets
var embedded embed.FS

// pageCSP lets the console load and talk to nothing but its own origin, run no inline
// script or style, and be framed by no one.
const pageCSP = "default-src 'self'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
	"img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"

// asset is one embedded file, read once at start-up.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

type assets struct {
	page  *asset
	files map[string]*asset // by name below assets/
}

func loadAssets() *assets {
	a := &assets{files: map[string]*asset{}}
	err := fs.WalkDir(embedded, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := embedded.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		f := &asset{body: body, ctype: contentType(p), etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		if p == "assets/agent.html" {
			a.page = f
		} else {
			a.files[p[len("assets/"):]] = f
		}
		return nil
	})
	if err != nil || a.page == nil {
		// The files are compiled in, so this is a broken build, not a runtime condition.
		panic("console: embedded assets are incomplete")
	}
	return a
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
	return "application/octet-stream"
}

// page serves the console. It also gives the browser its login token cookie, the
// double-submit half of the sign-in's login-CSRF defence.
func (c *Console) page(ec echo.Context) error {
	c.ensureLoginCookie(ec)
	h := ec.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Cache-Control", "no-store")
	return serve(ec, c.assets.page)
}

func (c *Console) asset(ec echo.Context) error {
	f := c.assets.files[ec.Param("*")]
	if f == nil {
		return fail(ec, http.StatusNotFound, "not_found", "There is no such file.")
	}
	h := ec.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	// Revalidate on every load: the ETag keeps it cheap, and a new binary never mixes
	// an old script with a new page.
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", f.etag)
	return serve(ec, f)
}

func serve(ec echo.Context, f *asset) error {
	ec.Response().Header().Set("Content-Type", f.ctype)
	http.ServeContent(ec.Response(), ec.Request(), "", time.Time{}, bytes.NewReader(f.body))
	return nil
}
