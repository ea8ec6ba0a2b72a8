package proxy

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"golang.org/x/time/rate"
)

// ErrTooLarge means an uploaded file is over its role's size cap, or the session has
// stored as much as it may.
var ErrTooLarge = errors.New("too large")

// Limits of a session's uploads.
const (
	sessionUploadBudget = 256 << 20 // bytes a session may store in all
	maxNameBytes        = 128       // of a file name as the page sees it
	uploadEvery         = 3 * time.Second
	uploadBurst         = 5
)

// uploadStore keeps a session's uploaded files where the session's Chromium reads them
// (the same machine): one directory per session, one subdirectory per file so that the
// page sees the file under its own name. The files stay while the session lives (a page
// may read a chosen file long after the choice) and all go when it ends.
type uploadStore struct {
	mu      sync.Mutex
	dir     string // made at the first upload
	n       int
	used    int64
	closed  bool
	limiter *rate.Limiter
}

// UploadedFile is one file given to the page.
type UploadedFile struct {
	Name   string `json:"name"` // as the page sees it
	Size   int64  `json:"size"`
	Type   string `json:"type"` // what its name (or content) says it is
	SHA256 string `json:"sha256"`
	path   string
}

// allow takes one upload from the session's rate.
func (u *uploadStore) allow() bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.limiter == nil {
		u.limiter = rate.NewLimiter(rate.Every(uploadEvery), uploadBurst)
	}
	return u.limiter.Allow()
}

// save writes one file from r, judged by rule before a byte is stored, and stops reading
// one byte past the cap.
func (u *uploadStore) save(name string, r io.Reader, rule UploadRules) (UploadedFile, error) {
	name = cleanFileName(name)
	head := make([]byte, 512)
	n, err := io.ReadFull(r, head)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		return UploadedFile{}, fmt.Errorf("%w: reading %s: %v", ErrBadRequest, name, err)
	}
	head = head[:n]
	typ, err := rule.admits(name, head)
	if err != nil {
		return UploadedFile{}, err
	}
	if int64(n) > rule.MaxBytes {
		return UploadedFile{}, tooLarge(name, rule.MaxBytes)
	}
	p, err := u.slot(name)
	if err != nil {
		return UploadedFile{}, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		u.discard(p)
		return UploadedFile{}, fmt.Errorf("storing %s: %w", name, err)
	}
	sum := sha256.New()
	w := io.MultiWriter(f, sum)
	_, err = w.Write(head)
	var more int64
	if err == nil {
		more, err = io.Copy(w, io.LimitReader(r, rule.MaxBytes-int64(n)+1))
	}
	size := int64(n) + more
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	switch {
	case err != nil:
		u.discard(p)
		if mbe := (*http.MaxBytesError)(nil); errors.As(err, &mbe) {
			return UploadedFile{}, tooLarge(name, rule.MaxBytes)
		}
		return UploadedFile{}, fmt.Errorf("%w: reading %s: %v", ErrBadRequest, name, err)
	case size > rule.MaxBytes:
		u.discard(p)
		return UploadedFile{}, tooLarge(name, rule.MaxBytes)
	}
	if err := u.reserve(size); err != nil {
		u.discard(p)
		return UploadedFile{}, err
	}
	return UploadedFile{Name: name, Size: size, Type: typ, SHA256: hex.EncodeToString(sum.Sum(nil)), path: p}, nil
}

func tooLarge(name string, most int64) error {
	return fmt.Errorf("%w: %s is larger than %s, the most allowed here", ErrTooLarge, name, formatBytes(most))
}

// slot makes the subdirectory of one file and returns the file's path.
func (u *uploadStore) slot(name string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.closed {
		return "", ErrSessionEnded
	}
	if u.dir == "" {
		dir, err := os.MkdirTemp("", "tandem-uploads-")
		if err != nil {
			return "", fmt.Errorf("making the session's upload directory: %w", err)
		}
		u.dir = dir
	}
	u.n++
	sub := filepath.Join(u.dir, itoa(u.n))
	if err := os.Mkdir(sub, 0o700); err != nil {
		return "", fmt.Errorf("making an upload directory: %w", err)
	}
	return filepath.Join(sub, name), nil
}

// reserve counts size against the session's budget.
func (u *uploadStore) reserve(size int64) error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used+size > sessionUploadBudget {
		return fmt.Errorf("%w: this session has stored %s of uploads, the most it may", ErrTooLarge, formatBytes(sessionUploadBudget))
	}
	u.used += size
	return nil
}

// discard removes a file that was not kept, with its subdirectory.
func (u *uploadStore) discard(p string) {
	_ = os.RemoveAll(filepath.Dir(p))
}

// close removes every file; later uploads fail.
func (u *uploadStore) close() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.closed = true
	if u.dir == "" {
		return nil
	}
	return os.RemoveAll(u.dir)
}

// cleanFileName is the name a file is given to the page under: the last element of what
// the person's browser sent, without control or direction-changing characters, at most
// maxNameBytes long with its extension kept.
func cleanFileName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == utf8.RuneError || unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, name)
	name = strings.TrimSpace(name)
	if strings.Trim(name, ".") == "" {
		return "file"
	}
	if len(name) > maxNameBytes {
		ext := filepath.Ext(name)
		if len(ext) > 16 {
			ext = ""
		}
		stem := name[:maxNameBytes-len(ext)]
		for !utf8.ValidString(stem) {
			stem = stem[:len(stem)-1]
		}
		name = stem + ext
	}
	return name
}

// formatBytes says a size as people read it: 1024-based, as file managers and the
// viewer (upload.js) say it.
func formatBytes(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
