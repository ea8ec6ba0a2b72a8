package dom

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/url"
	"strings"
	"sync"
)

// Limits of what an asset registry keeps and inlines.
const (
	maxAssets    = 20000
	maxDataImage = 256 << 10
	maxDataFont  = 1 << 20
)

// AssetRegistry gives each URL a page loads an opaque path under prefix: the key is a
// keyed hash of the URL, so paths cannot be guessed, and only URLs the registry issued
// can be looked up. It is safe for concurrent use.
type AssetRegistry struct {
	prefix string
	secret []byte
	mu     sync.Mutex
	urls   map[string]string // key → absolute URL
}

// NewAssetRegistry issues paths prefix+key; secret keys the hash.
func NewAssetRegistry(prefix string, secret []byte) *AssetRegistry {
	return &AssetRegistry{prefix: prefix, secret: secret, urls: map[string]string{}}
}

// Asset returns the path participants load rawURL from (resolved against base): an
// issued path for http and https, the URL itself for small inline images and fonts, and
// "" for anything else (javascript:, other schemes, HTML in data:, the registry full).
func (r *AssetRegistry) Asset(rawURL, base string) string {
	raw := strings.TrimSpace(rawURL)
	if raw == "" {
		return ""
	}
	if d := strings.ToLower(raw); strings.HasPrefix(d, "data:") {
		return inlineAsset(raw, d)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	if b, err := url.Parse(base); err == nil {
		u = b.ResolveReference(u)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return ""
	}
	u.Fragment = ""
	abs := u.String()
	mac := hmac.New(sha256.New, r.secret)
	mac.Write([]byte(abs))
	key := base64.RawURLEncoding.EncodeToString(mac.Sum(nil)[:18])
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.urls[key]; !ok {
		if len(r.urls) >= maxAssets {
			return ""
		}
		r.urls[key] = abs
	}
	return r.prefix + key
}

// Lookup returns the URL an issued key stands for.
func (r *AssetRegistry) Lookup(key string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.urls[key]
	return u, ok
}

// inlineAsset keeps data: images of raster types and fonts, small enough.
func inlineAsset(raw, lower string) string {
	for _, t := range []string{"image/png", "image/gif", "image/jpeg", "image/webp", "image/avif", "image/bmp", "image/x-icon"} {
		if strings.HasPrefix(lower, "data:"+t+";") || strings.HasPrefix(lower, "data:"+t+",") {
			if len(raw) > maxDataImage {
				return ""
			}
			return raw
		}
	}
	for _, t := range []string{"font/", "application/font-woff", "application/x-font-woff"} {
		if strings.HasPrefix(lower, "data:"+t) {
			if len(raw) > maxDataFont {
				return ""
			}
			return raw
		}
	}
	return ""
}
