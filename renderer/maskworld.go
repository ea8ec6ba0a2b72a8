package renderer

import (
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

//go:embed shadow.js
var shadowJS string

// maskWorldState caches the execution context of the tracker's world in the top
// document; a navigation makes it stale, which the first failing call finds out.
type maskWorldState struct {
	mu  sync.Mutex
	cid runtime.ExecutionContextID
}

// cobrowseMarkJS marks the page's world as a co-browse session's tab. Tandem's own embed
// script, which a provider's pages load in the tab too, stays hidden there: the page is
// already shared.
const cobrowseMarkJS = ";Object.defineProperty(window, '__tandemCobrowse', {value: true});"

// installMasks puts the shadow root hook in the page's world and the tracker in its own
// world, in this document and every later one, in every frame. The tracker measures
// nothing until SetMaskSelectors gives it selectors.
func (t *Tab) installMasks(ctx context.Context) error {
	if _, err := cdp.Call(ctx, t.target, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: shadowJS + cobrowseMarkJS, RunImmediately: new(true),
	}); err != nil {
		return t.wrapErr(page.AddScriptToEvaluateOnNewDocument.Method, err)
	}
	if _, err := cdp.Call(ctx, t.target, runtime.AddBinding, runtime.AddBindingParams{Name: maskBinding, ExecutionContextName: maskWorld}); err != nil {
		return t.wrapErr(runtime.AddBinding.Method, err)
	}
	if _, err := cdp.Call(ctx, t.target, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: maskJS, WorldName: maskWorld, RunImmediately: new(true),
	}); err != nil {
		return t.wrapErr(page.AddScriptToEvaluateOnNewDocument.Method, err)
	}
	return nil
}

// worldContext is the execution context of the tracker's world in the top document.
func (t *Tab) worldContext(ctx context.Context, fresh bool) (runtime.ExecutionContextID, error) {
	w := &t.world
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.cid != 0 && !fresh {
		return w.cid, nil
	}
	res, err := call(ctx, t, page.CreateIsolatedWorld, page.CreateIsolatedWorldParams{FrameID: cdp.FrameID(t.targetID), WorldName: maskWorld})
	if err != nil {
		return 0, err
	}
	w.cid = res.ExecutionContextID
	return w.cid, nil
}

// inWorld evaluates expr in the tracker's world of the top document and decodes its
// value into out. A context gone with a navigation is looked up again, once.
func (t *Tab) inWorld(ctx context.Context, expr string, out any) error {
	for attempt := 0; ; attempt++ {
		cid, err := t.worldContext(ctx, attempt > 0)
		if err != nil {
			return err
		}
		res, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{
			Expression: expr, ContextID: cid, ReturnByValue: new(true), Silent: new(true),
		})
		if err != nil {
			if attempt == 0 && !errors.Is(err, ErrTabClosed) && ctx.Err() == nil {
				continue // most likely the document, and its world, changed
			}
			return err
		}
		if res.ExceptionDetails != nil {
			msg := exceptionText(res.ExceptionDetails)
			if attempt == 0 && strings.Contains(msg, "is not defined") {
				continue // the tracker of a new document is not there in an old context
			}
			return fmt.Errorf("mask world: %s", msg)
		}
		if out == nil || res.Result == nil || len(res.Result.Value) == 0 {
			return nil
		}
		if err := json.Unmarshal(res.Result.Value, out); err != nil {
			return fmt.Errorf("mask world: decoding %s: %w", res.Result.Value, err)
		}
		return nil
	}
}

// FocusedMasked asks the page, now, which of selectors contain the focused element
// (through shadow roots and same-origin frames; all of them when focus is in a frame
// that cannot be read). Input injected before this call has been handled by then, so a
// click that moved focus is judged by where focus went.
func (t *Tab) FocusedMasked(ctx context.Context, selectors []string) ([]string, error) {
	if len(selectors) == 0 {
		return nil, nil
	}
	arg, err := json.Marshal(selectors)
	if err != nil {
		return nil, err
	}
	var out []string
	if err := t.inWorld(ctx, "__tandemFocus("+string(arg)+")", &out); err != nil {
		return nil, err
	}
	return out, nil
}

// Selection is what a copy takes from the page for a role.
type Selection struct {
	Text string
	// Masked: the selection holds content the role's selectors mask (or lies in a field
	// or frame that cannot be read); Text is then empty.
	Masked bool
}

// SelectedText returns the text selected in the tab (in the focused field, or the
// document), judged against selectors: a selection that holds any masked content is
// Masked and carries no text. The page's own scripts cannot change the answer: it is
// read in the tracker's world.
func (t *Tab) SelectedText(ctx context.Context, selectors []string) (Selection, error) {
	if selectors == nil {
		selectors = []string{}
	}
	arg, err := json.Marshal(selectors)
	if err != nil {
		return Selection{}, err
	}
	var out struct {
		Text   string `json:"text"`
		Masked bool   `json:"masked"`
	}
	if err := t.inWorld(ctx, "__tandemSelection("+string(arg)+")", &out); err != nil {
		return Selection{}, err
	}
	return Selection{Text: out.Text, Masked: out.Masked}, nil
}

