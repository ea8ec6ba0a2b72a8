package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/pion/webrtc/v4"

	"github.com/tandem-cobrowse/tandem/call"
	"github.com/tandem-cobrowse/tandem/cluster"
	"github.com/tandem-cobrowse/tandem/console"
	"github.com/tandem-cobrowse/tandem/egress"
	"github.com/tandem-cobrowse/tandem/internal/app"
	"github.com/tandem-cobrowse/tandem/renderer"
	"github.com/tandem-cobrowse/tandem/store"
)

// config is every option of the server. Each has a flag and an environment variable; the
// flag wins.
type config struct {
	Addr           string
	PublicURL      string
	APIKey         string
	Chromium       string
	NoSandbox      bool
	DemoAddr       string
	MaxSessions    int
	WarmTabs       int
	IdleTimeout    time.Duration
	JPEGQuality    int
	DialogTimeout  time.Duration
	ScreencastDoze time.Duration
	CallTimeout    time.Duration
	AllowedOrigins string
	AllowHosts     string
	AuditLog       string
	LogLevel       string
	LogFormat      string
	DBPath         string
	HelpPatience   time.Duration
	OIDCIssuer     string
	OIDCClientID   string
	OIDCSecret     string
	OIDCRedirect   string
	OIDCEmails     string
	OIDCDomains    string
	OIDCName       string
	DataDir        string
	RecordingMB    int
	RecordingKeep  time.Duration
	RTCUDPAddr     string
	RTCTCPAddr     string
	RTCPublicIP    string
	RTCTURNURL     string
	RTCTURNUser    string
	RTCTURNPass    string
	LiveKitURL     string
	LiveKitKey     string
	LiveKitSecret  string
	NATSListen     string
	NATSURL        string
	NATSCreds      string
	NATSTLSCA      string
	NATSTLSCert    string
	NATSTLSKey     string
	ClusterListen  string
	ClusterRoutes  string
	NodeName       string
}

// defaultNATSListen is the embedded NATS server's address when neither it nor --nats-url
// is set.
const defaultNATSListen = "127.0.0.1:4222"

// errHelp is returned for --help, which is not a failure.
var errHelp = flag.ErrHelp

