package dom

import (
	"encoding/json"
	"fmt"
	"strings"
)

// op reads one captured change; ok is false for a change that is dropped (an
// attribute that is not allowed, a kind that is not known).
func (s *sanitizer) op(raw json.RawMessage) (op, bool) {
	var a []json.RawMessage
	if err := json.Unmarshal(raw, &a); err != nil || len(a) < 2 {
		s.fail(fmt.Errorf("%w: a change is not a list", ErrMalformed))
		return op{}, false
	}
	var kind string
	if json.Unmarshal(a[0], &kind) != nil {
		s.fail(fmt.Errorf("%w: a change without a kind", ErrMalformed))
		return op{}, false
	}
	num := func(i int) float64 {
		var v float64
		if i < len(a) && json.Unmarshal(a[i], &v) == nil {
			return finite(v)
		}
		return 0
	}
	str := func(i int) (string, bool) {
		var v *string
		if i < len(a) && json.Unmarshal(a[i], &v) == nil && v != nil {
			return *v, true
		}
		return "", false
	}
	ims := func(i int) []int {
		var v string
		var out []int
		if i < len(a) && json.Unmarshal(a[i], &v) == nil && v != "" {
			for _, f := range strings.Split(v, ",") {
				var n int
				if _, err := fmt.Sscanf(f, "%d", &n); err == nil && n >= 0 && n < 1024 {
					out = append(out, n)
				}
			}
		}
		return out
	}
	o := op{kind: kind}
	if kind == "vp" {
		o.args = []any{num(1), num(2)}
		return o, true
	}
	o.id = int64(num(1))
	if o.id < 0 || (o.id == 0 && kind != "scroll" && kind != "select" && kind != "hover") {
		s.fail(fmt.Errorf("%w: a change of no node", ErrMalformed))
		return op{}, false
	}
	switch kind {
	case "kids":
		var entries []json.RawMessage
		if len(a) < 3 || json.Unmarshal(a[2], &entries) != nil {
			s.fail(fmt.Errorf("%w: kids without a list", ErrMalformed))
			return op{}, false
		}
		o.im = ims(3)
		for _, e := range entries {
			var id int64
			if json.Unmarshal(e, &id) == nil {
				if id > 0 {
					o.idList = append(o.idList, id)
				}
				continue
			}
			var rn rawNode
			if json.Unmarshal(e, &rn) != nil {
				s.fail(fmt.Errorf("%w: a child that is neither an id nor a node", ErrMalformed))
				return op{}, false
			}
			if n := s.node(&rn, 1, ""); n != nil {
				o.idList = append(o.idList, n)
			}
		}
	case "attr":
		name, _ := str(2)
		value, present := str(3)
		o.im = ims(4)
		tag, _ := str(5)
		ns, _ := str(6)
		tag = strings.ToLower(tag)
		if ns == "svg" {
			tag, _ = str(5)
		}
		lname := strings.ToLower(name)
		if !attrName.MatchString(name) || strings.HasPrefix(lname, "on") || dropAttrs[lname] {
			return op{}, false // never in a copy, so never to remove either
		}
		if !present {
			o.args = []any{strings.ToLower(name), nil}
			return o, true
		}
		kept := s.attrs(tag, ns, [][2]string{{name, value}})
		if len(kept) == 0 {
			// Not allowed (or not loadable): remove it, in case an allowed value was there.
			o.args = []any{lname, nil}
			return o, true
		}
		o.args = []any{kept[0][0], kept[0][1]}
	case "text":
		t, _ := str(2)
		o.args = []any{clip(t, maxText)}
		o.im = ims(3)
	case "css":
		t, _ := str(2)
		o.args = []any{SanitizeCSS(t, s.base, s.assets)}
		o.im = ims(3)
	case "val":
		t, _ := str(2)
		o.args = []any{clip(t, maxText)}
		o.im = ims(3)
	case "chk":
		var b bool
		if len(a) > 2 {
			_ = json.Unmarshal(a[2], &b)
		}
		o.args = []any{b}
		o.im = ims(3)
	case "opt":
		var sel []int
		if len(a) > 2 {
			_ = json.Unmarshal(a[2], &sel)
		}
		if len(sel) > 10000 {
			sel = sel[:10000]
		}
		o.args = []any{sel}
		o.im = ims(3)
	case "size":
		o.args = []any{min(max(num(2), 0), 100000), min(max(num(3), 0), 100000)}
		o.im = ims(4)
	case "scroll":
		o.args = []any{num(2), num(3)}
	case "select":
		if o.id != 0 {
			// Both ends must be shown to the audience: their masks travel with them.
			o.args = []any{int(num(2)), int64(num(3)), int(num(4))}
			o.im = append(ims(5), ims(6)...)
		}
	case "focus", "hover":
	default:
		return op{}, false
	}
	return o, true
}

// Audience is the set of indices (into Message.Sels) masked for a group of viewers.
type Audience map[int]bool

// AudienceOf is the audience of viewers whose role masks selectors, for a page that
// tracked sels.
func AudienceOf(sels, selectors []string) Audience {
	a := Audience{}
	for i, s := range sels {
		for _, r := range selectors {
			if s == r {
				a[i] = true
			}
		}
	}
	return a
}

