// Package app wires Tandem together: Chromium, sessions, the API, the UI and the demo
// site. cmd/tandem, the end-to-end tests and the bench command share it.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/tandem-cobrowse/tandem/demo"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/stream"
	"github.com/tandem-cobrowse/tandem/ui"
)

// Config is every setting of a server.
type Config struct {
	Addr           string
	PublicURL      string
	APIKey         string
	Chromium       string
	NoSandbox      bool
	DemoAddr       string
	MaxSessions    int
	IdleTimeout    time.Duration
	JPEGQuality    int
	DialogTimeout  time.Duration
	CallTimeout    time.Duration
	AllowedOrigins []string
}

// Server is the whole of Tandem wired together wired together: Chromium, sessions, API, UI, demo site.
type Server struct {
	cfg      Config
	log      *slog.Logger
	browser  *renderer.Browser
	registry *proxy.Registry
	echo     *echo.Echo
	demo     *http.Server
	ln, dln  net.Listener
}

// New starts Chromium and binds the listeners; Serve runs it.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	browser, err := renderer.Start(ctx, renderer.Config{
		ExecPath: cfg.Chromium, NoSandbox: cfg.NoSandbox, JPEGQuality: cfg.JPEGQuality,
		CallTimeout: cfg.CallTimeout, DialogTimeout: cfg.DialogTimeout, Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger, browser: browser}
	fail := func(err error) (*Server, error) { s.close(); return nil, err }

	if s.ln, err = net.Listen("tcp", cfg.Addr); err != nil {
		return fail(fmt.Errorf("listen on %s: %w", cfg.Addr, err))
	}
	demoURL := ""
	if cfg.DemoAddr != "" {
		if s.dln, err = net.Listen("tcp", cfg.DemoAddr); err != nil {
			return fail(fmt.Errorf("demo site: listen on %s: %w", cfg.DemoAddr, err))
		}
		demoURL = "http://" + s.dln.Addr().String() + "/"
		s.demo = &http.Server{Handler: demo.Handler(logger.With("component", "demo")), ReadHeaderTimeout: 10 * time.Second}
	}

	s.registry = proxy.NewRegistry(ctx, proxy.RegistryParams{
		OpenTab: func(ctx context.Context, vp renderer.Viewport) (proxy.Tab, error) {
			return browser.NewTab(ctx, vp)
		},
		MaxSessions: cfg.MaxSessions,
		IdleTimeout: cfg.IdleTimeout,
		CallTimeout: cfg.CallTimeout,
		Viewport:    renderer.Viewport{Width: 1280, Height: 800, DPR: 1},
		Logger:      logger,
	})
	api := proxy.NewAPI(proxy.APIParams{
		Ctx:       ctx,
		Registry:  s.registry,
		Upgrader:  stream.NewUpgrader(stream.Options{AllowedOrigins: cfg.AllowedOrigins, Logger: logger}),
		APIKey:    cfg.APIKey,
		PublicURL: strings.TrimRight(cfg.PublicURL, "/"),
		DemoURL:   demoURL,
		Health:    browser.Ping,
		Logger:    logger,
	})

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = proxy.HTTPErrorHandler(logger)
	e.Use(middleware.Recover())
	e.Use(requestLog(logger))
	api.Register(e)
	uiHandler := echo.WrapHandler(ui.Handler())
	e.GET("/", uiHandler)
	e.GET("/s/:id", uiHandler)
	e.GET("/assets/*", uiHandler)
	s.echo = e
	return s, nil
}

// DemoURL is the bundled demo site's base URL, or "" when it is off.
func (s *Server) DemoURL() string {
	if s.dln == nil {
		return ""
	}
	return "http://" + s.dln.Addr().String() + "/"
}

// URL is the base URL the server answers on.
func (s *Server) URL() string { return "http://" + s.ln.Addr().String() }

// Serve runs until ctx ends, then drains: participants are told, sessions and their
// browser contexts are disposed, listeners close, Chromium stops.
func (s *Server) Serve(ctx context.Context) error {
	errc := make(chan error, 2)
	httpSrv := &http.Server{Handler: s.echo, ReadHeaderTimeout: 10 * time.Second}
	go func() { errc <- httpSrv.Serve(s.ln) }()
	if s.demo != nil {
		go func() { errc <- s.demo.Serve(s.dln) }()
		s.log.Info("demo provider site", "url", "http://"+s.dln.Addr().String()+"/")
	}
	s.log.Info("tandem listening", "url", s.URL())

	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	s.registry.Close("The server is shutting down.")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = httpSrv.Shutdown(shutdownCtx)
	if s.demo != nil {
		_ = s.demo.Shutdown(shutdownCtx)
	}
	s.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

func (s *Server) close() {
	if s.browser != nil {
		_ = s.browser.Close()
	}
	if s.ln != nil {
		_ = s.ln.Close()
	}
	if s.dln != nil {
		_ = s.dln.Close()
	}
}

// requestLog logs each request without its query string; tokens travel in the URL
// fragment and never reach the server at all.
func requestLog(log *slog.Logger) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			start := time.Now()
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			log.Debug("http", "method", c.Request().Method, "path", c.Request().URL.Path,
				"status", c.Response().Status, "duration", time.Since(start))
			return nil
		}
	}
}
