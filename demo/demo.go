// Package demo is Northwind Outfitters, a small outdoor shop served on its own origin so
// that Tandem has a realistic provider site to co-browse without the internet. It covers
// what co-browsing must cope with: forms and passwords, card fields to mask, a long page,
// popups, JavaScript dialogs, downloads and a page that never stops animating.
package demo

import (
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// The probe square on /animated, in CSS pixels of the viewport (position: fixed): its
// top-left corner and side. It starts black and flips between black and white on every
// mousedown and keydown anywhere on the page, so a bench can time input to picture.
const ProbeX, ProbeY, ProbeSize = 8, 8, 48

// Demo credentials shown on the sign-in page; any non-empty pair is accepted.
const DemoUser, DemoPassword = "demo", "demo"

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options connect the shop to a Tandem server, as a provider's site is: every page
// carries Tandem's co-browse button, and POST /tandem/start is the provider backend that
// starts a session with the visitor's state handed over. An empty TandemURL leaves the
// shop on its own.
type Options struct {
	TandemURL string // "https://tandem.example", no trailing slash needed
	SiteKey   string // the site's publishable key, for data-tandem-site
	APIKey    string // the site's API key, for POST /api/v1/sessions
}

// Handler returns the whole site. Its state (carts, sign-ins, notes) lives in memory for
// the life of the handler.
func Handler(logger *slog.Logger, opts Options) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	opts.TandemURL = strings.TrimRight(opts.TandemURL, "/")
	s := &site{
		opts:    opts,
		tandem:  &http.Client{Timeout: 30 * time.Second},
		log:     logger,
		pages:   mustParsePages(),
		store:   newStore(maxSessions),
		catalog: newCatalog(),
		orders:  newOrderNumbers(),
	}
	return s.routes()
}

// site is the demo shop: its templates, catalogue and in-memory sessions.
type site struct {
	opts    Options
	tandem  *http.Client // to the Tandem server
	log     *slog.Logger
	pages   pages
	store   *store
	catalog *catalog
	orders  *orderNumbers
}

func (s *site) routes() http.Handler {
	mux := http.NewServeMux()
	static, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embed pattern guarantees the directory
	}
	mux.Handle("GET /static/", http.StripPrefix("/static/", noListing(http.FileServerFS(static))))
	mux.HandleFunc("GET /healthz", s.healthz)

	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /products/{slug}", s.product)
	mux.HandleFunc("POST /cart/add", s.cartAdd)
	mux.HandleFunc("POST /cart/clear", s.cartClear)
	mux.HandleFunc("GET /long", s.long)
	mux.HandleFunc("GET /login", s.loginForm)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /checkout", s.checkoutForm)
	mux.HandleFunc("POST /checkout", s.checkout)
	mux.HandleFunc("GET /notes", s.notesPage)
	mux.HandleFunc("POST /notes", s.notesPost)
	mux.HandleFunc("GET /popup", s.popup)
	mux.HandleFunc("GET /popup/opened", s.popupOpened)
	mux.HandleFunc("GET /alert", s.alert)
	mux.HandleFunc("GET /download", s.download)
	mux.HandleFunc("GET /download/report.csv", s.reportCSV)
	mux.HandleFunc("GET /animated", s.animated)
	if s.opts.TandemURL != "" {
		mux.HandleFunc("POST /tandem/start", s.tandemStart)
	}
	// Unknown paths get the shop's 404 page; a known path with the wrong method still gets 405.
	mux.HandleFunc("GET /", s.notFound)
	return s.recoverer(securityHeaders(mux))
}
