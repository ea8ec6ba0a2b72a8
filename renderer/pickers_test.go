package renderer

import (
	"errors"
	"slices"
	"testing"
)

const pickerPage = `<!doctype html>` + plainStyle + `
<select id=s style="position:absolute;left:20px;top:20px;width:200px;height:30px">
  <option value="">Choose…</option>
  <optgroup label="Warm"><option value=r>Red</option><option value=o disabled>Orange</option></optgroup>
  <optgroup label="Cold"><option value=b>Blue</option><option value=g hidden>Green</option></optgroup>
</select>
<select id=own style="position:absolute;left:300px;top:20px;width:200px;height:30px"><option>x<option>y</select>
<input id=c type=color value="#112233" style="position:absolute;left:20px;top:100px;width:80px;height:30px">
<input id=d type=date value="2026-05-01" min="2026-01-01" style="position:absolute;left:300px;top:100px;width:160px;height:30px">
<div data-tandem-mask style="position:absolute;left:20px;top:180px"><select id=m style="width:200px;height:30px"><option>secret</select></div>
<a id=l href="/next" style="position:absolute;left:300px;top:180px">a link</a>
<div id=mine style="position:absolute;left:20px;top:260px;width:200px;height:40px">the page's own menu</div>
<p id=text style="position:absolute;left:300px;top:260px;margin:0">some words</p>
<script>
window.log = [];
for (const id of ['s', 'c', 'd']) for (const t of ['input', 'change']) document.getElementById(id).addEventListener(t, (e) => log.push(id + ':' + t + ':' + e.target.value));
own.addEventListener('mousedown', (e) => e.preventDefault());
mine.addEventListener('contextmenu', (e) => e.preventDefault());
</script>`

// clickAtPx clicks the tab at CSS px of its 640×480 viewport with button.
func clickAtPx(t *testing.T, tab *Tab, x, y float64, button string) {
	t.Helper()
	bits := map[string]int{"left": 1, "right": 2}[button]
	for _, m := range []MouseInput{
		{Action: "move", X: x / 640, Y: y / 480, Button: "none"},
		{Action: "down", X: x / 640, Y: y / 480, Button: button, Buttons: bits, ClickCount: 1},
		{Action: "up", X: x / 640, Y: y / 480, Button: button, ClickCount: 1},
	} {
		if err := tab.Mouse(testCtx(t), m); err != nil {
			t.Fatalf("Mouse(%+v): %v", m, err)
		}
	}
}

func pickerTab(t *testing.T, vp Viewport) *Tab {
	t.Helper()
	tab := newTestTab(t, vp)
	if err := tab.SetMaskSelectors(testCtx(t), []string{"[data-tandem-mask]"}); err != nil {
		t.Fatal(err)
	}
	srv := servePage(t, pickerPage, nil)
	navigate(t, tab, srv.URL+"/")
	return tab
}

