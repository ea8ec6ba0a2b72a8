package proxy

import (
	"context"

	"github.com/tandem-cobrowse/tandem/renderer"
)

// Tab is what a session needs of its browser tab; *renderer.Tab implements it.
type Tab interface {
	Frames() <-chan renderer.Frame
	Events() <-chan renderer.Event
	Done() <-chan struct{}
	Navigate(ctx context.Context, rawURL string) error
	GoBack(ctx context.Context) error
	GoForward(ctx context.Context) error
	Reload(ctx context.Context) error
	SetViewport(ctx context.Context, vp renderer.Viewport) error
	Mouse(ctx context.Context, m renderer.MouseInput) error
	Wheel(ctx context.Context, w renderer.WheelInput) error
	Key(ctx context.Context, k renderer.KeyInput) error
	InsertText(ctx context.Context, text string) error
	Compose(ctx context.Context, text string, selStart, selEnd int) error
	Touch(ctx context.Context, t renderer.TouchInput) error
	ReleaseAll(ctx context.Context) error
	// SelectedText is the tab's selection as a role with these mask selectors may copy it.
	SelectedText(ctx context.Context, selectors []string) (renderer.Selection, error)
	DeleteSelection(ctx context.Context) error
	AnswerDialog(ctx context.Context, id string, accept bool, promptText string) error
	// Pick answers the open picker id (a select's list, a field's picker, the menu).
	Pick(ctx context.Context, id string, c renderer.PickerChoice) error
	// SetFiles and CancelFileChooser answer the page's file chooser id (FileChooserOpened).
	SetFiles(ctx context.Context, id string, paths []string) error
	CancelFileChooser(ctx context.Context, id string) error
	Alive(ctx context.Context) error
	SetMaskSelectors(ctx context.Context, selectors []string) error
	// FocusedMasked asks the page which of selectors hold the focused element, after the
	// input injected before it.
	FocusedMasked(ctx context.Context, selectors []string) ([]string, error)
	// Page mode: the page's DOM capture, and the resources its copies load.
	DOM() <-chan renderer.DOMMessage
	SetDOMCapture(ctx context.Context, on bool) error
	RequestDOMSnapshot(ctx context.Context) error
	LoadResource(ctx context.Context, rawURL string, limit int) (renderer.Resource, error)
	// Handoff sets a visitor's handed-over state before the first page.
	Handoff(ctx context.Context, h renderer.Handoff) error
	Close() error
}

// TabOpener opens a fresh, isolated tab for the new session sessionID, as spec says.
type TabOpener func(ctx context.Context, sessionID string, spec TabSpec) (Tab, error)

// TabSpec is what a session needs of its tab.
type TabSpec struct {
	Viewport renderer.Viewport
	// Masks are the selectors the session masks for some role (the session sets them on
	// the tab; a tab may come with them in force, never with others).
	Masks []string
	// Nav is the session's navigation rule: the tab must refuse documents it refuses.
	Nav func(url string) (bool, string)
}
