// Package testenv holds the one rule every package's browser tests follow: under CI a
// missing Chromium is a failure, elsewhere the test is skipped.
package testenv

import (
	"os"
	"strconv"
	"strings"
	"testing"
)

// UnderCI reports whether the CI variable is set to a true value ("true", "1", "yes",
// any case), as CI services set it.
func UnderCI() bool {
	v := strings.TrimSpace(os.Getenv("CI"))
	if strings.EqualFold(v, "yes") || strings.EqualFold(v, "on") {
		return true
	}
	b, err := strconv.ParseBool(v)
	return err == nil && b
}

// Missing ends t because something the test needs (Chromium) is missing: a failure
// under CI, a skip elsewhere.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	if UnderCI() {
		t.Fatalf(format, args...)
	}
	t.Skipf(format, args...)
}
