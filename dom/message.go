package dom

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Limits on what a capture message may hold; past them the page is not mirrored.
const (
	maxNodes = 60000
	maxDepth = 512
	maxText  = 200000
	maxAttr  = 20000
	maxAttrs = 256
	maxOps   = 10000
)

// Kinds of capture message.
const (
	KindSnapshot = "snap"
	KindPatch    = "patch"
	KindOverflow = "overflow"
)

// Message is one capture message, sanitised: safe to build any audience's copy from.
type Message struct {
	Kind string
	Doc  string
	Gen  uint64
	Seq  uint64
	// Sels are the mask selectors the page tracked, in the order of the indices nodes
	// carry (Node.im).
	Sels []string
	// Why says why the page could not be mirrored (KindOverflow).
	Why string

	snap *snapshot
	ops  []op
	base string
}

// snapshot is a sanitised full copy of the page.
type snapshot struct {
	URL    string   `json:"url"`
	Title  string   `json:"title"`
	VW     float64  `json:"vw"`
	VH     float64  `json:"vh"`
	SX     float64  `json:"sx"`
	SY     float64  `json:"sy"`
	Quirks bool     `json:"quirks,omitempty"`
	Sheets []string `json:"sheets,omitempty"`
	Root   *Node    `json:"root"`
}

// Node is one node of a copy, as the viewer builds it. A text node has Text; an element
// has Tag. Masked elements of an audience are sent as Masked boxes of size Box, with no
// attributes and no children; Pixels elements are boxes the viewer fills from the picture.
type Node struct {
	ID       int64       `json:"i"`
	Text     *string     `json:"x,omitempty"`
	Tag      string      `json:"n,omitempty"`
	NS       string      `json:"ns,omitempty"`
	Attrs    [][2]string `json:"a,omitempty"`
	Value    *string     `json:"v,omitempty"`
	Checked  *bool       `json:"ck,omitempty"`
	Selected []int       `json:"sel,omitempty"`
	Scroll   []float64   `json:"s,omitempty"`
	Pixels   bool        `json:"px,omitempty"`
	Masked   bool        `json:"mask,omitempty"`
	Box      []float64   `json:"bx,omitempty"`
	Display  string      `json:"d,omitempty"`
	CSS      *string     `json:"css,omitempty"`
	Shadow   *Root       `json:"sr,omitempty"`
	Frame    *Frame      `json:"fd,omitempty"`
	Kids     []*Node     `json:"c,omitempty"`

	im []int // indices into Message.Sels of the masks over this node
}

// Frame is the document of a same-origin frame, shown inside its <iframe>.
type Frame struct {
	ID     int64    `json:"i"`
	Quirks bool     `json:"q,omitempty"`
	Sheets []string `json:"sheets,omitempty"`
	Kids   []*Node  `json:"c,omitempty"`

	im []int // the frame's masks, its own "@frame" entry among them
}

// FramePrefix starts the entries of Message.Sels that stand for the page of a same-origin
// frame rather than a mask selector: every node in the frame carries the entry's index,
// so a role the frame's page is hidden from gets the frame as an empty box.
const FramePrefix = "@frame "

// Root is a shadow root: its children and its adopted stylesheets.
type Root struct {
	ID     int64    `json:"i"`
	Kids   []*Node  `json:"c,omitempty"`
	Sheets []string `json:"sheets,omitempty"`
}

// op is one sanitised change. Kind names follow the wire (docs/protocol.md).
type op struct {
	kind   string
	id     int64
	im     []int
	args   []any // as on the wire, after kind and id
	idList []any // kids: ids (int64) of children the copy has, and *Node for new ones
}

// raw forms, as dom.js sends them

type rawMessage struct {
	K      string            `json:"k"`
	Doc    string            `json:"doc"`
	Gen    uint64            `json:"gen"`
	Seq    uint64            `json:"seq"`
	URL    string            `json:"url"`
	Title  string            `json:"title"`
	Base   string            `json:"base"`
	VW     float64           `json:"vw"`
	VH     float64           `json:"vh"`
	SX     float64           `json:"sx"`
	SY     float64           `json:"sy"`
	Sels   []string          `json:"sels"`
	Quirks bool              `json:"quirks"`
	Sheets []string          `json:"sheets"`
	Root   *rawNode          `json:"root"`
	Ops    []json.RawMessage `json:"ops"`
	Why    string            `json:"why"`
}

