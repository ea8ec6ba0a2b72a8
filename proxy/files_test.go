package proxy_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
)

// filePage is a provider whose whole page is one file input. What the page reads of a
// chosen file is posted back, so a test sees exactly what reached the provider.
type filePage struct {
	*httptest.Server
	mu        sync.Mutex
	got       map[string][]byte // by file name
	cancelled atomic.Int64
}

func newFilePage(t *testing.T) *filePage {
	p := &filePage{got: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Upload</title><style>body{margin:0}</style>
<input id=f type=file accept=".txt" style="position:fixed;inset:0;width:100%;height:100%">
<script>
f.addEventListener('change', () => {
  for (const file of f.files) {
    const r = new FileReader();
    r.onload = () => fetch('/got?name=' + encodeURIComponent(file.name), {method: 'POST', body: r.result});
    r.readAsArrayBuffer(file);
  }
});
f.addEventListener('cancel', () => fetch('/cancelled', {method: 'POST'}));
</script>`)
	})
	mux.HandleFunc("POST /got", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		p.mu.Lock()
		p.got[r.URL.Query().Get("name")] = b
		p.mu.Unlock()
	})
	mux.HandleFunc("POST /cancelled", func(w http.ResponseWriter, r *http.Request) { p.cancelled.Add(1) })
	p.Server = httptest.NewServer(mux)
	t.Cleanup(p.Close)
	return p
}

func (p *filePage) file(name string) ([]byte, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b, ok := p.got[name]
	return b, ok
}

// upload posts files (name → content) as the browser viewer does; it returns the status
// and the JSON answer.
func (h *harness) upload(path, key string, files ...[2]string) (int, map[string]any) {
	h.t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for _, f := range files {
		w, err := mw.CreateFormFile("file", f[0])
		if err != nil {
			h.t.Fatal(err)
		}
		_, _ = io.WriteString(w, f[1])
	}
	_ = mw.Close()
	req, _ := http.NewRequest("POST", h.srv.URL+path, &body)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res.StatusCode, out
}

// key is a participant's own upload credential: the resumeToken of its welcome.
func (c *client) key() string {
	return c.waitFor("welcome", nil)["resumeToken"].(string)
}

// openChooser clicks the page (one file input) and returns the chooser the controller is asked.
func openChooser(c *client, after string) map[string]any {
	c.t.Helper()
	c.click(0.5, 0.5)
	return c.waitFor("file_chooser", func(m map[string]any) bool { return m["id"] != after })
}

func wantError(t *testing.T, what string, status int, out map[string]any, wantStatus int, code string) {
	t.Helper()
	if status != wantStatus || out["error"] != code {
		t.Fatalf("%s: %d %v, want %d %s", what, status, out, wantStatus, code)
	}
}

func TestUploadAnswersThePagesFileChooser(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp) // where the session keeps its uploads
	page := newFilePage(t)
	var audit syncBuffer
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Audit = proxy.NewAudit(&audit) })
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	eventually(t, "the host has a picture", func() bool { return host.frames.Load() > 0 })

	ch := openChooser(host, "")
	if ch["mode"] != "single" || ch["accept"] != ".txt" || ch["maxBytes"] != float64(proxy.DefaultUploadBytes) {
		t.Fatalf("file_chooser = %v", ch)
	}
	guest.waitFor("notice", func(m map[string]any) bool {
		return m["code"] == "file_requested" && strings.Contains(m["message"].(string), "Hana")
	})
	path := ch["upload"].(string)
	if path != "/api/v1/sessions/"+s.ID+"/files?chooser="+ch["id"].(string) {
		t.Fatalf("upload path = %q", path)
	}
	hello := [2]string{"hello.txt", "hello, provider\n"}

	status, out := h.upload(path, guest.key(), hello)
	wantError(t, "the guest, who does not hold control", status, out, http.StatusForbidden, "not_controller")
	status, out = h.upload(path, "", hello)
	wantError(t, "no key", status, out, http.StatusUnauthorized, "unauthorized")
	status, out = h.upload(path, token(s.Links["guest"]), hello)
	wantError(t, "a role's link token is not a participant's key", status, out, http.StatusUnauthorized, "unauthorized")
	status, out = h.upload("/api/v1/sessions/"+s.ID+"/files?chooser=nope", host.key(), hello)
	wantError(t, "another chooser", status, out, http.StatusConflict, "no_chooser")
	big := strings.Repeat("x", proxy.DefaultUploadBytes+1)
	status, out = h.upload(path, host.key(), [2]string{"big.txt", big})
	wantError(t, "a file over the cap", status, out, http.StatusRequestEntityTooLarge, "too_large")
	status, out = h.upload(path, host.key(), hello, [2]string{"second.txt", "2"})
	wantError(t, "two files for a single input", status, out, http.StatusBadRequest, "bad_request")

	status, out = h.upload(path, host.key(), hello)
	if status != http.StatusOK {
		t.Fatalf("upload: %d %v", status, out)
	}
	f := out["files"].([]any)[0].(map[string]any)
	sum := sha256.Sum256([]byte(hello[1]))
	if f["name"] != "hello.txt" || f["size"] != float64(len(hello[1])) || f["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("answer = %v", out)
	}
	eventually(t, "the provider got the file", func() bool { _, ok := page.file("hello.txt"); return ok })
	if b, _ := page.file("hello.txt"); string(b) != hello[1] {
		t.Fatalf("the provider got %q, want %q", b, hello[1])
	}
	for _, c := range []*client{host, guest} {
		c.waitFor("file_chooser_closed", func(m map[string]any) bool {
			files, _ := m["files"].([]any)
			return m["result"] == "chosen" && len(files) == 1 && files[0].(map[string]any)["name"] == "hello.txt"
		})
	}
	guest.waitFor("notice", func(m map[string]any) bool {
		msg, _ := m["message"].(string)
		return m["code"] == "file_uploaded" && strings.Contains(msg, "Hana") && strings.Contains(msg, "hello.txt")
	})
	status, out = h.upload(path, host.key(), hello)
	wantError(t, "a chooser already answered", status, out, http.StatusConflict, "no_chooser")

	stored, _ := filepath.Glob(filepath.Join(tmp, "tandem-uploads-*", "*", "hello.txt"))
	if len(stored) != 1 {
		t.Fatalf("stored uploads = %v, want hello.txt in a directory of its own", stored)
	}
	if status, out := h.do("DELETE", "/api/v1/sessions/"+s.ID, token(s.Links["host"]), ""); status != http.StatusNoContent {
		t.Fatalf("ending the session: %d %v", status, out)
	}
	if left, _ := filepath.Glob(filepath.Join(tmp, "tandem-uploads-*")); len(left) != 0 {
		t.Fatalf("uploads left after the session ended: %v", left)
	}

	lines := audit.String()
	for _, want := range []string{`"event":"file_chooser_opened"`, `"event":"file_uploaded"`, `"sha256":"` + hex.EncodeToString(sum[:]),
		`"reason":"not_controller"`, `"reason":"too_large"`, `"reason":"unauthorized"`} {
		if !strings.Contains(lines, want) {
			t.Errorf("audit log lacks %s", want)
		}
	}
	if strings.Contains(lines, "hello, provider") {
		t.Error("a file's content is in the audit log")
	}
}

