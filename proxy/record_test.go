package proxy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/recording"
	"github.com/tandem-cobrowse/tandem/stream"
)

// TestRecordingsKeepWhatTheMaskedAudienceGot: the host records a session whose rules allow
// it, everyone is told; the recording's pictures are byte for byte the masked guests'
// pictures of the same frames, with not one masked pixel; chat is in it; the API lists,
// serves and deletes it, only with the API key.
func TestRecordingsKeepWhatTheMaskedAudienceGot(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Account</title>
<style>body{margin:0;font:20px sans-serif} .s{background:#ff00ff;color:#ff00ff}</style>
<p>Card on file:</p><div class=s data-tandem-mask style="width:300px;height:80px">4111 1111 1111 1111</div>
<p id=clock>0</p><script>let n = 0; setInterval(() => { clock.textContent = ++n; }, 50)</script>`)
	}))
	t.Cleanup(page.Close)
	store, err := recording.NewStore(t.TempDir(), 64<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.Recordings, ap.Recordings, ap.APIKey = store, store, "k3y"
	})
	status, out := h.do("POST", "/api/v1/sessions", "k3y", `{"url":"`+page.URL+`","rules":{"recording":{"allow":true}}}`)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %v", status, out)
	}
	id := out["id"].(string)
	links := out["links"].(map[string]any)
	host := h.join(id, token(links["host"].(string)), "Hana")
	host.id()
	guest := h.join(id, token(links["guest"].(string)), "Gus")
	guest.id()
	var mu sync.Mutex
	seen := map[uint64][]byte{} // the guests' pictures by seq
	guest.mu.Lock()
	guest.onFrame = func(hd stream.FrameHeader, jpg []byte) {
		mu.Lock()
		seen[hd.Seq] = bytes.Clone(jpg)
		mu.Unlock()
	}
	guest.mu.Unlock()

	guest.send(map[string]any{"type": "record", "action": "start"})
	guest.waitFor("error", func(m map[string]any) bool { return m["code"] == "forbidden" })

	host.send(map[string]any{"type": "record", "action": "start"})
	on := guest.waitFor("recording", func(m map[string]any) bool { return m["on"] == true })
	guest.send(map[string]any{"type": "chat", "text": "recorded words"})
	host.waitFor("chat", nil)
	host.send(map[string]any{"type": "draw", "shape": "rect", "points": [][]float64{{10, 10}, {200, 120}}})
	guest.waitFor("draw", nil)
	eventually(t, "the guest gets masked frames while it records", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) >= 3
	})
	host.send(map[string]any{"type": "record", "action": "stop"})
	off := guest.waitFor("recording", func(m map[string]any) bool { return m["on"] == false })
	if off["id"] != on["id"] {
		t.Fatalf("stopped %v, started %v", off["id"], on["id"])
	}

	if status, _ := h.do("GET", "/api/v1/recordings", "", ""); status != http.StatusUnauthorized {
		t.Fatalf("listing without the key: %d", status)
	}
	status, list := h.do("GET", "/api/v1/recordings", "k3y", "")
	recs := list["recordings"].([]any)
	if status != http.StatusOK || len(recs) != 1 || recs[0].(map[string]any)["id"] != on["id"] {
		t.Fatalf("list: %d %v", status, list)
	}
	req, _ := http.NewRequest("GET", h.srv.URL+"/api/v1/recordings/"+on["id"].(string), nil)
	req.Header.Set("Authorization", "Bearer k3y")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("fetch: %d %s", res.StatusCode, body)
	}
	frames, compared, chat, drawing := 0, 0, false, false
	err = recording.Read(bytes.NewReader(body), func(r recording.Record) error {
		switch r.Kind {
		case recording.KindFrame:
			hd, jpg, err := stream.ParseFrame(r.Data)
			if err != nil {
				return err
			}
			frames++
			if n := magentaPixels(t, jpg); n > 0 {
				t.Errorf("recorded frame %d shows %d masked pixels", hd.Seq, n)
			}
			mu.Lock()
			got, ok := seen[hd.Seq]
			mu.Unlock()
			if ok {
				compared++
				if !bytes.Equal(got, jpg) {
					t.Errorf("recorded frame %d differs from the guests' picture of it", hd.Seq)
				}
			}
		case recording.KindEvent:
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				return err
			}
			if m["type"] == "chat" && m["text"] == "recorded words" {
				chat = true
			}
			if m["type"] == "draw" && m["shape"] == "rect" {
				drawing = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if frames == 0 || compared == 0 || !chat || !drawing {
		t.Fatalf("the recording holds %d frames (%d compared with the guests'), chat %v, drawing %v", frames, compared, chat, drawing)
	}
	if status, _ := h.do("DELETE", "/api/v1/recordings/"+on["id"].(string), "k3y", ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d", status)
	}
	if status, _ := h.do("GET", "/api/v1/recordings/"+on["id"].(string), "k3y", ""); status != http.StatusNotFound {
		t.Fatalf("fetch after delete: %d", status)
	}
}

// TestRecordingNeedsTheRules: without the rule, the host cannot record.
func TestRecordingNeedsTheRules(t *testing.T) {
	store, err := recording.NewStore(t.TempDir(), 1<<20, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) { rp.Recordings = store })
	s := h.create(newProvider(t).URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.send(map[string]any{"type": "record", "action": "start"})
	e := host.waitFor("error", nil)
	if e["code"] != "forbidden" {
		t.Fatalf("recording without the rule: %v", e)
	}
}

// TestARecordingStopsAtItsCap: a recording that reaches its size cap stops by itself, and
// everyone is told.
func TestARecordingStopsAtItsCap(t *testing.T) {
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><title>Busy</title><p id=clock style="font:80px sans-serif">0</p>
<script>let n = 0; setInterval(() => { clock.textContent = ++n; }, 30)</script>`)
	}))
	t.Cleanup(page.Close)
	store, err := recording.NewStore(t.TempDir(), 100<<10, 0)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, func(rp *proxy.RegistryParams, _ *proxy.APIParams) { rp.Recordings = store })
	s := h.createWith(page.URL, `{"recording":{"allow":true}}`)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.send(map[string]any{"type": "record", "action": "start"})
	host.waitFor("recording", func(m map[string]any) bool { return m["on"] == true })
	host.waitFor("notice", func(m map[string]any) bool { return m["code"] == "recording_full" })
	host.waitFor("recording", func(m map[string]any) bool { return m["on"] == false })
	list, err := store.List()
	if err != nil || len(list) != 1 || list[0].Bytes > 100<<10 {
		t.Fatalf("recordings %+v, %v: want one, within its cap", list, err)
	}
}
