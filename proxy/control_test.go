package proxy

import (
	"errors"
	"fmt"
	"testing"
	"time"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// roster has one participant per role plus a second agent and a second guest, so that
// every role pair, including two participants of the same role, can be named.
func roster(rules Rules) Roster {
	r := Roster{}
	for id, role := range map[ParticipantID]Role{"host": RoleHost, "agent": RoleAgent, "agent2": RoleAgent, "guest": RoleGuest, "guest2": RoleGuest} {
		r[id] = Actor{ID: id, Role: role, Rules: rules.For(role)}
	}
	return r
}

// other names a participant of role who is not actor.
func other(role Role, actor ParticipantID) ParticipantID {
	id := ParticipantID(role)
	if id == actor {
		id += "2"
	}
	return id
}

// priorityRules are the default rules without the agent's consent step, so the priority
// rules alone decide (TestAskForControlNeedsTheHost covers consent).
func priorityRules() Rules {
	r := DefaultRules()
	r.Agent.AskForControl = false
	return r
}

func TestAskForControlNeedsTheHost(t *testing.T) {
	rs := roster(DefaultRules())
	res, err := Control{}.Apply(ControlOp{Action: ControlRequest, Actor: "agent", Now: t0}, rs)
	if err != nil || res.Changed || res.Asked != "agent" || len(res.Control.Requests) != 1 {
		t.Fatalf("an agent's request with nobody in control must wait for the host: %+v %v", res, err)
	}
	asked := res.Control
	for _, c := range []Control{{}, {Controller: "guest"}, {Controller: "host"}} {
		if _, err := c.Apply(ControlOp{Action: ControlTake, Actor: "agent", Now: t0}, rs); !errors.Is(err, ErrNeedsConsent) {
			t.Errorf("agent takes from %q: err = %v, want ErrNeedsConsent", c.Controller, err)
		}
	}
	byGuest := asked
	byGuest.Controller = "guest"
	if _, err := byGuest.Apply(ControlOp{Action: ControlGrant, Actor: "guest", Target: "agent", Now: t0}, rs); !errors.Is(err, ErrNeedsConsent) {
		t.Errorf("the guest in control grants the agent: err = %v", err)
	}
	if _, err := (Control{}).Apply(ControlOp{Action: ControlGrant, Actor: "host", Target: "agent", Now: t0}, rs); !errors.Is(err, ErrNoRequest) {
		t.Errorf("the host grants an agent who did not ask: err = %v", err)
	}
	res, err = asked.Apply(ControlOp{Action: ControlGrant, Actor: "host", Target: "agent", Now: t0}, rs)
	if err != nil || res.Control.Controller != "agent" || len(res.Control.Requests) != 0 {
		t.Fatalf("the host's grant: %+v %v", res, err)
	}
	// The host still takes back whenever it likes.
	if res, err := res.Control.Apply(ControlOp{Action: ControlTake, Actor: "host", Now: t0}, rs); err != nil || res.Control.Controller != "host" {
		t.Fatalf("host takes back: %+v %v", res, err)
	}
}

func TestTakeFollowsPriorityForEveryRolePair(t *testing.T) {
	// want[actor][controller]: nil = control moves to the actor.
	want := map[Role]map[Role]error{
		RoleHost:  {RoleHost: nil, RoleAgent: nil, RoleGuest: nil, "": nil},
		RoleAgent: {RoleHost: ErrLowPriority, RoleAgent: ErrLowPriority, RoleGuest: nil, "": nil},
		RoleGuest: {RoleHost: ErrLowPriority, RoleAgent: ErrLowPriority, RoleGuest: ErrLowPriority, "": nil},
	}
	rs := roster(priorityRules())
	for actorRole, row := range want {
		for ctrlRole, wantErr := range row {
			actor := ParticipantID(actorRole)
			if actorRole == RoleHost && ctrlRole == RoleHost {
				continue // one host per session
			}
			t.Run(fmt.Sprintf("%s takes from %s", actorRole, or(ctrlRole, "nobody")), func(t *testing.T) {
				c := Control{}
				if ctrlRole != "" {
					c.Controller = other(ctrlRole, actor)
				}
				res, err := c.Apply(ControlOp{Action: ControlTake, Actor: actor, Now: t0}, rs)
				if !errors.Is(err, wantErr) {
					t.Fatalf("err = %v, want %v", err, wantErr)
				}
				if wantErr == nil && (res.Control.Controller != actor || !res.Changed) {
					t.Fatalf("controller = %q changed=%v, want %q", res.Control.Controller, res.Changed, actor)
				}
				if wantErr != nil && res.Control.Controller != c.Controller {
					t.Fatalf("refused take changed the controller to %q", res.Control.Controller)
				}
			})
		}
	}
}

func TestRequestForEveryRolePair(t *testing.T) {
	rs := roster(priorityRules())
	for _, actorRole := range Roles {
		for _, ctrlRole := range []Role{"", RoleHost, RoleAgent, RoleGuest} {
			actor := ParticipantID(actorRole)
			if actorRole == RoleHost && ctrlRole == RoleHost {
				continue
			}
			t.Run(fmt.Sprintf("%s asks while %s holds control", actorRole, or(ctrlRole, "nobody")), func(t *testing.T) {
				c := Control{}
				if ctrlRole != "" {
					c.Controller = other(ctrlRole, actor)
				}
				res, err := c.Apply(ControlOp{Action: ControlRequest, Actor: actor, Now: t0}, rs)
				if err != nil {
					t.Fatal(err)
				}
				if ctrlRole == "" {
					if res.Control.Controller != actor || !res.Changed || res.Asked != "" {
						t.Fatalf("nobody in control: request must be granted at once, got %+v", res)
					}
					return
				}
				if res.Control.Controller != c.Controller || res.Changed {
					t.Fatalf("request moved control: %+v", res)
				}
				if res.Asked != actor || len(res.Control.Requests) != 1 || res.Control.Requests[0].ID != actor {
					t.Fatalf("request not queued and announced: %+v", res)
				}
				again, err := res.Control.Apply(ControlOp{Action: ControlRequest, Actor: actor, Now: t0}, rs)
				if err != nil || len(again.Control.Requests) != 1 || again.Asked != "" {
					t.Fatalf("a repeated request must not queue twice: %+v %v", again, err)
				}
			})
		}
	}
}

func TestGrantAndDenyAreForHostAndController(t *testing.T) {
	rs := roster(DefaultRules())
	cases := []struct {
		name       string
		controller ParticipantID
		actor      ParticipantID
		wantErr    error
	}{
		{"host grants while a guest controls", "guest2", "host", nil},
		{"host grants while nobody controls", "", "host", nil},
		{"controlling agent grants", "agent", "agent", nil},
		{"controlling guest grants", "guest2", "guest2", nil},
		{"agent not in control cannot grant", "host", "agent", ErrNotPermitted},
		{"guest not in control cannot grant", "host", "guest2", ErrNotPermitted},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Control{Controller: tc.controller, Requests: []Request{{ID: "guest", At: t0}}}
			res, err := c.Apply(ControlOp{Action: ControlGrant, Actor: tc.actor, Target: "guest", Now: t0}, rs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("grant err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (res.Control.Controller != "guest" || len(res.Control.Requests) != 0) {
				t.Fatalf("grant did not land: %+v", res.Control)
			}
			res, err = c.Apply(ControlOp{Action: ControlDeny, Actor: tc.actor, Target: "guest", Now: t0}, rs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("deny err = %v, want %v", err, tc.wantErr)
			}
			if err == nil && (res.Denied != "guest" || len(res.Control.Requests) != 0 || res.Control.Controller != tc.controller) {
				t.Fatalf("deny: %+v", res)
			}
		})
	}
	t.Run("deny of nobody's request is refused", func(t *testing.T) {
		_, err := Control{Controller: "host"}.Apply(ControlOp{Action: ControlDeny, Actor: "host", Target: "agent"}, rs)
		if !errors.Is(err, ErrNoRequest) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestReleaseRevokeAndLeave(t *testing.T) {
	rs := roster(DefaultRules())
	cases := []struct {
		name    string
		c       Control
		op      ControlOp
		wantErr error
		want    ParticipantID
	}{
		{"controller releases", Control{Controller: "guest"}, ControlOp{Action: ControlRelease, Actor: "guest"}, nil, ""},
		{"others cannot release", Control{Controller: "guest"}, ControlOp{Action: ControlRelease, Actor: "agent"}, ErrNotController, "guest"},
		{"host revokes an agent", Control{Controller: "agent"}, ControlOp{Action: ControlRevoke, Actor: "host"}, nil, ""},
		{"agent cannot revoke", Control{Controller: "guest"}, ControlOp{Action: ControlRevoke, Actor: "agent"}, ErrNotPermitted, "guest"},
		{"revoke with nobody in control", Control{}, ControlOp{Action: ControlRevoke, Actor: "host"}, ErrNobodyInControl, ""},
		{"controller leaves", Control{Controller: "agent", Requests: []Request{{ID: "guest"}}}, ControlOp{Action: ControlLeave, Actor: "agent"}, nil, ""},
		{"requester leaves", Control{Controller: "host", Requests: []Request{{ID: "guest"}}}, ControlOp{Action: ControlLeave, Actor: "guest"}, nil, "host"},
		{"unknown verb", Control{Controller: "host"}, ControlOp{Action: "steal", Actor: "guest"}, ErrUnknownAction, "host"},
		{"unknown participant", Control{Controller: "host"}, ControlOp{Action: ControlRequest, Actor: "ghost"}, ErrParticipantAbsent, "host"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := tc.c.Apply(tc.op, rs)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if res.Control.Controller != tc.want {
				t.Fatalf("controller = %q, want %q", res.Control.Controller, tc.want)
			}
			if tc.op.Action == ControlLeave && len(res.Control.Requests) != 0 && tc.op.Actor == "guest" {
				t.Fatalf("leaver's request kept: %+v", res.Control.Requests)
			}
		})
	}
}

func TestRoleThatMayNotControl(t *testing.T) {
	rules := DefaultRules()
	rules.Guest.Control = false
	rs := roster(rules)
	for _, action := range []ControlAction{ControlRequest, ControlTake} {
		if _, err := (Control{}).Apply(ControlOp{Action: action, Actor: "guest"}, rs); !errors.Is(err, ErrControlNotAllowed) {
			t.Errorf("%s: err = %v, want ErrControlNotAllowed", action, err)
		}
	}
	if _, err := (Control{Controller: "host"}).Apply(ControlOp{Action: ControlGrant, Actor: "host", Target: "guest"}, rs); !errors.Is(err, ErrControlNotAllowed) {
		t.Errorf("grant to a guest who may not control: err = %v", err)
	}
}

func TestTransferWaitsForTheGestureToEnd(t *testing.T) {
	rs := roster(priorityRules())
	c := Control{Controller: "guest"}
	res, err := c.Apply(ControlOp{Action: ControlTake, Actor: "agent", Now: t0, Gesture: true}, rs)
	if err != nil {
		t.Fatal(err)
	}
	if res.Changed || res.Control.Controller != "guest" || res.Control.Pending == nil || res.Control.Pending.To != "agent" {
		t.Fatalf("take during a gesture must wait: %+v", res.Control)
	}
	if c.Pending != nil {
		t.Fatal("Apply modified its receiver")
	}
	pending := res.Control

	still := pending.Settle(t0.Add(500*time.Millisecond), true)
	if still.Changed || still.Control.Controller != "guest" {
		t.Fatalf("landed while the gesture goes on within the grace: %+v", still.Control)
	}
	up := pending.Settle(t0.Add(200*time.Millisecond), false)
	if !up.Changed || up.Control.Controller != "agent" || up.Control.Pending != nil || up.Previous != "guest" {
		t.Fatalf("did not land when the buttons came up: %+v", up)
	}
	late := pending.Settle(t0.Add(GestureGrace), true)
	if !late.Changed || late.Control.Controller != "agent" {
		t.Fatalf("did not land after the grace: %+v", late.Control)
	}

	// The controller letting go hands over the pending transfer at once.
	rel, err := pending.Apply(ControlOp{Action: ControlRelease, Actor: "guest", Now: t0}, rs)
	if err != nil || rel.Control.Controller != "agent" {
		t.Fatalf("release with a pending transfer: %+v %v", rel.Control, err)
	}
	// The target of a pending transfer leaving cancels it.
	gone, err := pending.Apply(ControlOp{Action: ControlLeave, Actor: "agent", Now: t0}, rs)
	if err != nil || gone.Control.Pending != nil || gone.Control.Controller != "guest" {
		t.Fatalf("leave of the pending target: %+v %v", gone.Control, err)
	}
	// A grant by the host is deferred the same way.
	g, err := Control{Controller: "guest"}.Apply(ControlOp{Action: ControlGrant, Actor: "host", Target: "agent", Now: t0, Gesture: true}, rs)
	if err != nil || g.Control.Pending == nil || g.Control.Controller != "guest" {
		t.Fatalf("grant during a gesture: %+v %v", g.Control, err)
	}
}

func or(r Role, s string) string {
	if r == "" {
		return s
	}
	return string(r)
}
