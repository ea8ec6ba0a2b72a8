package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tandem-cobrowse/tandem/dom"
	"github.com/tandem-cobrowse/tandem/mask"
	"github.com/tandem-cobrowse/tandem/renderer"
)

// Viewer modes: the page as a sanitised DOM, or as pictures.
const (
	ModeDOM    = "dom"
	ModePixels = "pixels"
)

// domState is the session's side of Page mode. It is owned by the session's goroutine.
type domState struct {
	in     <-chan renderer.DOMMessage // the tab's capture; nil while recovering
	on     bool                       // capture is on in the tab (or being turned on)
	doc    string                     // document and generation of the newest snapshot
	gen    uint64
	base   string
	url    string // of the newest snapshot's page
	sels   []string
	pixels int    // regions only pictures can show: while any, DOM viewers get frames
	failed string // why the current page cannot be mirrored; "" when it can
	// rate counts the changes of the current second, for the fallback of a page that
	// changes faster than a copy is worth.
	rateAt  time.Time
	changes int
	// copy is the newest snapshot and the patches since, in order: a joiner gets them at
	// once, without a round trip to the tab. nil when there is none to trust.
	copy  *dom.Message
	since []*dom.Message
}

// maxCachedPatches bounds the patches kept after a snapshot for joiners; past it, a
// joiner waits for a fresh snapshot.
const maxCachedPatches = 2000

// Past these, a page is shown as pictures: a copy would cost more than it gives.
const (
	maxPixelRegions   = 64
	maxChangesASecond = 20000
)

// domMsg is a server → client message about Page mode that is not page content.
type domMsg struct {
	Type   string `json:"type"`
	V      int    `json:"v"`
	Kind   string `json:"kind"`
	Reason string `json:"reason,omitempty"`
}

type modeMsg struct {
	Type   string `json:"type"`
	Mode   string `json:"mode"`
	Reason string `json:"reason,omitempty"`
}

// wantsDOM reports whether p views the page as a DOM now.
func (s *Session) wantsDOM(p *participant) bool {
	return p.mode == ModeDOM && p.conn != nil && s.rules.For(p.role).View
}

// setMode switches p's viewer between Page (DOM) and Picture mode. A participant in DOM
// mode gets a fresh snapshot; one back in pictures gets the newest picture.
func (s *Session) setMode(p *participant, mode string) {
	if mode != ModeDOM && mode != ModePixels {
		_ = p.conn.Send(errMsg("bad_message", "mode must be dom or pixels"))
		return
	}
	if mode == ModeDOM && s.st.dom.failed != "" {
		_ = p.conn.Send(modeMsg{Type: "mode", Mode: ModePixels, Reason: s.st.dom.failed})
		return
	}
	p.mode = mode
	p.domGen = 0
	_ = p.conn.Send(modeMsg{Type: "mode", Mode: mode})
	if mode == ModePixels {
		if s.rules.For(p.role).View {
			s.firstFrame(p)
		}
		s.updateDOMCapture()
		return
	}
	s.updateDOMCapture()
	s.serveCopy(p)
}

// serveCopy gives p the page's copy: at once from the newest snapshot and the patches
// since, or by asking the tab for a snapshot when there is none.
func (s *Session) serveCopy(p *participant) {
	c := s.st.dom.copy
	if c == nil || c.Gen != s.st.dom.gen || !s.wantsDOM(p) {
		s.requestSnapshot()
		return
	}
	built := map[copyAudience][]byte{}
	if !s.sendDOM(p, c, built) {
		return
	}
	p.domGen = c.Gen
	for _, m := range s.st.dom.since {
		clear(built)
		s.sendDOM(p, m, built)
	}
}

// updateDOMCapture turns the tab's capture on while anyone views the page as a DOM.
func (s *Session) updateDOMCapture() {
	want := false
	for _, p := range s.st.participants {
		if s.wantsDOM(p) {
			want = true
			break
		}
	}
	if want == s.st.dom.on || s.st.tab == nil {
		return
	}
	s.st.dom.on = want
	if !want {
		s.st.dom.copy, s.st.dom.since = nil, nil // no changes come: it would go stale
	}
	tab := s.st.tab
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		defer cancel()
		if err := tab.SetDOMCapture(ctx, want); err != nil {
			s.log.Debug("switching the DOM capture", "on", want, "err", err)
		}
	}()
}

// requestSnapshot asks the tab for a full snapshot, for viewers that have none.
func (s *Session) requestSnapshot() {
	if s.st.tab == nil || !s.st.dom.on {
		return
	}
	tab := s.st.tab
	go func() {
		ctx, cancel := context.WithTimeout(s.ctx, s.params.CallTimeout)
		defer cancel()
		if err := tab.RequestDOMSnapshot(ctx); err != nil {
			s.log.Debug("asking for a DOM snapshot", "err", err)
		}
	}()
}

