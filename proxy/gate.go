package proxy

import "github.com/tandem-cobrowse/tandem/renderer"

// InputKind classifies what a participant sends towards the tab.
type InputKind string

const (
	InputMouse       InputKind = "mouse"
	InputWheel       InputKind = "wheel"
	InputKey         InputKind = "key"
	InputText        InputKind = "text"
	InputComposition InputKind = "composition"
	InputTouch       InputKind = "touch"
	InputCopy        InputKind = "copy"
	InputDialog      InputKind = "dialog"
	InputNavigate    InputKind = "navigate"
	InputPointer     InputKind = "pointer"
)

// Refusal says why the gate dropped an event. The empty Refusal means accepted.
type Refusal string

const (
	Accepted          Refusal = ""
	RefusedNotAllowed Refusal = "not_allowed"      // the role may not control (or point)
	RefusedNoControl  Refusal = "no_control"       // the sender does not hold control
	RefusedKind       Refusal = "kind_not_allowed" // the role may not send this kind of event
	RefusedRate       Refusal = "rate_limited"     // over the sender's rate limit
	RefusedMasked     Refusal = "masked_field"     // typing into a field masked from the sender
	RefusedMaskedCopy Refusal = "masked_selection" // copying a selection that holds masked content
)

// Message is the text a participant is shown, once, when its input is refused.
func (r Refusal) Message() string {
	switch r {
	case RefusedNotAllowed:
		return "Your role may not interact with the page."
	case RefusedNoControl:
		return "You do not hold control. Ask for it first."
	case RefusedKind:
		return "Your role may not do that in this session."
	case RefusedRate:
		return "Too much input at once; some of it was dropped."
	case RefusedMasked:
		return "This field is hidden from your role, so you cannot type into it or copy from it."
	case RefusedMaskedCopy:
		return "The selection includes content hidden from your role, so nothing was copied."
	}
	return ""
}

// Judge is the one gate every input event passes: the role may control, the sender holds
// control, the kind of event is allowed to the role, and the sender is within its rate.
// Pointers are not input to the tab: they need only the point rule and the rate.
// It is a pure function.
func Judge(actor Actor, controller ParticipantID, kind InputKind, withinRate bool) Refusal {
	if kind == InputPointer {
		if !actor.Rules.Point {
			return RefusedNotAllowed
		}
		if !withinRate {
			return RefusedRate
		}
		return Accepted
	}
	if !actor.Rules.Control {
		return RefusedNotAllowed
	}
	if actor.ID != controller {
		return RefusedNoControl
	}
	if kind == InputNavigate && !actor.Rules.Navigate {
		return RefusedKind
	}
	if !withinRate {
		return RefusedRate
	}
	return Accepted
}

// MaskedFocusMatters reports whether what an event does depends on where focus is, for
// a role with masked content: typing, editing, shortcuts and copying do; moving focus or
// the caret, releasing keys and everything else does not, so a participant can always
// leave a masked field. Keys are judged by their effect (renderer.EffectOf), not their
// names. It is a pure function.
func MaskedFocusMatters(kind InputKind, key renderer.KeyInput) bool {
	switch kind {
	case InputText, InputComposition, InputCopy:
		return true
	case InputKey:
		return key.Action == "down" && !renderer.EffectOf(key).Navigation()
	}
	return false
}

// JudgeMaskedFocus refuses what MaskedFocusMatters when the focused element is masked
// from the sender. It is a pure function, applied after Judge, with focus as the tab
// reports it after the input before.
func JudgeMaskedFocus(kind InputKind, key renderer.KeyInput, focusMasked bool) Refusal {
	if focusMasked && MaskedFocusMatters(kind, key) {
		return RefusedMasked
	}
	return Accepted
}
