package renderer

import (
	"context"
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// The popups of <select>, date, time and colour fields and the context menu are drawn by
// the browser outside the page, where the screencast cannot see them. pickers.js keeps
// them from opening and reports them instead (PickerOpened); participants see them drawn
// by Tandem, and the controller's choice comes back through Pick.

//go:embed pickers.js
var pickersJS string

// pickerBinding carries pickers.js's messages; it lives in the tracker's world.
const pickerBinding = "tandemPicker"

// Picker kinds besides the input types date, time, datetime-local, month, week, color.
const (
	PickerSelect = "select"
	PickerMenu   = "menu"
)

var pickerKinds = []string{PickerSelect, PickerMenu, "date", "time", "datetime-local", "month", "week", "color"}

// Menu actions a controller may pick. Pick runs those that happen in the page
// (MenuSelectAll); the caller runs the others, which need the caller's rules.
const (
	MenuBack      = "back"
	MenuForward   = "forward"
	MenuReload    = "reload"
	MenuCut       = "cut"
	MenuCopy      = "copy"
	MenuPaste     = "paste"
	MenuCopyLink  = "copyLink"
	MenuSelectAll = "selectAll"
)

// MenuActions lists every menu action.
var MenuActions = []string{MenuBack, MenuForward, MenuReload, MenuCut, MenuCopy, MenuPaste, MenuCopyLink, MenuSelectAll}

// PickerOption is one option of a select's list, in document order; hidden options are
// left out, so Index (its index in the select's options) may skip numbers.
type PickerOption struct {
	Index    int    `json:"index"`
	Label    string `json:"label"`
	Value    string `json:"value"`
	Group    string `json:"group,omitempty"` // the label of its optgroup
	Disabled bool   `json:"disabled,omitempty"`
	Selected bool   `json:"selected,omitempty"`
}

// PickerOpened is a popup the page would have opened. A second PickerOpened with the
// same ID replaces the first: the options, value or place changed while it was open.
type PickerOpened struct {
	ID   string
	Kind string // PickerSelect, PickerMenu, or the input's type
	// Box is the field in CSS px of the viewport (for a menu: the point, W = H = 0); nil
	// when a frame of another origin lies between and the place cannot be read.
	Box                       *Rect
	ViewportW, ViewportH      float64 // the viewport Box is in
	Options                   []PickerOption
	Value, Min, Max, Step     string
	Link, Selection, Editable bool   // a menu's: on a link, on selected text, in an editable field
	Href                      string // a menu's link address, for the controller's copy only
	// Masked lists the tracked mask selectors whose elements hold the field (or the
	// menu's target); Checked the selectors it was checked against.
	Masked, Checked []string
}

// PickerClosed ends a picker. Reason: picked, cancelled, outside, blur, removed,
// replaced or navigated.
type PickerClosed struct {
	ID, Reason string
}

func (PickerOpened) isEvent() {}
func (PickerClosed) isEvent() {}

// MaskedFor reports whether a role with these mask selectors must not see the picker's
// content (options, value, link): the field is in an element one of them masks, or one
// of them was not checked (fail closed).
func (p PickerOpened) MaskedFor(selectors []string) bool {
	for _, s := range selectors {
		if slices.Contains(p.Masked, s) || !slices.Contains(p.Checked, s) {
			return true
		}
	}
	return false
}

// PickerChoice is the controller's answer: an option of a select (Index, with its Value
// as a check), a field's new value, a menu action, or Cancel.
type PickerChoice struct {
	Index  int    `json:"index"`
	Value  string `json:"value"`
	Cancel bool   `json:"cancel"`
}

// pickerReport is one message of pickers.js.
type pickerReport struct {
	Op        string         `json:"op"`
	ID        string         `json:"id"`
	Kind      string         `json:"kind"`
	Reason    string         `json:"reason"`
	Box       *[4]float64    `json:"box"`
	VW        float64        `json:"vw"`
	VH        float64        `json:"vh"`
	Options   []PickerOption `json:"options"`
	Value     string         `json:"value"`
	Min       string         `json:"min"`
	Max       string         `json:"max"`
	Step      string         `json:"step"`
	Link      bool           `json:"link"`
	Href      string         `json:"href"`
	Selection bool           `json:"selection"`
	Editable  bool           `json:"editable"`
	Masked    []string       `json:"masked"`
	Checked   []string       `json:"checked"`
}

// openPicker is the picker of the tab; the loop owns it.
type openPicker struct {
	id  string
	cid runtime.ExecutionContextID // the world of the frame that shows it
}

// Loop messages of Pick.
type (
	pickRequest struct {
		id    string
		reply chan pickTarget
	}
	pickTarget struct {
		cid runtime.ExecutionContextID
		err error
	}
	// pickerGone: the frame of picker id could not be reached; it is closed.
	pickerGone struct{ id string }
)

// installPickers puts pickers.js in the tracker's world of every document.
func (t *Tab) installPickers(ctx context.Context) error {
	if _, err := call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: pickerBinding, ExecutionContextName: maskWorld}); err != nil {
		return err
	}
	_, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: pickersJS, WorldName: maskWorld, RunImmediately: new(true),
	})
	return err
}