// HideFrames adds to the audience the frames whose page hidden says it may not see, and
// returns a key that tells audiences apart by them ("" when none is hidden).
func (a Audience) HideFrames(sels []string, hidden func(url string) bool) string {
	var key strings.Builder
	for i, s := range sels {
		if u, ok := strings.CutPrefix(s, FramePrefix); ok && hidden(u) {
			a[i] = true
			fmt.Fprintf(&key, "%d,", i)
		}
	}
	return key.String()
}

func (a Audience) masks(im []int) bool {
	for _, i := range im {
		if a[i] {
			return true
		}
	}
	return false
}

// For builds the message as the audience receives it (docs/protocol.md, "Page mode"):
// masked elements become empty boxes of their size; changes inside them are left out.
func (m *Message) For(a Audience) ([]byte, error) {
	switch m.Kind {
	case KindSnapshot:
		s := *m.snap
		s.Root = a.node(m.snap.Root)
		return json.Marshal(struct {
			Type string `json:"type"`
			V    int    `json:"v"`
			Kind string `json:"kind"`
			Doc  string `json:"doc"`
			Gen  uint64 `json:"gen"`
			snapshot
		}{"dom", 1, "snapshot", m.Doc, m.Gen, s})
	case KindPatch:
		ops := make([][]any, 0, len(m.ops))
		for _, o := range m.ops {
			if w := a.op(o); w != nil {
				ops = append(ops, w)
			}
		}
		return json.Marshal(struct {
			Type string  `json:"type"`
			V    int     `json:"v"`
			Kind string  `json:"kind"`
			Doc  string  `json:"doc"`
			Gen  uint64  `json:"gen"`
			Seq  uint64  `json:"seq"`
			Ops  [][]any `json:"ops"`
		}{"dom", 1, "patch", m.Doc, m.Gen, m.Seq, ops})
	}
	return nil, fmt.Errorf("%w: nothing to send for %q", ErrMalformed, m.Kind)
}

// node is n as the audience sees it.
func (a Audience) node(n *Node) *Node {
	if n == nil {
		return nil
	}
	if a.masks(n.im) {
		if n.Text != nil {
			return nil
		}
		box := n.Box
		if len(box) != 2 {
			box = []float64{0, 0}
		}
		return &Node{ID: n.ID, Tag: "div", Masked: true, Box: box, Display: n.Display}
	}
	c := *n
	if n.Shadow != nil {
		r := *n.Shadow
		r.Kids = a.nodes(n.Shadow.Kids)
		c.Shadow = &r
	}
	if n.Frame != nil {
		if a.masks(n.Frame.im) {
			// A frame whose page this audience may not see: an empty box in its place.
			box := n.Box
			if len(box) != 2 {
				box = []float64{0, 0}
			}
			return &Node{ID: n.ID, Tag: "div", Masked: true, Box: box, Display: n.Display}
		}
		f := *n.Frame
		f.Kids = a.nodes(n.Frame.Kids)
		c.Frame = &f
	}
	c.Kids = a.nodes(n.Kids)
	if !n.Pixels {
		c.Box, c.Display = nil, ""
	}
	return &c
}

func (a Audience) nodes(in []*Node) []*Node {
	if len(in) == 0 {
		return nil
	}
	out := make([]*Node, 0, len(in))
	for _, k := range in {
		if p := a.node(k); p != nil {
			out = append(out, p)
		}
	}
	return out
}

// op is o as the audience receives it, or nil.
func (a Audience) op(o op) []any {
	if o.kind == "select" && a.masks(o.im) {
		return []any{"select", int64(0)} // a selection into masked text shows as none
	}
	if a.masks(o.im) && o.kind != "size" {
		return nil
	}
	switch o.kind {
	case "vp":
		return append([]any{"vp"}, o.args...)
	case "kids":
		list := make([]any, 0, len(o.idList))
		for _, e := range o.idList {
			switch e := e.(type) {
			case int64:
				list = append(list, e)
			case *Node:
				if p := a.node(e); p != nil {
					list = append(list, p)
				}
			}
		}
		return []any{"kids", o.id, list}
	case "size":
		if !a.masks(o.im) {
			return nil // only the boxes of masked elements have sizes of their own
		}
	}
	return append([]any{o.kind, o.id}, o.args...)
}

// Pixels counts the regions only pictures can show in the message.
func (m *Message) Pixels() int {
	if m.snap != nil {
		return countPixels(m.snap.Root)
	}
	n := 0
	for _, o := range m.ops {
		for _, e := range o.idList {
			if k, ok := e.(*Node); ok {
				n += countPixels(k)
			}
		}
	}
	return n
}

// Changes is the number of changes a patch holds.
func (m *Message) Changes() int { return len(m.ops) }

func countPixels(n *Node) int {
	if n == nil {
		return 0
	}
	c := 0
	if n.Pixels {
		c++
	}
	if n.Shadow != nil {
		for _, k := range n.Shadow.Kids {
			c += countPixels(k)
		}
	}
	if n.Frame != nil {
		for _, k := range n.Frame.Kids {
			c += countPixels(k)
		}
	}
	for _, k := range n.Kids {
		c += countPixels(k)
	}
	return c
}
