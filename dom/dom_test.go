package dom

import (
	"encoding/json"
	"strings"
	"testing"
)

func testAssets() *AssetRegistry { return NewAssetRegistry("/a/", []byte("k")) }

// page builds a snapshot message around body nodes.
func page(body string) []byte {
	return []byte(`{"k":"snap","doc":"d","gen":1,"url":"https://shop.example/p","base":"https://shop.example/p",
		"vw":800,"vh":600,"sels":["[data-tandem-mask]","input[type=password]"],
		"root":{"i":1,"n":"html","a":[],"c":[{"i":2,"n":"head","a":[],"c":[]},{"i":3,"n":"body","a":[],"c":[` + body + `]}]}}`)
}

func build(t *testing.T, raw []byte, a Audience) string {
	t.Helper()
	m, err := Parse(raw, "https://shop.example/", nil, testAssets())
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	b, err := m.For(a)
	if err != nil {
		t.Fatalf("For: %v", err)
	}
	return string(b)
}

func TestSanitizerRemovesWhatRunsOrNavigates(t *testing.T) {
	for name, body := range map[string]string{
		"script":            `{"i":10,"n":"script","a":[],"c":[{"i":11,"x":"alert(1)"}]}`,
		"img onerror":       `{"i":10,"n":"img","a":[["src","x"],["onerror","alert(1)"]]}`,
		"svg onload":        `{"i":10,"n":"svg","ns":"svg","a":[["onload","alert(1)"]]}`,
		"svg script":        `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"script","ns":"svg","a":[],"c":[{"i":12,"x":"alert(1)"}]}]}`,
		"javascript link":   `{"i":10,"n":"a","a":[["href","javascript:alert(1)"]]}`,
		"spaced js link":    `{"i":10,"n":"a","a":[["href"," jAvA\tsCrIpT:alert(1)"]]}`,
		"iframe srcdoc":     `{"i":10,"n":"iframe","a":[["srcdoc","<script>alert(1)</script>"]],"bx":[300,150],"px":1}`,
		"meta refresh":      `{"i":10,"n":"meta","a":[["http-equiv","refresh"],["content","0;url=javascript:alert(1)"]]}`,
		"base":              `{"i":10,"n":"base","a":[["href","javascript:alert(1)//"]]}`,
		"object":            `{"i":10,"n":"object","a":[["data","javascript:alert(1)"]],"bx":[10,10]}`,
		"embed":             `{"i":10,"n":"embed","a":[["src","evil.swf"]],"bx":[10,10]}`,
		"form action":       `{"i":10,"n":"form","a":[["action","javascript:alert(1)"]],"c":[{"i":11,"n":"button","a":[["formaction","javascript:alert(1)"]]}]}`,
		"svg use external":  `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"use","ns":"svg","a":[["href","https://evil.example/x.svg#a"]]}]}`,
		"svg set href":      `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"set","ns":"svg","a":[["attributeName","href"],["to","javascript:alert(1)"]]}]}`,
		"svg foreignObject": `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"foreignObject","ns":"svg","a":[],"c":[{"i":12,"n":"img","a":[["src","x"],["onerror","alert(1)"]]}]}]}`,
		"svg a":             `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"a","ns":"svg","a":[["href","javascript:alert(1)"]]}]}`,
		"data html":         `{"i":10,"n":"img","a":[["src","data:text/html,<script>alert(1)</script>"]]}`,
		"template":          `{"i":10,"n":"template","a":[],"c":[{"i":11,"n":"img","a":[["onerror","alert(1)"]]}]}`,
		"noscript":          `{"i":10,"n":"noscript","a":[],"c":[{"i":11,"x":"<img src=x onerror=alert(1)>"}]}`,
		"link icon":         `{"i":10,"n":"link","a":[["rel","icon"],["href","javascript:alert(1)"]]}`,
		"link import":       `{"i":10,"n":"link","a":[["rel","import"],["href","https://evil.example/x.html"]]}`,
		"autofocus":         `{"i":10,"n":"input","a":[["autofocus",""],["onfocus","alert(1)"]]}`,
		"style expression":  `{"i":10,"n":"div","a":[["style","width:expression(alert(1));behavior:url(x.htc)"]]}`,
		"css js url":        `{"i":10,"n":"div","a":[["style","background:url(javascript:alert(1))"]]}`,
		"css escaped url":   `{"i":10,"n":"div","a":[["style","background:\\75 rl(javascript:alert(1))"]]}`,
		"svg fill external": `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"rect","ns":"svg","a":[["fill","url(https://evil.example/x.svg#g)"]]}]}`,
		"attribute name":    `{"i":10,"n":"div","a":[["x onload","alert(1)"]]}`,
		"xlink href js":     `{"i":10,"n":"svg","ns":"svg","a":[],"c":[{"i":11,"n":"image","ns":"svg","a":[["xlink:href","javascript:alert(1)"]]}]}`,
		"img data svg":      `{"i":10,"n":"img","a":[["src","data:image/svg+xml,<svg onload=alert(1)>"]]}`,
		"math href":         `{"i":10,"n":"math","ns":"math","a":[],"c":[{"i":11,"n":"mtext","ns":"math","a":[["href","javascript:alert(1)"]]}]}`,
		"video poster":      `{"i":10,"n":"video","a":[["poster","https://evil.example/p.png"],["src","https://shop.example/v.mp4"]],"bx":[320,180]}`,
		"button popovertgt": `{"i":10,"n":"button","a":[["popovertarget","x"]]}`,
		"dialog open":       `{"i":10,"n":"dialog","a":[["open",""],["onclose","alert(1)"]]}`,
		"custom element on": `{"i":10,"n":"x-card","a":[["onclick","alert(1)"]]}`,
	} {
		t.Run(name, func(t *testing.T) {
			out := build(t, page(body), Audience{})
			low := strings.ToLower(out)
			for _, bad := range []string{"alert(", "javascript:", "<script", "onerror", "onload", "srcdoc", "http-equiv", "evil.example",
				"expression(", "behavior", "formaction", `"base"`, `"action"`, `"script"`, `"foreignobject"`, "data:text/html", "data:image/svg", "onfocus", "autofocus", "popovertarget", "onclose", "onclick"} {
				if strings.Contains(low, strings.ToLower(bad)) {
					t.Fatalf("%s survived: %s", bad, out)
				}
			}
		})
	}
}

