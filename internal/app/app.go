// Package app wires Tandem together: Chromium, sessions, the API, the UI and the demo
// site. cmd/tandem, the end-to-end tests and the bench command share it.
package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/tandem-cobrowse/tandem/agent"
	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/cluster"
	"github.com/tandem-cobrowse/tandem/console"
	"github.com/tandem-cobrowse/tandem/demo"
	"github.com/tandem-cobrowse/tandem/egress"
	"github.com/tandem-cobrowse/tandem/help"
	"github.com/tandem-cobrowse/tandem/internal/warm"
	"github.com/tandem-cobrowse/tandem/internal/webguard"
	"github.com/tandem-cobrowse/tandem/metrics"
	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/site"
	"github.com/tandem-cobrowse/tandem/store"
	"github.com/tandem-cobrowse/tandem/stream"
	"github.com/tandem-cobrowse/tandem/ui"
)

// Config is every setting of a server.
type Config struct {
	Addr          string
	PublicURL     string
	APIKey        string
	Chromium      string
	NoSandbox     bool
	DemoAddr      string
	MaxSessions   int
	IdleTimeout   time.Duration
	JPEGQuality   int
	DialogTimeout time.Duration
	CallTimeout   time.Duration
	// ScreencastDoze: a page still this long has its screencast doze (renderer.DozeAfter
	// when 0); negative never.
	ScreencastDoze time.Duration
	AllowedOrigins []string
	// AllowHosts opens internal destinations to sessions' browsers: host:port, host or
	// CIDR entries (see egress.ParseAllowList). The demo site is allowed by itself.
	AllowHosts []string
	// AuditLog receives the audit log, one JSON object per line; nil discards it.
	AuditLog io.Writer
	// DBPath is the embedded store of sites and agents (a bbolt file).
	DBPath string
	// HelpPatience is how long a help request waits before its visitor is told it is
	// taking long; 0 = 2 minutes.
	HelpPatience time.Duration
	// OIDC turns on agents' single sign-on; nil leaves it off.
	OIDC *console.OIDCConfig
	// WarmTabs is how many tabs are kept ready for new sessions; 0 opens each when asked.
	WarmTabs int
	// Call is where the sessions' calls take media; an empty UDPAddr turns calls off.
	Call call.Config
	// LiveKit, with a URL, carries the calls instead of Tandem's SFU.
	LiveKit call.LiveKitConfig
	// DataDir holds local state (recordings under recordings/); "" keeps none, and
	// sessions cannot be recorded.
	DataDir string
	// RecordingMaxBytes caps each recording (0: 512 MiB); RecordingKeep is how long
	// recordings are kept (0: forever).
	RecordingMaxBytes int64
	RecordingKeep     time.Duration
	// Cluster puts the server in a cluster of nodes on NATS; nil runs it alone.
	Cluster *ClusterConfig
}

// Server is the whole of Tandem wired together: Chromium, sessions, API, UI, demo site.
type Server struct {
	cfg      Config
	log      *slog.Logger
	browser  *renderer.Browser
	registry *proxy.Registry
	sites    *site.Store
	agents   *agent.Accounts
	metrics  *metrics.Metrics
	egress   *egress.Proxy
	echo     *echo.Echo
	sfu      *call.SFU
	liveKit  *call.LiveKit // nil: calls on sfu (or off)
	recs     *recording.Store
	// warm holds tabs made ahead for new sessions (warmtabs.go).
	warm         *warm.Pool[*warmTab]
	warmViewport renderer.Viewport
	demo         *http.Server
	ln, dln      net.Listener
	cluster      *clusterPart  // nil when alone (cluster.go)
	drainReq     chan struct{} // closed by Drain
	agentOf      func(*http.Request) (proxy.Agent, error)
	help         *help.Queue
	drainOnce    sync.Once
}