type rawNode struct {
	I   int64       `json:"i"`
	X   *string     `json:"x"`
	N   string      `json:"n"`
	NS  string      `json:"ns"`
	A   [][2]string `json:"a"`
	IM  []int       `json:"im"`
	BX  []float64   `json:"bx"`
	D   string      `json:"d"`
	V   *string     `json:"v"`
	CK  *bool       `json:"ck"`
	Sel []int       `json:"sel"`
	S   []float64   `json:"s"`
	PX  int         `json:"px"`
	CSS *string     `json:"css"`
	SR  *rawRoot    `json:"sr"`
	FD  *rawFrame   `json:"fd"`
	C   []*rawNode  `json:"c"`
}

type rawFrame struct {
	I      int64      `json:"i"`
	U      string     `json:"u"`
	B      string     `json:"b"`
	IM     []int      `json:"im"`
	Q      bool       `json:"q"`
	Sheets []string   `json:"sheets"`
	C      []*rawNode `json:"c"`
}

type rawRoot struct {
	I      int64      `json:"i"`
	C      []*rawNode `json:"c"`
	Sheets []string   `json:"sheets"`
}

// Parse reads and sanitises one capture message. base for relative URLs comes from the
// snapshot; patches resolve against the document's base, which the caller keeps (Base),
// and name frames by the snapshot's selectors, which the caller keeps too (Sels).
func Parse(raw []byte, base string, sels []string, assets Assets) (*Message, error) {
	var r rawMessage
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if r.K != KindSnapshot {
		r.Sels = sels
	}
	m := &Message{Kind: r.K, Doc: r.Doc, Gen: r.Gen, Seq: r.Seq, Sels: r.Sels, Why: r.Why}
	s := &sanitizer{assets: assets, sels: r.Sels}
	switch r.K {
	case KindOverflow:
		return m, nil
	case KindSnapshot:
		if r.Root == nil {
			return nil, fmt.Errorf("%w: a snapshot without a root", ErrMalformed)
		}
		s.base = pageBase(r.Base, r.URL)
		root := s.node(r.Root, 0, "")
		if s.err != nil {
			return nil, s.err
		}
		if root == nil || root.Tag != "html" {
			return nil, fmt.Errorf("%w: the root is not <html>", ErrMalformed)
		}
		sheets := make([]string, 0, len(r.Sheets))
		for _, sh := range r.Sheets {
			sheets = append(sheets, SanitizeCSS(sh, s.base, assets))
		}
		m.snap = &snapshot{URL: r.URL, Title: clip(r.Title, 1000), VW: r.VW, VH: r.VH, SX: r.SX, SY: r.SY,
			Quirks: r.Quirks, Sheets: sheets, Root: root}
		m.base = s.base
		return m, nil
	case KindPatch:
		if len(r.Ops) > maxOps {
			return nil, fmt.Errorf("%w: %d changes in one patch", ErrTooLarge, len(r.Ops))
		}
		s.base = base
		for _, ro := range r.Ops {
			o, ok := s.op(ro)
			if s.err != nil {
				return nil, s.err
			}
			if ok {
				m.ops = append(m.ops, o)
			}
		}
		return m, nil
	}
	return nil, fmt.Errorf("%w: unknown kind %q", ErrMalformed, r.K)
}

// pageBase is the base URL relative URLs of the page resolve against.
func pageBase(base, page string) string {
	if u, err := url.Parse(base); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return base
	}
	return page
}

// Base is the base URL of the snapshot's document, for its patches.
func (m *Message) Base() string { return m.base }

// URL and Title are the snapshot's page address and title ("" for patches).
func (m *Message) URL() string {
	if m.snap == nil {
		return ""
	}
	return m.snap.URL
}