func TestSelectOpensAsAPickerAndTakesThePick(t *testing.T) {
	tab := pickerTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	// A select whose press the page takes for itself opens nothing: the first picker is
	// the one of the next select.
	clickAtPx(t, tab, 400, 35, "left")
	clickAtPx(t, tab, 100, 35, "left")
	p := waitEvent[PickerOpened](t, tab, nil)
	if p.Kind != PickerSelect || p.Box == nil || p.Box.X != 20 || p.Box.Y != 20 || p.Box.W != 200 || p.Box.H != 30 {
		t.Fatalf("picker %+v (box %+v), want the select at 20,20 200×30", p, p.Box)
	}
	if p.ViewportW != 640 || p.ViewportH != 480 {
		t.Fatalf("viewport %v×%v", p.ViewportW, p.ViewportH)
	}
	want := []PickerOption{
		{Index: 0, Label: "Choose…", Value: "", Selected: true},
		{Index: 1, Label: "Red", Value: "r", Group: "Warm"},
		{Index: 2, Label: "Orange", Value: "o", Group: "Warm", Disabled: true},
		{Index: 3, Label: "Blue", Value: "b", Group: "Cold"},
	}
	if !slices.Equal(p.Options, want) {
		t.Fatalf("options %+v\nwant %+v", p.Options, want)
	}
	if p.MaskedFor([]string{"[data-tandem-mask]"}) {
		t.Fatalf("an unmasked select is masked: %+v", p)
	}
	// The browser's own list never opened; the field has focus, as after a press.
	if open := evalJS[bool](t, tab, `s.matches(':open') || document.activeElement !== s`); open {
		t.Fatal("the native list opened, or the select lost focus")
	}

	ctx := testCtx(t)
	if err := tab.Pick(ctx, p.ID, PickerChoice{Index: 2, Value: "o"}); !errors.Is(err, ErrBadPick) {
		t.Fatalf("picking a disabled option: %v, want ErrBadPick", err)
	}
	if err := tab.Pick(ctx, p.ID, PickerChoice{Index: 3, Value: "b"}); err != nil {
		t.Fatalf("Pick: %v", err)
	}
	closed := waitEvent[PickerClosed](t, tab, nil)
	if closed.ID != p.ID || closed.Reason != "picked" {
		t.Fatalf("closed %+v", closed)
	}
	waitJS(t, tab, `log.join(',')`, "s:input:b,s:change:b")
	if err := tab.Pick(ctx, p.ID, PickerChoice{Index: 1, Value: "r"}); !errors.Is(err, ErrNoPicker) {
		t.Fatalf("picking from a closed picker: %v, want ErrNoPicker", err)
	}

	// Keys: Alt+Down opens it as it opens the native list; Escape closes it; arrows
	// change the value in place, as they do natively.
	press(t, tab, key("down", "ArrowDown", "ArrowDown", 40, "", 1), key("up", "ArrowDown", "ArrowDown", 40, "", 1))
	k := waitEvent[PickerOpened](t, tab, nil)
	if k.Kind != PickerSelect || k.Value != "b" {
		t.Fatalf("keyboard picker %+v", k)
	}
	press(t, tab, key("down", "Escape", "Escape", 27, "", 0), key("up", "Escape", "Escape", 27, "", 0))
	if c := waitEvent[PickerClosed](t, tab, nil); c.ID != k.ID || c.Reason != "cancelled" {
		t.Fatalf("closed %+v", c)
	}
	press(t, tab, key("down", "ArrowUp", "ArrowUp", 38, "", 0), key("up", "ArrowUp", "ArrowUp", 38, "", 0))
	waitJS(t, tab, `s.value`, "r")

	// A press elsewhere closes it, as it closes a native list.
	clickAtPx(t, tab, 100, 35, "left")
	o := waitEvent[PickerOpened](t, tab, nil)
	clickAtPx(t, tab, 600, 450, "left")
	if c := waitEvent[PickerClosed](t, tab, nil); c.ID != o.ID || c.Reason != "outside" {
		t.Fatalf("closed %+v", c)
	}
	// So does the field's removal.
	clickAtPx(t, tab, 100, 35, "left")
	o = waitEvent[PickerOpened](t, tab, nil)
	evalJS[bool](t, tab, `s.remove(), true`)
	if c := waitEvent[PickerClosed](t, tab, nil); c.ID != o.ID || c.Reason != "removed" && c.Reason != "blur" {
		t.Fatalf("closed %+v", c)
	}
}

