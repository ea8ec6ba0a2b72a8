package proxy

import (
	"encoding/json"
	"fmt"
	"strings"
)

// Role is what a participant is to a session: its host, a support agent or a guest.
type Role string

const (
	RoleHost  Role = "host"
	RoleAgent Role = "agent"
	RoleGuest Role = "guest"
)

// Roles lists every role, host first.
var Roles = []Role{RoleHost, RoleAgent, RoleGuest}

// Valid reports whether r is one of the three roles.
func (r Role) Valid() bool { return r == RoleHost || r == RoleAgent || r == RoleGuest }

// RoleRules is what one role may do in a session: the priority information and rules of
// the co-browse session.
type RoleRules struct {
	View     bool `json:"view"`     // receive frames
	Point    bool `json:"point"`    // show a named pointer to the others
	Control  bool `json:"control"`  // hold control: mouse, keyboard, touch, dialogs, viewport
	Navigate bool `json:"navigate"` // URL bar, back, forward, reload (while in control)
	Priority int  `json:"priority"` // take needs a strictly higher priority than the controller's
	// SeeMasked lets the role see elements that match mask selectors; others see blocks.
	SeeMasked bool `json:"seeMasked"`
	// Masks are CSS selectors masked for this role on top of DefaultMaskSelectors.
	Masks []string `json:"masks"`
	// HidePages are URL patterns whose whole page this role sees replaced by a notice.
	HidePages []string `json:"hidePages"`
	// Mode is how the role's viewers start: "dom" (the page as a sanitised DOM, the
	// default) or "pixels" (the picture). Each participant can switch; a client that
	// cannot show the page gets pictures whatever this says.
	Mode string `json:"mode"`
	// AskToView: a participant of this role sees nothing (not even the page's address)
	// until the host allows it; the host's answer is audited.
	AskToView bool `json:"askToView"`
	// AskForControl: only the host can give this role control, and only when asked;
	// it cannot take control or be handed it by another participant.
	AskForControl bool `json:"askForControl"`
	// Upload: whether, while in control, the role may answer the page's file choosers
	// with files of its own (upload_rules.go).
	Upload UploadRules `json:"upload"`
	// Call is what the role may publish in the session's call; every participant may
	// join it to listen and watch.
	Call CallRules `json:"call"`
}

// DefaultMaskSelectors are masked for every role that may not see masked content, with no
// configuration: what providers mark, passwords and payment card fields.
var DefaultMaskSelectors = []string{`[data-tandem-mask]`, `input[type=password]`, `input[autocomplete^="cc-"]`}

// MaskSelectors is every selector masked for a role with these rules; nil when the role
// sees masked content.
func (r RoleRules) MaskSelectors() []string {
	if r.SeeMasked {
		return nil
	}
	return append(append([]string{}, DefaultMaskSelectors...), r.Masks...)
}

// MaskUnion is every selector masked for some role that views: what the tab must track.
func (rs Rules) MaskUnion() []string {
	var out []string
	seen := map[string]bool{}
	for _, r := range Roles {
		rr := rs.For(r)
		if !rr.View {
			continue
		}
		for _, sel := range rr.MaskSelectors() {
			if !seen[sel] {
				seen[sel] = true
				out = append(out, sel)
			}
		}
	}
	return out
}

// NavigationRules restrict where a session may go at all, by URL pattern (see MatchURL).
// Deny wins over allow; an empty allow list allows everything not denied.
type NavigationRules struct {
	Allow []string `json:"allow"`
	Deny  []string `json:"deny"`
}

// Allows reports whether the session may load rawURL, and if not, why.
func (n NavigationRules) Allows(rawURL string) (bool, string) {
	for _, p := range n.Deny {
		if MatchURL(p, rawURL) {
			return false, "the session's rules deny " + p
		}
	}
	if len(n.Allow) == 0 {
		return true, ""
	}
	for _, p := range n.Allow {
		if MatchURL(p, rawURL) {
			return true, ""
		}
	}
	return false, "the address is not on the session's allow list"
}