// DeleteSelection deletes the selected text of the focused field or editable region, as
// a cut does once its text is taken. The tab's clipboard is not involved.
func (t *Tab) DeleteSelection(ctx context.Context) error {
	t.stir(ctx)
	t.inputMu.Lock()
	defer t.inputMu.Unlock()
	return t.inWorld(ctx, `(() => { const s = getSelection(); const a = document.activeElement;
		if ((a && typeof a.selectionStart === 'number' && a.selectionStart !== a.selectionEnd) || (s && !s.isCollapsed)) document.execCommand('delete');
		return true; })()`, nil)
}

// maskWork is what the tracker's worker does off chromedp's read loop for the document
// doc: pokes (ask for a fresh report) and scans (hand over closed shadow roots the
// parser made). Both count per document.
type maskWork struct {
	mu    sync.Mutex
	doc   string
	poke  uint64 // newest poke asked for
	scan  uint64 // newest scan asked for
	doneP uint64
	doneS uint64
	wake  chan struct{}
}

func (w *maskWork) ask(doc string, poke, scan uint64) {
	w.mu.Lock()
	if doc != w.doc {
		w.doc, w.poke, w.scan, w.doneP, w.doneS = doc, 0, 0, 0, 0
	}
	w.poke = max(w.poke, poke)
	w.scan = max(w.scan, scan)
	w.mu.Unlock()
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

// maskWorker runs the pokes and scans the tracker asks for, newest first, one at a time.
func (t *Tab) maskWorker() {
	defer t.wg.Done()
	w := &t.maskWork
	for {
		select {
		case <-t.ctx.Done():
			return
		case <-w.wake:
		}
		for {
			w.mu.Lock()
			doc, poke, scan := w.doc, w.poke, w.scan
			doPoke, doScan := poke > w.doneP, scan > w.doneS
			w.doneP, w.doneS = poke, scan
			w.mu.Unlock()
			if !doPoke && !doScan {
				break
			}
			ctx, cancel := context.WithTimeout(t.ctx, t.cfg.CallTimeout)
			if doScan {
				if err := t.scanClosedRoots(ctx, doc, scan); err != nil && t.ctx.Err() == nil {
					t.log.Debug("scanning for closed shadow roots", "err", err)
				}
			}
			if doPoke {
				if err := t.inWorld(ctx, fmt.Sprintf("__tandemMaskPoke(%d, %q)", poke, doc), nil); err != nil && t.ctx.Err() == nil {
					t.log.Debug("poking the mask tracker", "err", err)
				}
			}
			cancel()
		}
	}
}

const scanGroup = "tandem-mask-scan"

// scanClosedRoots finds the closed shadow roots of the top document and its same-origin
// frames (DevTools sees through them; no script does) and hands each to the tracker,
// then tells it that its scan n is done (a document other than doc ignores that). shadow.js opens the roots scripts attach; this finds
// the ones the HTML parser attached from <template shadowrootmode="closed">.
func (t *Tab) scanClosedRoots(ctx context.Context, doc string, n uint64) error {
	cid, err := t.worldContext(ctx, false)
	if err != nil {
		return err
	}
	root, err := call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "document", ContextID: cid, ObjectGroup: scanGroup})
	if err != nil || root.Result == nil || root.Result.ObjectID == "" {
		// The context went with a navigation; the scan is of whatever document is there.
		if cid, err = t.worldContext(ctx, true); err != nil {
			return err
		}
		if root, err = call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: "document", ContextID: cid, ObjectGroup: scanGroup}); err != nil {
			return err
		}
		if root.Result == nil || root.Result.ObjectID == "" {
			return fmt.Errorf("scan: no document")
		}
	}
	defer func() {
		_, _ = call(t.ctx, t, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: scanGroup})
	}()
	tree, err := call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{ObjectID: root.Result.ObjectID, Depth: new(int64(-1)), Pierce: new(true)})
	if err != nil {
		return err
	}
	var closed []cdp.BackendNodeID
	var walk func(n *cdp.Node)
	walk = func(n *cdp.Node) {
		if n == nil {
			return
		}
		for _, sr := range n.ShadowRoots {
			if sr.ShadowRootType == cdp.ShadowRootTypeClosed {
				closed = append(closed, sr.BackendNodeID)
			}
			walk(sr)
		}
		for _, c := range n.Children {
			walk(c)
		}
		walk(n.ContentDocument)
	}
	walk(tree.Node)
	for _, id := range closed {
		obj, err := call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: id, ExecutionContextID: cid, ObjectGroup: scanGroup})
		if err != nil || obj.Object == nil {
			return fmt.Errorf("scan: resolving a closed shadow root: %w", err)
		}
		if _, err := call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
			FunctionDeclaration: "function () { __tandemMaskAdopt(this); }", ObjectID: obj.Object.ObjectID, Silent: new(true),
		}); err != nil {
			return fmt.Errorf("scan: handing over a closed shadow root: %w", err)
		}
	}
	_, err = call(ctx, t, runtime.Evaluate, runtime.EvaluateParams{Expression: fmt.Sprintf("__tandemMaskScanned(%d, %q)", n, doc), ContextID: cid, Silent: new(true)})
	return err
}

func exceptionText(d *runtime.ExceptionDetails) string {
	if d.Exception != nil && d.Exception.Description != "" {
		return d.Exception.Description
	}
	return d.Text
}