func TestSanitizerKeepsThePage(t *testing.T) {
	out := build(t, page(`{"i":10,"n":"p","a":[["class","lead"],["style","color:red;background:url(img/bg.png)"]],"c":[{"i":11,"x":"Hello <b>&amp;"}]},
		{"i":12,"n":"img","a":[["src","https://cdn.example/logo.png"],["alt","Logo"]]},
		{"i":13,"n":"a","a":[["href","/checkout"],["title","Pay"]],"c":[{"i":14,"x":"Pay now"}]},
		{"i":15,"n":"link","a":[["rel","stylesheet"],["href","https://shop.example/site.css"]]},
		{"i":16,"n":"style","a":[],"css":"@import 'more.css'; body{font-family:F} @font-face{font-family:F;src:url(\"f.woff2\") format('woff2')}"},
		{"i":17,"n":"input","a":[["type","text"],["placeholder","Name"]],"v":"Ana"},
		{"i":18,"n":"svg","ns":"svg","a":[["viewBox","0 0 10 10"]],"c":[{"i":19,"n":"linearGradient","ns":"svg","a":[["id","g"]]},{"i":20,"n":"rect","ns":"svg","a":[["fill","url(#g)"],["width","10"]]},{"i":21,"n":"use","ns":"svg","a":[["href","#g"]]}]},
		{"i":22,"n":"canvas","a":[],"bx":[300,150],"px":1,"d":"inline"}`), Audience{})
	for _, want := range []string{`"x":"Hello \u003cb\u003e\u0026amp;"`, `"class","lead"`, `color:red`, `url(\"/a/`, `"src","/a/`, `"alt","Logo"`,
		`"href","#"`, `"title","Pay"`, `"href","/a/`, `@import url(\"/a/`, `"v":"Ana"`, `"placeholder","Name"`, `"linearGradient"`, `"fill","url(#g)"`,
		`"href","#g"`, `"px":true`, `"bx":[300,150]`, `"viewBox","0 0 10 10"`} {
		if !strings.Contains(out, want) {
			t.Errorf("lost %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, "shop.example/checkout") || strings.Contains(out, "cdn.example") {
		t.Errorf("a provider URL reaches the copy: %s", out)
	}
}

func TestMaskedElementsBecomeEmptyBoxes(t *testing.T) {
	raw := page(`{"i":10,"n":"div","a":[["class","card"],["title","4111 title"],["aria-label","4111 aria"]],"im":[0],"bx":[200,40],"d":"block",
		"c":[{"i":11,"x":"4111 1111 1111 1111","im":[0]},{"i":12,"n":"img","a":[["src","https://shop.example/card.png?n=4111"]],"im":[0]}]},
		{"i":13,"n":"input","a":[["type","password"],["value","hunter2"],["placeholder","4111"]],"im":[1],"bx":[150,30],"v":"hunter2"},
		{"i":14,"n":"p","a":[],"c":[{"i":15,"x":"public"}]}`)
	guest := AudienceOf([]string{"[data-tandem-mask]", "input[type=password]"}, []string{"[data-tandem-mask]", "input[type=password]", "x"})
	out := build(t, raw, guest)
	for _, secret := range []string{"4111", "hunter2", "card.png", "aria", `"title",`, `"card"`} {
		if strings.Contains(out, secret) {
			t.Fatalf("the masked audience gets %q: %s", secret, out)
		}
	}
	for _, want := range []string{`"i":10,"n":"div","mask":true,"bx":[200,40],"d":"block"`, `"i":13,"n":"div","mask":true,"bx":[150,30]`, `"x":"public"`} {
		if !strings.Contains(out, want) {
			t.Fatalf("lost %s: %s", want, out)
		}
	}
	host := build(t, raw, Audience{})
	for _, want := range []string{"4111 1111", "hunter2"} {
		if !strings.Contains(host, want) {
			t.Fatalf("the host does not see %q: %s", want, host)
		}
	}
}

func TestPatchesLeaveMaskedChangesOut(t *testing.T) {
	raw := []byte(`{"k":"patch","doc":"d","gen":1,"seq":2,"ops":[
		["text",11,"4111 changed","0"],
		["val",13,"hunter3","1"],
		["attr",10,"title","4111","0","div",""],
		["attr",14,"href","javascript:alert(1)","","a",""],
		["attr",14,"onclick","alert(1)","","a",""],
		["kids",14,[15,{"i":16,"n":"span","a":[],"im":[0],"bx":[10,10],"c":[{"i":17,"x":"4111 new","im":[0]}]},{"i":18,"x":"public new"}],""],
		["kids",10,[11],"0"],
		["size",10,210,41,"0"],
		["scroll",0,0,120],
		["vp",1024,700],
		["focus",13],
		["select",11,0,11,4,"0","0"],
		["select",15,0,18,3,"",""]
	]}`)
	m, err := Parse(raw, "https://shop.example/", nil, testAssets())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := m.For(AudienceOf([]string{"[data-tandem-mask]", "input[type=password]"}, []string{"[data-tandem-mask]", "input[type=password]"}))
	out := string(b)
	for _, bad := range []string{"4111", "hunter3", "javascript", "onclick", `["kids",10`} {
		if strings.Contains(out, bad) {
			t.Fatalf("the masked audience gets %q: %s", bad, out)
		}
	}
	for _, want := range []string{`["select",0]`, `["select",15,0,18,3]`, `["attr",14,"href","#"]`, `"x":"public new"`, `"mask":true`, `["size",10,210,41]`, `["scroll",0,0,120]`, `["vp",1024,700]`, `["focus",13]`} {
		if !strings.Contains(out, want) {
			t.Fatalf("lost %s: %s", want, out)
		}
	}
	b, _ = m.For(Audience{})
	if !strings.Contains(string(b), "4111 changed") || strings.Contains(string(b), `["size"`) {
		t.Fatalf("the unmasked audience: %s", b)
	}
}

func TestBadInputIsAnErrorNotACrash(t *testing.T) {
	deep := strings.Repeat(`{"i":9,"n":"div","a":[],"c":[`, maxDepth+5) + strings.Repeat(`]}`, maxDepth+5)
	for name, raw := range map[string]string{
		"not JSON":        `{`,
		"unknown kind":    `{"k":"x"}`,
		"no root":         `{"k":"snap"}`,
		"root not html":   `{"k":"snap","root":{"i":1,"n":"div","a":[]}}`,
		"too deep":        string(page(deep)),
		"node without id": `{"k":"snap","root":{"i":0,"n":"html"}}`,
		"op not a list":   `{"k":"patch","ops":[{"x":1}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := Parse([]byte(raw), "", nil, testAssets()); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestAssetPathsAreOpaqueAndIssuedOnly(t *testing.T) {
	r := NewAssetRegistry("/x/", []byte("secret"))
	p := r.Asset("../img/a.png?v=1#frag", "https://shop.example/dir/page")
	if !strings.HasPrefix(p, "/x/") || strings.Contains(p, "shop") || strings.Contains(p, "png") {
		t.Fatalf("path %q is not opaque", p)
	}
	if u, ok := r.Lookup(strings.TrimPrefix(p, "/x/")); !ok || u != "https://shop.example/img/a.png?v=1" {
		t.Fatalf("Lookup = %q, %v", u, ok)
	}
	if _, ok := r.Lookup("never-issued"); ok {
		t.Fatal("a key never issued was found")
	}
	if q := NewAssetRegistry("/x/", []byte("other")).Asset("https://shop.example/img/a.png?v=1", ""); q == p {
		t.Fatal("two sessions share a path")
	}
	for _, bad := range []string{"javascript:alert(1)", "file:///etc/passwd", "data:text/html,x", "ftp://x/y", ""} {
		if got := r.Asset(bad, "https://shop.example/"); got != "" {
			t.Fatalf("Asset(%q) = %q", bad, got)
		}
	}
	if got := r.Asset("data:image/png;base64,AAAA", ""); got != "data:image/png;base64,AAAA" {
		t.Fatalf("a small inline image: %q", got)
	}
}

func TestCSSRewritesEveryURL(t *testing.T) {
	in := `@import "a.css"; @import url(b.css) screen;
		.x{background:url( 'c.png' ) , image-set("d.png" 1x, url(e.png) 2x); cursor:url(f.cur), auto}
		@font-face{src:url(g.woff2) format("woff2"), local(Arial)}
		.y{background:\75 rl(h.png)} .z{background:u\72l("i.png")} /* url(j.png) */
		.w{--v: url(k.png)} .v{content:"url(l.png)"}`
	out := SanitizeCSS(in, "https://shop.example/css/", testAssets())
	for _, leak := range []string{"a.css", "b.css", "c.png", "d.png", "e.png", "f.cur", "g.woff2", "h.png", "i.png", "j.png", "k.png"} {
		if strings.Contains(out, leak) {
			t.Errorf("%s reaches the copy: %s", leak, out)
		}
	}
	if n := strings.Count(out, `"/a/`); n < 10 {
		t.Errorf("%d URLs rewritten, want every one: %s", n, out)
	}
	if !strings.Contains(out, `"url(l.png)"`) {
		t.Errorf("a string that only looks like a URL changed: %s", out)
	}
}

func TestCSSFollowsTheControllersHoverAndFocus(t *testing.T) {
	out := SanitizeCSS(`a:hover, .b:HOVER > c, d:focus-visible { color: red } p::before { content: ":hover" } x:not(:hover) {}`, "", testAssets())
	for _, want := range []string{`a[data-tandem-hover]`, `.b[data-tandem-hover] > c`, `d[data-tandem-focus]`, `p::before`, `content: ":hover"`, `x:not([data-tandem-hover])`} {
		if !strings.Contains(out, want) {
			t.Errorf("lacks %s: %s", want, out)
		}
	}
}

func FuzzSanitize(f *testing.F) {
	for _, seed := range []string{
		string(page(`{"i":10,"n":"img","a":[["src","x"],["onerror","alert(1)"]]}`)),
		string(page(`{"i":10,"n":"div","a":[["style","background:\\75 rl(javascript:alert(1))"]]}`)),
		string(page(`{"i":10,"n":"style","a":[],"css":"@import 'x';a{b:url(c)}"}`)),
		`{"k":"patch","ops":[["attr",1,"href","javascript:x","","a",""],["kids",1,[2,{"i":3,"n":"svg","ns":"svg","a":[["onload","x"]]}],""]]}`,
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := Parse([]byte(raw), "https://shop.example/", nil, testAssets())
		if err != nil {
			return
		}
		for _, a := range []Audience{{}, {0: true, 1: true}} {
			b, err := m.For(a)
			if err != nil {
				continue
			}
			var v any
			if json.Unmarshal(b, &v) != nil {
				t.Fatalf("not JSON: %s", b)
			}
			checkNoScript(t, v)
		}
	})
}

// checkNoScript walks a wire message: no element may be a script, no attribute an event
// handler, no attribute value a script URL.
func checkNoScript(t *testing.T, v any) {
	switch v := v.(type) {
	case map[string]any:
		if n, _ := v["n"].(string); strings.EqualFold(n, "script") || strings.EqualFold(n, "iframe") || strings.EqualFold(n, "foreignObject") {
			t.Fatalf("element %q in the copy", n)
		}
		if attrs, ok := v["a"].([]any); ok {
			for _, a := range attrs {
				pair, _ := a.([]any)
				if len(pair) != 2 {
					continue
				}
				name, _ := pair[0].(string)
				val, _ := pair[1].(string)
				if strings.HasPrefix(strings.ToLower(name), "on") || looksLikeScriptURL(val) || strings.EqualFold(name, "srcdoc") {
					t.Fatalf("attribute %q=%q in the copy", name, val)
				}
			}
		}
		for _, x := range v {
			checkNoScript(t, x)
		}
	case []any:
		if len(v) >= 4 && v[0] == "attr" {
			name, _ := v[2].(string)
			val, _ := v[3].(string)
			if strings.HasPrefix(strings.ToLower(name), "on") || looksLikeScriptURL(val) {
				t.Fatalf("attribute change %q=%q in the copy", name, val)
			}
		}
		for _, x := range v {
			checkNoScript(t, x)
		}
	}
}

// TestFramesAreDocumentsOfTheirOwn: a same-origin frame listed by the snapshot is sent as
// a document inside its <iframe>, without the iframe's address or sandbox; every node in
// it carries the frame's entry even when the tab forgot it, so a role its page is hidden
// from gets an empty box; a frame the snapshot does not list is a picture region.
func TestFramesAreDocumentsOfTheirOwn(t *testing.T) {
	raw := []byte(`{"k":"snap","doc":"d","gen":1,"url":"https://shop.example/","base":"https://shop.example/",
		"vw":800,"vh":600,"sels":["[data-tandem-mask]","@frame https://shop.example/pay"],
		"root":{"i":1,"n":"html","a":[],"c":[{"i":2,"n":"body","a":[],"c":[
			{"i":3,"n":"iframe","a":[["src","https://shop.example/pay"],["srcdoc","<script>x</script>"],["sandbox","allow-scripts"],["style","width:300px"]],"bx":[300,150],
			 "fd":{"i":4,"u":"https://shop.example/pay","b":"https://shop.example/pay","im":[1],"c":[
				{"i":5,"n":"html","a":[],"c":[{"i":6,"n":"body","a":[],"c":[{"i":7,"n":"p","a":[],"c":[{"i":8,"x":"PAY-TEXT"}]},
				{"i":9,"n":"img","a":[["src","logo.png"]]}]}]}]}},
			{"i":10,"n":"iframe","a":[],"bx":[10,10],"fd":{"i":11,"u":"https://other.example/","c":[{"i":12,"n":"html","a":[],"c":[{"i":13,"x":"UNLISTED"}]}]}}]}]}}`)
	m, err := Parse(raw, "", nil, testAssets())
	if err != nil {
		t.Fatal(err)
	}
	everyone := AudienceOf(m.Sels, nil)
	if key := everyone.HideFrames(m.Sels, func(string) bool { return false }); key != "" {
		t.Fatalf("nothing hidden, key %q", key)
	}
	b, _ := m.For(everyone)
	out := string(b)
	for _, want := range []string{`"fd":{"i":4`, "PAY-TEXT", `"style","width:300px"`, `"px":true`} {
		if !strings.Contains(out, want) {
			t.Errorf("the copy lacks %s: %s", want, out)
		}
	}
	for _, bad := range []string{"srcdoc", "sandbox", `"src","https://shop.example/pay"`, "UNLISTED", "script"} {
		if strings.Contains(out, bad) {
			t.Errorf("the copy holds %s: %s", bad, out)
		}
	}
	// The frame's image resolves against the frame's address, through assets.
	if !strings.Contains(out, `"src","/a/`) {
		t.Errorf("the frame's image is not an asset: %s", out)
	}

	hidden := AudienceOf(m.Sels, nil)
	if key := hidden.HideFrames(m.Sels, func(u string) bool { return strings.HasSuffix(u, "/pay") }); key == "" {
		t.Fatal("the hidden frame gives no key")
	}
	b, _ = m.For(hidden)
	if out := string(b); strings.Contains(out, "PAY-TEXT") || !strings.Contains(out, `{"i":3,"n":"div","mask":true,"bx":[300,150]`) {
		t.Errorf("the hidden frame is not an empty box: %s", out)
	}

}