// Rules holds the rules of every role of a session. It is a value: copied on write, read
// freely.
type Rules struct {
	Host       RoleRules       `json:"host"`
	Agent      RoleRules       `json:"agent"`
	Guest      RoleRules       `json:"guest"`
	Navigation NavigationRules `json:"navigation"`
	// Recording: whether the host may record the session (never without the host
	// starting it, and everyone sees that it records).
	Recording RecordingRules `json:"recording"`
}

// RecordingRules say whether a session may be recorded.
type RecordingRules struct {
	Allow bool `json:"allow"`
}

// MaxPriority bounds the priorities a session may set.
const MaxPriority = 1000

// DefaultRules are the rules of a session created without any: everyone sees and points,
// everyone may be given control, guests may not navigate, and host > agent > guest.
// Support agents need the host's consent to see the page and to get control; guests
// came by a link the host shared, which is their consent.
func DefaultRules() Rules {
	return Rules{
		Host: RoleRules{View: true, Point: true, Control: true, Navigate: true, Priority: 100, SeeMasked: true, Mode: ModeDOM,
			Upload: defaultUpload(true), Call: CallRules{Audio: true, Video: true}},
		Agent: RoleRules{View: true, Point: true, Control: true, Navigate: true, Priority: 50, Mode: ModeDOM,
			AskToView: true, AskForControl: true, Upload: defaultUpload(true), Call: CallRules{Audio: true, Video: true}},
		Guest: RoleRules{View: true, Point: true, Control: true, Navigate: false, Priority: 10, Mode: ModeDOM,
			Upload: defaultUpload(false), Call: CallRules{Audio: true}},
	}
}

// For returns the rules of role r.
func (rs Rules) For(r Role) RoleRules {
	switch r {
	case RoleHost:
		return rs.Host
	case RoleAgent:
		return rs.Agent
	default:
		return rs.Guest
	}
}

// roleRulesPatch is the JSON form of a partial RoleRules: absent fields keep the default.
type roleRulesPatch struct {
	View      *bool    `json:"view"`
	Point     *bool    `json:"point"`
	Control   *bool    `json:"control"`
	Navigate  *bool    `json:"navigate"`
	Priority  *int     `json:"priority"`
	SeeMasked *bool    `json:"seeMasked"`
	Masks     []string `json:"masks"`
	HidePages []string `json:"hidePages"`
	Mode      *string  `json:"mode"`
	// Consent fields; the host's own are refused (the host is who is asked).
	AskToView     *bool `json:"askToView"`
	AskForControl *bool `json:"askForControl"`

	Upload *uploadRulesPatch `json:"upload"`
	Call   *callRulesPatch   `json:"call"`
}

// RulesPatch is the "rules" object of a create request: per role, only the fields given.
type RulesPatch struct {
	Host       *roleRulesPatch  `json:"host"`
	Agent      *roleRulesPatch  `json:"agent"`
	Guest      *roleRulesPatch  `json:"guest"`
	Navigation *NavigationRules `json:"navigation"`
	Recording  *RecordingRules  `json:"recording"`
}

// Limits on what a session's rules may carry.
const (
	maxSelectors   = 32
	maxSelectorLen = 200
	maxPatterns    = 64
	maxPatternLen  = 500
)

// ParseRules decodes a create request's rules over the defaults. Unknown roles or fields
// are an error, so that a typo never silently leaves a default in place.
func ParseRules(raw json.RawMessage) (Rules, error) {
	return ParseRulesOver(DefaultRules(), raw)
}