// pickerReport takes a message of pickers.js on the loop.
func (t *Tab) pickerReport(s *loopState, ev *runtime.EventBindingCalled) {
	var r pickerReport
	if err := json.Unmarshal([]byte(ev.Payload), &r); err != nil || r.ID == "" || len(r.ID) > 64 {
		t.log.Debug("unreadable picker report", "err", err)
		return
	}
	switch r.Op {
	case "open", "update":
		if !slices.Contains(pickerKinds, r.Kind) {
			return
		}
		if r.Op == "update" && (s.picker == nil || s.picker.id != r.ID) {
			return // closed meanwhile
		}
		if old := s.picker; old != nil && old.id != r.ID {
			// Another frame's: that frame's script closes it too, or it would take the
			// next press on its field for a second press on an open list.
			t.emit(PickerClosed{ID: old.id, Reason: "replaced"})
			t.background(func(ctx context.Context) { _, _ = t.evalPick(ctx, old.cid, old.id, PickerChoice{Cancel: true}) })
		}
		s.picker = &openPicker{id: r.ID, cid: ev.ExecutionContextID}
		t.emit(r.event())
	case "close":
		t.pickerClosed(s, r.ID, r.Reason)
	}
}

func (r pickerReport) event() PickerOpened {
	p := PickerOpened{
		ID: r.ID, Kind: r.Kind, ViewportW: r.VW, ViewportH: r.VH, Options: r.Options,
		Value: r.Value, Min: r.Min, Max: r.Max, Step: r.Step,
		Link: r.Link && r.Href != "", Href: r.Href, Selection: r.Selection, Editable: r.Editable,
		Masked: r.Masked, Checked: r.Checked,
	}
	if b := r.Box; b != nil {
		p.Box = &Rect{X: b[0], Y: b[1], W: b[2], H: b[3]}
	}
	return p
}

// pickerClosed ends picker id if it is the open one.
func (t *Tab) pickerClosed(s *loopState, id, reason string) {
	if s.picker == nil || (id != "" && s.picker.id != id) {
		return
	}
	t.emit(PickerClosed{ID: s.picker.id, Reason: reason})
	s.picker = nil
}

// pickRequest tells Pick where the open picker lives.
func (t *Tab) pickRequest(s *loopState, r pickRequest) {
	if s.picker == nil || s.picker.id != r.id {
		r.reply <- pickTarget{err: fmt.Errorf("picker %q: %w", r.id, ErrNoPicker)}
		return
	}
	r.reply <- pickTarget{cid: s.picker.cid}
}

// Pick answers the open picker id: for a select, selects the option c.Index (whose value
// must be c.Value) and fires input and change as a person's pick does; for a date, time
// or colour field, sets c.Value and fires the same; for a menu, runs c.Value if it
// happens in the page (MenuSelectAll) and closes it; with c.Cancel, closes it. A picker
// that is not open gives ErrNoPicker; an option or value the field refuses, ErrBadPick
// (the picker stays open). The events the page gets are not trusted ones.
func (t *Tab) Pick(ctx context.Context, id string, c PickerChoice) error {
	t.stir(ctx)
	if t.ctx.Err() != nil {
		return ErrTabClosed
	}
	reply := make(chan pickTarget, 1)
	t.q.push(pickRequest{id: id, reply: reply})
	var at pickTarget
	select {
	case at = <-reply:
		if at.err != nil {
			return at.err
		}
	case <-t.done:
		return ErrTabClosed
	case <-ctx.Done():
		return ctx.Err()
	}
	answer, err := t.evalPick(ctx, at.cid, id, c)
	switch answer {
	case "ok":
		return nil
	case "bad":
		return fmt.Errorf("picker %q: %w", id, ErrBadPick)
	}
	if err != nil && ctx.Err() != nil {
		return err
	}
	// The frame's world is gone (it navigated, or was removed) or no longer shows it.
	t.q.push(pickerGone{id: id})
	if err != nil {
		return fmt.Errorf("picker %q: %w: %w", id, ErrNoPicker, err)
	}
	return fmt.Errorf("picker %q: %w", id, ErrNoPicker)
}

// evalPick runs __tandemPick in the frame's world cid and returns its answer ("" when it
// could not run).
func (t *Tab) evalPick(ctx context.Context, cid runtime.ExecutionContextID, id string, c PickerChoice) (string, error) {
	idArg, err := json.Marshal(id)
	if err != nil {
		return "", err
	}
	choice, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	res, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
		Expression: fmt.Sprintf("__tandemPick(%s, %s)", idArg, choice),
		ContextID:  cid, ReturnByValue: new(true), Silent: new(true),
	})
	var answer string
	if err == nil && res.ExceptionDetails == nil && res.Result != nil {
		_ = json.Unmarshal(res.Result.Value, &answer)
	}
	return answer, err
}
