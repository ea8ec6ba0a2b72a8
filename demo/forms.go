package demo

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxFormBytes bounds every form body; the largest legitimate one is a support note.
const maxFormBytes = 64 << 10

// parseForm reads a POSTed form within maxFormBytes.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return errFormTooLarge
		}
		return fmt.Errorf("parse form: %w", err)
	}
	return nil
}

// fieldErrors maps a form field's name to what is wrong with it.
type fieldErrors map[string]string

func (f fieldErrors) check(name string, err error) {
	if err != nil {
		f[name] = err.Error()
	}
}

// field is a trimmed form value that must be valid UTF-8, at most max characters and
// free of control characters (multiline allows line breaks and tabs).
func field(v string, max int, required, multiline bool) (string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		if required {
			return "", errRequired
		}
		return "", nil
	}
	if !utf8.ValidString(v) {
		return "", errInvalid
	}
	if utf8.RuneCountInString(v) > max {
		return "", fmt.Errorf("%w: at most %d characters", errTooLong, max)
	}
	for _, r := range v {
		if unicode.IsControl(r) && !(multiline && (r == '\n' || r == '\r' || r == '\t')) {
			return "", errInvalid
		}
	}
	return v, nil
}

// digits returns v without spaces and dashes, or an error when anything else but
// digits remains or the count is outside [min, max].
func digits(v string, min, max int) (string, error) {
	v = strings.NewReplacer(" ", "", "-", "").Replace(strings.TrimSpace(v))
	if v == "" {
		return "", errRequired
	}
	if len(v) < min || len(v) > max {
		return "", errInvalid
	}
	for _, c := range v {
		if c < '0' || c > '9' {
			return "", errInvalid
		}
	}
	return v, nil
}

// localPath accepts a redirect target only when it stays on this site.
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.ContainsAny(p, "\\\r\n") {
		return "/"
	}
	return p
}
