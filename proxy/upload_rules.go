package proxy

import (
	"errors"
	"fmt"
	"mime"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
)

// UploadRules say whether a role may give the page files when the page asks for them (an
// <input type=file>), how large, and of which types.
type UploadRules struct {
	Allow bool `json:"allow"`
	// MaxBytes bounds each file.
	MaxBytes int64 `json:"maxBytes"`
	// Types are the files allowed: extensions (".pdf"), MIME types ("application/pdf")
	// or families ("image/*"). Empty allows any type.
	Types []string `json:"types"`
}

// Bounds of upload rules.
const (
	DefaultUploadBytes = 10 << 20  // what a role that may upload may send per file, by default
	MaxUploadBytes     = 100 << 20 // the most a session's rules may allow per file
	maxUploadTypes     = 32
)

// defaultUpload is the upload rule of a role by default: allowed or not, 10 MiB a file,
// any type.
func defaultUpload(allow bool) UploadRules {
	return UploadRules{Allow: allow, MaxBytes: DefaultUploadBytes}
}

// uploadRulesPatch is the JSON form of a partial UploadRules.
type uploadRulesPatch struct {
	Allow    *bool    `json:"allow"`
	MaxBytes *int64   `json:"maxBytes"`
	Types    []string `json:"types"`
}

func (u *UploadRules) apply(p *uploadRulesPatch) {
	if p.Allow != nil {
		u.Allow = *p.Allow
	}
	if p.MaxBytes != nil {
		u.MaxBytes = *p.MaxBytes
	}
	if p.Types != nil {
		u.Types = make([]string, len(p.Types))
		for i, t := range p.Types {
			u.Types[i] = strings.ToLower(strings.TrimSpace(t))
		}
	}
}

var (
	extPattern  = regexp.MustCompile(`^\.[a-z0-9][a-z0-9_+-]{0,15}$`)
	mimePattern = regexp.MustCompile(`^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/(\*|[a-z0-9][a-z0-9!#$&^_.+-]{0,126})$`)
)

// check refuses rules a session cannot carry out.
func (u UploadRules) check() error {
	if u.MaxBytes < 1 || u.MaxBytes > MaxUploadBytes {
		return fmt.Errorf("maxBytes must be between 1 and %d", MaxUploadBytes)
	}
	if len(u.Types) > maxUploadTypes {
		return fmt.Errorf("types: at most %d entries", maxUploadTypes)
	}
	for _, t := range u.Types {
		if !extPattern.MatchString(t) && !mimePattern.MatchString(t) {
			return fmt.Errorf("types: %q is neither an extension (\".pdf\") nor a MIME type (\"application/pdf\", \"image/*\")", t)
		}
	}
	return nil
}

// ErrTypeRefused means an uploaded file is not of a type the uploader's role may send.
var ErrTypeRefused = errors.New("file type refused")

// admits judges a file by its name and its first bytes (at least 512 of them, or all).
// With no types listed, any file goes. Otherwise its extension or the type its name
// says must be listed, and for the formats whose content is certain to tell (images,
// PDF) the content must be that format: an HTML page named photo.png is refused.
func (u UploadRules) admits(name string, head []byte) (string, error) {
	sniffed := baseType(http.DetectContentType(head))
	ext := strings.ToLower(filepath.Ext(name))
	declared := typeOfExt(ext)
	if declared == "" {
		declared = sniffed // a name without a known extension says nothing
	}
	if len(u.Types) == 0 {
		return declared, nil
	}
	if !u.lists(ext, declared) {
		return declared, fmt.Errorf("%w: %s is not of a type allowed here (%s)", ErrTypeRefused, name, strings.Join(u.Types, ", "))
	}
	if telling[declared] && sniffed != declared {
		return declared, fmt.Errorf("%w: %s is named as %s but holds %s", ErrTypeRefused, name, declared, sniffed)
	}
	return declared, nil
}

// lists reports whether an entry of u.Types names the extension ext or the type typ.
func (u UploadRules) lists(ext, typ string) bool {
	for _, e := range u.Types {
		switch {
		case strings.HasPrefix(e, "."):
			if e == ext {
				return true
			}
		case strings.HasSuffix(e, "/*"):
			if strings.HasPrefix(typ, e[:len(e)-1]) {
				return true
			}
		case e == typ:
			return true
		}
	}
	return false
}

// telling are the types http.DetectContentType recognises for certain by their content.
var telling = map[string]bool{
	"image/png": true, "image/jpeg": true, "image/gif": true, "image/webp": true, "image/bmp": true,
	"application/pdf": true,
}

// extTypes fixes the types of common extensions, so the verdict does not depend on the
// machine's mime.types; other extensions fall back to it.
var extTypes = map[string]string{
	".txt": "text/plain", ".csv": "text/csv", ".json": "application/json", ".xml": "text/xml",
	".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf",
	".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
	".webp": "image/webp", ".bmp": "image/bmp", ".svg": "image/svg+xml", ".heic": "image/heic",
	".zip": "application/zip", ".doc": "application/msword",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xls":  "application/vnd.ms-excel",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}

func typeOfExt(ext string) string {
	if ext == "" {
		return ""
	}
	if t, ok := extTypes[ext]; ok {
		return t
	}
	return baseType(mime.TypeByExtension(ext))
}

// baseType is a MIME type without its parameters, in lower case.
func baseType(t string) string {
	mt, _, err := mime.ParseMediaType(t)
	if err != nil {
		return ""
	}
	return mt
}
