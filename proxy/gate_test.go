package proxy

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/tandem-cobrowse/tandem/renderer"
)

func TestGateEveryRolePair(t *testing.T) {
	rules := DefaultRules()
	type want struct{ mouse, navigate, pointer Refusal }
	// want[sender][controller] with every event within rate.
	table := map[Role]map[string]want{
		RoleHost: {
			"self":  {Accepted, Accepted, Accepted},
			"agent": {RefusedNoControl, RefusedNoControl, Accepted},
			"guest": {RefusedNoControl, RefusedNoControl, Accepted},
			"none":  {RefusedNoControl, RefusedNoControl, Accepted},
		},
		RoleAgent: {
			"self":  {Accepted, Accepted, Accepted},
			"host":  {RefusedNoControl, RefusedNoControl, Accepted},
			"guest": {RefusedNoControl, RefusedNoControl, Accepted},
			"none":  {RefusedNoControl, RefusedNoControl, Accepted},
		},
		RoleGuest: {
			"self":  {Accepted, RefusedKind, Accepted},
			"host":  {RefusedNoControl, RefusedNoControl, Accepted},
			"agent": {RefusedNoControl, RefusedNoControl, Accepted},
			"none":  {RefusedNoControl, RefusedNoControl, Accepted},
		},
	}
	for role, row := range table {
		for ctrl, w := range row {
			t.Run(fmt.Sprintf("%s while %s in control", role, ctrl), func(t *testing.T) {
				actor := Actor{ID: "me", Role: role, Rules: rules.For(role)}
				controller := ParticipantID("")
				switch ctrl {
				case "self":
					controller = "me"
				case "none":
				default:
					controller = ParticipantID(ctrl)
				}
				for _, kind := range []InputKind{InputMouse, InputWheel, InputKey, InputText, InputComposition, InputTouch, InputCopy, InputDialog} {
					if got := Judge(actor, controller, kind, true); got != w.mouse {
						t.Errorf("%s: got %q, want %q", kind, got, w.mouse)
					}
				}
				if got := Judge(actor, controller, InputNavigate, true); got != w.navigate {
					t.Errorf("navigate: got %q, want %q", got, w.navigate)
				}
				if got := Judge(actor, controller, InputPointer, true); got != w.pointer {
					t.Errorf("pointer: got %q, want %q", got, w.pointer)
				}
			})
		}
	}
}

func TestGateOrderOfReasons(t *testing.T) {
	rules := DefaultRules()
	noControl := rules.Guest
	noControl.Control = false
	noPoint := rules.Guest
	noPoint.Point = false
	cases := []struct {
		name       string
		rules      RoleRules
		controller ParticipantID
		kind       InputKind
		within     bool
		want       Refusal
	}{
		{"role that may not control is refused first", noControl, "me", InputMouse, false, RefusedNotAllowed},
		{"not holding control beats the rate", rules.Guest, "host", InputKey, false, RefusedNoControl},
		{"over the rate in control", rules.Guest, "me", InputKey, false, RefusedRate},
		{"navigation without the rule beats the rate", rules.Guest, "me", InputNavigate, false, RefusedKind},
		{"pointer without the point rule", noPoint, "", InputPointer, true, RefusedNotAllowed},
		{"pointer over the rate", rules.Guest, "", InputPointer, false, RefusedRate},
		{"pointing needs no control", noControl, "host", InputPointer, true, Accepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Judge(Actor{ID: "me", Role: RoleGuest, Rules: tc.rules}, tc.controller, tc.kind, tc.within)
			if got != tc.want {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
			if got != Accepted && got.Message() == "" {
				t.Fatal("a refusal needs a message for the sender")
			}
		})
	}
}

