package app_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tandem-cobrowse/tandem/internal/app"
)

// uploadProvider is a provider's upload form: the whole page is its file input, and
// choosing a file submits the form. It keeps what it received.
type uploadProvider struct {
	*httptest.Server
	mu   sync.Mutex
	name string
	body []byte
}

func newUploadProvider(t *testing.T) *uploadProvider {
	p := &uploadProvider{}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Upload your statement</title>
<style>
body{margin:0;font:18px system-ui,sans-serif;background:#f3f4f6;color:#111827}
form{position:fixed;inset:0;display:grid;place-items:center}
label{position:relative;display:grid;gap:8px;place-items:center;width:70%;height:60%;border:3px dashed #6b7280;border-radius:16px;background:#fff}
input{position:absolute;inset:0;width:100%;height:100%;opacity:0}
</style>
<form method=post action=/submit enctype=multipart/form-data>
<label><strong>Upload your bank statement</strong><span>PDF, up to 5 MB</span>
<input id=doc name=doc type=file accept=".pdf,application/pdf" onchange="this.form.submit()"></label>
</form>`)
	})
	mux.HandleFunc("POST /submit", func(w http.ResponseWriter, r *http.Request) {
		f, hdr, err := r.FormFile("doc")
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(f)
		p.mu.Lock()
		p.name, p.body = hdr.Filename, b
		p.mu.Unlock()
		http.Redirect(w, r, "/?got=1", http.StatusSeeOther)
	})
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *uploadProvider) received() (string, []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.name, p.body
}

// waitToast waits until the viewer shows a notice that contains text.
func waitToast(t *testing.T, ctx context.Context, who, text string) {
	t.Helper()
	must(t, ctx, who+" is told "+text, void(chromedp.Poll[bool](
		fmt.Sprintf(`[...document.querySelectorAll('.toast')].some((t) => t.textContent.includes(%q))`, text),
		chromedp.WithPollingTimeout(20*time.Second))))
}

// stillShot is shot once the viewer's toasts and transitions have finished.
func stillShot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	must(t, ctx, "the viewer settles", void(chromedp.Poll[bool](
		`document.getAnimations().every((a) => a.playState !== 'running' || a.effect.getComputedTiming().iterations === Infinity)`,
		chromedp.WithPollingTimeout(20*time.Second))))
	shot(t, ctx, name)
}

// TestUploadInRealBrowsers: the host clicks the provider's file input in the shared
// page, picks a file in its own browser, and the provider receives exactly its bytes; a
// guest in control is refused by default, and everyone is told.
func TestUploadInRealBrowsers(t *testing.T) {
	execPath := chromiumOrSkip(t)
	provider := newUploadProvider(t)
	var audit lockedBuffer
	srv := startServer(t, app.Config{AuditLog: &audit, AllowHosts: allowed(provider.Server)})
	status, created := createSession(t, srv, provider.URL+"/")
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, created)
	}
	links := created["links"].(map[string]any)

	browser := participantBrowser(t, execPath)
	host := openTab(t, browser, links["host"].(string))
	join(t, host, "Hana")
	waitFrame(t, host)
	waitControlMine(t, host)
	guest := openTab(t, browser, links["guest"].(string))
	join(t, guest, "Gus")
	waitFrame(t, guest)

	must(t, host, "host clicks the page's file input", chromedp.Click(chromedp.ID("screen")))
	must(t, host, "host is asked for a file", chromedp.WaitVisible(chromedp.ID("upload-form")))
	waitToast(t, guest, "the guest", "asks Hana to choose a file")
	stillShot(t, host, "upload-panel")

	// A file over the cap is refused in the viewer, before a byte is sent.
	huge := filepath.Join(t.TempDir(), "scan.pdf")
	if err := os.WriteFile(huge, make([]byte, 10<<20+1), 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, host, "host picks a file too large",
		chromedp.SetUploadFiles(chromedp.ID("upload-input"), []string{huge}),
		chromedp.WaitVisible(chromedp.ID("upload-error")))
	if off, err := chromedp.Run(host, chromedp.Evaluate[bool](`document.getElementById('upload-send').disabled`)); err != nil || !off {
		t.Fatalf("Upload is offered for a file over the cap (disabled %v, %v)", off, err)
	}
	stillShot(t, host, "upload-too-large")

	content := append([]byte("%PDF-1.7\n"), bytes.Repeat([]byte{0x00, 0xff, 0x0d, 0x0a, 0x25, 0x80}, 40000)...)
	file := filepath.Join(t.TempDir(), "bank-statement.pdf")
	if err := os.WriteFile(file, content, 0o600); err != nil {
		t.Fatal(err)
	}
	must(t, host, "host picks a file in its own browser",
		chromedp.SetUploadFiles(chromedp.ID("upload-input"), []string{file}),
		chromedp.WaitVisible(chromedp.CSS("#upload-files .upload-file")),
		chromedp.WaitEnabled(chromedp.ID("upload-send")))
	stillShot(t, host, "upload-chosen")
	must(t, host, "host uploads", chromedp.Click(chromedp.ID("upload-send")))
	eventually(t, "the provider received the file", func() bool { name, _ := provider.received(); return name != "" })
	name, body := provider.received()
	if name != "bank-statement.pdf" || !bytes.Equal(body, content) {
		t.Fatalf("the provider received %q, %d bytes (same: %v); want bank-statement.pdf, %d bytes",
			name, len(body), bytes.Equal(body, content), len(content))
	}
	must(t, host, "the panel closes", chromedp.WaitNotVisible(chromedp.ID("upload-form")))
	waitToast(t, guest, "the guest", "Hana gave the page bank-statement.pdf")
	stillShot(t, guest, "upload-told")
	sum := sha256.Sum256(content)
	if lines := audit.String(); !strings.Contains(lines, `"event":"file_uploaded"`) || !strings.Contains(lines, hex.EncodeToString(sum[:])) {
		t.Errorf("the upload is not audited with its digest:\n%s", lines)
	}

	// Guests may not upload by default: the page's request is refused, and everyone told.
	must(t, guest, "guest asks for control", chromedp.Click(chromedp.ID("control-btn")))
	must(t, host, "host grants", chromedp.Click(chromedp.CSS(`#requests button.btn-primary`)))
	waitControlMine(t, guest)
	must(t, guest, "the form is back", void(chromedp.Poll[bool](
		`document.getElementById('address-input').value.includes('got=1')`, chromedp.WithPollingTimeout(20*time.Second))))
	waitFrame(t, guest)
	must(t, guest, "guest clicks the page's file input", chromedp.Click(chromedp.ID("screen")))
	waitToast(t, guest, "the guest", "guests may not upload files")
	waitToast(t, host, "the host", "guests may not upload files")
	stillShot(t, guest, "upload-refused")
	if open, err := chromedp.Run(guest, chromedp.Evaluate[bool](`!document.getElementById('upload').hidden`)); err != nil || open {
		t.Fatalf("the guest was offered the upload panel (open %v, %v)", open, err)
	}
	if lines := audit.String(); !strings.Contains(lines, `"reason":"not_allowed"`) {
		t.Errorf("the refusal is not audited:\n%s", lines)
	}
}