// onDOM takes one message of the tab's capture: sanitises it once, builds it once per
// audience and sends it to the DOM viewers of that audience.
func (s *Session) onDOM(raw renderer.DOMMessage) {
	if raw.Lost {
		// Some changes never arrived: every copy is behind. Start again from a snapshot.
		for _, p := range s.st.participants {
			p.domGen = 0
		}
		s.st.dom.copy, s.st.dom.since = nil, nil
		s.requestSnapshot()
	}
	m, err := dom.Parse(raw.Raw, s.st.dom.base, s.st.dom.sels, s.assets)
	if err != nil {
		s.domFailed("The page is too large or too busy to show as a page: " + err.Error())
		return
	}
	switch m.Kind {
	case dom.KindOverflow:
		s.domFailed("The page is too large or changes too fast to show as a page (" + m.Why + ").")
		return
	case dom.KindSnapshot:
		s.st.dom.doc, s.st.dom.gen, s.st.dom.base, s.st.dom.sels, s.st.dom.url = m.Doc, m.Gen, m.Base(), m.Sels, m.URL()
		s.st.dom.pixels = m.Pixels()
		s.st.dom.failed = ""
		s.st.dom.copy, s.st.dom.since = m, nil
	case dom.KindPatch:
		if m.Doc != s.st.dom.doc || m.Gen != s.st.dom.gen {
			return // of a snapshot nobody has
		}
		s.st.dom.pixels += m.Pixels()
		if now := s.now(); now.Sub(s.st.dom.rateAt) >= time.Second {
			s.st.dom.rateAt, s.st.dom.changes = now, 0
		}
		s.st.dom.changes += m.Changes()
		if s.st.dom.changes > maxChangesASecond {
			s.domFailed("The page changes too fast to show as a page.")
			return
		}
		if s.st.dom.copy != nil {
			if len(s.st.dom.since) < maxCachedPatches {
				s.st.dom.since = append(s.st.dom.since, m)
			} else {
				// A joiner would replay too much: start a fresh copy now, so joiners keep
				// being served at once rather than each asking the tab.
				s.st.dom.copy, s.st.dom.since = nil, nil
				s.requestSnapshot()
			}
		}
	}
	if s.st.dom.pixels > maxPixelRegions {
		s.domFailed("The page has too many parts only a picture can show (canvases, videos, frames).")
		return
	}
	built := map[copyAudience][]byte{}
	shared := map[sharedDOM][]string{}
	sharedBy := map[sharedDOM]SharedTextConn{}
	var sharedOrder []sharedDOM
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if !s.wantsDOM(p) {
			continue
		}
		if m.Kind == dom.KindPatch && p.domGen != m.Gen {
			continue // waits for its snapshot
		}
		b, aud, ok := s.domFor(p, m, built)
		if !ok {
			continue
		}
		if m.Kind == dom.KindSnapshot {
			p.domGen = m.Gen
		}
		if sc, ok := p.conn.(SharedTextConn); ok {
			if key, member := sc.SharedKey(); key != "" {
				k := sharedDOM{key, aud}
				if shared[k] == nil {
					sharedOrder = append(sharedOrder, k)
				}
				shared[k] = append(shared[k], member)
				sharedBy[k] = sc
				continue
			}
		}
		_ = p.conn.SendText(b)
	}
	// Before anything else of this session is sent: a participant's next message must
	// not overtake the copy.
	for _, k := range sharedOrder {
		sharedBy[k].SendShared(shared[k], built[k.aud])
	}
	s.recordDOM(m, built)
}

// sharedDOM is the participants whose connections share a key and who get the same copy.
type sharedDOM struct {
	key string
	aud copyAudience
}

// copyAudience names the viewers who get the same copy: the picture's audience, and the
// same verdict on which of the page's frames are hidden from them.
type copyAudience struct {
	audienceID
	frames string
}

// sendDOM sends m to p as p's audience receives it, built once per audience in built.
// It reports whether anything was sent.
func (s *Session) sendDOM(p *participant, m *dom.Message, built map[copyAudience][]byte) bool {
	b, _, ok := s.domFor(p, m, built)
	if ok {
		_ = p.conn.SendText(b)
	}
	return ok
}

// domFor is m as p's audience receives it, built once per audience in built; ok is false
// when p gets nothing of it.
func (s *Session) domFor(p *participant, m *dom.Message, built map[copyAudience][]byte) (b []byte, key copyAudience, ok bool) {
	return s.domForRules(s.rules.For(p.role), m, built)
}

