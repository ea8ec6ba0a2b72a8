package proxy_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/tandem-cobrowse/tandem/proxy"
	"github.com/tandem-cobrowse/tandem/renderer"
)

// tabs records the tabs a harness opens, so a test can crash them.
type tabs struct {
	mu   sync.Mutex
	list []*renderer.Tab
}

func (ts *tabs) opener(b *renderer.Browser) proxy.TabOpener {
	return func(ctx context.Context, _ string, spec proxy.TabSpec) (proxy.Tab, error) {
		t, err := b.NewTab(ctx, spec.Viewport, renderer.WithNavigationFilter(spec.Nav))
		if err == nil {
			ts.mu.Lock()
			ts.list = append(ts.list, t)
			ts.mu.Unlock()
		}
		return t, err
	}
}

func (ts *tabs) count() int {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return len(ts.list)
}

func (ts *tabs) first() *renderer.Tab {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.list[0]
}

func noticeCode(code string) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["code"] == code }
}

func TestCrashedTabRecoversWithParticipantsConnected(t *testing.T) {
	p := newProvider(t)
	var opened tabs
	var audit syncBuffer
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.OpenTab = opened.opener(browser)
		rp.Audit = proxy.NewAudit(&audit)
	})
	s := h.create(p.URL)
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	// The page is loaded before it crashes, so that the tab knows what to reload.
	host.state(func(m map[string]any) bool { return m["title"] == "Provider" && m["loading"] == false })
	eventually(t, "a frame", func() bool { return host.frames.Load() > 0 })

	if err := opened.first().Crash(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The notice comes as the reload starts; the click waits for the reloaded page to have
	// loaded (its button's handler is set by then), as told by a state after the notice.
	host.waitFor("notice", noticeCode("page_crashed"))
	eventually(t, "the reloaded page has loaded", func() bool {
		host.mu.Lock()
		defer host.mu.Unlock()
		crashed, reloading := false, false
		for _, m := range host.msgs {
			switch {
			case m["type"] == "notice" && m["code"] == "page_crashed":
				crashed = true
			case crashed && m["type"] == "state" && m["loading"] == true:
				reloading = true
			case reloading && m["type"] == "state" && m["loading"] == false:
				return true
			}
		}
		return false
	})
	before := host.frames.Load()
	eventually(t, "frames after the crash", func() bool { return host.frames.Load() > before })
	host.click(0.5, 0.5)
	eventually(t, "a click after the recovery reached the provider", func() bool { return p.hits.Load() == 1 })
	select {
	case <-host.closed:
		t.Fatal("the host was disconnected by the crash")
	default:
	}
	if !strings.Contains(audit.String(), `"event":"session_created"`) || !strings.Contains(audit.String(), `"event":"participant_joined"`) {
		t.Fatalf("audit log lacks events: %s", audit.String())
	}
}

func TestHungTabIsFoundByTheProbeAndReopened(t *testing.T) {
	p := newProvider(t)
	var opened tabs
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.OpenTab = opened.opener(browser)
		rp.ProbeInterval = 300 * time.Millisecond
	})
	s := h.create(p.URL + "/hang")
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	eventually(t, "a frame", func() bool { return host.frames.Load() > 0 })

	host.click(0.5, 0.5) // the page spins forever: no crash event, only silence
	eventually(t, "the click reached the page", func() bool { return p.hits.Load() == 1 })
	host.waitFor("notice", noticeCode("tab_recovering"))
	host.waitFor("notice", noticeCode("tab_recovered"))
	if n := opened.count(); n != 2 {
		t.Fatalf("tabs opened = %d, want a second one for the recovery", n)
	}
	host.state(func(m map[string]any) bool {
		return strings.HasSuffix(fmt.Sprint(m["url"]), "/hang") && m["loading"] == false
	})
}

func TestKilledChromiumRestartsAndSessionsRecover(t *testing.T) {
	if browser == nil {
		t.Skip("no Chromium") // under CI, TestMain has already failed
	}
	path, err := renderer.FindChromium("")
	if err != nil {
		t.Fatal(err)
	}
	own, err := renderer.Start(context.Background(), renderer.Config{ExecPath: path, NoSandbox: os.Geteuid() == 0,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer own.Close()
	p := newProvider(t)
	h := newHarness(t, func(rp *proxy.RegistryParams, ap *proxy.APIParams) {
		rp.OpenTab = func(ctx context.Context, _ string, spec proxy.TabSpec) (proxy.Tab, error) {
			return own.NewTab(ctx, spec.Viewport)
		}
	})
	s := h.create(p.URL + "/other")
	host := h.join(s.ID, token(s.Links["host"]), "Hana")
	host.state(controllerIs(host.id()))
	eventually(t, "a frame", func() bool { return host.frames.Load() > 0 })

	proc := own.Process()
	if proc == nil {
		t.Fatal("no Chromium process")
	}
	if err := proc.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	seqBefore := host.lastFrame().Seq
	host.waitFor("notice", noticeCode("tab_recovered"))
	before := host.frames.Load()
	eventually(t, "frames from the restarted Chromium", func() bool { return host.frames.Load() > before })
	// The new tab counts its frames from 1; the session's numbering goes on, or viewers
	// would drop the new frames as stale.
	if seq := host.lastFrame().Seq; seq <= seqBefore {
		t.Fatalf("frame number went from %d to %d", seqBefore, seq)
	}
	host.state(func(m map[string]any) bool { return m["title"] == "Other page" })
	if own.Process() == nil || own.Process().Pid == proc.Pid {
		t.Fatal("Chromium was not restarted")
	}
}

// syncBuffer is a bytes.Buffer safe for the session's goroutine and the test's.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