// New starts Chromium and binds the listeners; Serve runs it.
func New(ctx context.Context, cfg Config, logger *slog.Logger) (*Server, error) {
	browser, err := renderer.Start(ctx, renderer.Config{
		ExecPath: cfg.Chromium, NoSandbox: cfg.NoSandbox, JPEGQuality: cfg.JPEGQuality,
		CallTimeout: cfg.CallTimeout, DialogTimeout: cfg.DialogTimeout, DozeAfter: cfg.ScreencastDoze,
		Logger: logger,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: logger, browser: browser, drainReq: make(chan struct{})}
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
	}

	allow, err := egress.ParseAllowList(strings.Join(cfg.AllowHosts, ","))
	if err != nil {
		return fail(fmt.Errorf("allow hosts: %w", err))
	}
	if s.dln != nil {
		allow = append(allow, listenerEntries(s.dln.Addr().(*net.TCPAddr))...)
	}
	if cfg.DBPath == "" {
		return fail(errors.New("no store: set the path of the sites and agents file (--db)"))
	}
	db, err := store.Open(cfg.DBPath)
	if err != nil {
		return fail(err)
	}
	s.sites, s.agents = site.NewStore(db), agent.NewAccounts(db)
	var demoOpts demo.Options
	if s.dln != nil {
		pk, key, err := demoSite(s.sites, demoOrigins(s.dln.Addr().(*net.TCPAddr)))
		if err != nil {
			return fail(err)
		}
		// The demo shop is a local trial: its pages and backend reach Tandem where it
		// listens, whatever --public-url says.
		own := s.ln.Addr().(*net.TCPAddr)
		tandemURL := s.URL()
		if own.IP.IsUnspecified() { // a wildcard listener is reached on loopback
			tandemURL = "http://" + net.JoinHostPort("127.0.0.1", strconv.Itoa(own.Port))
		}
		demoOpts = demo.Options{TandemURL: tandemURL, SiteKey: pk, APIKey: key}
		s.demo = &http.Server{Handler: demo.Handler(logger.With("component", "demo"), demoOpts), ReadHeaderTimeout: 10 * time.Second}
	}
	// Clustered, NATS starts before the console, whose sign-ins every node shares.
	var consoleSessions console.SessionStore // nil: this node's memory
	var signInStrikes console.Strikes        // nil: this node's rate limit alone
	if cfg.Cluster != nil {
		if s.cluster, err = startNATS(ctx, *cfg.Cluster, cfg.DataDir, cfg.APIKey, db, logger); err != nil {
			return fail(err)
		}
		consoleSessions, signInStrikes = s.cluster.consoleSessions, s.cluster.reg
	}
	cons, err := console.New(console.Params{
		Accounts: accountsForConsole{s.agents}, OIDC: cfg.OIDC,
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), PublicURL: cfg.PublicURL,
		Logger:     logger.With("component", "console"),
		SessionTTL: console.DefaultSessionTTL, // the console bucket's MaxAge (cluster.go)
		Sessions:   consoleSessions,
		Strikes:    signInStrikes,
	})
	if err != nil {
		return fail(err)
	}
	patience := cfg.HelpPatience
	if patience <= 0 {
		patience = 2 * time.Minute
	}
	queue := help.New(patience, nil)
	s.help = queue

	policy := egress.NewPolicy(allow, nil)
	s.egress = egress.NewProxy(policy, egress.ProxyOptions{Logger: logger})

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = metrics.New(reg)
	reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "tandem_screencasts_dozing",
		Help: "Tabs whose page is still and whose screencast watches for change at thumbnail size."},
		func() float64 { return float64(browser.Dozing()) }))
	audit := proxy.NewAudit(cfg.AuditLog)

	if cfg.LiveKit.URL != "" {
		if s.liveKit, err = call.NewLiveKit(cfg.LiveKit); err != nil {
			return fail(err)
		}
		logger.Info("calls go through LiveKit", "url", s.liveKit.URL())
	}
	if cfg.Call.UDPAddr != "" && s.liveKit == nil {
		cc := cfg.Call
		cc.Logger, cc.Metrics = logger, reg
		if s.sfu, err = call.New(cc); err != nil {
			return fail(err)
		}
		logger.Info("calls take media on", "udp", s.sfu.UDPPort(), "tcp", s.sfu.TCPPort())
	}
	if cfg.DataDir != "" {
		maxBytes := cfg.RecordingMaxBytes
		if maxBytes <= 0 {
			maxBytes = 512 << 20
		}
		if s.recs, err = recording.NewStore(filepath.Join(cfg.DataDir, "recordings"), maxBytes, cfg.RecordingKeep); err != nil {
			return fail(err)
		}
		go s.pruneRecordings(ctx)
	}
	onEnd, claim := queue.Forget, (func(context.Context, string, string) error)(nil)
	var onSnapshot func(id string, snapshot []byte)
	var onJoinCode func(session, code string)
	var strikes proxy.Strikes
	s.agentOf = agentOf(cons)
	if cfg.Cluster != nil {
		onEnd = func(id string) {
			queue.Forget(id)
			if s.cluster.node != nil {
				s.cluster.node.Release(id)
			}
		}
		claim = s.cluster.claim
		onSnapshot = func(id string, b []byte) { s.cluster.node.Track(id, b) }
		onJoinCode = s.onJoinCode
		strikes = s.cluster.reg
	}
	viewport := renderer.Viewport{Width: 1280, Height: 800, DPR: 1}
	s.warm = s.newWarmTabs(ctx, viewport)
	s.registry = proxy.NewRegistry(ctx, proxy.RegistryParams{
		OpenTab:     s.openTab,
		CheckURL:    checkURL(policy),
		MaxSessions: cfg.MaxSessions,
		IdleTimeout: cfg.IdleTimeout,
		CallTimeout: cfg.CallTimeout,
		Viewport:    viewport,
		Logger:      logger,
		Metrics:     s.metrics,
		Audit:       audit,
		JPEGQuality: cfg.JPEGQuality,
		OnEnd:       onEnd,
		Claim:       claim,
		OnSnapshot:  onSnapshot,
		OnJoinCode:  onJoinCode,
		Strikes:     strikes,
		Call:        s.sfu,
		LiveKit:     s.liveKit,
		Recordings:  s.recs,
	})
	var elsewhere proxy.Elsewhere
	if s.cluster != nil {
		if err := s.cluster.join(ctx, *cfg.Cluster, s, reg); err != nil {
			return fail(err)
		}
		elsewhere = s.cluster.node
		if err := shareHelp(ctx, s.cluster.node.Name(), s.cluster.reg, queue, logger); err != nil {
			return fail(err)
		}
	}
	api := proxy.NewAPI(proxy.APIParams{
		Ctx:      ctx,
		Registry: s.registry,
		Upgrader: stream.NewUpgrader(stream.Options{AllowedOrigins: cfg.AllowedOrigins, Logger: logger,
			FrameDelivered: s.metrics.FramesDelivered.Inc, FrameSkipped: s.metrics.FramesSkipped.Inc}),
		APIKey:     cfg.APIKey,
		PublicURL:  strings.TrimRight(cfg.PublicURL, "/"),
		DemoURL:    demoURL,
		Health:     browser.Ping,
		Origins:    webguard.NewOrigins(cfg.AllowedOrigins),
		Hosts:      webguard.NewHostPolicy(cfg.PublicURL, cfg.Addr),
		Sites:      siteDirectory{st: s.sites, log: logger},
		Agent:      s.agentOf,
		Help:       queue,
		Webhooks:   &help.Notifier{Log: logger.With("component", "webhooks")},
		Logger:     logger,
		Recordings: s.recs,
		Elsewhere:  elsewhere,
		Forwarded:  cluster.Forwarded,
	})

	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = proxy.HTTPErrorHandler(logger)
	e.Use(middleware.Recover())
	e.Use(requestLog(logger))
	e.Use(api.GuardHost)
	if s.cluster != nil {
		e.Use(s.routeInCluster)
	}
	api.Register(e)
	cons.Register(e)
	site.RegisterAPI(e.Group("/api/v1"), s.sites, requireServerKey(cfg.APIKey, api), func(raw json.RawMessage) error {
		_, err := proxy.ParseRules(raw)
		return err
	})
	e.GET("/metrics", echo.WrapHandler(s.metrics.Handler()), api.RequireAPIKey)
	e.POST("/api/v1/node/drain", s.drainAPI, requireServerKey(cfg.APIKey, api))
	e.GET("/api/v1/cluster", s.clusterAPI, requireServerKey(cfg.APIKey, api))
	e.GET("/api/v1/cluster/sessions/:id", s.clusterSessionAPI, requireServerKey(cfg.APIKey, api))
	uiHandler := echo.WrapHandler(ui.Handler())
	e.GET("/embed.js", uiHandler)
	e.HEAD("/embed.js", uiHandler)
	e.GET("/", uiHandler)
	e.GET("/s/:id", uiHandler)
	e.GET("/page-frame", uiHandler)
	e.GET("/assets/*", uiHandler)
	s.echo = e
	if s.cluster != nil {
		if err := s.cluster.node.ServeAPI(e); err != nil {
			return fail(err)
		}
	}
	return s, nil
}

