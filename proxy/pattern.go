package proxy

import "strings"

// MatchURL reports whether rawURL matches pattern. A pattern is a whole URL in which *
// stands for any run of characters, '/' included: "https://shop.example/checkout*",
// "*://*.example.com/*". A pattern without * must equal the URL. The scheme and host
// compare case-insensitively (the URL is matched as given, lowercased up to its path).
func MatchURL(pattern, rawURL string) bool {
	return glob(lowerOrigin(pattern), lowerOrigin(rawURL))
}

// lowerOrigin lowercases a URL's scheme and authority, leaving path and query as they are.
func lowerOrigin(u string) string {
	i := strings.Index(u, "://")
	if i < 0 {
		return u
	}
	rest := u[i+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	return strings.ToLower(u[:i+3+end]) + rest[end:]
}

// glob matches s against p where * matches any run of characters. It runs in
// O(len(p)·len(s)) at worst, so a hostile pattern cannot make it blow up.
func glob(p, s string) bool {
	px, sx := 0, 0
	star, mark := -1, 0
	for sx < len(s) {
		switch {
		case px < len(p) && p[px] == '*':
			star, mark = px, sx
			px++
		case px < len(p) && p[px] == s[sx]:
			px++
			sx++
		case star >= 0:
			px = star + 1
			mark++
			sx = mark
		default:
			return false
		}
	}
	for px < len(p) && p[px] == '*' {
		px++
	}
	return px == len(p)
}