func TestParseRules(t *testing.T) {
	got, err := ParseRules([]byte(`{"guest":{"navigate":true,"priority":60,"masks":[".secret"]},"agent":{"control":false},
		"navigation":{"deny":["*/admin*"]}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultRules()
	want.Guest.Navigate, want.Guest.Priority, want.Agent.Control = true, 60, false
	want.Guest.Masks = []string{".secret"}
	want.Navigation.Deny = []string{"*/admin*"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	for _, bad := range []string{`{"guests":{}}`, `{"guest":{"fly":true}}`, `{"guest":{"priority":5000}}`, `{"host":{"view":false}}`, `[1]`, `{"guest":{"view":"yes"}}`, `{"guest":{"masks":[""]}}`, `{"navigation":{"allow":["a","b"],"nope":1}}`} {
		if _, err := ParseRules([]byte(bad)); err == nil {
			t.Errorf("ParseRules(%s) accepted bad rules", bad)
		}
	}
}

func TestValidateURL(t *testing.T) {
	for _, ok := range []string{"http://example.org/", "HTTPS://example.org/a?b=c", "HtTp://127.0.0.1:8081/"} {
		if _, err := ValidateURL(ok); err != nil {
			t.Errorf("ValidateURL(%q) = %v", ok, err)
		}
	}
	for _, bad := range []string{"", "example.org", "file:///etc/passwd", "javascript:alert(1)", "chrome://version", "data:text/html,hi", "http://", "ftp://x/"} {
		if _, err := ValidateURL(bad); err == nil {
			t.Errorf("ValidateURL(%q) accepted", bad)
		}
	}
}

func TestMaskSelectorsFollowSeeMasked(t *testing.T) {
	r := DefaultRules()
	if r.Host.MaskSelectors() != nil {
		t.Fatal("the host sees its own data by default")
	}
	r.Guest.Masks = []string{".notes"}
	got := r.Guest.MaskSelectors()
	if len(got) != len(DefaultMaskSelectors)+1 || got[len(got)-1] != ".notes" {
		t.Fatalf("guest selectors = %q", got)
	}
	if len(r.Agent.MaskSelectors()) != len(DefaultMaskSelectors) {
		t.Fatalf("agent selectors = %q", r.Agent.MaskSelectors())
	}
}

func TestJudgeMaskedFocus(t *testing.T) {
	down := func(key, code, text string, mods int) renderer.KeyInput {
		return renderer.KeyInput{Action: "down", Key: key, Code: code, Text: text, Modifiers: mods}
	}
	cases := []struct {
		name   string
		kind   InputKind
		key    renderer.KeyInput
		masked bool
		want   Refusal
	}{
		{"text", InputText, renderer.KeyInput{}, true, RefusedMasked},
		{"composition", InputComposition, renderer.KeyInput{}, true, RefusedMasked},
		{"copy", InputCopy, renderer.KeyInput{}, true, RefusedMasked},
		{"a letter", InputKey, down("a", "KeyA", "a", 0), true, RefusedMasked},
		{"Backspace", InputKey, down("Backspace", "Backspace", "", 0), true, RefusedMasked},
		{"Tab leaves the field", InputKey, down("Tab", "Tab", "", 0), true, Accepted},
		{"Escape", InputKey, down("Escape", "Escape", "", 0), true, Accepted},
		{"Shift+Tab", InputKey, down("Tab", "Tab", "", renderer.ModShift), true, Accepted},
		{"a key named Tab that carries text", InputKey, down("Tab", "Tab", "x", 0), true, RefusedMasked},
		{"an arrow named Tab with no code", InputKey, down("ArrowLeft", "", "", 0), true, Accepted},
		{"a Tab whose code is a letter and carries text", InputKey, down("Tab", "KeyX", "x", 0), true, RefusedMasked},
		{"select all", InputKey, down("a", "KeyA", "", renderer.ModCtrl), true, RefusedMasked},
		{"copy by Ctrl+Insert", InputKey, down("Insert", "Insert", "", renderer.ModCtrl), true, RefusedMasked},
		{"paste by Shift+Insert", InputKey, down("Insert", "Insert", "", renderer.ModShift), true, RefusedMasked},
		{"undo", InputKey, down("z", "KeyZ", "", renderer.ModMeta), true, RefusedMasked},
		{"a key up", InputKey, renderer.KeyInput{Action: "up", Key: "a", Code: "KeyA"}, true, Accepted},
		{"a mouse event", InputMouse, renderer.KeyInput{}, true, Accepted},
		{"text outside a masked field", InputText, renderer.KeyInput{}, false, Accepted},
		{"a letter outside a masked field", InputKey, down("a", "KeyA", "a", 0), false, Accepted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := JudgeMaskedFocus(tc.kind, tc.key, tc.masked); got != tc.want {
				t.Errorf("JudgeMaskedFocus(%s, %+v, %v) = %q, want %q", tc.kind, tc.key, tc.masked, got, tc.want)
			}
		})
	}
}