// DemoURL is the bundled demo site's base URL, or "" when it is off.
func (s *Server) DemoURL() string {
	if s.dln == nil {
		return ""
	}
	return "http://" + s.dln.Addr().String() + "/"
}

// pruneRecordings removes recordings past their retention, now and every hour.
func (s *Server) pruneRecordings(ctx context.Context) {
	tick := time.NewTicker(time.Hour)
	defer tick.Stop()
	for {
		if n, err := s.recs.Prune(time.Now()); err != nil {
			s.log.Warn("pruning recordings", "err", err)
		} else if n > 0 {
			s.log.Info("recordings past their retention removed", "count", n)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// CallPorts are the ports call media comes to (UDP, and TCP or 0); zeros when calls are off.
func (s *Server) CallPorts() (udp, tcp int) {
	if s.sfu == nil {
		return 0, 0
	}
	return s.sfu.UDPPort(), s.sfu.TCPPort()
}

// Sessions is the number of sessions this node holds.
func (s *Server) Sessions() int { return s.registry.Len() }

// Metrics are the server's Prometheus collectors.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

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
	s.log.Info("tandem listening", "url", s.URL(), "agent_console", s.URL()+"/agent")
	if list, err := s.agents.List(); err == nil && len(list) == 0 {
		s.log.Info("no agent accounts yet: add one with `tandem agents add NAME --password-stdin` to sign in to the agent console",
			"store", s.cfg.DBPath)
	}

	var err error
	select {
	case <-ctx.Done():
	case <-s.drainReq:
	case err = <-errc:
	}
	if s.cluster != nil && err == nil {
		drainCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		s.drain(drainCtx)
		cancel()
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

// egressRefused tells session id's participants what the egress policy refused.
func (s *Server) egressRefused(id string, r egress.Refusal) {
	if s.isSelf(r.Target) {
		// The provider's page loading Tandem's own embed script: refused, and not
		// worth telling anyone (the script stays hidden in a session's tab anyway).
		return
	}
	// The refusal arrives on a proxy connection's goroutine; the session may be busy.
	go s.registry.NotifyEgressRefused(id, r.Host, r.Reason)
}

// isSelf reports whether target (host:port, as a page asked for it) is this server's own
// listener.
func (s *Server) isSelf(target string) bool {
	host, port, err := net.SplitHostPort(target)
	if err != nil {
		return false
	}
	own := s.ln.Addr().(*net.TCPAddr).AddrPort()
	if port != strconv.Itoa(int(own.Port())) {
		return false
	}
	if host == "localhost" {
		return own.Addr().IsLoopback() || own.Addr().IsUnspecified()
	}
	ip, err := netip.ParseAddr(strings.Trim(host, "[]"))
	if err != nil {
		return false
	}
	return ip.Unmap() == own.Addr().Unmap() || own.Addr().IsUnspecified() && ip.Unmap().IsLoopback()
}

// checkURL is the egress policy's verdict on a start URL, in proxy's terms.
func checkURL(policy *egress.Policy) func(ctx context.Context, rawURL string) error {
	return func(ctx context.Context, rawURL string) error {
		err := policy.CheckURL(ctx, rawURL)
		if errors.Is(err, egress.ErrBlocked) {
			return fmt.Errorf("%w: %s", proxy.ErrEgressRefused, egress.Reason(err))
		}
		return err
	}
}

// listenerEntries allow the demo site at the address it listens on; a wildcard
// listener is reached on loopback as well.
func listenerEntries(a *net.TCPAddr) []egress.AllowEntry {
	ap := a.AddrPort()
	ips := []netip.Addr{ap.Addr().Unmap()}
	if ap.Addr().IsUnspecified() {
		ips = append(ips, netip.IPv4Unspecified(), netip.IPv6Unspecified(),
			netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback())
	}
	out := []egress.AllowEntry{{Host: "localhost", Port: int(ap.Port())}}
	for _, ip := range ips {
		out = append(out, egress.AllowEntry{Prefix: netip.PrefixFrom(ip, ip.BitLen()), Port: int(ap.Port())})
	}
	return out
}

func (s *Server) close() {
	s.cluster.close()
	if s.warm != nil {
		s.warm.Close()
	}
	if s.sfu != nil {
		_ = s.sfu.Close()
	}
	if s.egress != nil {
		s.egress.Close()
	}
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
