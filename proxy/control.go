package proxy

import (
	"errors"
	"slices"
	"time"
)

// ParticipantID names a participant within its session.
type ParticipantID string

// Actor is what the control state machine and the gate need to know of a participant.
type Actor struct {
	ID    ParticipantID
	Role  Role
	Rules RoleRules
}

// Roster is the set of participants, by id, that a control decision may look at.
type Roster map[ParticipantID]Actor

// ControlAction is a verb of the control state machine.
type ControlAction string

const (
	ControlRequest ControlAction = "request"
	ControlGrant   ControlAction = "grant"
	ControlDeny    ControlAction = "deny"
	ControlRelease ControlAction = "release"
	ControlRevoke  ControlAction = "revoke"
	ControlTake    ControlAction = "take"
	// ControlLeave is not sent by clients: the session applies it when a participant is gone.
	ControlLeave ControlAction = "leave"
)

// GestureGrace is how long a grant or take waits for the current controller's buttons
// and keys to come up before it lands anyway.
const GestureGrace = time.Second

// Errors of control actions; each becomes an "error" message to the sender.
var (
	ErrControlNotAllowed = errors.New("your role may not hold control")
	ErrNotPermitted      = errors.New("only the host or the participant in control may do that")
	ErrNotController     = errors.New("you do not hold control")
	ErrLowPriority       = errors.New("your priority is not higher than the controller's")
	ErrNoRequest         = errors.New("that participant has not asked for control")
	ErrNobodyInControl   = errors.New("nobody holds control")
	ErrUnknownAction     = errors.New("unknown control action")
	ErrNeedsConsent      = errors.New("only the host can give you control: ask for it")
)

// Request is a pending ask for control.
type Request struct {
	ID ParticipantID `json:"participant"`
	At time.Time     `json:"at"`
}

// Transfer is a grant or take waiting for the controller's gesture to end.
type Transfer struct {
	To       ParticipantID `json:"to"`
	Reason   ControlAction `json:"reason"`
	Deadline time.Time     `json:"-"`
}

// Control is who holds control of a session's tab, who asked for it and what is about to
// change. It is a value; Apply and Settle return a new one and never modify their input.
type Control struct {
	Controller ParticipantID
	Requests   []Request
	Pending    *Transfer
}

// ControlOp is one control action by one participant.
type ControlOp struct {
	Action ControlAction
	Actor  ParticipantID
	Target ParticipantID // the participant a grant or deny is about
	Now    time.Time
	// Gesture is true while the current controller holds a button, key or touch.
	Gesture bool
}

// ControlResult is what an action did.
type ControlResult struct {
	Control  Control
	Changed  bool          // the controller changed
	Previous ParticipantID // the controller before, when Changed
	Asked    ParticipantID // a new request to show to the host and the controller
	Denied   ParticipantID // a request the host or controller refused
}