// ParseRulesOver decodes rules over base (a site's rules, say) instead of the defaults.
func ParseRulesOver(base Rules, raw json.RawMessage) (Rules, error) {
	rules := base
	if len(raw) == 0 || string(raw) == "null" {
		return rules, nil
	}
	var p RulesPatch
	if err := decodeStrict(raw, &p); err != nil {
		return Rules{}, fmt.Errorf("%w: rules: %v", ErrBadRequest, err)
	}
	for _, item := range []struct {
		role  Role
		patch *roleRulesPatch
		dst   *RoleRules
	}{{RoleHost, p.Host, &rules.Host}, {RoleAgent, p.Agent, &rules.Agent}, {RoleGuest, p.Guest, &rules.Guest}} {
		if item.patch == nil {
			continue
		}
		if item.role == RoleHost && (item.patch.AskToView != nil || item.patch.AskForControl != nil) {
			return Rules{}, fmt.Errorf("%w: rules.host cannot ask for consent: the host is who is asked", ErrBadRequest)
		}
		apply(item.dst, item.patch)
		if item.dst.Priority < 0 || item.dst.Priority > MaxPriority {
			return Rules{}, fmt.Errorf("%w: rules.%s.priority must be between 0 and %d", ErrBadRequest, item.role, MaxPriority)
		}
		if err := checkList(item.dst.Masks, maxSelectors, maxSelectorLen); err != nil {
			return Rules{}, fmt.Errorf("%w: rules.%s.masks: %v", ErrBadRequest, item.role, err)
		}
		if err := checkList(item.dst.HidePages, maxPatterns, maxPatternLen); err != nil {
			return Rules{}, fmt.Errorf("%w: rules.%s.hidePages: %v", ErrBadRequest, item.role, err)
		}
		if m := item.dst.Mode; m != ModeDOM && m != ModePixels {
			return Rules{}, fmt.Errorf("%w: rules.%s.mode must be %q or %q", ErrBadRequest, item.role, ModeDOM, ModePixels)
		}
		if err := item.dst.Upload.check(); err != nil {
			return Rules{}, fmt.Errorf("%w: rules.%s.upload: %v", ErrBadRequest, item.role, err)
		}
	}
	if p.Recording != nil {
		rules.Recording = *p.Recording
	}
	if p.Navigation != nil {
		rules.Navigation = *p.Navigation
		for name, list := range map[string][]string{"allow": rules.Navigation.Allow, "deny": rules.Navigation.Deny} {
			if err := checkList(list, maxPatterns, maxPatternLen); err != nil {
				return Rules{}, fmt.Errorf("%w: rules.navigation.%s: %v", ErrBadRequest, name, err)
			}
		}
	}
	if !rules.Host.View {
		return Rules{}, fmt.Errorf("%w: rules.host.view cannot be false: the host must see the session", ErrBadRequest)
	}
	return rules, nil
}

func apply(dst *RoleRules, p *roleRulesPatch) {
	if p.View != nil {
		dst.View = *p.View
	}
	if p.Point != nil {
		dst.Point = *p.Point
	}
	if p.Control != nil {
		dst.Control = *p.Control
	}
	if p.Navigate != nil {
		dst.Navigate = *p.Navigate
	}
	if p.Priority != nil {
		dst.Priority = *p.Priority
	}
	if p.SeeMasked != nil {
		dst.SeeMasked = *p.SeeMasked
	}
	if p.Masks != nil {
		dst.Masks = p.Masks
	}
	if p.HidePages != nil {
		dst.HidePages = p.HidePages
	}
	if p.Mode != nil {
		dst.Mode = *p.Mode
	}
	if p.AskToView != nil {
		dst.AskToView = *p.AskToView
	}
	if p.AskForControl != nil {
		dst.AskForControl = *p.AskForControl
	}
	if p.Call != nil {
		if p.Call.Audio != nil {
			dst.Call.Audio = *p.Call.Audio
		}
		if p.Call.Video != nil {
			dst.Call.Video = *p.Call.Video
		}
	}
	if p.Upload != nil {
		dst.Upload.apply(p.Upload)
	}
}

func checkList(items []string, most, longest int) error {
	if len(items) > most {
		return fmt.Errorf("at most %d entries", most)
	}
	for _, it := range items {
		if strings.TrimSpace(it) == "" {
			return fmt.Errorf("empty entry")
		}
		if len(it) > longest {
			return fmt.Errorf("an entry is longer than %d characters", longest)
		}
	}
	return nil
}

// CallRules are what a role may publish in the call.
type CallRules struct {
	Audio bool `json:"audio"`
	Video bool `json:"video"`
}

type callRulesPatch struct {
	Audio *bool `json:"audio"`
	Video *bool `json:"video"`
}
