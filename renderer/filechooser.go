package renderer

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/dom"
	"github.com/chromedp/cdproto/inspector"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
)

// A headless tab has no file dialog: without interception Chromium cancels every
// <input type=file> silently. With it, the page's request becomes an event and the
// consumer answers it with files on this machine (SetFiles) or with none.

// FileChooserOpened is the page asking for files: a click on an <input type=file> (or a
// script's click()) opened its chooser. Answer it with SetFiles or CancelFileChooser.
type FileChooserOpened struct {
	ID       string
	Multiple bool   // the input takes several files
	Accept   string // the input's accept attribute as the page wrote it ("" = any file)
}

// FileChooserClosed is a chooser that went away unanswered; Reason is one of the
// Chooser* values.
type FileChooserClosed struct {
	ID, Reason string
}

func (FileChooserOpened) isEvent() {}
func (FileChooserClosed) isEvent() {}

// Reasons of FileChooserClosed.
const (
	ChooserNavigated = "navigated" // the input's document went away
	ChooserReplaced  = "replaced"  // another chooser opened
	ChooserCrashed   = "crashed"   // the page's renderer crashed
)

var (
	// ErrNoChooser means the file chooser to answer is not open (any more).
	ErrNoChooser = errors.New("no such file chooser open")
	// ErrOneFile means several files for an input that takes one.
	ErrOneFile = errors.New("the input takes one file")
)

// maxAccept bounds the accept attribute passed on: it is a hint, not a payload.
const maxAccept = 1000

// openChooser is the tab's open file chooser; the loop owns it. A page has at most one:
// a newer one replaces it.
type openChooser struct {
	id       string
	node     cdp.BackendNodeID
	frame    cdp.FrameID
	multiple bool
	shown    bool // FileChooserOpened was emitted (once its accept attribute was read)
}

// Loop messages of the chooser.
type (
	chooserDescribed struct{ id, accept string }
	chooserTake      struct {
		id    string
		files int // how many files the answer sets; 0 for a cancel
		reply chan chooserTaken
	}
	chooserTaken struct {
		node cdp.BackendNodeID
		err  error
	}
)

// interceptFileChooser turns the page's file dialogs into FileChooserOpened events.
func (t *Tab) interceptFileChooser(ctx context.Context) error {
	if _, err := cdp.Call(ctx, t.target, page.SetInterceptFileChooserDialog,
		page.SetInterceptFileChooserDialogParams{Enabled: true}); err != nil {
		return t.wrapErr(page.SetInterceptFileChooserDialog.Method, err)
	}
	return nil
}

// chooserEvent handles the loop messages of the chooser, and notices page events that
// end it. It reports whether ev was the chooser's alone.
func (t *Tab) chooserEvent(s *loopState, ev any) bool {
	switch ev := ev.(type) {
	case *page.EventFileChooserOpened:
		t.chooserOpened(s, ev)
		return true
	case chooserDescribed:
		if c := s.chooser; c != nil && c.id == ev.id && !c.shown {
			c.shown = true
			t.emit(FileChooserOpened{ID: c.id, Multiple: c.multiple, Accept: ev.accept})
		}
		return true
	case chooserTake:
		c := s.chooser
		switch {
		case c == nil || c.id != ev.id || !c.shown:
			ev.reply <- chooserTaken{err: fmt.Errorf("file chooser %q: %w", ev.id, ErrNoChooser)}
		case ev.files > 1 && !c.multiple:
			ev.reply <- chooserTaken{err: fmt.Errorf("file chooser %q: %w", ev.id, ErrOneFile)}
		default:
			s.chooser = nil
			ev.reply <- chooserTaken{node: c.node}
		}
		return true
	case *page.EventFrameNavigated:
		// A new document in the input's frame, or in the page (which takes its frames
		// along), leaves no input to answer.
		if c := s.chooser; c != nil && (ev.Frame.ID == c.frame || ev.Frame.ParentID == "") {
			t.chooserGone(s, ChooserNavigated)
		}
	case *inspector.EventTargetCrashed:
		t.chooserGone(s, ChooserCrashed)
	}
	return false
}

