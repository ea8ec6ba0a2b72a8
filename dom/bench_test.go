package dom

import (
	"fmt"
	"strings"
	"testing"
)

// syntheticPage is a snapshot of about n nodes shaped like a shop page: sections of
// cards with text, links, images and styled elements.
func syntheticPage(n int) []byte {
	var b strings.Builder
	id := 10
	next := func() int { id++; return id }
	for i := 0; i < n/8; i++ {
		fmt.Fprintf(&b, `{"i":%d,"n":"div","a":[["class","card"],["style","padding:8px;background:url(img/%d.png)"]],"c":[`, next(), i)
		fmt.Fprintf(&b, `{"i":%d,"n":"h2","a":[],"c":[{"i":%d,"x":"Tent %d"}]},`, next(), next(), i)
		fmt.Fprintf(&b, `{"i":%d,"n":"img","a":[["src","/img/t%d.jpg"],["alt","tent"]]},`, next(), i)
		fmt.Fprintf(&b, `{"i":%d,"n":"p","a":[],"c":[{"i":%d,"x":"Two people, three seasons, 1.8 kg. "}]},`, next(), next())
		fmt.Fprintf(&b, `{"i":%d,"n":"a","a":[["href","/p/%d"]],"c":[{"i":%d,"x":"Details"}]}]},`, next(), i, next())
	}
	body := strings.TrimSuffix(b.String(), ",")
	return page(body)
}

// BenchmarkSanitizeSnapshot is the server's work on a snapshot of a 1 000-node page.
func BenchmarkSanitizeSnapshot(b *testing.B) {
	raw := syntheticPage(1000)
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := Parse(raw, "https://shop.example/", nil, testAssets()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildForAudience is the work per audience (not per viewer: viewers of one
// audience share the bytes) on that snapshot.
func BenchmarkBuildForAudience(b *testing.B) {
	m, err := Parse(syntheticPage(1000), "https://shop.example/", nil, testAssets())
	if err != nil {
		b.Fatal(err)
	}
	a := AudienceOf(m.Sels, m.Sels)
	for b.Loop() {
		if _, err := m.For(a); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPatch is the server's work on a typical batch of changes: a keystroke's value,
// a text change and a list item added.
func BenchmarkPatch(b *testing.B) {
	raw := []byte(`{"k":"patch","doc":"d","gen":1,"seq":2,"ops":[["val",13,"hello","1"],["text",11,"Cart (3)",""],
		["kids",14,[15,16,{"i":90,"n":"li","a":[["class","item"]],"c":[{"i":91,"x":"Tent, 1.8 kg"}]}],""],["scroll",0,0,640]]}`)
	a := AudienceOf([]string{"x"}, []string{"x"})
	for b.Loop() {
		m, err := Parse(raw, "https://shop.example/", nil, testAssets())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := m.For(a); err != nil {
			b.Fatal(err)
		}
	}
}
