package site

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Site is one website that embeds Tandem.
type Site struct {
	ID             string          `json:"id"`              // ^[a-z0-9][a-z0-9-]{0,39}$
	Name           string          `json:"name"`            // defaults to the ID
	PublishableKey string          `json:"publishableKey"`  // "pk_" + 24 chars base64url; generated on first Put if empty; what data-tandem-site carries
	AllowedOrigins []string        `json:"allowedOrigins"`  // "https://shop.example", scheme://host[:port], no path
	ScriptStart    bool            `json:"scriptStart"`     // the publishable key alone may start sessions (rate-limited)
	Rules          json.RawMessage `json:"rules,omitempty"` // same shape as POST /api/v1/sessions "rules"
	ButtonText     string          `json:"buttonText"`
	ViewConsent    string          `json:"viewConsent"` // "ask" (default) or "help": asking for help is consent to be seen
	WebhookURL     string          `json:"webhookURL,omitempty"`
	WebhookSecret  string          `json:"-"` // "whsec_..."; generated when WebhookURL is set and there is none; shown once by whatever set it
	KeyHashes      []string        `json:"-"` // SHA-256 hex of API keys
	CreatedAt      time.Time       `json:"createdAt"`
}

// ViewConsent values.
const (
	ConsentAsk  = "ask"  // the visitor is asked before an agent may see the page
	ConsentHelp = "help" // asking for help is consent to be seen
)

// Limits of the fields.
const (
	MaxOrigins       = 32
	MaxNameLen       = 100 // characters
	MaxButtonTextLen = 60  // characters
	MaxURLLen        = 2048
	MaxRulesLen      = 32 << 10
)

var (
	idRE          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)
	publishableRE = regexp.MustCompile(`^pk_[A-Za-z0-9_-]{24}$`)
)

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrInvalid}, args...)...)
}

// normalize validates s and returns it in canonical form with defaults filled in. It does
// not touch the fields the store manages (secrets, key hashes, creation time).
func normalize(s Site) (Site, error) {
	if !idRE.MatchString(s.ID) {
		return s, invalid("id %q must be 1 to 40 lower-case letters, digits or dashes, starting with a letter or digit", s.ID)
	}
	var err error
	if s.Name, err = text("name", s.Name, MaxNameLen); err != nil {
		return s, err
	}
	if s.Name == "" {
		s.Name = s.ID
	}
	if s.ButtonText, err = text("buttonText", s.ButtonText, MaxButtonTextLen); err != nil {
		return s, err
	}
	if s.PublishableKey != "" && !publishableRE.MatchString(s.PublishableKey) {
		return s, invalid("publishableKey must be pk_ followed by 24 base64url characters; leave it empty to have one generated")
	}
	if len(s.AllowedOrigins) > MaxOrigins {
		return s, invalid("at most %d allowedOrigins", MaxOrigins)
	}
	origins := make([]string, 0, len(s.AllowedOrigins))
	for _, o := range s.AllowedOrigins {
		n, err := NormalizeOrigin(o)
		if err != nil {
			return s, err
		}
		if !slices.Contains(origins, n) {
			origins = append(origins, n)
		}
	}
	s.AllowedOrigins = origins
	switch s.ViewConsent {
	case "":
		s.ViewConsent = ConsentAsk
	case ConsentAsk, ConsentHelp:
	default:
		return s, invalid("viewConsent must be %q or %q, not %q", ConsentAsk, ConsentHelp, s.ViewConsent)
	}
	if s.WebhookURL = strings.TrimSpace(s.WebhookURL); s.WebhookURL != "" {
		if err := checkWebhookURL(s.WebhookURL); err != nil {
			return s, err
		}
	}
	if s.Rules, err = normalizeRules(s.Rules); err != nil {
		return s, err
	}
	return s, nil
}

// NormalizeOrigin checks that o is an origin as browsers send it in the Origin header —
// http or https, a host and perhaps a port, nothing else — and returns it in that form:
// lower case, no trailing slash, no default port.
func NormalizeOrigin(o string) (string, error) {
	bad := func(why string) error {
		return invalid("origin %q %s; write it as scheme://host[:port], e.g. https://shop.example", o, why)
	}
	u, err := url.Parse(strings.TrimSpace(o))
	if err != nil {
		return "", bad("does not parse")
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme != "http" && scheme != "https":
		return "", bad("must start with http:// or https://")
	case u.Opaque != "" || u.Host == "":
		return "", bad("has no host")
	case u.User != nil:
		return "", bad("must not carry a user name or password")
	case u.Path != "" && u.Path != "/", u.RawPath != "":
		return "", bad("must not have a path")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#"):
		return "", bad("must not have a query or fragment")
	}
	host := strings.ToLower(u.Hostname())
	if host == "" {
		return "", bad("has no host")
	}
	for _, r := range host {
		if r > unicode.MaxASCII {
			return "", bad("has a non-ASCII host (browsers send the punycode form, xn--...)")
		}
	}
	port := u.Port()
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", bad("has a bad port")
		}
		port = strconv.Itoa(n)
		if (scheme == "https" && n == 443) || (scheme == "http" && n == 80) {
			port = ""
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return "", bad("has an empty port")
	}
	if port != "" {
		return scheme + "://" + net.JoinHostPort(host, port), nil
	}
	if strings.Contains(host, ":") { // an IPv6 literal, whose brackets Hostname removed
		host = "[" + host + "]"
	}
	return scheme + "://" + host, nil
}

func checkWebhookURL(raw string) error {
	if len(raw) > MaxURLLen {
		return invalid("webhookURL is longer than %d bytes", MaxURLLen)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return invalid("webhookURL %q must be an absolute http:// or https:// URL", raw)
	}
	if u.Fragment != "" {
		return invalid("webhookURL must not have a fragment")
	}
	return nil
}

// normalizeRules checks that raw is empty, null or a JSON object and compacts it. What the
// object holds is checked by the caller's rule parser (see RegisterAPI).
func normalizeRules(raw json.RawMessage) (json.RawMessage, error) {
	trimmed := bytes.TrimSpace(raw)
	if len(trimmed) == 0 || string(trimmed) == "null" {
		return nil, nil
	}
	if len(trimmed) > MaxRulesLen {
		return nil, invalid("rules are larger than %d bytes", MaxRulesLen)
	}
	if trimmed[0] != '{' || !json.Valid(trimmed) {
		return nil, invalid("rules must be a JSON object")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, trimmed); err != nil {
		return nil, invalid("rules must be a JSON object")
	}
	return buf.Bytes(), nil
}

// text trims a free-text field and checks its length and characters.
func text(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	if !utf8.ValidString(s) {
		return "", invalid("%s is not valid UTF-8", field)
	}
	if utf8.RuneCountInString(s) > max {
		return "", invalid("%s is longer than %d characters", field, max)
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return "", invalid("%s must not contain control characters", field)
	}
	return s, nil
}