func (t *Tab) chooserOpened(s *loopState, ev *page.EventFileChooserOpened) {
	if ev.BackendNodeID == 0 {
		t.log.Debug("file chooser without an input; nothing to answer it with", "frame", ev.FrameID)
		return
	}
	t.chooserGone(s, ChooserReplaced)
	s.chooserSeq++
	c := &openChooser{
		id:       fmt.Sprintf("f%d", s.chooserSeq),
		node:     ev.BackendNodeID,
		frame:    ev.FrameID,
		multiple: ev.Mode == page.FileChooserOpenedModeSelectMultiple,
	}
	s.chooser = c
	// The accept attribute is read off the loop; the event follows when it is known.
	t.background(func(ctx context.Context) {
		accept := ""
		if d, err := call(ctx, t, dom.DescribeNode, dom.DescribeNodeParams{BackendNodeID: c.node, Depth: new(int64(0))}); err != nil {
			t.log.Debug("reading the file input's accept attribute", "err", err)
		} else if d.Node != nil {
			accept = attribute(d.Node.Attributes, "accept")
		}
		if len(accept) > maxAccept {
			accept = accept[:maxAccept]
		}
		t.q.push(chooserDescribed{id: c.id, accept: accept})
	})
}

// chooserGone closes the open chooser, telling the consumer if it knew of it.
func (t *Tab) chooserGone(s *loopState, reason string) {
	c := s.chooser
	if c == nil {
		return
	}
	s.chooser = nil
	if c.shown {
		t.emit(FileChooserClosed{ID: c.id, Reason: reason})
	}
}

// attribute finds name in DOM.Node's flat [name, value, …] list.
func attribute(attrs []string, name string) string {
	for i := 0; i+1 < len(attrs); i += 2 {
		if attrs[i] == name {
			return attrs[i+1]
		}
	}
	return ""
}

// takeChooser closes chooser id in the loop, so that one answer only goes through.
func (t *Tab) takeChooser(ctx context.Context, id string, files int) (cdp.BackendNodeID, error) {
	if t.ctx.Err() != nil {
		return 0, ErrTabClosed
	}
	reply := make(chan chooserTaken, 1)
	t.q.push(chooserTake{id: id, files: files, reply: reply})
	select {
	case r := <-reply:
		return r.node, r.err
	case <-t.done:
		return 0, ErrTabClosed
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// SetFiles answers chooser id with the files at paths, which Chromium reads from this
// machine: the page sees them as the person's choice (its input and change events
// fire) under their base names. An input that takes one file refuses several
// (ErrOneFile, and the chooser stays open); a chooser that is gone gives ErrNoChooser.
func (t *Tab) SetFiles(ctx context.Context, id string, paths []string) error {
	t.stir(ctx)
	if len(paths) == 0 {
		return fmt.Errorf("file chooser %q: no files to set", id)
	}
	node, err := t.takeChooser(ctx, id, len(paths))
	if err != nil {
		return err
	}
	_, err = call(ctx, t, dom.SetFileInputFiles, dom.SetFileInputFilesParams{Files: slices.Clone(paths), BackendNodeID: node})
	return err
}

// CancelFileChooser answers chooser id with no files: the input keeps what it had and
// gets a cancel event, as when a person closes the dialog.
func (t *Tab) CancelFileChooser(ctx context.Context, id string) error {
	t.stir(ctx)
	node, err := t.takeChooser(ctx, id, 0)
	if err != nil {
		return err
	}
	const group = "tandem-file-chooser"
	obj, err := call(ctx, t, dom.ResolveNode, dom.ResolveNodeParams{BackendNodeID: node, ObjectGroup: group})
	if err != nil {
		return err // the input is gone: nobody to tell
	}
	defer func() {
		_, _ = call(context.WithoutCancel(ctx), t, runtime.ReleaseObjectGroup, runtime.ReleaseObjectGroupParams{ObjectGroup: group})
	}()
	if obj.Object == nil {
		return nil
	}
	_, err = call(ctx, t, runtime.CallFunctionOn, runtime.CallFunctionOnParams{
		FunctionDeclaration: `function () { this.dispatchEvent(new Event('cancel', {bubbles: true})); }`,
		ObjectID:            obj.Object.ObjectID,
	})
	return err
}
