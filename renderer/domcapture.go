package renderer

import (
	"context"
	_ "embed"
	"fmt"
	"sync"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

//go:embed dom.js
var domJS string

// domBinding carries dom.js's messages; it lives in the tracker's world.
const domBinding = "tandemDOM"

// DOMMessage is one message of the page's DOM capture, as the page sent it: a snapshot,
// a patch, or an overflow (see dom.js). It is untrusted data; the dom package reads and
// sanitises it. Lost is true when messages before this one were dropped because the
// consumer fell behind: ask for a snapshot.
type DOMMessage struct {
	Raw  []byte
	Lost bool
}

// domCapture hands dom.js's messages to the consumer, in order, dropping (and saying
// so) when the consumer falls behind rather than stalling chromedp's read loop.
type domCapture struct {
	out  chan DOMMessage
	mu   sync.Mutex
	lost bool

	setMu    sync.Mutex // serialises SetDOMCapture
	scriptID page.ScriptIdentifier
}

func (d *domCapture) deliver(payload string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case d.out <- DOMMessage{Raw: []byte(payload), Lost: d.lost}:
		d.lost = false
	default:
		d.lost = true
	}
}

// installDOM puts the capture in the tracker's world of every document; it sends
// nothing until SetDOMCapture turns it on.
func (t *Tab) installDOM(ctx context.Context) error {
	if _, err := call(ctx, t, runtime.AddBinding, runtime.AddBindingParams{Name: domBinding, ExecutionContextName: maskWorld}); err != nil {
		return err
	}
	if _, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: domJS, WorldName: maskWorld, RunImmediately: new(true),
	}); err != nil {
		return err
	}
	return nil
}

// DOM delivers the page's DOM capture messages while capture is on.
func (t *Tab) DOM() <-chan DOMMessage { return t.dom.out }

// SetDOMCapture turns the DOM capture on (a snapshot follows at once, and for every new
// document once it is parsed) or off, for this document and every later one.
func (t *Tab) SetDOMCapture(ctx context.Context, on bool) error {
	d := &t.dom
	d.setMu.Lock()
	defer d.setMu.Unlock()
	res, err := call(ctx, t, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: fmt.Sprintf("__tandemDOMConfig(%t)", on), WorldName: maskWorld, RunImmediately: new(true),
	})
	if err != nil {
		return err
	}
	if d.scriptID != "" {
		if _, err := call(ctx, t, page.RemoveScriptToEvaluateOnNewDocument, page.RemoveScriptToEvaluateOnNewDocumentParams{Identifier: d.scriptID}); err != nil {
			t.log.Debug("removing the old DOM capture setting", "err", err)
		}
	}
	d.scriptID = res.Identifier
	return nil
}

// RequestDOMSnapshot asks the page for a full snapshot (for a joining viewer, or after
// messages were lost). It arrives on DOM like any message.
func (t *Tab) RequestDOMSnapshot(ctx context.Context) error {
	return t.inWorld(ctx, "__tandemDOMSnapshot(), true", nil)
}
