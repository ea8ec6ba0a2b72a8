package renderer

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// nextDOM returns the next DOM message whose kind is k.
func nextDOM(t *testing.T, tab *Tab, k string) map[string]any {
	t.Helper()
	timer := time.NewTimer(waitDeadline)
	defer timer.Stop()
	for {
		select {
		case m := <-tab.DOM():
			var v map[string]any
			if err := json.Unmarshal(m.Raw, &v); err != nil {
				t.Fatalf("DOM message is not JSON: %v", err)
			}
			if v["k"] == k {
				return v
			}
		case <-timer.C:
			t.Fatalf("no %q DOM message came", k)
		}
	}
}

func TestDOMCaptureSendsSnapshotsAndChanges(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html><title>Shop</title><p id=p>hello <b>world</b></p>
<div data-tandem-mask style="width:120px;height:30px">secret</div>
<input id=i value="typed"><canvas width=50 height=40></canvas><style id=s></style>
<script>window.later = () => {
	document.getElementById('p').append(' again');
	document.getElementById('i').value = 'set by script';
	document.getElementById('s').sheet.insertRule('p { color: rgb(1, 2, 3) }');
}</script>`, nil)
	navigate(t, tab, srv.URL+"/")
	ctx := testCtx(t)
	if err := tab.SetMaskSelectors(ctx, []string{"[data-tandem-mask]"}); err != nil {
		t.Fatal(err)
	}
	if err := tab.SetDOMCapture(ctx, true); err != nil {
		t.Fatal(err)
	}
	snap := nextDOM(t, tab, "snap")
	raw, _ := json.Marshal(snap)
	for _, want := range []string{`"title":"Shop"`, `"x":"hello "`, `"x":"world"`, `"v":"typed"`, `"n":"canvas"`, `"px":1`, `"sels":["[data-tandem-mask]"]`, `"im":[0]`, `"bx":[120,30]`} {
		if !strings.Contains(string(raw), want) {
			t.Errorf("snapshot lacks %s: %s", want, raw)
		}
	}
	if strings.Contains(string(raw), "<script") || strings.Contains(string(raw), "window.later") {
		t.Error("the snapshot carries the page's script")
	}
	evalJS[bool](t, tab, `later(), true`)
	seen := map[string]bool{}
	for !(seen["kids"] && seen["val"] && seen["css"]) {
		p := nextDOM(t, tab, "patch")
		for _, op := range p["ops"].([]any) {
			o := op.([]any)
			seen[o[0].(string)] = true
			if o[0] == "val" && o[2] != "set by script" {
				t.Fatalf("val op %v", o)
			}
			if o[0] == "css" && !strings.Contains(o[2].(string), "rgb(1, 2, 3)") {
				t.Fatalf("css op %v", o)
			}
		}
	}
	// A rule replaced by script leaves the count the same: the copy still gets it.
	evalJS[bool](t, tab, `(() => { const s = document.getElementById('s').sheet; s.deleteRule(0); s.insertRule('p { color: rgb(4, 5, 6) }'); return true; })()`)
	for replaced := false; !replaced; {
		for _, op := range nextDOM(t, tab, "patch")["ops"].([]any) {
			o := op.([]any)
			replaced = replaced || (o[0] == "css" && strings.Contains(o[2].(string), "rgb(4, 5, 6)"))
		}
	}
	if err := tab.RequestDOMSnapshot(ctx); err != nil {
		t.Fatal(err)
	}
	if again := nextDOM(t, tab, "snap"); again["gen"].(float64) <= snap["gen"].(float64) {
		t.Fatalf("a requested snapshot did not start a new generation: %v", again["gen"])
	}
}