// Apply runs op against c. It is a pure function of its arguments: roster gives the
// role and rules of every participant that can be named.
func (c Control) Apply(op ControlOp, roster Roster) (ControlResult, error) {
	next := c.clone()
	res := ControlResult{Control: next}
	actor, ok := roster[op.Actor]
	if !ok {
		return ControlResult{Control: c}, ErrParticipantAbsent
	}
	switch op.Action {
	case ControlRequest:
		if !actor.Rules.Control {
			return ControlResult{Control: c}, ErrControlNotAllowed
		}
		if next.Controller == actor.ID {
			return res, nil
		}
		if next.Controller == "" && !actor.Rules.AskForControl {
			return next.handTo(actor.ID, ControlRequest, op, false), nil
		}
		if !next.hasRequest(actor.ID) {
			next.Requests = append(next.Requests, Request{ID: actor.ID, At: op.Now})
			res.Asked = actor.ID
		}
		res.Control = next
		return res, nil

	case ControlGrant:
		if actor.Role != RoleHost && actor.ID != next.Controller {
			return ControlResult{Control: c}, ErrNotPermitted
		}
		target, ok := roster[op.Target]
		if !ok {
			return ControlResult{Control: c}, ErrParticipantAbsent
		}
		if !target.Rules.Control {
			return ControlResult{Control: c}, ErrControlNotAllowed
		}
		// Consent is the host's to give, and only to someone who asked.
		if target.Rules.AskForControl && target.ID != next.Controller {
			if actor.Role != RoleHost {
				return ControlResult{Control: c}, ErrNeedsConsent
			}
			if !next.hasRequest(target.ID) {
				return ControlResult{Control: c}, ErrNoRequest
			}
		}
		if target.ID == next.Controller {
			next.dropRequest(target.ID)
			res.Control = next
			return res, nil
		}
		return next.handTo(target.ID, ControlGrant, op, true), nil

	case ControlDeny:
		if actor.Role != RoleHost && actor.ID != next.Controller {
			return ControlResult{Control: c}, ErrNotPermitted
		}
		if !next.hasRequest(op.Target) {
			return ControlResult{Control: c}, ErrNoRequest
		}
		next.dropRequest(op.Target)
		res.Control = next
		res.Denied = op.Target
		return res, nil

	case ControlRelease:
		if next.Controller != actor.ID {
			return ControlResult{Control: c}, ErrNotController
		}
		return next.vacate(op.Now), nil

	case ControlRevoke:
		if actor.Role != RoleHost {
			return ControlResult{Control: c}, ErrNotPermitted
		}
		if next.Controller == "" {
			return ControlResult{Control: c}, ErrNobodyInControl
		}
		next.Pending = nil
		return next.setController("", op.Now), nil

	case ControlTake:
		if !actor.Rules.Control {
			return ControlResult{Control: c}, ErrControlNotAllowed
		}
		if next.Controller == actor.ID {
			return res, nil
		}
		if actor.Rules.AskForControl {
			return ControlResult{Control: c}, ErrNeedsConsent
		}
		if next.Controller != "" {
			current := roster[next.Controller]
			// The host owns the session and may always take control back.
			if actor.Role != RoleHost && actor.Rules.Priority <= current.Rules.Priority {
				return ControlResult{Control: c}, ErrLowPriority
			}
		}
		return next.handTo(actor.ID, ControlTake, op, true), nil

	case ControlLeave:
		next.dropRequest(actor.ID)
		if next.Pending != nil && next.Pending.To == actor.ID {
			next.Pending = nil
		}
		if next.Controller == actor.ID {
			return next.vacate(op.Now), nil
		}
		res.Control = next
		return res, nil
	}
	return ControlResult{Control: c}, ErrUnknownAction
}

// Settle lands a pending transfer once the controller's gesture has ended or its grace
// has run out. Call it after every input event of the controller and on a timer.
func (c Control) Settle(now time.Time, gesture bool) ControlResult {
	if c.Pending == nil || (gesture && now.Before(c.Pending.Deadline)) {
		return ControlResult{Control: c}
	}
	next := c.clone()
	to := next.Pending.To
	next.Pending = nil
	next.dropRequest(to)
	return next.setController(to, now)
}

// handTo gives control to id, at once or, when deferrable and a gesture is in progress,
// as a pending transfer.
func (c Control) handTo(id ParticipantID, why ControlAction, op ControlOp, deferrable bool) ControlResult {
	c.dropRequest(id)
	if deferrable && op.Gesture && c.Controller != "" {
		c.Pending = &Transfer{To: id, Reason: why, Deadline: op.Now.Add(GestureGrace)}
		return ControlResult{Control: c}
	}
	c.Pending = nil
	return c.setController(id, op.Now)
}

// vacate is what happens when the controller lets go: a pending transfer lands at once,
// otherwise nobody holds control.
func (c Control) vacate(now time.Time) ControlResult {
	to := ParticipantID("")
	if c.Pending != nil {
		to = c.Pending.To
		c.Pending = nil
		c.dropRequest(to)
	}
	return c.setController(to, now)
}

func (c Control) setController(id ParticipantID, _ time.Time) ControlResult {
	prev := c.Controller
	c.Controller = id
	return ControlResult{Control: c, Changed: prev != id, Previous: prev}
}

func (c Control) clone() Control {
	c.Requests = slices.Clone(c.Requests)
	if c.Pending != nil {
		p := *c.Pending
		c.Pending = &p
	}
	return c
}

func (c Control) hasRequest(id ParticipantID) bool {
	return slices.ContainsFunc(c.Requests, func(r Request) bool { return r.ID == id })
}

func (c *Control) dropRequest(id ParticipantID) {
	c.Requests = slices.DeleteFunc(c.Requests, func(r Request) bool { return r.ID == id })
}