func parseConfig(args []string, getenv func(string) string, out io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("tandem", flag.ContinueOnError)
	fs.SetOutput(out)
	str := func(p *string, name, env, def, usage string) {
		if v := getenv(env); v != "" {
			def = v
		}
		fs.StringVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
	}
	var envErrs []error
	boolean := func(p *bool, name, env string, def bool, usage string) {
		if v := getenv(env); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %q is not a boolean", env, v))
			}
			def = b
		}
		fs.BoolVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
	}
	integer := func(p *int, name, env string, def int, usage string) {
		if v := getenv(env); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %q is not a number", env, v))
			}
			def = n
		}
		fs.IntVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
	}
	duration := func(p *time.Duration, name, env string, def time.Duration, usage string) {
		if v := getenv(env); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil {
				envErrs = append(envErrs, fmt.Errorf("%s: %q is not a duration such as 30s or 5m", env, v))
			}
			def = d
		}
		fs.DurationVar(p, name, def, fmt.Sprintf("%s (env %s)", usage, env))
	}

	str(&c.Addr, "addr", "TANDEM_ADDR", "127.0.0.1:8080", "address to listen on")
	str(&c.PublicURL, "public-url", "TANDEM_PUBLIC_URL", "", "base URL of invite links, e.g. https://cobrowse.example.com (default: the request's own origin)")
	str(&c.APIKey, "api-key", "TANDEM_API_KEY", "", "API key required to create sessions (Authorization: Bearer KEY); required when listening beyond loopback")
	str(&c.Chromium, "chromium", "TANDEM_CHROMIUM", "", "path of the Chromium binary (default: chromium on PATH, then /usr/bin/chromium)")
	boolean(&c.NoSandbox, "no-sandbox", "TANDEM_NO_SANDBOX", os.Geteuid() == 0, "run Chromium without its sandbox (needed as root; default true only when running as root)")
	str(&c.DemoAddr, "demo-addr", "TANDEM_DEMO_ADDR", "127.0.0.1:8081", "address of the bundled demo provider site (empty disables it)")
	integer(&c.MaxSessions, "max-sessions", "TANDEM_MAX_SESSIONS", 20, "most sessions at once; more answer 429")
	str(&c.DataDir, "data-dir", "TANDEM_DATA_DIR", filepath.Dir(store.DefaultPath()), "directory of local state: recordings under recordings/")
	integer(&c.RecordingMB, "recording-max-mb", "TANDEM_RECORDING_MAX_MB", 512, "size cap of one recording, in MiB; a recording stops there")
	duration(&c.RecordingKeep, "recording-retention", "TANDEM_RECORDING_RETENTION", 30*24*time.Hour, "recordings older than this are deleted (0 keeps them)")
	str(&c.RTCUDPAddr, "rtc-udp-addr", "TANDEM_RTC_UDP_ADDR", "", "the one UDP address every call's media comes to (default: the --addr host, port 7882; off turns calls off)")
	str(&c.RTCTCPAddr, "rtc-tcp-addr", "TANDEM_RTC_TCP_ADDR", "", "TCP address for call media from networks that block UDP (default: the --addr host, port 7881; off turns it off)")
	str(&c.RTCPublicIP, "rtc-public-ip", "TANDEM_RTC_PUBLIC_IP", "", "comma-separated public addresses of this server behind 1:1 NAT, given to participants for call media")
	str(&c.LiveKitURL, "livekit-url", "TANDEM_LIVEKIT_URL", "", "calls go through this LiveKit server (wss://HOST) instead of Tandem's own SFU; Tandem mints the room tokens")
	str(&c.LiveKitKey, "livekit-api-key", "TANDEM_LIVEKIT_API_KEY", "", "API key of --livekit-url")
	str(&c.LiveKitSecret, "livekit-api-secret", "TANDEM_LIVEKIT_API_SECRET", "", "API secret of --livekit-url")
	str(&c.RTCTURNURL, "rtc-turn-url", "TANDEM_RTC_TURN_URL", "", "comma-separated turn: or turns: URLs participants' browsers may relay call media through")
	str(&c.RTCTURNUser, "rtc-turn-username", "TANDEM_RTC_TURN_USERNAME", "", "username for --rtc-turn-url")
	str(&c.RTCTURNPass, "rtc-turn-credential", "TANDEM_RTC_TURN_CREDENTIAL", "", "credential for --rtc-turn-url")
	integer(&c.WarmTabs, "warm-tabs", "TANDEM_WARM_TABS", 2, "tabs kept ready (each in its own fresh browser context) so new sessions start at once; 0 opens each when asked")
	duration(&c.IdleTimeout, "idle-timeout", "TANDEM_IDLE_TIMEOUT", 5*time.Minute, "a session with nobody connected ends after this")
	integer(&c.JPEGQuality, "jpeg-quality", "TANDEM_JPEG_QUALITY", 80, "JPEG quality of screencast frames, 1-100")
	duration(&c.DialogTimeout, "dialog-timeout", "TANDEM_DIALOG_TIMEOUT", 30*time.Second, "an unanswered JavaScript dialog is dismissed after this")
	duration(&c.ScreencastDoze, "screencast-doze", "TANDEM_SCREENCAST_DOZE", renderer.DozeAfter, "a page still this long has its screencast watch for change at thumbnail size, which saves about 10 MB per session in Chromium; 0 keeps it at full size")
	duration(&c.CallTimeout, "call-timeout", "TANDEM_CALL_TIMEOUT", 10*time.Second, "timeout of every call to Chromium")
	str(&c.AllowedOrigins, "allowed-origins", "TANDEM_ALLOWED_ORIGINS", "", "comma-separated origins allowed to open WebSockets (default: same origin only)")
	str(&c.AllowHosts, "allow-hosts", "TANDEM_ALLOW_HOSTS", "", "comma-separated internal destinations sessions' browsers may reach: host:port, host or CIDR (default: none; the demo site is always allowed)")
	str(&c.AuditLog, "audit-log", "TANDEM_AUDIT_LOG", "-", "where the audit log goes, one JSON line per event: - for standard output, a file path to append to, or off")
	str(&c.LogLevel, "log-level", "TANDEM_LOG_LEVEL", "info", "debug, info, warn or error")
	str(&c.LogFormat, "log-format", "TANDEM_LOG_FORMAT", "text", "text or json")
	duration(&c.HelpPatience, "help-patience", "TANDEM_HELP_PATIENCE", 2*time.Minute, "a help request waiting this long tells its visitor it is taking longer than usual")
	str(&c.OIDCIssuer, "oidc-issuer", "TANDEM_OIDC_ISSUER", "", "OpenID Connect issuer URL for agents' single sign-on (empty: off)")
	str(&c.OIDCClientID, "oidc-client-id", "TANDEM_OIDC_CLIENT_ID", "", "OpenID Connect client id")
	str(&c.OIDCSecret, "oidc-client-secret", "TANDEM_OIDC_CLIENT_SECRET", "", "OpenID Connect client secret (prefer the environment variable)")
	str(&c.OIDCRedirect, "oidc-redirect-url", "TANDEM_OIDC_REDIRECT_URL", "", "callback URL registered with the provider (default: PUBLIC_URL/agent/oidc/callback)")
	str(&c.OIDCEmails, "oidc-allowed-emails", "TANDEM_OIDC_ALLOWED_EMAILS", "", "comma-separated e-mail addresses that may sign in as agents")
	str(&c.OIDCDomains, "oidc-allowed-domains", "TANDEM_OIDC_ALLOWED_DOMAINS", "", "comma-separated e-mail domains whose verified addresses may sign in as agents")
	str(&c.OIDCName, "oidc-name", "TANDEM_OIDC_NAME", "", "the sign-in button's provider name, e.g. Okta")
	str(&c.NATSListen, "nats-listen", "TANDEM_NATS_LISTEN", "", "client address of the embedded NATS server (default "+defaultNATSListen+"; with --nats-url, the embedded server runs only if this is set; off runs without NATS, as one node)")
	str(&c.NATSURL, "nats-url", "TANDEM_NATS_URL", "", "comma-separated URLs of external NATS servers to join instead of (or as well as) the embedded one")
	str(&c.NATSCreds, "nats-creds", "TANDEM_NATS_CREDS", "", "credentials file for --nats-url")
	str(&c.NATSTLSCA, "nats-tls-ca", "TANDEM_NATS_TLS_CA", "", "CA certificates that sign the NATS servers' certificates")
	str(&c.NATSTLSCert, "nats-tls-cert", "TANDEM_NATS_TLS_CERT", "", "client certificate for NATS (with --nats-tls-key)")
	str(&c.NATSTLSKey, "nats-tls-key", "TANDEM_NATS_TLS_KEY", "", "client key for NATS")
	str(&c.ClusterListen, "cluster-listen", "TANDEM_CLUSTER_LISTEN", "", "HOST:PORT the embedded NATS server takes other nodes' routes on (e.g. 0.0.0.0:6222)")
	str(&c.ClusterRoutes, "cluster-routes", "TANDEM_CLUSTER_ROUTES", "", "comma-separated nats://HOST:PORT routes of the other nodes' embedded servers")
	str(&c.NodeName, "node-name", "TANDEM_NODE_NAME", hostname(), "this node's name in the cluster, unique")
	str(&c.DBPath, "db", "TANDEM_DB", store.DefaultPath(), "the store file of sites and agent accounts (see tandem sites --help, tandem agents --help)")

	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if len(envErrs) > 0 {
		return c, errors.Join(envErrs...)
	}
	if fs.NArg() > 0 {
		return c, fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	return c, c.validate()
}