func TestSelectOpensWithATap(t *testing.T) {
	tab := pickerTab(t, Viewport{Width: 640, Height: 480, DPR: 1, Mobile: true, Touch: true})
	ctx := testCtx(t)
	if err := tab.Touch(ctx, TouchInput{Action: "start", Touches: []TouchPoint{{ID: 0, X: 100.0 / 640, Y: 35.0 / 480}}}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Touch(ctx, TouchInput{Action: "end"}); err != nil {
		t.Fatal(err)
	}
	p := waitEvent[PickerOpened](t, tab, nil)
	if p.Kind != PickerSelect || len(p.Options) != 4 {
		t.Fatalf("picker %+v", p)
	}
	// The page changes the options while the list is open: the same picker, anew.
	evalJS[bool](t, tab, `s.add(new Option('Purple', 'p')), true`)
	u := waitEvent[PickerOpened](t, tab, nil)
	if u.ID != p.ID || len(u.Options) != 5 || u.Options[4].Label != "Purple" {
		t.Fatalf("updated picker %+v", u)
	}
	if err := tab.Pick(ctx, p.ID, PickerChoice{Index: 1, Value: "r"}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `s.value`, "r")
}

func TestFieldPickersTakeAValue(t *testing.T) {
	tab := pickerTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	ctx := testCtx(t)
	clickAtPx(t, tab, 60, 115, "left")
	c := waitEvent[PickerOpened](t, tab, nil)
	if c.Kind != "color" || c.Value != "#112233" {
		t.Fatalf("colour picker %+v", c)
	}
	if evalJS[bool](t, tab, `c.matches(':open')`) {
		t.Fatal("the browser's colour chooser opened")
	}
	if err := tab.Pick(ctx, c.ID, PickerChoice{Value: "#00FF00"}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `log.join(',')`, "c:input:#00ff00,c:change:#00ff00")

	clickAtPx(t, tab, 350, 115, "left")
	d := waitEvent[PickerOpened](t, tab, nil)
	if d.Kind != "date" || d.Value != "2026-05-01" || d.Min != "2026-01-01" {
		t.Fatalf("date picker %+v", d)
	}
	if err := tab.Pick(ctx, d.ID, PickerChoice{Value: "not a date"}); !errors.Is(err, ErrBadPick) {
		t.Fatalf("a bad date: %v, want ErrBadPick", err)
	}
	if err := tab.Pick(ctx, d.ID, PickerChoice{Value: "2026-06-15"}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `d.value`, "2026-06-15")
}

func TestMaskedSelectsSayTheyAreMasked(t *testing.T) {
	tab := pickerTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	clickAtPx(t, tab, 100, 195, "left")
	p := waitEvent[PickerOpened](t, tab, nil)
	if !p.MaskedFor([]string{"[data-tandem-mask]"}) || p.MaskedFor(nil) {
		t.Fatalf("masked select: %+v", p)
	}
	// A selector the page was not checked against counts as masking it.
	if !p.MaskedFor([]string{".other"}) {
		t.Fatal("an unchecked selector does not mask")
	}
}

func TestContextMenuUnlessThePageTakesIt(t *testing.T) {
	tab := pickerTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	// The page's own menu: nothing. Then a link: the first picker is the link's.
	clickAtPx(t, tab, 100, 280, "right")
	clickAtPx(t, tab, 310, 188, "right")
	m := waitEvent[PickerOpened](t, tab, nil)
	if m.Kind != PickerMenu || !m.Link || m.Href == "" || m.Editable || m.Box == nil || m.Box.X != 310 || m.Box.Y != 188 {
		t.Fatalf("menu %+v (box %+v)", m, m.Box)
	}
	// Select all runs in the page.
	if err := tab.Pick(testCtx(t), m.ID, PickerChoice{Value: MenuSelectAll}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `getSelection().toString().includes('some words')`, true)
	clickAtPx(t, tab, 320, 268, "right")
	if s := waitEvent[PickerOpened](t, tab, nil); !s.Selection {
		t.Fatalf("menu on a selection %+v", s)
	}
	// A navigation closes it.
	navigate(t, tab, evalJS[string](t, tab, `location.href`)+"?again")
	waitEvent[PickerClosed](t, tab, nil)
}

func TestPickersInFramesAndShadowRoots(t *testing.T) {
	tab := newTestTab(t, Viewport{Width: 640, Height: 480, DPR: 1})
	srv := servePage(t, `<!doctype html>`+plainStyle+`
<div id=host style="position:absolute;left:20px;top:20px"></div>
<iframe id=f style="position:absolute;left:300px;top:100px;width:300px;height:200px;border:5px solid #000;padding:0"
 srcdoc="<style>body{margin:0}</style><select id=fs style='position:absolute;left:10px;top:20px;width:150px;height:30px'><option>one<option>two</select>
 <script>fs.addEventListener('change', () => parent.log.push('frame:' + fs.value))</script>"></iframe>
<script>
window.log = [];
const root = document.getElementById('host').attachShadow({mode: 'open'});
root.innerHTML = '<select id=ss style="width:150px;height:30px"><option>x<option>y</select>';
root.getElementById('ss').addEventListener('change', (e) => log.push('shadow:' + e.target.value));
</script>`, nil)
	navigate(t, tab, srv.URL+"/")
	waitJS(t, tab, `!!document.getElementById('f').contentDocument.getElementById('fs')`, true)

	clickAtPx(t, tab, 60, 35, "left")
	s := waitEvent[PickerOpened](t, tab, nil)
	if s.Box == nil || s.Box.X != 20 || s.Box.Y != 20 || len(s.Options) != 2 {
		t.Fatalf("shadow root's select: %+v (box %+v)", s, s.Box)
	}
	if err := tab.Pick(testCtx(t), s.ID, PickerChoice{Index: 1, Value: "y"}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `log.join()`, "shadow:y")

	// The frame's select, in the top viewport: frame 300,100 + border 5 + 10,20.
	clickAtPx(t, tab, 350, 140, "left")
	f := waitEvent[PickerOpened](t, tab, func(p PickerOpened) bool { return p.ID != s.ID })
	if f.Box == nil || f.Box.X != 315 || f.Box.Y != 125 || f.ViewportW != 640 {
		t.Fatalf("frame's select: %+v (box %+v)", f, f.Box)
	}
	if err := tab.Pick(testCtx(t), f.ID, PickerChoice{Index: 1, Value: "two"}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, tab, `log.join()`, "shadow:y,frame:two")
}