func clip(s string, n int) string {
	if len(s) > n {
		s = s[:n]
		for len(s) > 0 && !isRuneStart(s[len(s)-1]) {
			s = s[:len(s)-1]
		}
	}
	return s
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// sanitizer holds what one message's nodes are checked against.
type sanitizer struct {
	assets Assets
	base   string
	nodes  int
	err    error
	sels   []string
	frames []int // "@frame" indices of the frames being sanitised, outermost first
}

func (s *sanitizer) fail(err error) {
	if s.err == nil {
		s.err = err
	}
}

// node sanitises a captured node and its subtree; nil drops it. parentNS is the
// namespace the node lives in ("" for HTML).
func (s *sanitizer) node(r *rawNode, depth int, parentNS string) *Node {
	if r == nil || s.err != nil {
		return nil
	}
	s.nodes++
	if s.nodes > maxNodes {
		s.fail(fmt.Errorf("%w: more than %d nodes", ErrTooLarge, maxNodes))
		return nil
	}
	if depth > maxDepth {
		s.fail(fmt.Errorf("%w: nested deeper than %d", ErrTooLarge, maxDepth))
		return nil
	}
	if r.I <= 0 {
		s.fail(fmt.Errorf("%w: a node without an id", ErrMalformed))
		return nil
	}
	im := s.withFrames(cleanIM(r.IM))
	if r.X != nil {
		t := clip(*r.X, maxText)
		return &Node{ID: r.I, Text: &t, im: im}
	}
	tag := strings.ToLower(r.N)
	ns := r.NS
	if ns != "svg" && ns != "math" {
		ns = ""
	}
	n := &Node{ID: r.I, im: im}
	switch {
	case tag == "iframe" && ns == "" && r.FD != nil && r.PX == 0 && slices.Contains(s.sels, FramePrefix+r.FD.U):
		n.Tag = "iframe"
		n.Attrs = s.attrs(n.Tag, "", r.A)
		n.Box, n.Display = cleanBox(r.BX), cleanDisplay(r.D)
		n.Frame = s.frame(r.FD, depth, im)
		return n
	case pixelElements[tag] || r.PX != 0:
		// (A frame whose page the snapshot did not list is shown as a picture too.)
		// Not a DOM the copy can show: a box of its size, filled from the picture.
		n.Tag, n.Pixels, n.Box, n.Display = "div", true, cleanBox(r.BX), cleanDisplay(r.D)
		return n
	case ns == "svg":
		name := r.N // SVG names are case-sensitive (foreignObject, linearGradient)
		if name == "a" {
			name = "g" // a link in an image: its shapes, without the link
		}
		if !svgElements[name] {
			return nil
		}
		if isAnimation(name) && !animationAllowed(r.A) {
			return nil
		}
		n.Tag, n.NS = name, "svg"
	case ns == "math":
		if !mathElements[tag] {
			return nil
		}
		n.Tag, n.NS = tag, "math"
	case htmlElements[tag] || customName.MatchString(tag):
		n.Tag = tag
	default:
		return nil // script, noscript, template, base, meta, unknown elements
	}
	if n.Tag == "link" && !isStylesheet(r.A) {
		return nil // icons, preloads, manifests: nothing a copy shows
	}
	n.Attrs = s.attrs(n.Tag, n.NS, r.A)
	if n.Tag == "link" && attr(n.Attrs, "href") == "" {
		return nil
	}
	if len(r.IM) > 0 && len(r.BX) == 2 {
		n.Box, n.Display = cleanBox(r.BX), cleanDisplay(r.D)
	}
	if r.V != nil {
		v := clip(*r.V, maxText)
		n.Value = &v
	}
	n.Checked = r.CK
	if len(r.Sel) > 0 && len(r.Sel) <= 10000 {
		n.Selected = r.Sel
	}
	if len(r.S) == 2 {
		n.Scroll = []float64{finite(r.S[0]), finite(r.S[1])}
	}
	if n.Tag == "style" {
		css := ""
		if r.CSS != nil {
			css = SanitizeCSS(*r.CSS, s.base, s.assets)
		}
		n.CSS = &css
		return n // its text is in CSS, sanitised; children are not kept
	}
	if n.Tag == "textarea" || n.Tag == "title" {
		// Their content is text only; the value (or the title) travels as it is.
		for _, c := range r.C {
			if c != nil && c.X != nil {
				if k := s.node(c, depth+1, ns); k != nil {
					n.Kids = append(n.Kids, k)
				}
			}
		}
		return n
	}
	if r.SR != nil && r.SR.I > 0 {
		root := &Root{ID: r.SR.I}
		for _, c := range r.SR.C {
			if k := s.node(c, depth+1, ns); k != nil {
				root.Kids = append(root.Kids, k)
			}
		}
		for _, sh := range r.SR.Sheets {
			root.Sheets = append(root.Sheets, SanitizeCSS(sh, s.base, s.assets))
		}
		n.Shadow = root
	}
	childNS := n.NS
	if n.Tag == "foreignObject" {
		childNS = ""
	}
	for _, c := range r.C {
		if k := s.node(c, depth+1, childNS); k != nil {
			n.Kids = append(n.Kids, k)
		}
	}
	return n
}

// frame sanitises a same-origin frame's document. Its nodes resolve URLs against the
// frame's base and carry the frame's "@frame" entry whatever the tab said.
func (s *sanitizer) frame(r *rawFrame, depth int, parentIM []int) *Frame {
	if r.I <= 0 {
		s.fail(fmt.Errorf("%w: a frame without an id", ErrMalformed))
		return nil
	}
	idx := slices.Index(s.sels, FramePrefix+r.U)
	f := &Frame{ID: r.I, Quirks: r.Q}
	f.im = mergeIM(mergeIM(parentIM, cleanIM(r.IM)), []int{idx})
	base := s.base
	s.base = pageBase(r.B, r.U)
	s.frames = append(s.frames, idx)
	defer func() { s.base, s.frames = base, s.frames[:len(s.frames)-1] }()
	for _, sh := range r.Sheets {
		f.Sheets = append(f.Sheets, SanitizeCSS(sh, s.base, s.assets))
	}
	for _, c := range r.C {
		if k := s.node(c, depth+1, ""); k != nil && k.Tag == "html" {
			f.Kids = append(f.Kids, k)
			break
		}
	}
	return f
}

// withFrames adds the "@frame" entries of the frames being sanitised to im.
func (s *sanitizer) withFrames(im []int) []int {
	if len(s.frames) == 0 {
		return im
	}
	return mergeIM(im, s.frames)
}

func mergeIM(a, b []int) []int {
	out := slices.Clone(a)
	for _, i := range b {
		if !slices.Contains(out, i) {
			out = append(out, i)
		}
	}
	return out
}

func isAnimation(name string) bool {
	switch name {
	case "animate", "animateTransform", "animateMotion", "set":
		return true
	}
	return false
}

// animationAllowed refuses SMIL that would change a link, a handler or a style to
// something the sanitiser never saw.
func animationAllowed(attrs [][2]string) bool {
	for _, a := range attrs {
		if strings.EqualFold(a[0], "attributeName") {
			v := strings.ToLower(strings.TrimSpace(a[1]))
			if strings.HasSuffix(v, "href") || strings.HasPrefix(v, "on") || v == "style" || v == "src" {
				return false
			}
		}
	}
	return true
}

func isStylesheet(attrs [][2]string) bool {
	for _, a := range attrs {
		if strings.EqualFold(a[0], "rel") {
			for _, w := range strings.Fields(strings.ToLower(a[1])) {
				if w == "stylesheet" {
					return true
				}
			}
		}
	}
	return false
}

func attr(attrs [][2]string, name string) string {
	for _, a := range attrs {
		if a[0] == name {
			return a[1]
		}
	}
	return ""
}

// attrs keeps the attributes of an element that are safe, rewriting those that load.
func (s *sanitizer) attrs(tag, ns string, in [][2]string) [][2]string {
	var out [][2]string
	for i, a := range in {
		if i >= maxAttrs {
			break
		}
		name, value := a[0], clip(a[1], maxAttr)
		if !attrName.MatchString(name) {
			continue
		}
		lname := strings.ToLower(name)
		if ns == "" {
			name = lname
		}
		if strings.HasPrefix(lname, "on") || dropAttrs[lname] || strings.HasPrefix(lname, "xmlns") {
			continue
		}
		switch {
		case lname == "style":
			value = SanitizeCSS(value, s.base, s.assets)
		case lname == "href" || lname == "xlink:href":
			v, ok := s.href(tag, ns, value)
			if !ok {
				continue
			}
			value = v
		case lname == "src" || lname == "background":
			if tag == "img" || tag == "input" || lname == "background" {
				value = s.assets.Asset(value, s.base)
				if value == "" {
					continue
				}
			} else {
				continue // src of anything else loads or runs: never kept
			}
		case ns == "svg" && svgURLProps[lname]:
			if strings.Contains(strings.ToLower(value), "url(") && !localURLRef(value) {
				continue
			}
		case lname == "formaction", lname == "action":
			continue
		}
		if looksLikeScriptURL(value) {
			continue
		}
		out = append(out, [2]string{name, value})
	}
	return out
}

// href keeps what an href may be in a copy: a stylesheet's (through assets), an SVG
// image's (through assets), a reference inside the document, and for links a harmless
// stand-in, so the copy keeps their look and meaning but a click goes nowhere.
func (s *sanitizer) href(tag, ns, value string) (string, bool) {
	switch {
	case tag == "link":
		v := s.assets.Asset(value, s.base)
		return v, v != ""
	case ns == "svg" && tag == "image":
		v := s.assets.Asset(value, s.base)
		return v, v != ""
	case ns == "svg":
		return value, localRef.MatchString(value)
	case tag == "a":
		return "#", true
	}
	return "", false
}

// localURLRef accepts url(#id) and nothing else.
func localURLRef(v string) bool {
	v = strings.TrimSpace(v)
	i := strings.Index(strings.ToLower(v), "url(")
	if i < 0 {
		return true
	}
	rest := strings.TrimSpace(v[i+4:])
	rest = strings.Trim(rest, `"' `)
	return strings.HasPrefix(rest, "#") && !strings.ContainsAny(rest, ":/\\")
}

// looksLikeScriptURL catches javascript:, vbscript: and HTML data: values, spelt with
// any case, spaces or control characters in between.
func looksLikeScriptURL(v string) bool {
	var b strings.Builder
	for _, r := range strings.ToLower(v) {
		if r > ' ' && r != '\u007f' {
			b.WriteRune(r)
		}
		if b.Len() > 20 {
			break
		}
	}
	c := b.String()
	return strings.HasPrefix(c, "javascript:") || strings.HasPrefix(c, "vbscript:") || strings.HasPrefix(c, "data:text/html") ||
		strings.HasPrefix(c, "data:application/") || strings.HasPrefix(c, "data:image/svg")
}

func cleanIM(im []int) []int {
	if len(im) == 0 {
		return nil
	}
	out := make([]int, 0, len(im))
	for _, i := range im {
		if i >= 0 && i < 1024 {
			out = append(out, i)
		}
	}
	return out
}

func cleanBox(bx []float64) []float64 {
	if len(bx) != 2 {
		return []float64{0, 0}
	}
	return []float64{min(max(finite(bx[0]), 0), 100000), min(max(finite(bx[1]), 0), 100000)}
}

func finite(v float64) float64 {
	if v != v || v > 1e9 || v < -1e9 {
		return 0
	}
	return v
}

// cleanDisplay keeps a display value made of CSS keywords only.
func cleanDisplay(d string) string {
	d = strings.TrimSpace(strings.ToLower(d))
	if len(d) > 40 {
		return "block"
	}
	for _, r := range d {
		if !(r >= 'a' && r <= 'z') && r != '-' && r != ' ' {
			return "block"
		}
	}
	if d == "" || d == "none" || d == "contents" {
		return "inline-block"
	}
	return d
}