func (c config) validate() error {
	if c.RecordingMB < 1 {
		return fmt.Errorf("--recording-max-mb must be at least 1")
	}
	if c.WarmTabs < 0 || c.WarmTabs > 32 {
		return fmt.Errorf("--warm-tabs must be between 0 and 32")
	}
	if c.MaxSessions < 1 {
		return fmt.Errorf("--max-sessions must be at least 1")
	}
	if c.JPEGQuality < 1 || c.JPEGQuality > 100 {
		return fmt.Errorf("--jpeg-quality must be between 1 and 100")
	}
	if c.IdleTimeout <= 0 || c.DialogTimeout <= 0 || c.CallTimeout <= 0 {
		return fmt.Errorf("timeouts must be positive")
	}
	if c.ScreencastDoze < 0 {
		return fmt.Errorf("--screencast-doze must not be negative")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		return fmt.Errorf("--log-format must be text or json, not %q", c.LogFormat)
	}
	if c.APIKey == "" && !isLoopback(c.Addr) {
		return fmt.Errorf("refusing to listen on %s without an API key: set --api-key or TANDEM_API_KEY, or listen on 127.0.0.1", c.Addr)
	}
	if _, err := egress.ParseAllowList(c.AllowHosts); err != nil {
		return fmt.Errorf("--allow-hosts: %w", err)
	}
	if c.HelpPatience <= 0 {
		return fmt.Errorf("--help-patience must be positive")
	}
	if err := c.validateCluster(); err != nil {
		return err
	}
	if c.OIDCIssuer != "" {
		if c.OIDCClientID == "" {
			return fmt.Errorf("--oidc-issuer needs --oidc-client-id")
		}
		if c.OIDCRedirect == "" && c.PublicURL == "" {
			return fmt.Errorf("single sign-on needs --oidc-redirect-url or --public-url")
		}
		if c.OIDCEmails == "" && c.OIDCDomains == "" {
			return fmt.Errorf("single sign-on needs --oidc-allowed-emails or --oidc-allowed-domains: nobody at the provider is an agent by default")
		}
	}
	if c.DBPath == "" {
		return fmt.Errorf("--db must name the store file")
	}
	if c.APIKey != "" && len(c.APIKey) < 16 {
		return fmt.Errorf("--api-key must be at least 16 characters")
	}
	return nil
}

