package mask

import (
	"slices"
	"strings"
)

// Key is the canonical audience key of a set of mask selectors: sorted and
// deduplicated, so roles with the same selectors share one painted frame.
// The empty key is the unmasked audience.
func Key(selectors []string) string {
	s := slices.Clone(selectors)
	slices.Sort(s)
	s = slices.Compact(s)
	// NUL cannot occur in a CSS selector the page accepted.
	return strings.Join(s, "\x00")
}

// Selectors is the inverse of Key.
func Selectors(key string) []string {
	if key == "" {
		return nil
	}
	return strings.Split(key, "\x00")
}
