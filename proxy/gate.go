package proxy

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
		return "This field is hidden from your role, so you cannot type into it."
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

// navigationKeys move focus or the caret without changing a field's content; they stay
// allowed in a masked field, so a participant can always leave it.
var navigationKeys = map[string]bool{
	"Tab": true, "Escape": true, "ArrowUp": true, "ArrowDown": true, "ArrowLeft": true, "ArrowRight": true,
	"Home": true, "End": true, "PageUp": true, "PageDown": true, "Shift": true, "Control": true, "Alt": true, "Meta": true,
}

// JudgeMaskedFocus refuses what would type into, or copy out of, the focused element when
// it is masked from the sender. It is a pure function, applied after Judge.
func JudgeMaskedFocus(kind InputKind, key string, focusMasked bool) Refusal {
	if !focusMasked {
		return Accepted
	}
	switch kind {
	case InputText, InputComposition, InputCopy:
		return RefusedMasked
	case InputKey:
		if !navigationKeys[key] {
			return RefusedMasked
		}
	}
	return Accepted
}