// isLoopback reports whether addr listens only on the loopback interface.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c config) origins() []string {
	var out []string
	for _, o := range strings.Split(c.AllowedOrigins, ",") {
		if o = strings.TrimSpace(o); o != "" {
			out = append(out, o)
		}
	}
	return out
}

// call is where calls take media: ports 7882 (UDP) and 7881 (TCP) on the --addr host
// unless set.
func (c config) call() call.Config {
	if c.LiveKitURL != "" {
		return call.Config{} // LiveKit carries the media: Tandem's SFU stays off
	}
	host, _, _ := net.SplitHostPort(c.Addr)
	addr := func(v, port string) string {
		switch v {
		case "off":
			return ""
		case "":
			return net.JoinHostPort(host, port)
		}
		return v
	}
	cc := call.Config{UDPAddr: addr(c.RTCUDPAddr, "7882"), TCPAddr: addr(c.RTCTCPAddr, "7881"), PublicIPs: split(c.RTCPublicIP)}
	if cc.UDPAddr == "" {
		return call.Config{}
	}
	if urls := split(c.RTCTURNURL); len(urls) > 0 {
		cc.ICEServers = []webrtc.ICEServer{{URLs: urls, Username: c.RTCTURNUser, Credential: c.RTCTURNPass}}
	}
	return cc
}

