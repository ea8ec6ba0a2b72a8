package proxy

import (
	"encoding/json"
	"fmt"
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
}

// Rules holds the rules of every role of a session. It is a value: copied on write, read
// freely.
type Rules struct {
	Host  RoleRules `json:"host"`
	Agent RoleRules `json:"agent"`
	Guest RoleRules `json:"guest"`
}

// MaxPriority bounds the priorities a session may set.
const MaxPriority = 1000

// DefaultRules are the rules of a session created without any: everyone sees and points,
// everyone may be given control, guests may not navigate, and host > agent > guest.
func DefaultRules() Rules {
	return Rules{
		Host:  RoleRules{View: true, Point: true, Control: true, Navigate: true, Priority: 100},
		Agent: RoleRules{View: true, Point: true, Control: true, Navigate: true, Priority: 50},
		Guest: RoleRules{View: true, Point: true, Control: true, Navigate: false, Priority: 10},
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
	View     *bool `json:"view"`
	Point    *bool `json:"point"`
	Control  *bool `json:"control"`
	Navigate *bool `json:"navigate"`
	Priority *int  `json:"priority"`
}

// RulesPatch is the "rules" object of a create request: per role, only the fields given.
type RulesPatch struct {
	Host  *roleRulesPatch `json:"host"`
	Agent *roleRulesPatch `json:"agent"`
	Guest *roleRulesPatch `json:"guest"`
}

// ParseRules decodes a create request's rules over the defaults. Unknown roles or fields
// are an error, so that a typo never silently leaves a default in place.
func ParseRules(raw json.RawMessage) (Rules, error) {
	rules := DefaultRules()
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
		apply(item.dst, item.patch)
		if item.dst.Priority < 0 || item.dst.Priority > MaxPriority {
			return Rules{}, fmt.Errorf("%w: rules.%s.priority must be between 0 and %d", ErrBadRequest, item.role, MaxPriority)
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
}