func TestUploadTypesAndSizeFollowTheRules(t *testing.T) {
	page := newFilePage(t)
	h := newHarness(t)
	s := h.createWith(page.URL, `{"host":{"upload":{"maxBytes":1000,"types":[".txt","image/png"]}}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	eventually(t, "the host has a picture", func() bool { return host.frames.Load() > 0 })

	ch := openChooser(host, "")
	if ch["maxBytes"] != float64(1000) || fmt.Sprint(ch["types"]) != "[.txt image/png]" {
		t.Fatalf("file_chooser = %v", ch)
	}
	path, key := ch["upload"].(string), host.key()
	// A reconnect while the page waits is asked again.
	again := h.resume(s.ID, token(s.Links["host"]), key)
	again.waitFor("file_chooser", func(m map[string]any) bool { return m["id"] == ch["id"] && m["upload"] == path })
	status, out := h.upload(path, key, [2]string{"report.pdf", "%PDF-1.4\n"})
	wantError(t, "a type off the list", status, out, http.StatusUnsupportedMediaType, "type_refused")
	status, out = h.upload(path, key, [2]string{"photo.png", "<!doctype html><script>alert(1)</script>"})
	wantError(t, "HTML named as a picture", status, out, http.StatusUnsupportedMediaType, "type_refused")
	status, out = h.upload(path, key, [2]string{"long.txt", strings.Repeat("x", 1001)})
	wantError(t, "over the session's cap", status, out, http.StatusRequestEntityTooLarge, "too_large")
	status, out = h.upload(path, key, [2]string{"ok.txt", strings.Repeat("y", 1000)})
	if status != http.StatusOK {
		t.Fatalf("upload within the rules: %d %v", status, out)
	}
	eventually(t, "the provider got the file", func() bool { b, _ := page.file("ok.txt"); return len(b) == 1000 })
}

func TestGuestsAreRefusedUploadsByDefault(t *testing.T) {
	page := newFilePage(t)
	var audit syncBuffer
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Audit = proxy.NewAudit(&audit) })
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guestID := guest.id()
	host.send(map[string]any{"type": "control", "action": "grant", "participant": guestID})
	guest.state(controllerIs(guestID))
	eventually(t, "the guest has a picture", func() bool { return guest.frames.Load() > 0 })

	guest.click(0.5, 0.5)
	for _, c := range []*client{host, guest} {
		n := c.waitFor("notice", func(m map[string]any) bool { return m["code"] == "upload_refused" })
		if n["reason"] != "not_allowed" || !strings.Contains(n["message"].(string), "Gus") {
			t.Fatalf("refusal notice = %v", n)
		}
	}
	// The page's chooser is cancelled, as a person closing the dialog would.
	eventually(t, "the page was told the choice was cancelled", func() bool { return page.cancelled.Load() == 1 })
	status, out := h.upload("/api/v1/sessions/"+s.ID+"/files?chooser=f1", guest.key(), [2]string{"a.txt", "a"})
	wantError(t, "a guest's upload", status, out, http.StatusForbidden, "upload_refused")
	guest.mu.Lock()
	for _, m := range guest.msgs {
		if m["type"] == "file_chooser" {
			t.Errorf("the guest was asked for a file: %v", m)
		}
	}
	guest.mu.Unlock()
	if lines := audit.String(); !strings.Contains(lines, `"event":"upload_refused"`) || !strings.Contains(lines, `"reason":"not_allowed"`) {
		t.Errorf("the refusal is not audited:\n%s", lines)
	}
}

func TestFileChooserEndsWithCancelOrControl(t *testing.T) {
	page := newFilePage(t)
	h := newHarness(t)
	s := h.create(page.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	guest := h.join(s.ID, token(s.Links["guest"]), "Gus")
	guest.id()
	eventually(t, "the host has a picture", func() bool { return host.frames.Load() > 0 })

	first := openChooser(host, "")
	guest.send(map[string]any{"type": "file_chooser", "id": first["id"], "action": "cancel"})
	guest.waitFor("error", func(m map[string]any) bool { return m["code"] == "forbidden" })
	host.send(map[string]any{"type": "file_chooser", "id": first["id"], "action": "cancel"})
	guest.waitFor("file_chooser_closed", func(m map[string]any) bool {
		return m["id"] == first["id"] && m["result"] == "cancelled"
	})
	eventually(t, "the page was told of the cancel", func() bool { return page.cancelled.Load() == 1 })

	second := openChooser(host, first["id"].(string))
	host.send(map[string]any{"type": "control", "action": "release"})
	host.waitFor("file_chooser_closed", func(m map[string]any) bool {
		return m["id"] == second["id"] && m["result"] == "cancelled" && m["reason"] == "control_changed"
	})
	eventually(t, "the page was told of the second cancel", func() bool { return page.cancelled.Load() == 2 })
	status, out := h.upload(second["upload"].(string), host.key(), [2]string{"late.txt", "late"})
	wantError(t, "after control moved", status, out, http.StatusForbidden, "not_controller")
}