func split(list string) []string {
	var out []string
	for _, v := range strings.Split(list, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (c config) allowHosts() []string {
	var out []string
	for _, h := range strings.Split(c.AllowHosts, ",") {
		if h = strings.TrimSpace(h); h != "" {
			out = append(out, h)
		}
	}
	return out
}

func (c config) app() app.Config {
	return app.Config{
		Addr: c.Addr, PublicURL: c.PublicURL, APIKey: c.APIKey, Chromium: c.Chromium, NoSandbox: c.NoSandbox,
		DemoAddr: c.DemoAddr, MaxSessions: c.MaxSessions, IdleTimeout: c.IdleTimeout, JPEGQuality: c.JPEGQuality,
		DialogTimeout: c.DialogTimeout, CallTimeout: c.CallTimeout, ScreencastDoze: c.screencastDoze(),
		AllowedOrigins: c.origins(), AllowHosts: c.allowHosts(), DBPath: c.DBPath, HelpPatience: c.HelpPatience,
		OIDC: c.oidc(), WarmTabs: c.WarmTabs, Call: c.call(),
		LiveKit: call.LiveKitConfig{URL: c.LiveKitURL, APIKey: c.LiveKitKey, APISecret: c.LiveKitSecret},
		DataDir: c.DataDir, RecordingMaxBytes: int64(c.RecordingMB) << 20, RecordingKeep: c.RecordingKeep,
		Cluster: c.cluster(),
	}
}

// screencastDoze is --screencast-doze as the renderer takes it: 0 there is its default.
func (c config) screencastDoze() time.Duration {
	if c.ScreencastDoze == 0 {
		return -1
	}
	return c.ScreencastDoze
}

// natsListen is the embedded NATS server's address: "" runs none.
func (c config) natsListen() string {
	switch {
	case c.NATSListen == "off":
		return ""
	case c.NATSListen == "" && c.NATSURL == "":
		return defaultNATSListen
	}
	return c.NATSListen
}

// cluster is the NATS configuration, nil when the node runs without NATS.
func (c config) cluster() *app.ClusterConfig {
	if c.natsListen() == "" && c.NATSURL == "" {
		return nil
	}
	var opts []nats.Option
	if c.NATSCreds != "" {
		opts = append(opts, nats.UserCredentials(c.NATSCreds))
	}
	if c.NATSTLSCA != "" {
		opts = append(opts, nats.RootCAs(c.NATSTLSCA))
	}
	if c.NATSTLSCert != "" {
		opts = append(opts, nats.ClientCert(c.NATSTLSCert, c.NATSTLSKey))
	}
	return &app.ClusterConfig{
		NATSListen: c.natsListen(), NATSURL: c.NATSURL, NATSOptions: opts,
		ClusterListen: c.ClusterListen, Routes: list(c.ClusterRoutes), NodeName: cluster.NodeToken(c.NodeName),
	}
}

func (c config) validateCluster() error {
	if c.NATSListen == "off" && c.NATSURL != "" {
		return fmt.Errorf("--nats-listen off with --nats-url: leave --nats-listen empty to use only the external servers")
	}
	if l := c.natsListen(); l != "" {
		if _, _, err := net.SplitHostPort(l); err != nil {
			return fmt.Errorf("--nats-listen %q: %w", l, err)
		}
	}
	if c.ClusterListen != "" || c.ClusterRoutes != "" {
		if c.natsListen() == "" {
			return fmt.Errorf("--cluster-listen and --cluster-routes cluster the embedded NATS server: set --nats-listen")
		}
		if c.APIKey == "" {
			return fmt.Errorf("clustered nodes authenticate each other's NATS servers with the API key: set --api-key, the same on every node")
		}
		if _, _, err := net.SplitHostPort(c.ClusterListen); c.ClusterListen != "" && err != nil {
			return fmt.Errorf("--cluster-listen %q: %w", c.ClusterListen, err)
		}
		for _, r := range list(c.ClusterRoutes) {
			if !strings.HasPrefix(r, "nats://") && !strings.HasPrefix(r, "tls://") {
				return fmt.Errorf("--cluster-routes: %q is not a nats:// URL", r)
			}
		}
	}
	if c.NodeName == "" || cluster.NodeToken(c.NodeName) == strings.Repeat("-", len(c.NodeName)) {
		return fmt.Errorf("--node-name must have letters or digits")
	}
	if (c.NATSTLSCert == "") != (c.NATSTLSKey == "") {
		return fmt.Errorf("--nats-tls-cert and --nats-tls-key go together")
	}
	if c.DataDir == "" && c.natsListen() != "" {
		return fmt.Errorf("the embedded NATS server keeps JetStream under --data-dir: set it")
	}
	return nil
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "tandem"
	}
	return h
}

// oidc is the single sign-on configuration, nil when it is off.
func (c config) oidc() *console.OIDCConfig {
	if c.OIDCIssuer == "" {
		return nil
	}
	redirect := c.OIDCRedirect
	if redirect == "" {
		redirect = strings.TrimRight(c.PublicURL, "/") + "/agent/oidc/callback"
	}
	return &console.OIDCConfig{Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCSecret,
		RedirectURL: redirect, AllowedEmails: list(c.OIDCEmails), AllowedDomains: list(c.OIDCDomains), ProviderName: c.OIDCName}
}

func list(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}