// domForRules is m as an audience with rules r receives it.
func (s *Session) domForRules(r RoleRules, m *dom.Message, built map[copyAudience][]byte) (b []byte, key copyAudience, ok bool) {
	id := audienceID{masks: mask.Key(r.MaskSelectors()), hidden: s.copyHidden(r, s.st.dom.url)}
	if !tracked(s.st.dom.sels, mask.Selectors(id.masks)) {
		return nil, key, false // the page did not track this audience's masks: nothing is vouched for
	}
	if id.hidden && m.Kind == dom.KindPatch {
		return nil, key, false // told once, with the snapshot
	}
	a := dom.AudienceOf(s.st.dom.sels, mask.Selectors(id.masks))
	key = copyAudience{id, a.HideFrames(s.st.dom.sels, func(u string) bool { return matchesAny(r.HidePages, []string{u}) })}
	b, ok = built[key]
	if !ok {
		var err error
		if id.hidden {
			b, _ = json.Marshal(domMsg{Type: "dom", V: 1, Kind: "hidden"})
		} else if b, err = m.For(a); err != nil {
			s.log.Warn("building a DOM message", "err", err)
			return nil, key, false
		}
		built[key] = b
	}
	return b, key, true
}

// domFailed puts every DOM viewer back to pictures, saying why, until a page that can be
// mirrored comes.
func (s *Session) domFailed(why string) {
	if s.st.dom.failed == why {
		return
	}
	s.st.dom.failed = why
	s.st.dom.copy, s.st.dom.since = nil, nil
	s.log.Info("page not mirrored", "reason", why)
	s.audit.Record("dom_fallback", s.id, slog.String("reason", why))
	for _, id := range s.st.order {
		p := s.st.participants[id]
		if p.mode != ModeDOM || p.conn == nil {
			continue
		}
		p.mode, p.domGen = ModePixels, 0
		_ = p.conn.Send(modeMsg{Type: "mode", Mode: ModePixels, Reason: why})
		_ = p.conn.Send(notice("warning", "page_mode_unavailable", why+" Showing the picture instead."))
		if s.rules.For(p.role).View {
			s.firstFrame(p)
		}
	}
	s.updateDOMCapture()
}

// getsFrames reports whether p receives pictures: in Picture mode always; in Page mode
// only while the page has regions a DOM cannot show, which the viewer fills from them.
func (s *Session) getsFrames(p *participant) bool {
	return p.mode != ModeDOM || s.st.dom.pixels > 0
}

// AssetPrefix is the path under which session id's copies load their assets; capability
// is the session's unguessable asset key, known only to its participants.
func AssetPrefix(id, capability string) string {
	return "/api/v1/sessions/" + id + "/assets/" + capability + "/"
}

// Limits of what an asset may be.
const maxAssetBytes = 10 << 20

// ErrAssetNotFound means an asset path that was never issued to this session (or whose
// resource cannot be loaded); the API answers 404 and says no more.
var ErrAssetNotFound = errors.New("asset not found")

// Asset is one resource of a copy, ready to serve.
type Asset struct {
	Body        []byte
	ContentType string
}

// Asset loads the resource behind an asset path of this session, through the session's
// own tab (its cookies, its egress policy), never from anywhere a participant chose. A
// stylesheet is sanitised like the page's own CSS, its URLs rewritten. Only images,
// fonts and stylesheets are served. It is safe to call from any goroutine.
func (s *Session) Asset(ctx context.Context, capability, key string) (Asset, error) {
	if !secretEqual(capability, s.assetCap) {
		return Asset{}, ErrAssetNotFound
	}
	u, ok := s.assets.Lookup(key)
	if !ok {
		return Asset{}, ErrAssetNotFound
	}
	ref := s.liveTab.Load()
	if ref == nil {
		return Asset{}, ErrAssetNotFound
	}
	res, err := ref.tab.LoadResource(ctx, u, maxAssetBytes)
	if err != nil {
		s.log.Debug("asset not loaded", "err", err)
		return Asset{}, ErrAssetNotFound
	}
	ct := assetType(res.ContentType, res.Body)
	switch {
	case ct == "":
		return Asset{}, ErrAssetNotFound
	case ct == "text/css":
		return Asset{Body: []byte(dom.SanitizeCSS(string(res.Body), u, s.assets)), ContentType: "text/css; charset=utf-8"}, nil
	}
	return Asset{Body: res.Body, ContentType: ct}, nil
}

// assetType is the content type an asset is served with, or "" for one that is not an
// image, a font or a stylesheet.
func assetType(header string, body []byte) string {
	ct, _, err := mime.ParseMediaType(header)
	if err != nil || ct == "" || ct == "application/octet-stream" {
		ct, _, _ = mime.ParseMediaType(http.DetectContentType(body))
	}
	switch {
	case ct == "text/css":
		return ct
	case strings.HasPrefix(ct, "image/"), strings.HasPrefix(ct, "font/"):
		return ct
	case ct == "application/font-woff", ct == "application/font-woff2", ct == "application/x-font-woff",
		ct == "application/x-font-ttf", ct == "application/x-font-otf", ct == "application/vnd.ms-fontobject":
		return ct
	}
	return ""
}

// tracked reports whether the page tracked every selector of want.
func tracked(sels, want []string) bool {
	for _, w := range want {
		found := false
		for _, s := range sels {
			if s == w {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
